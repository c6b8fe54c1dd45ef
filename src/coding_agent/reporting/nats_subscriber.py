"""Follow notifications from NATS as ``Notification`` objects (for the ``watch`` CLI and for tests).

Live mode subscribes to a subject (wildcards allowed, e.g. ``automata.workflows.company-123.>``);
replay mode reads a JetStream stream from its first message through an ordered consumer and then keeps
following it live, so a consumer that was offline sees what it missed. Messages that are not
notifications are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription
from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from coding_agent.models import Notification
from coding_agent.redaction import redact_url
from coding_agent.reporting.nats_publisher import split_servers

log = logging.getLogger(__name__)


class NatsUnavailableError(ConnectionError):
    """NATS could not be reached within the connect timeout (the message holds the redacted URL)."""


async def subscribe(
    servers: str,
    subject: str,
    *,
    jetstream_stream: str | None = None,
    connect_timeout: float = 5.0,
) -> AsyncIterator[Notification]:
    """Yield the notifications published on ``subject``; with ``jetstream_stream``, replay them first.

    Raises ``NatsUnavailableError`` when NATS cannot be reached at the start; once connected it
    reconnects on its own. Use it as ``async with contextlib.aclosing(subscribe(...)) as stream:`` so
    the connection closes when the caller stops iterating.
    """
    nc = NATS()
    try:
        # Retry forever inside the client, but give up on the first connection after the timeout:
        # a user waiting on a terminal wants an error, not silence.
        await asyncio.wait_for(
            nc.connect(
                servers=split_servers(servers),
                name="coding-agent-watch",
                connect_timeout=connect_timeout,  # type: ignore[arg-type]
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
            ),
            connect_timeout,
        )
    except (TimeoutError, OSError, Exception) as exc:
        with contextlib.suppress(Exception):
            await nc.close()
        display = ",".join(redact_url(s) for s in split_servers(servers))
        raise NatsUnavailableError(f"cannot reach NATS at {display}: {type(exc).__name__}: {exc}") from None
    try:
        sub: Subscription
        if jetstream_stream:
            sub = await nc.jetstream().subscribe(
                subject, stream=jetstream_stream, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
            )
        else:
            sub = await nc.subscribe(subject)
        async for msg in sub.messages:
            try:
                yield Notification.model_validate_json(msg.data)
            except ValidationError:
                log.debug("skipping a message on %s that is not a notification", msg.subject)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
