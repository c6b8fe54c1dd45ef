"""How the product connects to Temporal: one place that picks the address, namespace and data
converter (pydantic models as-is, AES-GCM encrypted when a payload key is configured)."""

from __future__ import annotations

from temporalio.client import Client

from coding_agent.codec import data_converter
from coding_agent.settings import Settings


async def connect(settings: Settings) -> Client:
    key = settings.payload_encryption_key
    previous = settings.payload_encryption_previous_keys
    return await Client.connect(
        settings.temporal_host,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(
            key.get_secret_value() if key else None,
            [k.strip() for k in previous.get_secret_value().split(",") if k.strip()] if previous else (),
        ),
    )
