"""The worker's one NATS publisher: reconnecting, optionally through JetStream, with an HTTP fallback.

Every notification goes to ``{prefix}.{company_id}.{project_id}.{task_id}.{notification_type}`` with
the specification's payload (timestamp in ISO 8601 UTC). Reporting must never hold a task up, so
``start()`` and ``publish()`` never raise: while NATS is unreachable the client keeps reconnecting in
the background, and each message either goes to the HTTP bridge (``NATS_HTTP_URL``: ``POST
{bridge}/publish`` with ``{"subject": ..., "payload": {...}}``), or waits in the client's reconnect
buffer when a connection was lost, or is dropped (``publish`` returns False). When a JetStream stream is
configured, the publisher makes it capture ``{prefix}.>`` so a platform that was offline can replay
what it missed. Each outage is logged once with its cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from datetime import UTC
from typing import Any

import httpx
from nats.aio.client import Client as NATS
from nats.errors import SlowConsumerError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from coding_agent.models import Notification
from coding_agent.redaction import redact_url
from coding_agent.reporting._outage import OutageLog

log = logging.getLogger(__name__)

# After a JetStream failure, plain publishes are used for this long before JetStream is tried again,
# so a broken stream costs one timeout per interval rather than one per message.
JETSTREAM_RETRY_SECONDS = 30.0
_JS_FALLBACK = "publishing on plain NATS (not acknowledged) for a while"


def notification_payload(notification: Notification) -> dict[str, Any]:
    """The specification's payload: exactly its eight fields, the timestamp in ISO 8601 UTC."""
    ts = notification.timestamp
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return {
        "workflow_id": notification.workflow_id,
        "company_id": notification.company_id,
        "project_id": notification.project_id,
        "task_id": notification.task_id,
        "notification_type": notification.notification_type.value,
        "message": notification.message,
        "details": notification.details,
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
    }


def split_servers(servers: str) -> list[str]:
    return [s.strip() for s in servers.split(",") if s.strip()]


