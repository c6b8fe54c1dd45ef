"""The toolbox: one object per workspace that executes the model's tool calls and never raises for
the model's mistakes.

``Toolbox.execute`` parses and validates a ``ToolCall``, applies the path rules and the command policy,
runs the tool (shell commands in the sandbox), and returns a ``ToolResult`` whose output is redacted and
cut to ``output_max_chars``: ``ok``, ``error`` (a mistake the model can fix) or ``refused`` (a safety
rule, with the reason). ``run_command`` is the same sandboxed shell without the policy, for the
product's own validation commands.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from coding_agent.models import ToolCall, ToolResult
from coding_agent.processes import ProcessResult
from coding_agent.redaction import Redactor
from coding_agent.tools import files
from coding_agent.tools.errors import ToolError, ToolRefused
from coding_agent.tools.paths import resolve_in_workspace
from coding_agent.tools.policy import CommandPolicy
from coding_agent.tools.sandbox import Sandbox, choose_sandbox
from coding_agent.tools.schemas import (
    ARGUMENT_MODELS,
    TOOL_SCHEMAS,
    EditFileArgs,
    ListDirectoryArgs,
    ReadFileArgs,
    RunShellArgs,
    SearchFilesArgs,
    WriteFileArgs,
)
from coding_agent.tools.search import search_files
from coding_agent.tools.shell import Heartbeat, ShellRunner, describe_result
from coding_agent.truncation import elide_middle

__all__ = ["TOOL_SCHEMAS", "Toolbox", "redacted_arguments"]

LOGGED_ARGUMENT_CHARS = 2000


class Toolbox:
    """The agent's tools for one workspace."""

    def __init__(
        self,
        workspace: Path,
        *,
        sandbox: str = "auto",
        allow_network: bool = False,
        shell_timeout: float = 300,
        shell_max_timeout: float = 3600,
        read_max_bytes: int = 1 << 20,
        file_max_bytes: int = 5 << 20,
        output_max_chars: int = 10_000,
        redactor: Redactor | None = None,
        mask_paths: Sequence[Path] = (),
        list_max_entries: int = 500,
    ) -> None:
        self.workspace = workspace.resolve()
        self.sandbox_mode = sandbox
        self.allow_network = allow_network
        self.shell_timeout = shell_timeout
        self.shell_max_timeout = shell_max_timeout
        self.read_max_bytes = read_max_bytes
        self.file_max_bytes = file_max_bytes
        self.output_max_chars = output_max_chars
        self.redactor = redactor or Redactor()
        self.mask_paths = [Path(p) for p in mask_paths]
        self.list_max_entries = list_max_entries
        self.policy = CommandPolicy(self.workspace, protected=self.mask_paths)
        self._runner: ShellRunner | None = None

    async def sandbox(self) -> Sandbox:
        """The sandbox in use (probed once per process); raises ValueError if ``bubblewrap`` cannot run."""
        return (await self._shell()).sandbox

    async def _shell(self) -> ShellRunner:
        if self._runner is None:
            chosen = await choose_sandbox(self.sandbox_mode)
            # Without bubblewrap, HOME is a private temporary directory, never the worker's own home.
            home = Path(tempfile.mkdtemp(prefix="coding-agent-home-"))
            weakref.finalize(self, shutil.rmtree, home, True)
            self._runner = ShellRunner(
                workspace=self.workspace,
                sandbox=chosen,
                host_home=home,
                allow_network=self.allow_network,
                mask_paths=tuple(self.mask_paths),
                output_limit_bytes=max(self.output_max_chars * 4, 64 * 1024),
            )
        return self._runner

    async def run_command(
        self,
        command: str,
        timeout: float,  # noqa: ASYNC109 - a deadline handed on to run_process, which enforces it
        heartbeat: Heartbeat | None = None,
    ) -> ProcessResult:
        """Run a product-chosen command (validation) in the sandbox, without the command policy."""
        runner = await self._shell()
        result = await runner.run(command, timeout=timeout, heartbeat=heartbeat)
        return ProcessResult(
            exit_code=result.exit_code,
            output=self.redactor.text(result.output),
            timed_out=result.timed_out,
            duration_seconds=result.duration_seconds,
            elided_bytes=result.elided_bytes,
        )

    async def execute(self, call: ToolCall, heartbeat: Heartbeat | None = None) -> ToolResult:
        """Run one tool call; model mistakes and refusals come back as results, never as exceptions."""
        started = time.monotonic()
        details: dict[str, Any] = {}
        try:
            args = _parse(call)
            output = await self._dispatch(call.name, args, details, heartbeat)
            outcome = "ok"
        except ToolRefused as refusal:
            output, outcome = str(refusal), "refused"
        except ToolError as error:
            output, outcome = str(error), "error"
        except OSError as exc:  # permission denied, disk full...: the model may be able to work around it
            output, outcome = f"{call.name} failed: {exc.strerror or exc.__class__.__name__}", "error"
        text = self.redactor.text(output)
        if len(text) > self.output_max_chars:
            text = elide_middle(text, self.output_max_chars)
            details["truncated"] = True
        return ToolResult(
            call_id=call.id,
            name=call.name,
            outcome=outcome,  # type: ignore[arg-type]
            output=text,
            duration_ms=int((time.monotonic() - started) * 1000),
            details=details,
        )

    async def _dispatch(
        self, name: str, args: BaseModel, details: dict[str, Any], heartbeat: Heartbeat | None
    ) -> str:
        ws = self.workspace
        if isinstance(args, RunShellArgs):
            return await self._run_shell(args, details, heartbeat)
        if isinstance(args, ReadFileArgs):
            return await asyncio.to_thread(
                files.read_file,
                ws,
                args.path,
                args.start_line,
                args.end_line,
                read_max_bytes=self.read_max_bytes,
                file_max_bytes=self.file_max_bytes,
            )
        if isinstance(args, WriteFileArgs):
            return await asyncio.to_thread(
                files.write_file, ws, args.path, args.content, file_max_bytes=self.file_max_bytes
            )
        if isinstance(args, EditFileArgs):
            return await asyncio.to_thread(
                files.edit_file,
                ws,
                args.path,
                args.old_text,
                args.new_text,
                file_max_bytes=self.file_max_bytes,
            )
        if isinstance(args, ListDirectoryArgs):
            return await asyncio.to_thread(
                files.list_directory, ws, args.path, args.depth, max_entries=self.list_max_entries
            )
        if isinstance(args, SearchFilesArgs):
            return await search_files(
                ws, args.pattern, args.path_glob, args.max_results, file_max_bytes=self.file_max_bytes
            )
        raise ToolError(f"unknown tool {name!r}")  # unreachable: _parse checked the name

    async def _run_shell(
        self, args: RunShellArgs, details: dict[str, Any], heartbeat: Heartbeat | None
    ) -> str:
        workdir = self.workspace
        if args.workdir:
            workdir = resolve_in_workspace(self.workspace, args.workdir)
            if not workdir.is_dir():
                raise ToolError(f"workdir '{args.workdir}' is not a directory of the workspace")
        refusal = self.policy.check(args.command, cwd=workdir)
        if refusal is not None:
            raise ToolRefused(refusal)
        timeout = args.timeout_seconds or self.shell_timeout
        note = ""
        if timeout > self.shell_max_timeout:
            note = f"[timeout_seconds capped at the maximum of {self.shell_max_timeout:g}s]\n"
            timeout = self.shell_max_timeout
        runner = await self._shell()
        result = await runner.run(args.command, timeout=timeout, workdir=workdir, heartbeat=heartbeat)
        details.update(
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            sandbox=runner.sandbox.kind,
            network=self.allow_network,
            timeout_seconds=timeout,
        )
        if result.elided_bytes:
            details["elided_bytes"] = result.elided_bytes
        # A non-zero exit or a timeout is still outcome "ok": the tool worked, and a failing test run
        # is information for the model, not a mistake of its call.
        return note + describe_result(result, timeout)


