"""Log a failing dependency once per outage, not once per message.

A reporting channel (NATS, the HTTP bridge, the database...) that goes down may see thousands of
failed attempts before it comes back; operators need one warning naming the cause when it breaks
and one line when it recovers, not a flood.
"""

from __future__ import annotations

import logging

from coding_agent.redaction import Redactor


class OutageLog:
    """Remembers which channels are down and logs only the transitions, the first with its cause."""

    def __init__(self, logger: logging.Logger, redactor: Redactor | None = None) -> None:
        self._log = logger
        self._redactor = redactor or Redactor()
        self._down: dict[str, str] = {}

    def down(self, channel: str, cause: BaseException | str, consequence: str = "") -> None:
        """Record a failure of ``channel``; logs a warning only when the channel was up until now."""
        if channel in self._down:
            # A retry loop may fail with varying errors; the first cause is the one that matters.
            return
        text = cause if isinstance(cause, str) else (f"{type(cause).__name__}: {cause}".rstrip(": "))
        text = self._redactor.text(text)
        self._down[channel] = text
        suffix = f"; {consequence}" if consequence else ""
        self._log.warning("%s failed (%s)%s", channel, text, suffix)

    def up(self, channel: str) -> None:
        """Record a success of ``channel``; logs once when it recovers from an outage."""
        if self._down.pop(channel, None) is not None:
            self._log.info("%s recovered", channel)

    def is_down(self, channel: str) -> bool:
        return channel in self._down
