"""A worker as an operator runs it: ``python workers/coding_agent_worker.py`` in its own process,
configured only through environment variables, with its stderr kept in a file for assertions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from coding_agent.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WORKER_SCRIPT = ROOT / "workers" / "coding_agent_worker.py"
_OWN_PREFIXES = ("TEMPORAL_", "NATS_", "OPENROUTER_", "ELIXIR_", "DATABASE_URL", "CODING_AGENT_")


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The process environment that reproduces ``settings`` (as the test harness built them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    key = settings.openrouter_api_key
    env.update(
        {
            "TEMPORAL_HOST": settings.temporal_host,
            "TEMPORAL_NAMESPACE": settings.temporal_namespace,
            "TEMPORAL_TASK_QUEUE_CODING_AGENT": settings.temporal_task_queue_coding_agent,
            "NATS_URL": settings.nats_url,
            "OPENROUTER_BASE_URL": settings.openrouter_base_url,
            "OPENROUTER_API_KEY": key.get_secret_value() if key else "",
            "CODING_AGENT_DATA_DIR": str(settings.data_dir),
            "CODING_AGENT_SQLITE_PATH": str(settings.sqlite_path),
            "CODING_AGENT_WORKSPACE_ROOT": str(settings.workspace_root),
            "CODING_AGENT_LLM_MAX_ATTEMPTS": str(settings.llm_max_attempts),
            "CODING_AGENT_LLM_TIMEOUT_SECONDS": str(settings.llm_timeout_seconds),
        }
    )
    env.update(extra)
    return env


class WorkerProcess:
    """Start with ``start()``; ``terminate()`` sends SIGTERM and returns (exit code, seconds to exit)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_text: str = "worker serving", timeout: float = 30) -> WorkerProcess:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT)], env=self.env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while ready_text not in self.log():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready within {timeout}s:\n{self.log()}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> tuple[int, float]:
        assert self.proc is not None
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"worker ignored SIGTERM for {timeout}s:\n{self.log()}") from None
        return code, time.monotonic() - sent

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
