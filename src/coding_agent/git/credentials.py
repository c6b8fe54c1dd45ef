"""The environment that authenticates one git network command, and nothing that outlives it.

HTTPS credentials go through ``GIT_ASKPASS``: a tiny script in a private 0700 temp dir that prints
values from environment variables it is handed, so the secret is never in a file, a URL or an argv.
SSH keys are used from the given path or written 0600 into that temp dir; an encrypted key's
passphrase comes from an ``SSH_ASKPASS`` script (forced, since git runs without a terminal).
``GIT_SSH_COMMAND`` is always set, which also overrides any ``core.sshCommand`` a repository carries.
The temp dir is removed when the context exits, on errors too.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from coding_agent.git.errors import GitError
from coding_agent.git.urls import Remote, RemoteKind, parse_remote, token_username
from coding_agent.models import GitCredentials, GitCredentialsType

USERNAME_VAR = "CODING_AGENT_GIT_USERNAME"
PASSWORD_VAR = "CODING_AGENT_GIT_PASSWORD"
PASSPHRASE_VAR = "CODING_AGENT_SSH_PASSPHRASE"
SCRATCH_PREFIX = "coding-agent-git-"

# The scripts hold no secret: they echo variables git's process tree inherits, and answer only the
# prompts they are meant for (a password prompt from an SSH server must not receive the passphrase).
_GIT_ASKPASS = f"""#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "${USERNAME_VAR}" ;;
  Password*) printf '%s\\n' "${PASSWORD_VAR}" ;;
  *) exit 1 ;;
esac
"""
_SSH_ASKPASS = f"""#!/bin/sh
case "$1" in
  *assphrase*) printf '%s\\n' "${PASSPHRASE_VAR}" ;;
  *) exit 1 ;;
esac
"""


def effective_credentials(remote: Remote, credentials: GitCredentials | None) -> GitCredentials | None:
    """The given credentials, or those that were embedded in an HTTPS URL (which we strip)."""
    if credentials is not None or remote.kind is not RemoteKind.HTTP:
        return credentials
    if remote.embedded_password and remote.embedded_username:
        return GitCredentials(
            credential_type=GitCredentialsType.USERNAME_PASSWORD,
            username=remote.embedded_username,
            password=remote.embedded_password,
        )
    if remote.embedded_username:  # https://<token>@host/... is the usual token-in-URL form
        return GitCredentials(
            credential_type=GitCredentialsType.ACCESS_TOKEN, access_token=remote.embedded_username
        )
    return None


def _write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o700)
    return path


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def ssh_command(
    scratch: Path,
    *,
    key_file: Path | None = None,
    with_passphrase: bool = False,
    known_hosts: Path | None = None,
) -> str:
    """The ``GIT_SSH_COMMAND`` for one operation: key only, public-key auth only, a host-key policy."""
    options = [
        "ConnectTimeout=30",
        "ServerAliveInterval=15",
        "ServerAliveCountMax=4",
        "LogLevel=ERROR",
        "PreferredAuthentications=publickey",
        "PasswordAuthentication=no",
        "KbdInteractiveAuthentication=no",
    ]
    # BatchMode=yes would also stop ssh from asking SSH_ASKPASS for the key's passphrase.
    options.append("BatchMode=no" if with_passphrase else "BatchMode=yes")
    if with_passphrase:
        options.append("NumberOfPasswordPrompts=1")
    if known_hosts is not None:
        options += ["StrictHostKeyChecking=yes", f"UserKnownHostsFile={known_hosts}"]
    else:
        options += ["StrictHostKeyChecking=accept-new", f"UserKnownHostsFile={scratch / 'known_hosts'}"]
    argv = ["ssh"]
    if key_file is not None:
        argv += ["-i", str(key_file), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"]
    for option in options:
        argv += ["-o", option]
    return shlex.join(argv)


@contextlib.asynccontextmanager
async def git_auth_env(
    remote_url: str,
    credentials: GitCredentials | None,
    *,
    known_hosts: Path | None = None,
    scratch_dir: Path | None = None,
) -> AsyncIterator[dict[str, str]]:
    """Yield the extra environment for one git network command against ``remote_url``.

    Raises a non-retryable ``GitError`` for an unsafe URL, credentials that do not fit the transport,
    or a missing ``private_key_path``. ``scratch_dir`` is where the private temp dir is made
    (default: the system temp dir; a tmpfs keeps keys off disk).
    """
    remote = parse_remote(remote_url)
    credentials = effective_credentials(remote, credentials)
    if scratch_dir is not None:
        scratch_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - metadata only
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=scratch_dir))  # mkdtemp makes it 0700
    try:
        env: dict[str, str] = {}
        key_file: Path | None = None
        passphrase: str | None = None
        kind = credentials.credential_type if credentials else None
        if credentials is None or remote.kind is RemoteKind.FILE:
            pass  # local remotes need no credentials; any given are simply not used
        elif kind in (GitCredentialsType.USERNAME_PASSWORD, GitCredentialsType.ACCESS_TOKEN):
            if remote.kind is not RemoteKind.HTTP:
                raise GitError(f"{kind} credentials need an https:// remote URL; "
                               "use key_cert credentials for SSH remotes", retryable=False)
            if kind is GitCredentialsType.USERNAME_PASSWORD:
                username, secret = credentials.username or "", credentials.password or ""
            else:
                username = token_username(remote.host, credentials.username)
                secret = credentials.access_token or ""
            env["GIT_ASKPASS"] = str(_write_script(scratch / "git-askpass", _GIT_ASKPASS))
            env[USERNAME_VAR] = username
            env[PASSWORD_VAR] = secret
        else:
            if remote.kind is not RemoteKind.SSH:
                raise GitError("key_cert credentials need an SSH remote URL (ssh://host/path or "
                               "user@host:path)", retryable=False)
            if credentials.private_key:
                key_text = credentials.private_key.replace("\r\n", "\n")
                key_file = _write_private(scratch / "id_key", key_text if key_text.endswith("\n")
                                          else key_text + "\n")
            else:
                key_file = Path(credentials.private_key_path or "").expanduser()  # noqa: ASYNC240
                if not key_file.is_file():
                    raise GitError(f"credentials.private_key_path {str(key_file)!r} is not a readable file; "
                                   "check the path on the worker", retryable=False)
            passphrase = credentials.key_password or None
            if passphrase:
                env["SSH_ASKPASS"] = str(_write_script(scratch / "ssh-askpass", _SSH_ASKPASS))
                env["SSH_ASKPASS_REQUIRE"] = "force"
                env["DISPLAY"] = os.environ.get("DISPLAY", ":0")
                env[PASSPHRASE_VAR] = passphrase
        env["GIT_SSH_COMMAND"] = ssh_command(
            scratch, key_file=key_file, with_passphrase=passphrase is not None, known_hosts=known_hosts
        )
        yield env
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
