"""Which remotes the product talks to, and the form of their URL that may be stored on disk.

Only https, http, ssh and file transports are allowed. ``ext::``, ``fd::`` and every other
``<helper>::<address>`` form run commands chosen by whoever wrote the URL, so they are refused here,
before git runs (git's ``protocol.allow`` refuses them again). Credentials embedded in an HTTP(S) URL
are lifted out: the URL that reaches ``.git/config`` never carries user-info.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote, urlsplit, urlunsplit

from coding_agent.git.errors import GitError
from coding_agent.redaction import redact_url

ALLOWED_PROTOCOLS = ("file", "http", "https", "ssh")
_SCHEMES = {"http": "http", "https": "http", "ssh": "ssh", "git+ssh": "ssh", "ssh+git": "ssh", "file": "file"}
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>\[[^\]]+\]|[^/:\s]+):(?!//)")


class RemoteKind(StrEnum):
    HTTP = "http"
    SSH = "ssh"
    FILE = "file"


@dataclass(frozen=True)
class Remote:
    """A validated remote: ``url`` is safe to store (no password, no token)."""

    url: str
    kind: RemoteKind
    host: str | None
    embedded_username: str | None = field(default=None, repr=False)
    embedded_password: str | None = field(default=None, repr=False)


def _refuse(url: str, why: str) -> GitError:
    return GitError(
        f"unsafe or unsupported git remote {redact_url(url)!r}: {why}; "
        "only https://, http://, ssh://, user@host:path, file:// and local paths are allowed",
        retryable=False,
    )


def parse_remote(url: str) -> Remote:
    """Validate ``url`` and return it without credentials; raises a non-retryable ``GitError``."""
    if not url or url != url.strip() or any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise _refuse(url, "empty, or contains whitespace or control characters")
    if url.startswith("-"):
        raise _refuse(url, "it starts with '-' (it would be read as an option)")
    if "://" in url:
        scheme = url.split("://", 1)[0].lower()
        if "::" in scheme:
            raise _refuse(url, f"the '{scheme.split('::', 1)[0]}::' transport runs commands")
        kind = _SCHEMES.get(scheme)
        if kind is None:
            raise _refuse(url, f"the {scheme}:// transport is not allowed")
        if kind == "http":
            return _http_remote(url)
        parts = urlsplit(url)
        return Remote(url=url, kind=RemoteKind(kind), host=parts.hostname)
    if "::" in url:
        raise _refuse(url, f"the '{url.split('::', 1)[0]}::' transport runs commands")
    match = _SCP_LIKE.match(url)
    if match and not url.startswith(("/", ".")):
        return Remote(url=url, kind=RemoteKind.SSH, host=match.group("host").strip("[]"))
    # git stores a local path absolute; so do we, since the product rewrites .git/config.
    return Remote(url=os.path.abspath(url), kind=RemoteKind.FILE, host=None)


def _http_remote(url: str) -> Remote:
    parts = urlsplit(url)
    if not parts.hostname:
        raise _refuse(url, "no host")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))
    return Remote(
        url=clean,
        kind=RemoteKind.HTTP,
        host=parts.hostname.lower(),
        embedded_username=unquote(parts.username) if parts.username else None,
        embedded_password=unquote(parts.password) if parts.password else None,
    )


def token_username(host: str | None, username: str | None) -> str:
    """The HTTPS username that goes with an access token, by the usual hosts' conventions."""
    if username:
        return username
    if host and "gitlab" in host:
        return "oauth2"
    return "x-access-token"
