"""How the agent's commands are isolated: a bubblewrap sandbox, or none, plus the scrubbed environment.

With bubblewrap (Debian ``bubblewrap``) a command sees the system read-only, only the workspace
writable, the workspace's ``.git`` read-only, a private ``/tmp`` and ``/proc``, no capabilities, no
network (unless the task allows it), and its own PID namespace (so ``/proc/<worker pid>/environ`` does
not exist); it dies with the worker. Secret files of the worker can be masked. ``auto`` uses bubblewrap
when a probe shows it works here (it can fail inside some containers). In every mode the command gets
an environment built from an allow-list, never the worker's own (API keys, database URL, credentials).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coding_agent.processes import run_process

log = logging.getLogger(__name__)

SandboxKind = Literal["bubblewrap", "none"]
SANDBOX_HOME = "/tmp/home"
"""HOME inside the bubblewrap sandbox: on its private /tmp, so nothing of the worker's home shows."""

_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_PASS_THROUGH = ("PATH", "LANG", "LANGUAGE", "TERM", "TZ")
_FIXED = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "CI": "true",  # most tools then skip prompts, spinners and colours
    # Git hardening: no system/global config (a planted one cannot add helpers), never prompt.
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "TMPDIR": "/tmp",
}
_probe_cache: dict[str, Sandbox] = {}


def sandbox_env(home: str, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The command environment: an allow-list of the worker's variables plus fixed values."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in _PASS_THROUGH if source.get(name)}
    env.update({name: value for name, value in source.items() if name.startswith("LC_")})
    env.setdefault("PATH", _DEFAULT_PATH)
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("TERM", "dumb")
    env.update(_FIXED)
    env["HOME"] = home
    return env


@dataclass(frozen=True)
class Sandbox:
    """The isolation in use and why it was chosen."""

    kind: SandboxKind
    reason: str

    @property
    def home(self) -> str | None:
        """HOME for commands: fixed inside bubblewrap; None means the caller provides a host directory."""
        return SANDBOX_HOME if self.kind == "bubblewrap" else None

    def wrap(
        self,
        argv: Sequence[str],
        *,
        workspace: Path,
        workdir: Path,
        allow_network: bool = False,
        mask_paths: Sequence[Path] = (),
    ) -> list[str]:
        """``argv`` as it must be executed (unchanged without a sandbox; cwd is the caller's job then)."""
        if self.kind == "none":
            return list(argv)
        return bwrap_argv(
            argv, workspace=workspace, workdir=workdir, allow_network=allow_network, mask_paths=mask_paths
        )


# No capabilities, the system read-only, fresh /dev and /proc, a private /tmp: the same for the probe
# and for every command, so a probe that passes proves the real sandbox can be built.
BASE_MOUNTS = ["--cap-drop", "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]


def toolchains_under_tmp() -> list[str]:
    """The worker's interpreter and PATH directories that live under /tmp (a virtual environment in a
    temporary checkout, say): the private /tmp would hide them, so they are mounted back read-only."""
    candidates = [sys.prefix, sys.base_prefix, *os.environ.get("PATH", "").split(os.pathsep)]
    found: list[str] = []
    for candidate in candidates:
        if not candidate:
            continue
        real = Path(candidate).resolve()
        if real.is_relative_to("/tmp") and real != Path("/tmp") and real.is_dir() and str(real) not in found:
            found.append(str(real))
    return found


def bwrap_argv(
    argv: Sequence[str],
    *,
    workspace: Path,
    workdir: Path,
    allow_network: bool,
    mask_paths: Sequence[Path],
) -> list[str]:
    ws = workspace.resolve()
    # bwrap applies mounts in order: the private /tmp and the masks first, then the workspace on top,
    # so a workspace living under /tmp or under a masked directory stays visible.
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-all"]
    if allow_network:
        args.append("--share-net")
    args += BASE_MOUNTS
    for tool_dir in toolchains_under_tmp():
        args += ["--ro-bind", tool_dir, tool_dir]
    for path in mask_paths:
        real = Path(path).resolve()
        if real == ws or real == Path("/"):
            continue  # masking these would hide everything the command is meant to work on
        if real.is_dir():
            args += ["--tmpfs", str(real)]
        elif real.exists():
            args += ["--ro-bind", "/dev/null", str(real)]
    args += ["--bind", str(ws), str(ws)]
    git_dir = ws / ".git"
    if git_dir.exists():
        args += ["--ro-bind", str(git_dir), str(git_dir)]
    args += ["--dir", SANDBOX_HOME, "--chdir", str(workdir.resolve()), "--", *argv]
    return args


async def probe_bubblewrap() -> str | None:
    """None when ``bwrap`` can build the sandbox here; otherwise why not."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed (Debian package bubblewrap)"
    result = await run_process(
        ["bwrap", "--die-with-parent", "--unshare-all", *BASE_MOUNTS, "true"],
        env={"PATH": os.environ.get("PATH", _DEFAULT_PATH)},
        timeout=30,
        output_limit=4096,
    )
    if result.exit_code != 0:
        return f"bwrap failed here (exit {result.exit_code}): {result.output.strip()[:300]}"
    return None


async def choose_sandbox(mode: str = "auto") -> Sandbox:
    """Resolve the ``sandbox`` setting once per process; raises ValueError when bubblewrap is required
    but cannot run."""
    if mode not in ("auto", "bubblewrap", "none"):
        raise ValueError(f"sandbox must be auto, bubblewrap or none, not {mode!r}")
    if mode in _probe_cache:
        return _probe_cache[mode]
    if mode == "none":
        chosen = Sandbox("none", "sandbox=none was configured")
    else:
        problem = await probe_bubblewrap()
        if problem is None:
            chosen = Sandbox("bubblewrap", f"sandbox={mode} and bwrap works here")
        elif mode == "bubblewrap":
            raise ValueError(f"sandbox=bubblewrap was configured but {problem}")
        else:
            chosen = Sandbox("none", f"sandbox=auto fell back to none: {problem}")
    level = logging.WARNING if chosen.kind == "none" and mode == "auto" else logging.INFO
    log.log(level, "agent commands run with sandbox=%s (%s)", chosen.kind, chosen.reason)
    _probe_cache[mode] = chosen
    return chosen
