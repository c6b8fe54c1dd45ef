"""Keep a long activity visibly alive: heartbeat at a third of its heartbeat timeout while it runs.

A worker that dies mid-activity then stops heartbeating, Temporal notices within the timeout, and the
workflow can move the work elsewhere; a 20-minute test suite that is merely slow is never mistaken for
a dead worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

DEFAULT_INTERVAL_SECONDS = 5.0


@contextlib.asynccontextmanager
async def keep_alive() -> AsyncIterator[None]:
    timeout = activity.info().heartbeat_timeout
    interval = timeout.total_seconds() / 3 if timeout else DEFAULT_INTERVAL_SECONDS

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
