"""Run a repository's validation commands and summarise them as a ``ValidationResult``.

The caller passes how to run one command (normally the agent's sandboxed shell in the workspace), so
validation stays independent of the sandbox and of Temporal. Success means every command exited 0;
the issues name each failing command with its exit code and the tail of its output, and the
suggestions say what to do next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from coding_agent.models import ValidationResult
from coding_agent.processes import ProcessResult
from coding_agent.redaction import Redactor
from coding_agent.validation.detect import PYTEST, detect_commands
from coding_agent.validation.parse import parse_test_counts

RunCommand = Callable[[str, float], Awaitable[ProcessResult]]
"""Runs one shell command with a timeout (seconds) in the workspace."""

TAIL_LINES = 12
TAIL_CHARS = 800
NO_COMMAND_SUGGESTION = (
    "No validation command was found (no pytest configuration or tests, package.json test script, "
    "go.mod, Cargo.toml or Makefile test target); add tests so changes can be validated."
)
# pytest's "no tests were collected": the command worked, there is just nothing to run.
_PYTEST_NO_TESTS = 5
_NOT_FOUND = 127


def output_tail(output: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last non-empty lines of ``output`` on one line, joined by ' | ' and bounded in size."""
    kept = [line.strip() for line in output.splitlines() if line.strip()][-lines:]
    tail = " | ".join(kept)
    return tail if len(tail) <= chars else "..." + tail[-(chars - 3) :]


async def run_validation(
    workspace: Path,
    commands: list[str] | None,
    *,
    run: RunCommand,
    timeout: float,  # noqa: ASYNC109 - a per-command limit handed to `run`, not a deadline here
    redactor: Redactor | None = None,
) -> ValidationResult:
    """Run ``commands`` (detected from ``workspace`` when None) one after another and summarise them.

    Never raises for a failing command; exceptions of ``run`` itself (e.g. the sandbox is broken)
    propagate to the caller.
    """
    scrub = redactor or Redactor()
    if commands is None:
        commands = detect_commands(workspace)
    if not commands:
        return ValidationResult(success=True, suggestions=[NO_COMMAND_SUGGESTION])

    issues: list[str] = []
    suggestions: list[str] = []
    passed_total = failed_total = 0
    for command in commands:
        result = await run(command, timeout)
        passed, failed = parse_test_counts(result.output)
        passed_total += passed
        failed_total += failed
        tail = output_tail(result.output)
        if result.timed_out:
            issues.append(f"`{command}` timed out after {timeout:g}s; last output: {tail or '(none)'}")
            suggestions.append(
                f"`{command}` did not finish within {timeout:g}s: look for a hanging test or raise "
                "CODING_AGENT_VALIDATION_TIMEOUT_SECONDS."
            )
        elif result.exit_code == _PYTEST_NO_TESTS and command == PYTEST:
            suggestions.append(f"`{command}` collected no tests: add tests that cover the change.")
        elif result.exit_code == _NOT_FOUND:
            issues.append(
                f"`{command}` failed with exit code 127 (command not found): {tail or '(no output)'}"
            )
            suggestions.append(
                f"The tool behind `{command}` is not installed where validation runs; install it."
            )
        elif result.exit_code != 0:
            detail = f" ({failed} failed, {passed} passed)" if passed or failed else ""
            issues.append(
                f"`{command}` failed with exit code {result.exit_code}{detail}: {tail or '(no output)'}"
            )
            suggestions.append(f"Fix the failures reported by `{command}` and run it again.")

    if not issues and passed_total == 0 and failed_total == 0 and not suggestions:
        suggestions.append("The validation commands passed but reported no test counts; make sure tests ran.")
    return ValidationResult(
        success=not issues,
        # Commands and outputs both come from the workspace: scrub everything that leaves.
        issues=[scrub.text(issue) for issue in issues],
        suggestions=[scrub.text(suggestion) for suggestion in suggestions],
        tests_passed=passed_total,
        tests_failed=failed_total,
    )
