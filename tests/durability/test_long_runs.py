"""A session of hundreds of iterations continues-as-new, so every history stays small, and the recorded
histories replay under the current workflow code (a change that breaks running workflows fails here)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from coding_agent.codec import data_converter
from coding_agent.demo.sample_repo import create_sample_remote
from coding_agent.demo.scripted_llm import Script, ScriptedLLMServer, ScriptedToolCall, demo_script
from coding_agent.models import CodingAgentResult
from coding_agent.worker import WORKFLOWS
from tests.support.harness import make_request, make_settings, new_task_id, worker_running

ITERATIONS = 200
THRESHOLD = 120
HISTORIES = Path(__file__).parent / "histories"


async def histories_of(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow id (continue-as-new makes several), oldest first."""
    runs = [wf async for wf in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    runs.sort(key=lambda wf: wf.start_time)
    return [await client.get_workflow_handle(workflow_id, run_id=wf.run_id).fetch_history() for wf in runs]


async def test_hundreds_of_iterations_continue_as_new_with_small_histories(
    tmp_path: Path, temporal_address: str, nats_url: str
) -> None:
    reads = [[ScriptedToolCall("read_file", {"path": "calc.py"})] for _ in range(ITERATIONS - 2)]
    write = [ScriptedToolCall("write_file", {"path": "notes.txt", "content": "read it many times\n"})]
    script = Script(plan=demo_script().plan, turns=[*reads, write, "Read calc.py many times and took a note."])
    with ScriptedLLMServer(script) as llm:
        settings = make_settings(
            tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=llm.base_url,
            history_event_threshold=THRESHOLD,
        )
        async with worker_running(settings) as client:
            remote = await create_sample_remote(tmp_path / "repo")
            task_id = new_task_id()
            request = make_request(task_id, remote.as_uri(), max_iterations=ITERATIONS + 5)
            handle = await client.start_workflow(
                "CodingAgentWorkflow", request, id=f"coding-agent-{task_id}",
                task_queue=settings.temporal_task_queue_coding_agent, result_type=CodingAgentResult,
            )
            result = await handle.result()
            status = await handle.query("status")
            sessions = await histories_of(client, status["session_workflow_id"])
            parent = await handle.fetch_history()

    assert result.success, result.error_message
    assert result.artifacts.iterations == ITERATIONS
    assert result.steps_completed == ITERATIONS - 1
    assert len(sessions) >= ITERATIONS * 8 // THRESHOLD  # roughly 8 events per iteration
    for history in sessions:
        # The check runs before each iteration; one iteration (model turn, tools, event shipping) and the
        # continue-as-new itself add a few dozen events at most.
        assert len(history.events) <= THRESHOLD + 40, len(history.events)
    assert len(parent.events) < 200

    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(None))
    for history in [parent, *sessions]:
        await replayer.replay_workflow(history)


async def test_recorded_histories_still_replay() -> None:
    """Histories recorded from earlier versions (tests/durability/histories): running workflows must not break."""
    recorded = sorted(HISTORIES.glob("*.json"))
    assert recorded, "no recorded histories found"
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(None))
    for path in recorded:
        workflow_id = path.stem.split("--", 1)[1]
        await replayer.replay_workflow(WorkflowHistory.from_json(workflow_id, path.read_text()))
