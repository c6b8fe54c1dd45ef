"""Report one task event everywhere it belongs: NATS (notification) and ``task_activities`` (activity).

Reporting must never block or fail a task, so ``record()`` redacts the event, sends both at once,
bounds the database write with a timeout, swallows every error and logs each failing channel once
per outage with its cause (NATS outages are logged by the publisher itself).
"""

from __future__ import annotations

import asyncio
import logging

from coding_agent.models import Notification, TaskActivity, TaskEvent
from coding_agent.redaction import Redactor
from coding_agent.reporting._outage import OutageLog
from coding_agent.reporting.activity_store import ActivityStore
from coding_agent.reporting.nats_publisher import NatsPublisher

log = logging.getLogger(__name__)


class Reporter:
    """Publishes and stores ``TaskEvent``s; either side may be None (disabled)."""

    def __init__(
        self,
        store: ActivityStore | None,
        publisher: NatsPublisher | None,
        redactor: Redactor,
        *,
        store_timeout: float = 5.0,
        publish_timeout: float = 10.0,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._redactor = redactor
        self._store_timeout = store_timeout
        self._publish_timeout = publish_timeout
        self._outages = OutageLog(log, redactor)

    async def record(self, event: TaskEvent) -> None:
        """Publish ``event.notification()`` and store ``event.activity()``, redacted; never raises."""
        try:
            notification = event.notification()
            activity = event.activity()
            jobs = []
            if notification is not None and self._publisher is not None:
                jobs.append(self._publish(self._redact_notification(notification)))
            if activity is not None and self._store is not None:
                jobs.append(self._store_activity(self._redact_activity(activity)))
            await asyncio.gather(*jobs)
        except Exception as exc:  # the contract is "never raises": a bug here must not fail a task
            self._outages.down("reporting", exc)

    def _redact_notification(self, notification: Notification) -> Notification:
        return notification.model_copy(
            update={"message": self._redactor.text(notification.message),
                    "details": self._redactor.data(notification.details)}
        )

    def _redact_activity(self, activity: TaskActivity) -> TaskActivity:
        return activity.model_copy(
            update={"message": self._redactor.text(activity.message),
                    "details": self._redactor.data(activity.details)}
        )

    async def _publish(self, notification: Notification) -> None:
        assert self._publisher is not None
        try:
            # publish() never raises and logs its own outages; the timeout guards against a stuck bridge.
            await asyncio.wait_for(self._publisher.publish(notification), self._publish_timeout)
        except TimeoutError:
            self._outages.down("NATS publish", f"no answer within {self._publish_timeout:g}s")

    async def _store_activity(self, activity: TaskActivity) -> None:
        assert self._store is not None
        channel = f"task_activities store at {self._store.display_url}"
        try:
            await asyncio.wait_for(self._store.add(activity), self._store_timeout)
        except TimeoutError:
            self._outages.down(channel, f"no answer within {self._store_timeout:g}s")
        except Exception as exc:
            self._outages.down(channel, exc, "activities are not stored until it is back")
        else:
            self._outages.up(channel)
