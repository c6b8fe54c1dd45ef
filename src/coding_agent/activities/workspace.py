"""Activities that touch a task's clone on this worker's disk.

``clone_repository`` runs on the shared queue and answers with this worker's own queue; every later
workspace activity is routed there (Temporal's worker-specific task queue pattern), so the files stay
on the disk of the worker that holds them. Each activity adapts one service call and classifies its
errors: what retrying cannot fix is a non-retryable ``ApplicationError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from coding_agent import metrics
from coding_agent.activities.heartbeat import keep_alive
from coding_agent.activities.types import (
    BranchInput,
    CloneInput,
    CommitInput,
    CommitOutput,
    PushInput,
    ToolsInput,
    ToolsOutput,
    ValidationInput,
    Workspace,
)
from coding_agent.git import repository as git
from coding_agent.git.errors import GitError
from coding_agent.git.snapshot import capture_changes, restore_changes
from coding_agent.models import GitCredentials, ValidationResult
from coding_agent.processes import ProcessResult
from coding_agent.redaction import Redactor
from coding_agent.reporting.snapshot_store import Snapshot, SnapshotStore
from coding_agent.settings import Settings
from coding_agent.tools.registry import Toolbox, redacted_arguments
from coding_agent.truncation import elide_middle
from coding_agent.validation.runner import run_validation as run_validation_service

OVERVIEW_MAX_ENTRIES = 200
LOGGED_RESULT_MAX_CHARS = 2000
MUTATING_TOOLS = frozenset({"write_file", "edit_file", "run_shell_command"})


def _heartbeat() -> None:
    activity.heartbeat()


def _git_failure(err: GitError, redactor: Redactor) -> ApplicationError:
    return ApplicationError(redactor.text(str(err)), type="GitError", non_retryable=not err.retryable)


@contextlib.asynccontextmanager
async def git_operation(redactor: Redactor) -> AsyncIterator[None]:
    """Heartbeat while a git operation runs, and turn its failure into a classified activity failure."""
    try:
        async with keep_alive():
            yield
    except GitError as err:
        raise _git_failure(err, redactor) from None


def repository_overview(root: Path) -> str:
    """A bounded listing of the tracked tree, for the planning prompt."""
    entries: list[str] = []
    total = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] == ".git":
            continue
        total += 1
        if len(entries) < OVERVIEW_MAX_ENTRIES:
            entries.append(str(rel) + ("/" if path.is_dir() else ""))
    if total > len(entries):
        entries.append(f"... and {total - len(entries)} more entries")
    return "\n".join(entries)


class WorkspaceActivities:
    """The workspace activities of one worker; ``task_queue`` is this worker's own queue."""

    def __init__(self, settings: Settings, task_queue: str, snapshots: SnapshotStore | None = None) -> None:
        self.settings = settings
        self.task_queue = task_queue
        self.snapshots = snapshots
        self._redactors: dict[str, Redactor] = {}

    def _redactor(self, workspace_path: str, credentials: GitCredentials | None = None) -> Redactor:
        redactor = self._redactors.setdefault(workspace_path, Redactor(self.settings.secret_values()))
        if credentials is not None:
            redactor.add(*credentials.secrets())
        return redactor

    def _toolbox(self, workspace: Workspace, allow_network: bool = False) -> Toolbox:
        s = self.settings
        return Toolbox(
            Path(workspace.path),
            sandbox=s.sandbox,
            allow_network=allow_network,
            shell_timeout=s.shell_timeout_seconds,
            shell_max_timeout=s.shell_max_timeout_seconds,
            read_max_bytes=s.read_max_bytes,
            file_max_bytes=s.file_max_bytes,
            output_max_chars=s.tool_output_max_chars,
            redactor=self._redactor(workspace.path),
            # Hidden inside the sandbox: other tasks' workspaces, the SQLite file, the stack's data.
            mask_paths=[p for p in (s.data_dir, s.workspace_root, s.git_secrets_dir) if p is not None],
        )

    def _git_network_options(self) -> dict[str, Any]:
        s = self.settings
        return {
            "timeout": s.git_timeout_seconds,
            "known_hosts": s.ssh_known_hosts,
            "scratch_dir": s.git_secrets_dir,
            "attempts": s.git_max_attempts,
            "retry_base_delay": s.git_retry_base_delay_seconds,
        }

    @activity.defn
    async def clone_repository(self, data: CloneInput) -> Workspace:
        root = self.settings.workspace_root
        root.mkdir(parents=True, exist_ok=True)
        # A fresh directory per attempt: a half-finished clone of a failed attempt is never reused.
        path = root / f"{data.task_id}-{uuid.uuid4().hex[:8]}"
        redactor = self._redactor(str(path), data.credentials)
        try:
            async with keep_alive():
                head = await git.clone(
                    data.remote_url,
                    data.branch,
                    path,
                    data.credentials,
                    **self._git_network_options(),
                )
                if data.restore is not None:
                    head = await self._restore(path, data)
        except GitError as err:
            shutil.rmtree(path, ignore_errors=True)
            self._redactors.pop(str(path), None)
            raise _git_failure(err, redactor) from None
        overview = await asyncio.to_thread(repository_overview, path)
        return Workspace(path=str(path), task_queue=self.task_queue, base_commit=head, overview=overview)

    async def _restore(self, path: Path, data: CloneInput) -> str:
        """Put a fresh clone back where the lost workspace was: its branch, base and saved changes."""
        assert data.restore is not None
        spec = data.restore
        saved = await self.snapshots.load(spec.session_id) if self.snapshots else None
        patch = saved.patch if saved and saved.base_commit == spec.base_commit else b""
        await restore_changes(path, spec.branch, spec.base_commit, patch, data.remote_url)
        activity.logger.info("rebuilt workspace %s with %d bytes of saved changes", path, len(patch))
        return spec.base_commit

    @activity.defn
    async def create_branch(self, data: BranchInput) -> str:
        async with git_operation(self._redactor(data.workspace.path, data.credentials)):
            return await git.create_feature_branch(
                Path(data.workspace.path),
                data.title,
                date(int(data.day[:4]), int(data.day[4:6]), int(data.day[6:8])),
                data.credentials,
                data.remote_url,
                **self._git_network_options(),
            )

    @activity.defn
    async def execute_tools(self, data: ToolsInput) -> ToolsOutput:
        toolbox = self._toolbox(data.workspace, data.allow_network)
        redactor = self._redactor(data.workspace.path)
        results = []
        async with keep_alive():
            for call in data.calls:
                result = await toolbox.execute(call, heartbeat=_heartbeat)
                # What the activity log keeps: the arguments with secrets redacted, the result cut short.
                result.details["arguments"] = redacted_arguments(call, redactor)
                result.details["result"] = elide_middle(result.output, LOGGED_RESULT_MAX_CHARS)
                results.append(result)
            if data.session_id and any(call.name in MUTATING_TOOLS for call in data.calls):
                await self._save_snapshot(data)
        metrics.tool_calls(results)
        return ToolsOutput(results=results)

    async def _save_snapshot(self, data: ToolsInput) -> None:
        """Save the workspace's changes so another worker can rebuild it; a failure only costs that."""
        if self.snapshots is None:
            return
        try:
            patch = await capture_changes(Path(data.workspace.path), data.workspace.base_commit, data.remote_url)
            await self.snapshots.save(data.session_id, Snapshot(data.workspace.base_commit, patch))
        except Exception as err:  # noqa: BLE001 - the task goes on; only a later rebuild would miss this
            activity.logger.warning("could not save a snapshot of the workspace: %s", err)

    @activity.defn
    async def run_validation(self, data: ValidationInput) -> ValidationResult:
        toolbox = self._toolbox(data.workspace)

        async def run(command: str, timeout: float) -> ProcessResult:
            return await toolbox.run_command(command, timeout, heartbeat=_heartbeat)

        async with keep_alive():
            return await run_validation_service(
                Path(data.workspace.path),
                data.commands,
                run=run,
                timeout=self.settings.validation_timeout_seconds,
                redactor=self._redactor(data.workspace.path),
            )

    @activity.defn
    async def commit_changes(self, data: CommitInput) -> CommitOutput:
        repo = Path(data.workspace.path)
        redactor = self._redactor(data.workspace.path)
        async with git_operation(redactor):
            files = await git.changed_files(repo)
            commit = await git.commit_all(
                repo,
                redactor.text(data.message),
                author_name=self.settings.git_author_name,
                author_email=self.settings.git_author_email,
                remote_url=data.remote_url,
            )
        return CommitOutput(commit_hash=commit, files_changed=files if commit else [])

    @activity.defn
    async def push_branch(self, data: PushInput) -> None:
        async with git_operation(self._redactor(data.workspace.path, data.credentials)):
            await git.push(
                Path(data.workspace.path),
                data.branch,
                data.remote_url,
                data.credentials,
                **self._git_network_options(),
            )

    @activity.defn
    async def cleanup_workspace(self, workspace: Workspace) -> None:
        path = Path(workspace.path)
        # Only ever delete what this product created under its workspace root.
        if path.resolve().is_relative_to(self.settings.workspace_root.resolve()):
            await asyncio.to_thread(shutil.rmtree, path, True)
        self._redactors.pop(workspace.path, None)

    def all(self) -> list[object]:
        """The activities served on this worker's own queue."""
        return [
            self.create_branch,
            self.execute_tools,
            self.run_validation,
            self.commit_changes,
            self.push_branch,
            self.cleanup_workspace,
        ]
