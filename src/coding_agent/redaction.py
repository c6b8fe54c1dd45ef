"""The one place that removes secrets from text and structures before they leave the process.

Everything that is logged, published, stored or raised passes through ``Redactor``: known secret
values (credentials of the task, the worker's own keys) are replaced, and so are credentials that
look like secrets even when nobody registered them (``user:password@`` in URLs, bearer tokens,
private-key blocks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]*(?::[^/@\s]*)?@")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.S)
_BEARER = re.compile(r"(?i)(authorization:\s*(?:bearer|basic|token)\s+)\S+")
_SECRET_KEYS = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|private[_-]?key|authorization)")


class Redactor:
    """Replaces registered secret values and secret-looking patterns with ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if not secret or len(secret) < 4:
                continue
            # A multi-line secret (a key) may show up line by line, e.g. in a tool's output.
            candidates = [secret] + [line.strip() for line in secret.splitlines() if len(line.strip()) >= 16]
            for candidate in candidates:
                if candidate not in self._secrets:
                    self._secrets.append(candidate)
        self._secrets.sort(key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        value = _PRIVATE_KEY.sub(MASK, value)
        value = _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", value)
        return _BEARER.sub(lambda m: m.group(1) + MASK, value)

    def data(self, value: Any) -> Any:
        """Redact a JSON-like structure; values under secret-sounding keys are masked whole."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: MASK if _is_secret_field(k, v) else self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def _is_secret_field(key: object, value: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEYS.search(key)) and isinstance(value, str) and bool(value)


def redact_url(url: str) -> str:
    """A URL fit for messages: any user-info replaced."""
    return _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", url)
