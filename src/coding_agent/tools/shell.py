"""run_shell_command: one ``bash -c`` in the workspace, sandboxed, bounded in time and output.

The command runs through ``processes.run_process`` (its own process group, killed whole on timeout,
heartbeats while it runs) inside the chosen sandbox with the allow-listed environment. The model gets
the exit code and the output with head and tail kept; a timeout says so and what was killed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coding_agent.processes import ProcessResult, run_process
from coding_agent.tools.sandbox import Sandbox, sandbox_env

Heartbeat = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class ShellRunner:
    """Runs shell commands for one workspace; the policy is the caller's job (see policy.py)."""

    workspace: Path
    sandbox: Sandbox
    host_home: Path
    """HOME when there is no sandbox: a private temporary directory, never the worker's home."""
    allow_network: bool = False
    mask_paths: Sequence[Path] = ()
    output_limit_bytes: int = 256 * 1024
    heartbeat_interval: float = 5.0

    async def run(
        self,
        command: str,
        *,
        timeout: float,  # noqa: ASYNC109 - enforced by run_process, which kills the process group
        workdir: Path | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> ProcessResult:
        workdir = workdir or self.workspace
        home = self.sandbox.home or str(self.host_home)
        argv = self.sandbox.wrap(
            ["bash", "-c", command],
            workspace=self.workspace,
            workdir=workdir,
            allow_network=self.allow_network,
            mask_paths=self.mask_paths,
        )
        return await run_process(
            argv,
            cwd=workdir,
            env=sandbox_env(home),
            timeout=timeout,
            output_limit=self.output_limit_bytes,
            heartbeat=heartbeat,
            heartbeat_interval=self.heartbeat_interval,
        )


def describe_result(result: ProcessResult, timeout: float) -> str:
    """The model's view of a finished command."""
    output = result.output if result.output.strip() else "(no output)\n"
    if result.timed_out:
        return (
            f"timed out after {timeout:g}s: the command and every process it started were killed. "
            "Run long jobs with a larger timeout_seconds, or narrow them (e.g. one test file).\n"
            f"output before the timeout:\n{output}"
        )
    return f"exit code: {result.exit_code}\n{output}"
