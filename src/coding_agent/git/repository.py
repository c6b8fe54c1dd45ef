"""The product's git operations: clone, feature branch, commit, push (plain async, no Temporal).

Every command goes through ``_git`` (hardened argv and environment, ``processes.run_process``);
network commands get their credentials from ``git_auth_env`` for exactly one attempt and are retried
with exponential backoff when the failure is transient. Before each command in an existing workspace
the product rewrites ``.git/config`` (see ``hardening``), so whatever the model wrote there is inert.
Clones are blob-less (``--filter=blob:none``) where the server allows it: the first checkout only
fetches the blobs of one tree, and commit and push still work.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from coding_agent.git.credentials import effective_credentials, git_auth_env
from coding_agent.git.errors import GitError, classify_failure, output_tail
from coding_agent.git.hardening import git_argv, git_env, own_repo_config
from coding_agent.git.naming import branch_name, unique_branch_name
from coding_agent.git.urls import Remote, RemoteKind, parse_remote
from coding_agent.models import GitCredentials
from coding_agent.processes import ProcessResult, run_process
from coding_agent.redaction import Redactor

logger = logging.getLogger(__name__)

LOCAL_TIMEOUT_SECONDS = 600.0
DEFAULT_ATTEMPTS = 3
DEFAULT_RETRY_BASE_DELAY = 2.0
_SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")

__all__ = [
    "branch_name", "changed_files", "clone", "commit_all", "create_feature_branch", "head_commit", "push",
]


def _redactor(remote: Remote, credentials: GitCredentials | None) -> Redactor:
    secrets = credentials.secrets() if credentials else []
    return Redactor([*secrets, remote.embedded_password, remote.embedded_username])


async def _git(
    *args: str,
    repo: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = LOCAL_TIMEOUT_SECONDS,  # noqa: ASYNC109 - a per-command limit for run_process
    stdin: bytes | None = None,
) -> ProcessResult:
    argv = git_argv(*args)
    full_env = git_env(repo, env)
    # argv and GIT_SSH_COMMAND never hold a secret by construction; logging them lets tests prove it.
    logger.debug("git: %s (GIT_SSH_COMMAND=%s)", shlex.join(argv), full_env.get("GIT_SSH_COMMAND"))
    return await run_process(argv, cwd=cwd or repo, env=full_env, timeout=timeout, stdin_data=stdin)


async def _local(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None
) -> str:
    """Run a local (no network) git command in ``repo``; raise a non-retryable GitError on failure."""
    result = await _git(*args, repo=repo, env=env, stdin=stdin)
    if result.exit_code != 0:
        tail = output_tail(result.output, Redactor())
        raise GitError(f"git {args[0]} failed in the workspace (exit {result.exit_code}):\n{tail}", False)
    return result.output


async def _network(
    operation: str,
    args: Sequence[str],
    *,
    remote: Remote,
    credentials: GitCredentials | None,
    timeout: float,  # noqa: ASYNC109 - a per-attempt limit for each git command
    known_hosts: Path | None,
    scratch_dir: Path | None,
    attempts: int,
    retry_base_delay: float,
    repo: Path | None = None,
    cwd: Path | None = None,
    branch: str | None = None,
    before_retry: Path | None = None,
) -> ProcessResult:
    """Run a network git command with fresh credentials per attempt and backoff on transient errors."""
    redactor = _redactor(remote, credentials)
    # remote.url has had any user-info removed; credentials that came in the URL are used from here.
    credentials = effective_credentials(remote, credentials)
    for attempt in range(1, max(attempts, 1) + 1):
        auth_env = git_auth_env(remote.url, credentials, known_hosts=known_hosts, scratch_dir=scratch_dir)
        async with auth_env as auth:
            result = await _git(*args, repo=repo, cwd=cwd, env=auth, timeout=timeout)
        if result.exit_code == 0 and not result.timed_out:
            return result
        if result.timed_out:
            message = f"git {operation} for {remote.url} timed out after {timeout:g}s"
            error = GitError(redactor.text(message), True)
        else:
            error = classify_failure(operation, result.output, remote_url=remote.url, redactor=redactor,
                                     branch=branch)
        if not error.retryable or attempt >= attempts:
            if error.retryable and attempts > 1:
                error = GitError(f"{error.message}\n(gave up after {attempts} attempts)", True)
            raise error
        delay = retry_base_delay * 2 ** (attempt - 1)
        logger.warning("git %s failed (attempt %d of %d), retrying in %.1fs: %s",
                       operation, attempt, attempts, delay, error.message.splitlines()[0])
        if before_retry is not None:
            shutil.rmtree(before_retry, ignore_errors=True)
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def clone(
    remote_url: str,
    branch: str,
    dest: Path,
    credentials: GitCredentials | None,
    *,
    timeout: float,  # noqa: ASYNC109 - a per-attempt limit for each git command
    known_hosts: Path | None = None,
    scratch_dir: Path | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY,
    partial: bool = True,
) -> str:
    """Clone ``branch`` of ``remote_url`` into ``dest`` (absent or empty) and return the HEAD sha."""
    remote = parse_remote(remote_url)
    if branch.startswith("-"):
        raise GitError(f"invalid branch name {branch!r}", retryable=False)
    if dest.exists() and any(dest.iterdir()):  # noqa: ASYNC240 - one directory listing
        raise GitError(f"clone destination {dest} is not empty", retryable=False)
    dest.parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    args = ["clone", "--single-branch", "--no-recurse-submodules", f"--branch={branch}"]
    # A plain local path is cloned with hardlinks, where git ignores (and warns about) --filter.
    if partial and not (remote.kind is RemoteKind.FILE and not remote.url.startswith("file://")):
        args.append("--filter=blob:none")
    args += ["--", remote.url, str(dest)]
    await _network("clone", args, remote=remote, credentials=credentials, timeout=timeout,
                   known_hosts=known_hosts, scratch_dir=scratch_dir, attempts=attempts,
                   retry_base_delay=retry_base_delay, cwd=dest.parent, branch=branch, before_retry=dest)
    own_repo_config(dest, remote.url)
    return await head_commit(dest)


async def create_feature_branch(
    repo: Path,
    title: str,
    day: date,
    credentials: GitCredentials | None,
    remote_url: str,
    *,
    timeout: float,  # noqa: ASYNC109 - a per-attempt limit for each git command
    known_hosts: Path | None = None,
    scratch_dir: Path | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY,
) -> str:
    """Create and check out ``feat/YYYYMMDD-<slug>`` (suffixed -2, -3... if the remote has it)."""
    remote = parse_remote(remote_url)
    own_repo_config(repo, remote.url)
    base = branch_name(title, day)
    result = await _network("ls-remote", ["ls-remote", "--heads", "--", remote.url, base, f"{base}-*"],
                            remote=remote, credentials=credentials, timeout=timeout, known_hosts=known_hosts,
                            scratch_dir=scratch_dir, attempts=attempts, retry_base_delay=retry_base_delay,
                            repo=repo)
    taken = {
        line.split("\trefs/heads/", 1)[1].strip()
        for line in result.output.splitlines()
        if "\trefs/heads/" in line
    }
    name = unique_branch_name(base, taken)
    await _local(repo, "checkout", "-q", "-B", name)
    return name


async def _configured_origin(repo: Path) -> str | None:
    """The origin URL in ``.git/config`` if it is still a safe remote (the model may have changed it)."""
    result = await _git("config", "--file", str(repo / ".git" / "config"), "--get-all", "remote.origin.url",
                        repo=repo)
    lines = result.output.strip().splitlines()
    if result.exit_code != 0 or not lines:
        return None
    try:
        return parse_remote(lines[-1]).url
    except GitError:
        return None


async def commit_all(
    repo: Path,
    message: str,
    *,
    author_name: str,
    author_email: str,
    remote_url: str | None = None,
) -> str | None:
    """Stage everything and commit; return the new sha, or None when nothing changed."""
    url = parse_remote(remote_url).url if remote_url else await _configured_origin(repo)
    own_repo_config(repo, url)
    await _local(repo, "add", "--all")
    diff = await _git("diff", "--cached", "--quiet", repo=repo)
    if diff.exit_code == 0:
        return None
    if diff.exit_code != 1:
        raise GitError(f"git diff failed in the workspace:\n{output_tail(diff.output, Redactor())}", False)
    identity = {
        "GIT_AUTHOR_NAME": author_name,
        "GIT_AUTHOR_EMAIL": author_email,
        "GIT_COMMITTER_NAME": author_name,
        "GIT_COMMITTER_EMAIL": author_email,
    }
    await _local(repo, "commit", "-q", "--no-verify", "--cleanup=verbatim", "-F", "-", env=identity,
                 stdin=message.encode())
    return await head_commit(repo)


async def push(
    repo: Path,
    branch: str,
    remote_url: str,
    credentials: GitCredentials | None,
    *,
    timeout: float,  # noqa: ASYNC109 - a per-attempt limit for each git command
    known_hosts: Path | None = None,
    scratch_dir: Path | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_base_delay: float = DEFAULT_RETRY_BASE_DELAY,
) -> None:
    """Push the checked-out commit to ``refs/heads/<branch>`` on the remote (never forced)."""
    remote = parse_remote(remote_url)
    if branch.startswith("-") or not branch:
        raise GitError(f"invalid branch name {branch!r}", retryable=False)
    own_repo_config(repo, remote.url)
    await _network("push", ["push", "--no-verify", "origin", f"HEAD:refs/heads/{branch}"], remote=remote,
                   credentials=credentials, timeout=timeout, known_hosts=known_hosts, scratch_dir=scratch_dir,
                   attempts=attempts, retry_base_delay=retry_base_delay, repo=repo, branch=branch)


async def head_commit(repo: Path) -> str:
    """The sha of the checked-out commit."""
    output = await _local(repo, "rev-parse", "--verify", "HEAD^{commit}")
    for line in reversed(output.split()):
        if _SHA.match(line):
            return line
    raise GitError(f"could not read HEAD in {repo}", retryable=False)


async def changed_files(repo: Path) -> list[str]:
    """Paths that differ from HEAD (staged, unstaged or untracked), as a commit would record them."""
    # git status runs clean filters (and reads includes) from .git/config: own it first, as before
    # every other product command, so a model-planted filter.<x>.clean never runs here.
    own_repo_config(repo, await _configured_origin(repo))
    output = await _local(repo, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    paths = []
    for entry in output.split("\0"):
        if len(entry) > 3 and entry[2] == " " and entry[:2].strip(" MADRCU?!T") == "":
            paths.append(entry[3:])
    return paths
