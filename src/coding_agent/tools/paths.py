"""Resolve a path the model gave into a real path inside the workspace, or refuse it.

Paths may be relative (to the workspace root) or absolute; after normalising ``..`` and following
symlinks the result must still lie inside the workspace, and must not touch the repository's ``.git``
directory (the product runs git itself; a model-written hook or config would run inside the
authenticated push). Malformed paths (NUL bytes, over-long names) get a clear ``ToolError``.
"""

from __future__ import annotations

import os
from pathlib import Path

from coding_agent.tools.errors import ToolError, ToolRefused

MAX_PATH_CHARS = 4096
MAX_COMPONENT_BYTES = 255

GIT_DIR_MESSAGE = (
    "paths inside .git/ are off limits: the product manages the repository itself (it commits and "
    "pushes your changes at the end). Inspect it with run_shell_command, e.g. `git status`, `git diff`, "
    "`git log`"
)


def check_path_syntax(path: str) -> None:
    """Reject paths no filesystem call should see: empty, NUL bytes, over-long."""
    if not isinstance(path, str) or not path.strip():
        raise ToolError("path is empty; give a path relative to the workspace root, e.g. 'src/main.py'")
    if "\x00" in path:
        raise ToolError("path contains a NUL byte; give a plain path such as 'src/main.py'")
    if len(path) > MAX_PATH_CHARS:
        raise ToolError(f"path is {len(path)} characters long; the limit is {MAX_PATH_CHARS}")
    for part in path.split("/"):
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_COMPONENT_BYTES:
            raise ToolError(
                f"path component '{part[:40]}...' is {size} bytes long; the limit is {MAX_COMPONENT_BYTES}"
            )


def touches_git_dir(relative: Path) -> bool:
    """True when any component is ``.git`` (case-insensitively: some filesystems fold case)."""
    return any(part.lower() == ".git" for part in relative.parts)


def resolve_in_workspace(workspace: Path, path: str) -> Path:
    """The real path of ``path`` inside ``workspace``; raises ToolError / ToolRefused otherwise."""
    check_path_syntax(path)
    root = workspace.resolve()
    given = Path(path)
    lexical = Path(os.path.normpath(given if given.is_absolute() else root / given))
    if not lexical.is_relative_to(root):
        raise ToolRefused(
            f"refused: '{path}' is outside the workspace; use a path relative to the workspace root "
            f"(the workspace is the repository checkout, e.g. 'src/main.py')"
        )
    if touches_git_dir(lexical.relative_to(root)):
        raise ToolRefused(f"refused: '{path}' is inside .git/; {GIT_DIR_MESSAGE}")
    try:
        real = lexical.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops, permission errors on a parent
        raise ToolError(f"cannot resolve '{path}': {exc.__class__.__name__}") from None
    if not real.is_relative_to(root):
        raise ToolRefused(
            f"refused: '{path}' resolves through a symlink to a location outside the workspace; "
            "the file tools only reach files inside the workspace"
        )
    if touches_git_dir(real.relative_to(root)):
        raise ToolRefused(f"refused: '{path}' resolves through a symlink into .git/; {GIT_DIR_MESSAGE}")
    return real


def display(workspace: Path, real: Path) -> str:
    """The workspace-relative form of a resolved path, for messages."""
    rel = real.relative_to(workspace.resolve()).as_posix()
    return rel or "."
