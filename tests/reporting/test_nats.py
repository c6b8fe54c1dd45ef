"""The NATS publisher against a real nats-server: subjects, payload, JetStream replay, outages, bridge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import nats
import pytest

from coding_agent.models import Notification, NotificationType
from coding_agent.reporting import NatsPublisher, NatsUnavailableError, subscribe
from coding_agent.stack import free_port, start_nats

from .http_server import RecordingServer

SPEC_FIELDS = {
    "workflow_id",
    "company_id",
    "project_id",
    "task_id",
    "notification_type",
    "message",
    "details",
    "timestamp",
}


def note(uid: str, kind: NotificationType = NotificationType.WORKFLOW_STARTED, n: int = 0) -> Notification:
    return Notification(
        workflow_id=f"coding-agent-{uid}",
        company_id="company-123",
        project_id="project-456",
        task_id=f"task-{uid}",
        notification_type=kind,
        message=f"message {n}",
        details={"seq": n},
    )


async def wait_until(predicate: Callable[[], bool], what: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {within:g}s")
        await asyncio.sleep(0.05)


async def test_subject_and_payload_as_specified(nats_url: str, uid: str) -> None:
    prefix = f"t{uid}.workflows"
    nc = await nats.connect(nats_url)
    sub = await nc.subscribe(f"{prefix}.company-123.project-456.task-{uid}.>")
    publisher = NatsPublisher(nats_url, subject_prefix=prefix)
    await publisher.start()
    try:
        assert await publisher.publish(note(uid, NotificationType.REPO_CLONED, 1))
        msg = await sub.next_msg(timeout=5)
    finally:
        await publisher.close()
        await nc.close()
    assert msg.subject == f"{prefix}.company-123.project-456.task-{uid}.repo_cloned"
    payload = json.loads(msg.data)
    assert set(payload) == SPEC_FIELDS
    assert payload["notification_type"] == "repo_cloned"
    assert payload["details"] == {"seq": 1}
    assert payload["timestamp"].endswith("Z")
    assert datetime.fromisoformat(payload["timestamp"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_jetstream_replays_what_was_published_while_nobody_listened(nats_url: str, uid: str) -> None:
    prefix, stream = f"js{uid}.workflows", f"STREAM_{uid}"
    # The stream already exists for another subject: the publisher must add its own, not fail.
    nc = await nats.connect(nats_url)
    await nc.jetstream().add_stream(name=stream, subjects=[f"other{uid}.>"])
    await nc.close()
    publisher = NatsPublisher(nats_url, subject_prefix=prefix, jetstream_stream=stream)
    await publisher.start()
    try:
        for n in range(3):
            assert await publisher.publish(note(uid, NotificationType.IMPLEMENTATION_STEP, n))
    finally:
        await publisher.close()
    received: list[Notification] = []
    async with contextlib.aclosing(subscribe(nats_url, f"{prefix}.>", jetstream_stream=stream)) as notes:
        async for notification in notes:
            received.append(notification)
            if len(received) == 3:
                break
    assert [n.details["seq"] for n in received] == [0, 1, 2]
    assert received[0].task_id == f"task-{uid}"
    nc = await nats.connect(nats_url)
    info = await nc.jetstream().stream_info(stream)
    await nc.jetstream().delete_stream(stream)
    await nc.close()
    assert f"{prefix}.>" in (info.config.subjects or []) and info.state.messages == 3


async def test_nats_outage_goes_to_http_bridge_and_recovers(
    tmp_path: Path, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    server, url = start_nats(tmp_path, port, jetstream=False)
    bridge = await RecordingServer().start()
    prefix = f"b{uid}.workflows"
    publisher = NatsPublisher(
        url, subject_prefix=prefix, http_bridge_url=bridge.url + "/", reconnect_wait=0.2
    )
    await publisher.start()
    try:
        assert publisher.connected
        assert await publisher.publish(note(uid, n=0))
        assert bridge.requests == []
        caplog.set_level(logging.INFO, logger="coding_agent.reporting")
        server.stop()
        await wait_until(lambda: not publisher.connected, "disconnected")
        for n in (1, 2, 3):
            assert await publisher.publish(note(uid, NotificationType.IMPLEMENTATION_STEP, n))
        assert [r.path for r in bridge.requests] == ["/publish"] * 3
        body = json.loads(bridge.requests[0].body)
        assert body["subject"] == f"{prefix}.company-123.project-456.task-{uid}.implementation_step"
        assert set(body["payload"]) == SPEC_FIELDS and body["payload"]["details"] == {"seq": 1}
        assert bridge.requests[0].headers["content-type"] == "application/json"
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert "NATS at nats://127.0.0.1" in warnings[0].getMessage()

        server, _ = start_nats(tmp_path, port, jetstream=False)
        await wait_until(lambda: publisher.connected, "reconnected")
        nc = await nats.connect(url)
        sub = await nc.subscribe(f"{prefix}.>")
        await nc.flush()
        # The client may still be replaying its reconnect on a loaded machine: give the first
        # messages after recovery a few chances to arrive, but they must arrive over NATS.
        received = None
        for n in range(4, 24):
            assert await publisher.publish(note(uid, n=n))
            with contextlib.suppress(nats.errors.TimeoutError):
                received = json.loads((await sub.next_msg(timeout=0.5)).data)
                break
        assert received is not None and received["details"]["seq"] >= 4
        await nc.close()
        assert len(bridge.requests) == 3
        assert any("recovered" in r.getMessage() for r in caplog.records)
    finally:
        await publisher.close()
        server.stop()
        await bridge.stop()


async def test_publish_never_raises_when_everything_is_down(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"nats://127.0.0.1:{free_port()}"
    bridge = f"http://127.0.0.1:{free_port()}"
    for publisher in (
        NatsPublisher(dead, subject_prefix="x", http_bridge_url=bridge, connect_timeout=0.5),
        NatsPublisher(dead, subject_prefix="x", jetstream_stream="S", connect_timeout=0.5),
    ):
        started = time.monotonic()
        await publisher.start()
        assert not await publisher.publish(note("down"))
        assert not await publisher.publish(note("down", n=1))
        await publisher.close()
        assert time.monotonic() - started < 5
    assert not await NatsPublisher(dead, subject_prefix="x").publish(note("never-started"))


async def test_subscribe_reports_unreachable_nats() -> None:
    with pytest.raises(NatsUnavailableError, match="cannot reach NATS"):
        async for _ in subscribe(f"nats://127.0.0.1:{free_port()}", "x.>", connect_timeout=0.5):
            pass