class NatsPublisher:
    """One NATS connection per worker; ``start()`` once, ``publish()`` many times, ``close()`` at the end."""

    def __init__(
        self,
        servers: str,
        *,
        subject_prefix: str,
        http_bridge_url: str | None = None,
        jetstream_stream: str | None = None,
        connect_timeout: float = 2.0,
        reconnect_wait: float = 2.0,
        publish_timeout: float = 2.0,
    ) -> None:
        self._servers = split_servers(servers)
        self._prefix = subject_prefix.rstrip(".")
        self._bridge = http_bridge_url.rstrip("/") + "/publish" if http_bridge_url else None
        self._stream = jetstream_stream or None
        self._connect_timeout = connect_timeout
        self._reconnect_wait = reconnect_wait
        self._publish_timeout = publish_timeout
        self._display = ",".join(redact_url(s) for s in self._servers)
        self._nc: NATS | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._js: JetStreamContext | None = None
        self._js_retry_at = 0.0
        self._js_lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None
        self._outages = OutageLog(log)
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def start(self) -> None:
        """Connect (waiting up to ``connect_timeout``); never raises, keeps trying in the background."""
        if self._nc is not None:
            return
        self._nc = NATS()
        self._connect_task = asyncio.create_task(self._connect(self._nc), name="nats-connect")
        await asyncio.wait({self._connect_task}, timeout=self._connect_timeout)

    async def publish(self, notification: Notification) -> bool:
        """Send one notification; True when NATS, its reconnect buffer or the bridge accepted it."""
        try:
            subject = notification.subject(self._prefix)
            payload = notification_payload(notification)
            data = json.dumps(payload, default=str).encode()
        except Exception as exc:  # a malformed notification must not break the caller either
            self._outages.down("nats payload", exc)
            return False
        # Identical messages (a retried activity re-sending the same event) are dropped by JetStream.
        headers = {"Nats-Msg-Id": hashlib.sha256(subject.encode() + b"\n" + data).hexdigest()[:40]}
        nc = self._nc
        if nc is not None and nc.is_connected:
            if await self._publish_jetstream(subject, data, headers):
                return True
            try:
                await nc.publish(subject, data, headers=headers)
                self._outages.up("nats publish")
                return True
            except Exception as exc:
                self._outages.down("nats publish", exc)
        if self._bridge is not None:
            return await self._publish_bridge(subject, data)
        if nc is not None and nc.is_reconnecting:
            # The client keeps what is published while it reconnects and sends it once it is back.
            try:
                await nc.publish(subject, data, headers=headers)
                return True
            except Exception as exc:
                self._outages.down("nats reconnect buffer", exc, "notifications are dropped")
                return False
        self._outages.down(f"NATS at {self._display}", "not connected", "notifications are dropped")
        return False

    async def close(self) -> None:
        """Flush what is pending and disconnect; never raises."""
        self._closing = True
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
            with contextlib.suppress(BaseException):
                await self._connect_task
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Exception):
                if nc.is_connected:
                    await nc.flush(timeout=max(1, int(self._publish_timeout)))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), self._publish_timeout + 1)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _connect(self, nc: NATS) -> None:
        channel = f"NATS at {self._display}"

        async def on_error(exc: Exception) -> None:
            # Most errors here are the connection breaking (EOF, refused, stale); the rest (a slow
            # consumer, a permissions violation) do not mean an outage and get their own line.
            if isinstance(exc, SlowConsumerError) or "permission" in str(exc).lower():
                self._outages.down(f"NATS client ({type(exc).__name__})", exc)
            else:
                self._outages.down(channel, exc, self._fallback_text())

        async def on_disconnected() -> None:
            if self._closing:  # our own close() disconnects too; that is no outage
                return
            self._outages.down(channel, nc.last_error or "connection lost", self._fallback_text())

        async def on_reconnected() -> None:
            self._outages.up(channel)
            # A restarted server may have lost the stream: make the next publish ensure it again.
            self._js, self._js_retry_at = None, 0.0

        try:
            # max_reconnect_attempts=-1: the initial connect, like every reconnect, retries forever.
            await nc.connect(
                servers=self._servers,
                name="coding-agent",
                connect_timeout=self._connect_timeout,  # type: ignore[arg-type]  # floats work
                reconnect_time_wait=self._reconnect_wait,  # type: ignore[arg-type]
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # e.g. an invalid URL: nothing to retry
            self._outages.down(channel, exc, "notifications are not sent to NATS")
            return
        self._outages.up(channel)

    def _fallback_text(self) -> str:
        if self._bridge is not None:
            return f"notifications go to the HTTP bridge {redact_url(self._bridge)} until it is back"
        return "notifications are buffered or dropped until it is back"

    async def _publish_jetstream(self, subject: str, data: bytes, headers: dict[str, str]) -> bool:
        if self._stream is None or time.monotonic() < self._js_retry_at:
            return False
        js = self._js or await self._ensure_stream()
        if js is None:
            return False
        try:
            await js.publish(
                subject, data, timeout=self._publish_timeout, stream=self._stream, headers=headers
            )
        except Exception as exc:
            self._js, self._js_retry_at = None, time.monotonic() + JETSTREAM_RETRY_SECONDS
            self._outages.down(f"JetStream stream {self._stream}", exc, _JS_FALLBACK)
            return False
        self._outages.up(f"JetStream stream {self._stream}")
        return True

    async def _ensure_stream(self) -> JetStreamContext | None:
        """Create the stream, or add ``{prefix}.>`` to an existing one; None when JetStream fails."""
        async with self._js_lock:
            if self._js is not None or time.monotonic() < self._js_retry_at:
                return self._js
            nc = self._nc
            if nc is None or not nc.is_connected or self._stream is None:
                return None
            subject = f"{self._prefix}.>"
            js = nc.jetstream(timeout=self._publish_timeout)
            try:
                try:
                    info = await js.stream_info(self._stream)
                    subjects = list(info.config.subjects or [])
                    if subject not in subjects:
                        await js.update_stream(info.config.evolve(subjects=[*subjects, subject]))
                except NotFoundError:
                    await js.add_stream(name=self._stream, subjects=[subject])
            except Exception as exc:
                self._js_retry_at = time.monotonic() + JETSTREAM_RETRY_SECONDS
                self._outages.down(f"JetStream stream {self._stream}", exc, _JS_FALLBACK)
                return None
            self._js = js
            return js

    async def _publish_bridge(self, subject: str, data: bytes) -> bool:
        assert self._bridge is not None
        channel = f"HTTP bridge {redact_url(self._bridge)}"
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._publish_timeout + self._connect_timeout)
        try:
            # The payload is embedded as already-encoded JSON, byte for byte what NATS would carry.
            body = b'{"subject":' + json.dumps(subject).encode() + b',"payload":' + data + b"}"
            response = await self._http.post(
                self._bridge, content=body, headers={"Content-Type": "application/json"}
            )
        except Exception as exc:
            self._outages.down(channel, exc, "notifications are dropped")
            return False
        if response.is_success:
            self._outages.up(channel)
            return True
        self._outages.down(channel, f"HTTP {response.status_code}", "notifications are dropped")
        return False
