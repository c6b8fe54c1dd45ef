"""Start a coding agent worker: `python workers/coding_agent_worker.py`.

Reads TEMPORAL_HOST, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE_CODING_AGENT and the other settings from
the environment (see the README), and stops gracefully on SIGTERM or Ctrl-C.
"""

from coding_agent.cli import worker

if __name__ == "__main__":
    worker()
