"""Git failures, classified once: retryable (the network hiccuped) or not (fix the input first).

``classify_failure`` reads git's (C-locale) output and turns it into a ``GitError`` whose message says
what happened and what to check, following the specification's troubleshooting section. Every message
is redacted before it is built into the exception: Temporal stores failure messages unencoded.
"""

from __future__ import annotations

import re

from coding_agent.redaction import Redactor, redact_url

CHECK_CREDENTIALS = "Check git credentials and repository URL"
CHECK_PUSH_PERMISSIONS = "Verify git credentials have push permissions"
_OUTPUT_TAIL_LINES = 6


class GitError(Exception):
    """A git operation failed; ``retryable`` says whether trying again can help."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message


def _any(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


_AUTH = _any((
    r"Authentication failed",
    r"Permission denied \((publickey|password|keyboard)",
    r"Permission denied, please try again",
    r"could not read (Username|Password)",
    r"returned error: 40[13]\b",
    r"HTTP Basic: Access denied",
    r"invalid username or password",
    r"incorrect passphrase|bad passphrase",
    r"Load key .*: (incorrect passphrase|invalid format|error in libcrypto)",
))
_HOST_KEY = _any((r"Host key verification failed", r"REMOTE HOST IDENTIFICATION HAS CHANGED",
                  r"No \S+ host key is known"))
_KEY_PERMS = _any((r"UNPROTECTED PRIVATE KEY FILE", r"bad permissions"))
_MISSING_BRANCH = _any((r"Remote branch .* not found", r"couldn't find remote ref"))
_NOT_FOUND = _any((
    r"Repository not found",
    r"does not appear to be a git repository",
    r"returned error: 404\b",
    r"repository '.*' not found",
    r"not a git repository",
))
_REJECTED = _any((r"\[rejected\]", r"\[remote rejected\]", r"non-fast-forward", r"hook declined",
                  r"protected branch"))
_TRANSIENT = _any((
    r"Connection refused",
    r"Failed to connect to",
    r"Couldn't connect to server",
    r"Empty reply from server",
    r"(Recv|Send) failure",
    r"transfer closed with",
    r"Operation too slow",
    r"Connection reset",
    r"Connection timed out",
    r"Operation timed out",
    r"timed out",
    r"returned error: (5\d\d|408|429)\b",
    r"early EOF",
    r"Could not resolve host",
    r"Could not resolve hostname",
    r"Temporary failure in name resolution",
    r"Network is unreachable",
    r"No route to host",
    r"remote end hung up unexpectedly",
    r"RPC failed",
    r"kex_exchange_identification",
    r"Connection closed by",
    r"SSL_ERROR_SYSCALL|gnutls_handshake\(\) failed|TLS connection was non-properly terminated",
    r"unexpected disconnect",
))


def output_tail(output: str, redactor: Redactor) -> str:
    """The last lines of git's output, redacted, for the error message."""
    lines = [line for line in redactor.text(output).strip().splitlines() if line.strip()]
    return "\n".join(lines[-_OUTPUT_TAIL_LINES:])


def classify_failure(
    operation: str,
    output: str,
    *,
    remote_url: str,
    redactor: Redactor,
    branch: str | None = None,
) -> GitError:
    """Turn a failed git command's output into a ``GitError`` with a hint and the retryable flag."""
    where = redact_url(redactor.text(remote_url))
    tail = output_tail(output, redactor)
    push = operation == "push"

    def error(reason: str, retryable: bool) -> GitError:
        detail = f"\ngit said:\n{tail}" if tail else ""
        return GitError(redactor.text(f"git {operation} failed for {where}: {reason}{detail}"), retryable)

    if _MISSING_BRANCH.search(output):
        name = f"'{branch}' " if branch else ""
        return error(f"the branch {name}does not exist on the remote; check repository.branch", False)
    if _HOST_KEY.search(output):
        return error("the SSH host key could not be verified; check the known_hosts setting "
                     "(CODING_AGENT_SSH_KNOWN_HOSTS)", False)
    if _KEY_PERMS.search(output):
        return error("the private key file is readable by others; restrict it to its owner "
                     "(chmod 600)", False)
    if _AUTH.search(output):
        if push and re.search(r"returned error: 403\b|Permission to .* denied", output):
            return error(f"permission denied. {CHECK_PUSH_PERMISSIONS}", False)
        return error(f"authentication failed. {CHECK_CREDENTIALS}", False)
    if push and _REJECTED.search(output):
        return error(f"the remote rejected the push. {CHECK_PUSH_PERMISSIONS} and that the branch "
                     "is not protected or ahead of ours", False)
    if _NOT_FOUND.search(output):
        return error(f"repository not found or not accessible. {CHECK_CREDENTIALS}", False)
    if _TRANSIENT.search(output):
        return error("a transient network or server error", True)
    return error("unexpected git error", False)
