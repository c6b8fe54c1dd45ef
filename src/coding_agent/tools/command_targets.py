"""Where a path argument of a shell command lands: inside the workspace, in ``.git``, in ``/tmp``, on
a device, or outside; for the command policy.

Words come from ``shell_syntax`` with expansions as markers: ``~``/``$HOME`` expand to the worker's
home, ``$PWD``/``$(pwd)`` to the tracked directory, anything else makes the path unknowable. Globs are
judged by the directory they expand in; symlinks are followed the way the command would follow them.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coding_agent.tools.shell_syntax import MARK, Word

_DEV_OK = (
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/stdin",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
)
_DEV_OK_PREFIXES = ("/dev/fd/", "/dev/pts/", "/dev/shm/")


@dataclass
class Target:
    kind: str  # inside | git | root | ancestor | protected | tmp | dev_ok | device | outside | unknown
    shown: str
    real: str = ""


class TargetResolver:
    """Classifies path words for one workspace."""

    def __init__(self, workspace: Path, home: Path, protected: Sequence[Path]) -> None:
        self.workspace = workspace
        self.home = home
        self.protected = list(protected)

    def expand(self, word: Word, cwd: Path | None) -> str | None:
        text = word.text.replace(f"{MARK}HOME{MARK}", str(self.home))
        if cwd is not None:
            text = text.replace(f"{MARK}PWD{MARK}", str(cwd))
        if MARK in text:
            return None
        if not os.path.isabs(text):
            if cwd is None:
                return None
            text = os.path.join(cwd, text)
        return text

    def classify(self, word: Word, cwd: Path | None, *, follow: bool, children: bool) -> Target:
        shown = word.text.replace(f"{MARK}HOME{MARK}", "~").replace(f"{MARK}PWD{MARK}", ".")
        shown = re.sub(f"{MARK}([^{MARK}]*){MARK}", r"$\1", shown)
        text = self.expand(word, cwd)
        if text is None:
            return Target("unknown", shown)
        pattern = ""
        if word.glob:
            parts = text.split("/")
            first = next(i for i, p in enumerate(parts) if any(c in p for c in "*?[{"))
            text, pattern, children = "/".join(parts[:first]) or "/", parts[first], True
        path = os.path.normpath(text)
        real = (
            os.path.realpath(path)
            if follow
            else os.path.join(os.path.realpath(os.path.dirname(path) or "/"), os.path.basename(path))
        )
        real_path = Path(os.path.normpath(real))
        ws = self.workspace
        if real_path.is_relative_to(ws):
            rel = real_path.relative_to(ws)
            could_hit_git = rel == Path(".") and pattern.startswith(".") and fnmatch.fnmatch(".git", pattern)
            if any(p.lower() == ".git" for p in rel.parts) or could_hit_git:
                return Target("git", shown, str(real_path))
            if real_path == ws and not children:
                return Target("root", shown, str(real_path))
            return Target("inside", shown, str(real_path))
        if ws.is_relative_to(real_path):
            return Target("ancestor", shown, str(real_path))
        for protected in self.protected:
            if real_path.is_relative_to(protected) or protected.is_relative_to(real_path):
                return Target("protected", shown, str(real_path))
        if real_path.is_relative_to("/tmp") and (real_path != Path("/tmp") or children):
            return Target("tmp", shown, str(real_path))
        if (
            str(real_path) in _DEV_OK
            or str(real_path).startswith(_DEV_OK_PREFIXES)
            or re.fullmatch(r"/proc/self/fd/\d+", str(real_path))
        ):
            return Target("dev_ok", shown, str(real_path))
        if real_path.is_relative_to("/dev"):
            return Target("device", shown, str(real_path))
        return Target("outside", shown, str(real_path))
