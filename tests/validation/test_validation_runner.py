"""run_validation on temporary repositories with real pytest, run through processes.run_process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from coding_agent.processes import ProcessResult, run_process
from coding_agent.redaction import Redactor
from coding_agent.validation.runner import NO_COMMAND_SUGGESTION, RunCommand, run_validation

PASSING_TEST = "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FAILING_TEST = "from calc import add\n\ndef test_add_wrong():\n    assert add(2, 2) == 5, 'two plus two'\n"
PYPROJECT = '[tool.pytest.ini_options]\npythonpath = ["."]\n'


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def shell_in(workspace: Path) -> RunCommand:
    """The tiny adapter a caller provides: bash in the workspace, with this interpreter as `python`."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_ADDOPTS": "-p no:cacheprovider",
    }

    async def run(command: str, timeout: float) -> ProcessResult:  # noqa: ASYNC109 - the RunCommand shape
        return await run_process(["bash", "-c", command], cwd=workspace, env=env, timeout=timeout)

    return run


async def test_passing_repo_detected_and_run(tmp_path: Path) -> None:
    make(tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n", "tests/test_calc.py": PASSING_TEST})
    make(tmp_path, {"pyproject.toml": PYPROJECT})
    result = await run_validation(tmp_path, None, run=shell_in(tmp_path), timeout=60)
    assert result.success and result.issues == []
    assert (result.tests_passed, result.tests_failed) == (1, 0)


async def test_failing_repo_reports_exit_code_and_tail(tmp_path: Path) -> None:
    make(tmp_path, {"calc.py": "def add(a, b):\n    return a + b\n", "pyproject.toml": PYPROJECT})
    make(tmp_path, {"tests/test_calc.py": PASSING_TEST, "tests/test_more.py": FAILING_TEST})
    result = await run_validation(tmp_path, None, run=shell_in(tmp_path), timeout=60)
    assert not result.success
    assert (result.tests_passed, result.tests_failed) == (1, 1)
    assert len(result.issues) == 1
    issue = result.issues[0]
    assert issue.startswith("`python -m pytest -q` failed with exit code 1 (1 failed, 1 passed)")
    assert "1 failed, 1 passed" in issue and "\n" not in issue
    assert any("Fix the failures" in s for s in result.suggestions)


async def test_explicit_commands_all_must_pass(tmp_path: Path) -> None:
    result = await run_validation(
        tmp_path, ["true", "echo boom; exit 3", "true"], run=shell_in(tmp_path), timeout=10
    )
    assert not result.success
    assert result.issues == ["`echo boom; exit 3` failed with exit code 3: boom"]


async def test_no_command_found_is_success_with_a_suggestion(tmp_path: Path) -> None:
    make(tmp_path, {"README.md": "nothing to test"})
    result = await run_validation(tmp_path, None, run=shell_in(tmp_path), timeout=10)
    assert result.success and result.suggestions == [NO_COMMAND_SUGGESTION]
    assert await run_validation(tmp_path, [], run=shell_in(tmp_path), timeout=10) == result


async def test_timeout_and_missing_tool(tmp_path: Path) -> None:
    commands = ["echo started; sleep 10", "definitely-not-a-real-tool --check"]
    result = await run_validation(tmp_path, commands, run=shell_in(tmp_path), timeout=0.5)
    assert not result.success and len(result.issues) == 2
    assert "timed out after 0.5s" in result.issues[0] and "started" in result.issues[0]
    assert "exit code 127" in result.issues[1]
    assert any("not installed" in s for s in result.suggestions)


async def test_pytest_without_tests_is_not_a_failure(tmp_path: Path) -> None:
    make(tmp_path, {"pytest.ini": "[pytest]\n"})
    result = await run_validation(tmp_path, None, run=shell_in(tmp_path), timeout=60)
    assert result.success and any("collected no tests" in s for s in result.suggestions)


async def test_secrets_in_output_are_redacted(tmp_path: Path) -> None:
    secret = "s3cr3t-token-value-123"
    result = await run_validation(
        tmp_path, [f"echo {secret}; exit 1"], run=shell_in(tmp_path), timeout=10, redactor=Redactor([secret])
    )
    assert secret not in result.model_dump_json() and "***" in result.issues[0]
