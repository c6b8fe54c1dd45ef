"""Capture a workspace's uncommitted changes as a binary patch, and re-apply them to a fresh clone.

The patch is taken through a throw-away index, so the workspace's own index is untouched, and covers
tracked and untracked files alike (``.gitignore`` respected). ``.git/config`` is rewritten first, as
before every product git command, so a model-written filter cannot run during ``git add``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from coding_agent.git.errors import GitError
from coding_agent.git.hardening import own_repo_config
from coding_agent.git.repository import _local
from coding_agent.git.urls import parse_remote


async def capture_changes(repo: Path, base_commit: str, remote_url: str) -> bytes:
    """The working tree's changes against ``base_commit`` (empty when there are none)."""
    own_repo_config(repo, parse_remote(remote_url).url)
    with tempfile.TemporaryDirectory(prefix="snapshot-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        patch_file = Path(scratch) / "changes.patch"
        await _local(repo, "read-tree", base_commit, env=env)
        await _local(repo, "add", "--all", env=env)
        await _local(repo, "diff", "--cached", "--binary", "--no-color", f"--output={patch_file}", base_commit, env=env)
        return patch_file.read_bytes()


async def restore_changes(repo: Path, branch: str, base_commit: str, patch: bytes, remote_url: str) -> None:
    """Check out ``branch`` at ``base_commit`` in a fresh clone and apply ``patch`` to its working tree."""
    own_repo_config(repo, parse_remote(remote_url).url)
    await _local(repo, "checkout", "-q", "-B", branch, base_commit)
    if not patch:
        return
    with tempfile.TemporaryDirectory(prefix="snapshot-") as scratch:
        patch_file = Path(scratch) / "changes.patch"
        patch_file.write_bytes(patch)
        try:
            await _local(repo, "apply", "--binary", "--whitespace=nowarn", str(patch_file))
        except GitError as err:
            raise GitError(f"could not re-apply the saved changes to the rebuilt workspace: {err}", False) from None
