"""The signed webhook to the platform (``ELIXIR_WEBHOOK_URL``), and the receiver's signature check.

The request is ``POST {url}`` with the raw JSON body and these headers:

- ``Content-Type: application/json``
- ``X-Webhook-Id``: one id per delivery, the same on every retry (for de-duplication)
- ``X-Webhook-Timestamp``: unix seconds when this attempt was signed
- ``X-Webhook-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with ``ELIXIR_WEBHOOK_SECRET``, over
  ``f"{timestamp}.".encode() + body`` (omitted when no secret is configured)

A receiver recomputes the HMAC over the raw bytes it received, compares in constant time and rejects
timestamps older than a few minutes (replays); ``verify_signature`` does exactly that. Connection
errors and 5xx answers are retried with exponential backoff; a 4xx answer is final.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx

from coding_agent.redaction import redact_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
ID_HEADER = "X-Webhook-Id"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str, timestamp: str | int, body: bytes, signature: str, tolerance: int = 300
) -> bool:
    """True when ``signature`` signs ``body`` at ``timestamp`` and the timestamp is within ``tolerance`` s."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


async def send_webhook(
    url: str,
    secret: str | None,
    payload: dict[str, Any],
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    timeout: float = 10,  # noqa: ASYNC109  # a per-request timeout, not the whole call's
    delivery_id: str | None = None,
) -> bool:
    """POST ``payload`` signed; True once a 2xx answer arrives, False after giving up (never raises)."""
    display = redact_url(url)
    delivery_id = delivery_id or str(uuid.uuid4())
    try:
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    except Exception as exc:
        log.warning("webhook to %s not sent: the payload is not JSON (%s)", display, type(exc).__name__)
        return False
    cause = "no attempt made"
    async with httpx.AsyncClient(timeout=timeout) as client:
        for attempt in range(1, max(attempts, 1) + 1):
            # Signed per attempt so a late retry still passes the receiver's replay window.
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(timestamp),
                ID_HEADER: delivery_id,
            }
            if secret:
                headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.TransportError as exc:
                cause = f"{type(exc).__name__}: {redact_url(str(exc))}".rstrip(": ")
            except Exception as exc:  # e.g. an invalid URL: retrying cannot help
                reason = f"{type(exc).__name__}: {redact_url(str(exc))}"
                log.warning("webhook to %s not sent: %s", display, reason)
                return False
            else:
                if response.is_success:
                    return True
                cause = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    log.warning("webhook to %s rejected with %s; not retried", display, cause)
                    return False
            if attempt < attempts:
                log.debug("webhook to %s attempt %d failed (%s); retrying", display, attempt, cause)
                await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    log.warning("webhook to %s failed after %d attempts (%s)", display, max(attempts, 1), cause)
    return False
