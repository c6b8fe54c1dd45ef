"""The built-in demo: its turns use only the agent's tools, and its edits really make pytest pass."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from coding_agent.demo.scripted_llm import ScriptedLLMServer, ScriptedToolCall, demo_script, sample_repo_files
from coding_agent.llm.plan import parse_plan
from coding_agent.processes import run_process
from coding_agent.validation.parse import parse_test_counts

TOOL_NAMES = {"run_shell_command", "read_file", "write_file", "list_directory"}


def write_repo(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


async def run_pytest(root: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = await run_process(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env, timeout=60
    )
    return result.exit_code, result.output


def test_demo_turns_use_only_agent_tools() -> None:
    script = demo_script()
    calls = [call for turn in script.turns if not isinstance(turn, str) for call in turn]
    assert [c.name for c in calls] == [
        "list_directory",
        "read_file",
        "write_file",
        "write_file",
        "run_shell_command",
    ]
    assert {c.name for c in calls} <= TOOL_NAMES
    assert isinstance(script.turns[-1], str) and "multiply" in script.turns[-1]
    assert isinstance(script.plan, str) and "calc.py" in parse_plan(script.plan).files_to_modify


async def test_demo_repo_passes_before_and_after_the_demo_edits(tmp_path: Path) -> None:
    write_repo(tmp_path, sample_repo_files())
    code, output = await run_pytest(tmp_path)
    assert code == 0 and parse_test_counts(output) == (1, 0), output

    writes = {
        call.arguments["path"]: call.arguments["content"]
        for turn in demo_script().turns
        if not isinstance(turn, str)
        for call in turn
        if call.name == "write_file"
    }
    assert set(writes) == {"calc.py", "tests/test_calc.py"}
    write_repo(tmp_path, writes)
    code, output = await run_pytest(tmp_path)
    assert code == 0 and parse_test_counts(output) == (2, 0), output
    assert "def multiply(a, b)" in (tmp_path / "calc.py").read_text()


async def test_demo_conversation_over_http(make_client, tools, tmp_path: Path) -> None:
    """Drive the whole demo conversation through the real client, applying writes like the tools would."""
    write_repo(tmp_path, sample_repo_files())
    with ScriptedLLMServer() as server:  # default script: the demo, no key check
        client = make_client(server, api_key="unused")
        messages: list[dict] = [{"role": "user", "content": "Add multiply"}]
        names: list[str] = []
        for _ in range(10):
            response = await client.chat("m", messages, tools=tools)
            messages.append(response.assistant_message())
            if not response.tool_calls:
                break
            for call in response.tool_calls:
                args = json.loads(call.arguments)
                names.append(call.name)
                if call.name == "write_file":
                    write_repo(tmp_path, {args["path"]: args["content"]})
                messages.append({"role": "tool", "tool_call_id": call.id, "content": "ok"})
        assert names == [c.name for t in demo_script().turns if not isinstance(t, str) for c in t]
        assert "multiply" in (response.content or "")
        assert isinstance(demo_script().turns[0][0], ScriptedToolCall)
    code, output = await run_pytest(tmp_path)
    assert code == 0 and parse_test_counts(output) == (2, 0), output
