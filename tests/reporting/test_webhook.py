"""The signed webhook against a real local HTTP server."""

from __future__ import annotations

import json
import logging
import time

import pytest

from coding_agent.reporting import send_webhook, sign, verify_signature
from coding_agent.stack import free_port

from .http_server import RecordingServer

SECRET = "whsec-test-0123456789"
RESULT = {
    "success": True,
    "workflow_id": "coding-agent-task-789",
    "task_id": "task-789",
    "commit_hash": "abc",
}


async def test_delivery_is_signed_and_verifiable() -> None:
    server = await RecordingServer().start()
    try:
        assert await send_webhook(server.url + "/api/webhooks/workflows", SECRET, RESULT)
    finally:
        await server.stop()
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/api/webhooks/workflows")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == RESULT
    timestamp, signature = request.headers["x-webhook-timestamp"], request.headers["x-webhook-signature"]
    assert signature.startswith("sha256=") and abs(int(timestamp) - time.time()) < 60
    assert verify_signature(SECRET, timestamp, request.body, signature)
    assert not verify_signature("another-secret", timestamp, request.body, signature)
    assert not verify_signature(SECRET, timestamp, request.body.replace(b"abc", b"abd"), signature)
    assert not verify_signature(SECRET, int(timestamp) + 1, request.body, signature)


def test_old_timestamps_are_rejected_as_replays() -> None:
    old = int(time.time()) - 3600
    body = b'{"a":1}'
    assert not verify_signature(SECRET, old, body, sign(SECRET, old, body))
    assert verify_signature(SECRET, old, body, sign(SECRET, old, body), tolerance=7200)
    assert not verify_signature(SECRET, "not-a-number", body, sign(SECRET, old, body))


async def test_server_error_is_retried_then_delivered() -> None:
    server = await RecordingServer(statuses=[500, 503]).start()
    try:
        assert await send_webhook(server.url, SECRET, RESULT, base_delay=0.01)
    finally:
        await server.stop()
    assert len(server.requests) == 3
    assert len({r.headers["x-webhook-id"] for r in server.requests}) == 1
    for request in server.requests:
        headers = request.headers
        assert verify_signature(
            SECRET, headers["x-webhook-timestamp"], request.body, headers["x-webhook-signature"]
        )


async def test_client_error_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    server = await RecordingServer(statuses=[400]).start()
    try:
        assert not await send_webhook(server.url, SECRET, RESULT, base_delay=0.01)
    finally:
        await server.stop()
    assert len(server.requests) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"webhook to {server.url} rejected with HTTP 400; not retried"
    ]


async def test_unreachable_receiver_gives_up_fast_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://user:pw-secret@127.0.0.1:{free_port()}/hook"
    started = time.monotonic()
    assert not await send_webhook(url, SECRET, RESULT, attempts=3, base_delay=0.01, timeout=2)
    assert time.monotonic() - started < 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "after 3 attempts" in warnings[0] and "ConnectError" in warnings[0]
    assert "pw-secret" not in warnings[0]


async def test_without_secret_no_signature_header() -> None:
    server = await RecordingServer().start()
    try:
        assert await send_webhook(server.url, None, RESULT)
    finally:
        await server.stop()
    assert "x-webhook-signature" not in server.requests[0].headers
    assert "x-webhook-timestamp" in server.requests[0].headers
