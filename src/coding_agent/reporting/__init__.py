"""Reporting: the task activity store, the transcript store, NATS notifications and the signed webhook.

Services only (no Temporal imports): activities wrap them, the CLI reads through them.
"""

from coding_agent.reporting.activity_store import ActivityStore
from coding_agent.reporting.database import Database, DatabaseError
from coding_agent.reporting.nats_publisher import NatsPublisher, notification_payload
from coding_agent.reporting.nats_subscriber import NatsUnavailableError, subscribe
from coding_agent.reporting.reporter import Reporter
from coding_agent.reporting.transcript_store import TranscriptStore
from coding_agent.reporting.webhook import send_webhook, sign, verify_signature

__all__ = [
    "ActivityStore",
    "Database",
    "DatabaseError",
    "NatsPublisher",
    "NatsUnavailableError",
    "Reporter",
    "TranscriptStore",
    "notification_payload",
    "send_webhook",
    "sign",
    "subscribe",
    "verify_signature",
]