def _parse(call: ToolCall) -> BaseModel:
    model = ARGUMENT_MODELS.get(call.name)
    if model is None:
        raise ToolError(f"unknown tool {call.name!r}; the tools are: {', '.join(ARGUMENT_MODELS)}")
    try:
        raw = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise ToolError(
            f"the arguments of {call.name} are not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None
    if not isinstance(raw, dict):
        raise ToolError(f"the arguments of {call.name} must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()[:5]
        )
        expected = ", ".join(model.model_fields)
        raise ToolError(f"invalid arguments for {call.name}: {problems} (parameters: {expected})") from None


def redacted_arguments(call: ToolCall, redactor: Redactor) -> dict[str, Any]:
    """The call's arguments fit for the activity log: secrets masked, long strings cut."""
    try:
        raw = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return {"raw": redactor.text(_cut(call.arguments))}
    if not isinstance(raw, dict):
        return {"raw": redactor.text(_cut(call.arguments))}
    return redactor.data({k: _cut(v) if isinstance(v, str) else v for k, v in raw.items()})


def _cut(value: str) -> str:
    if len(value) <= LOGGED_ARGUMENT_CHARS:
        return value
    return value[:LOGGED_ARGUMENT_CHARS] + f"... [{len(value) - LOGGED_ARGUMENT_CHARS} more characters]"
