"""Record workflow histories for the replay test: `python -m tests.durability.record_histories`.

Run it when a release changes the workflows *compatibly* (behind `workflow.patched`), and commit the new
files next to the old ones: the replay test then proves that histories from every recorded version
still replay, i.e. that running workflows survive the upgrade. Never regenerate old files.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import ScriptedLLMServer
from coding_agent.models import CodingAgentResult
from coding_agent.stack import start_nats, start_temporal
from tests.support.harness import make_request, make_settings, worker_running

HISTORIES = Path(__file__).parent / "histories"


async def record(version: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats, nats_url = start_nats(root)
        temporal, address = start_temporal(root)
        try:
            with ScriptedLLMServer() as llm:
                settings = make_settings(root, temporal_address=address, nats_url=nats_url, llm_url=llm.base_url)
                async with worker_running(settings) as client:
                    cases = {"demo": "main", "missing-branch": "no-such-branch"}
                    for name, branch in cases.items():
                        remote = await create_sample_remote(root / name)
                        request = make_request(f"task-{name}", remote.as_uri(), branch=branch)
                        handle = await client.start_workflow(
                            "CodingAgentWorkflow", request, id=f"coding-agent-{name}",
                            task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
                        )
                        await handle.result()
                        histories = [await handle.fetch_history()]
                        session = (await handle.query("status"))["session_workflow_id"]
                        if session:
                            histories.append(await client.get_workflow_handle(session).fetch_history())
                        for history in histories:
                            # The workflow id is part of the history's identity: keep it in the name.
                            path = HISTORIES / f"{version}--{history.workflow_id}.json"
                            path.write_text(history.to_json())
                            print("recorded", path)
        finally:
            temporal.stop()
            nats.stop()


if __name__ == "__main__":
    import sys

    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
