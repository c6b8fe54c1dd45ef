"""Toolbox.execute end to end: validation, outcomes, policy, output cap, redaction, schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coding_agent.models import ToolCall
from coding_agent.redaction import Redactor
from coding_agent.tools.registry import TOOL_SCHEMAS, Toolbox, redacted_arguments
from coding_agent.tools.schemas import ARGUMENT_MODELS

SECRET = "ghp_very_secret_token_value_123"


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(id="c1", name=name, arguments=json.dumps(arguments))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "repo"
    (workspace / ".git").mkdir(parents=True)
    (workspace / "README.md").write_text("hello\n")
    return workspace


@pytest.fixture(params=["auto", "none"])
def box(request: pytest.FixtureRequest, ws: Path) -> Toolbox:
    return Toolbox(ws, sandbox=request.param, output_max_chars=2000, redactor=Redactor([SECRET]))


def test_schemas_match_the_argument_models() -> None:
    names = [tool["function"]["name"] for tool in TOOL_SCHEMAS]
    assert names == [
        "run_shell_command",
        "read_file",
        "write_file",
        "list_directory",
        "edit_file",
        "search_files",
    ]
    for tool in TOOL_SCHEMAS:
        function = tool["function"]
        assert tool["type"] == "function" and function["description"]
        model = ARGUMENT_MODELS[function["name"]]
        assert set(function["parameters"]["properties"]) == set(model.model_fields)
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert set(function["parameters"]["required"]) == required


@pytest.mark.parametrize(
    ("tool_call", "fragment"),
    [
        (ToolCall(id="c1", name="delete_everything", arguments="{}"), "unknown tool"),
        (ToolCall(id="c1", name="read_file", arguments="{not json"), "not valid JSON"),
        (ToolCall(id="c1", name="read_file", arguments="[1]"), "JSON object"),
        (call("read_file"), "path: Field required"),
        (call("read_file", path="README.md", colour="red"), "colour: Extra inputs"),
        (call("read_file", path="README.md", start_line=0), "start_line"),
        (call("list_directory", depth=99), "depth"),
        (call("read_file", path="missing.txt"), "no such file"),
    ],
)
async def test_model_mistakes_are_error_results(box: Toolbox, tool_call: ToolCall, fragment: str) -> None:
    result = await box.execute(tool_call)
    assert result.outcome == "error" and fragment in result.output and result.call_id == "c1"


async def test_refusals(box: Toolbox) -> None:
    for tool_call in (
        call("run_shell_command", command="rm -rf /"),
        call("run_shell_command", command="echo '#!/bin/sh' > .git/hooks/pre-push"),
        call("write_file", path=".git/config", content="[credential]\n\thelper = evil\n"),
        call("read_file", path="../../etc/passwd"),
        call("run_shell_command", command="ls", workdir="../.."),
    ):
        result = await box.execute(tool_call)
        assert result.outcome == "refused", tool_call
        assert result.output.startswith("refused: ")


async def test_shell_runs_in_workspace_with_exit_code(box: Toolbox, ws: Path) -> None:
    (ws / "sub").mkdir()
    result = await box.execute(call("run_shell_command", command="pwd; cat README.md; exit 3"))
    assert result.outcome == "ok" and result.output.startswith("exit code: 3\n")
    assert str(ws) in result.output and "hello" in result.output
    assert result.details["exit_code"] == 3 and result.details["sandbox"] in ("bubblewrap", "none")
    assert result.duration_ms > 0
    sub = await box.execute(call("run_shell_command", command="pwd", workdir="sub"))
    assert sub.output.strip().endswith("/sub")


async def test_timeout_is_reported_and_capped(box: Toolbox) -> None:
    result = await box.execute(call("run_shell_command", command="echo begun; sleep 30", timeout_seconds=1))
    assert result.outcome == "ok" and result.details["timed_out"] is True
    assert "timed out after 1s" in result.output and "begun" in result.output
    capped = await box.execute(call("run_shell_command", command="true", timeout_seconds=99999))
    assert "capped at the maximum of 3600s" in capped.output and capped.details["timeout_seconds"] == 3600


async def test_output_is_capped_keeping_head_and_tail(box: Toolbox) -> None:
    result = await box.execute(call("run_shell_command", command="seq 1 200000"))
    assert len(result.output) <= 2000 and "elided" in result.output
    assert result.output.startswith("exit code: 0\n1\n2\n3\n") and result.output.rstrip().endswith("200000")
    assert result.details.get("truncated") is True


async def test_secrets_are_redacted_and_env_is_scrubbed(
    box: Toolbox, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:dbpass-sentinel@db/x")
    (ws / "leak.txt").write_text(f"token={SECRET}\n")
    read = await box.execute(call("read_file", path="leak.txt"))
    assert SECRET not in read.output and "***" in read.output
    shell = await box.execute(call("run_shell_command", command="env; cat /proc/self/environ"))
    assert "dbpass-sentinel" not in shell.output and "GIT_CONFIG_GLOBAL=/dev/null" in shell.output


async def test_symlink_made_by_shell_cannot_be_read(box: Toolbox, tmp_path: Path) -> None:
    (tmp_path / "outside-secret.txt").write_text("outside secret")
    made = await box.execute(
        call("run_shell_command", command=f"ln -s {tmp_path}/outside-secret.txt link.txt")
    )
    assert made.outcome == "ok"
    result = await box.execute(call("read_file", path="link.txt"))
    assert result.outcome == "refused" and "outside secret" not in result.output


async def test_file_tools_round_trip(box: Toolbox) -> None:
    assert (await box.execute(call("write_file", path="src/a.py", content="x = 1\ny = 2\n"))).outcome == "ok"
    edit = await box.execute(call("edit_file", path="src/a.py", old_text="y = 2", new_text="y = 3"))
    assert edit.outcome == "ok"
    assert (await box.execute(call("read_file", path="src/a.py"))).output == "x = 1\ny = 3\n"
    listing = await box.execute(call("list_directory", path=".", depth=2))
    assert "src/a.py" in listing.output and ".git" not in listing.output.split("\n", 1)[1]
    found = await box.execute(call("search_files", pattern=r"y = \d", path_glob="*.py"))
    assert found.output == "src/a.py:2: y = 3"


def test_redacted_arguments_cut_and_mask() -> None:
    redactor = Redactor([SECRET])
    args = redacted_arguments(call("write_file", path="a.txt", content=SECRET + "x" * 5000), redactor)
    assert (
        SECRET not in json.dumps(args)
        and len(args["content"]) < 2100
        and "more characters" in args["content"]
    )
    assert (
        redacted_arguments(ToolCall(id="1", name="x", arguments="{bad " + SECRET), redactor)["raw"]
        == "{bad ***"
    )
