"""How the product runs git so that nothing the model wrote into the workspace can steer it.

Three layers. (1) Every command gets ``-c`` overrides (hooks off, credential helpers reset, askpass,
fsmonitor, signing and pagers neutralised) and an environment built from scratch: no system or
global config, no terminal prompts, ``GIT_ALLOW_PROTOCOL`` limited to file/http/https/ssh, and
``GIT_SSH_COMMAND`` always set (it beats any ``core.sshCommand``). (2) ``-c`` cannot neutralise what it
cannot name: ``include.path``/``includeIf``, ``filter.<any>.clean``, ``remote.origin.pushurl``,
``url.<x>.insteadOf``, ``http.extraHeader``... So the product owns ``.git/config``: before each of its
own commands it rewrites the file from what the product itself knows (the remote URL and whether the
clone is partial), dropping whatever the model added. (3) ``GIT_DIR``/``GIT_WORK_TREE`` are explicit and
``.git`` must be a real directory, so a ``.git`` file or ``commondir`` cannot point git elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from coding_agent.git.errors import GitError
from coding_agent.git.urls import ALLOWED_PROTOCOLS

SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),
    ("credential.helper", ""),  # an empty value resets the helper list
    ("core.askPass", ""),
    ("core.fsmonitor", "false"),
    ("core.pager", "cat"),
    ("commit.gpgSign", "false"),
    ("protocol.allow", "never"),
    *((f"protocol.{name}.allow", "always") for name in ALLOWED_PROTOCOLS),
    ("submodule.recurse", "false"),
    ("push.recurseSubmodules", "no"),
    # Rename detection reads old blobs, which a blob-less clone would fetch lazily (without credentials).
    ("diff.renames", "false"),
    ("status.renames", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("advice.detachedHead", "false"),
)

# Files inside .git that redirect git to other configuration or another repository.
_REDIRECTING_FILES = ("commondir", "config.worktree", "gitdir")


def git_argv(*args: str) -> list[str]:
    """``git`` with the hardening overrides, then ``args``."""
    argv = ["git"]
    for key, value in SAFE_CONFIG:
        argv += ["-c", f"{key}={value}"]
    return argv + list(args)


def git_env(repo: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for git: the worker's secrets and stray GIT_* variables are not inherited."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "LC_ALL": "C",
        "LANG": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_PROTOCOLS),
        "GIT_PROTOCOL_FROM_USER": "0",
        # Without credentials this still overrides core.sshCommand; git_auth_env replaces it.
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o LogLevel=ERROR",
    }
    if repo is not None:
        env["GIT_DIR"] = str(repo / ".git")
        env["GIT_WORK_TREE"] = str(repo)
    env.update(extra or {})
    return env


def _quote(value: str) -> str:
    if any(ord(c) < 32 for c in value):
        raise GitError("refusing a git config value with control characters", retryable=False)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_git_dir(repo: Path) -> Path:
    """``repo/.git`` as a real directory, with files that would redirect git removed."""
    git_dir = repo / ".git"
    if git_dir.is_symlink() or not git_dir.is_dir():
        raise GitError(f"{git_dir} is not a git directory (it may have been replaced); "
                       "the workspace cannot be trusted", retryable=False)
    for name in _REDIRECTING_FILES:
        path = git_dir / name
        if path.is_symlink() or path.is_file():
            path.unlink()
    return git_dir


def is_partial_clone(git_dir: Path) -> bool:
    """A blob-less clone leaves ``.promisor`` marks next to the packs it fetched."""
    return any((git_dir / "objects" / "pack").glob("*.promisor"))


def own_repo_config(repo: Path, remote_url: str | None) -> None:
    """Rewrite ``.git/config`` from what the product knows; everything else in it is dropped."""
    git_dir = check_git_dir(repo)
    partial = is_partial_clone(git_dir)
    lines = [
        "[core]",
        f"\trepositoryformatversion = {1 if partial else 0}",
        "\tfilemode = true",
        "\tbare = false",
        "\tlogallrefupdates = true",
    ]
    if remote_url is not None:
        lines += ['[remote "origin"]', f"\turl = {_quote(remote_url)}",
                  "\tfetch = +refs/heads/*:refs/remotes/origin/*"]
    if partial and remote_url is not None:
        lines += ["\tpromisor = true", "\tpartialclonefilter = blob:none", "[extensions]",
                  "\tpartialclone = origin"]
    config = git_dir / "config"
    tmp = git_dir / "config.coding-agent.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    if config.is_symlink():
        config.unlink()
    os.replace(tmp, config)
