"""Readiness: can this deployment reach Temporal, NATS and the reporting database?

A probe is an async callable that returns a short detail or raises; ``run_probes`` runs them
concurrently, each under a timeout, into a ``HealthReport``. ``standalone_probes`` opens fresh
connections (the ``coding-agent health`` command); ``worker_probes`` asks the running worker's own
client, publisher and database. ``health_endpoint`` serves a report over HTTP (``GET /healthz``: 200
when everything is up, 503 otherwise; ``GET /livez``: 200 while the process runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import nats
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from pydantic import BaseModel
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from coding_agent.redaction import redact_url
from coding_agent.settings import Settings

if TYPE_CHECKING:
    from coding_agent.reporting.database import Database
    from coding_agent.reporting.nats_publisher import NatsPublisher

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[str]]


class CheckResult(BaseModel):
    name: str
    ok: bool
    detail: str
    latency_ms: int


class HealthReport(BaseModel):
    ok: bool
    checks: list[CheckResult]


async def _run_one(name: str, probe: Probe, limit: float) -> CheckResult:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(probe(), limit)
        ok = True
    except TimeoutError:
        ok, detail = False, f"no answer within {limit:g}s"
    except Exception as exc:
        ok, detail = False, redact_url(f"{type(exc).__name__}: {exc}".strip())[:500]
    return CheckResult(name=name, ok=ok, detail=detail, latency_ms=int((time.monotonic() - started) * 1000))


async def run_probes(probes: dict[str, Probe], limit: float) -> HealthReport:
    """Run every probe concurrently, each limited to ``limit`` seconds."""
    checks = await asyncio.gather(*(_run_one(name, probe, limit) for name, probe in probes.items()))
    return HealthReport(ok=all(c.ok for c in checks), checks=list(checks))


async def _temporal_answers(client: Client, namespace: str) -> str:
    await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    return f"namespace {namespace!r} reachable"


async def _database_answers(database: Database) -> str:
    async with database.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
    return f"{database.dialect} at {database.display_url}"


async def _nats_connect(servers: list[str], limit: float) -> NATS:
    """Connect, but fail as soon as every server has refused once: nats-py keeps retrying a first
    connection forever, which would turn "refused" into an uninformative timeout."""
    errors: list[Exception] = []
    all_failed = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        if len(errors) >= len(servers):
            all_failed.set()

    connecting = asyncio.ensure_future(
        nats.connect(servers, connect_timeout=limit, max_reconnect_attempts=0, error_cb=on_error)
    )
    failing = asyncio.ensure_future(all_failed.wait())
    await asyncio.wait([connecting, failing], return_when=asyncio.FIRST_COMPLETED)
    failing.cancel()
    if connecting.done():
        return connecting.result()
    connecting.cancel()
    with contextlib.suppress(BaseException):
        await connecting
    raise ConnectionError(f"{type(errors[-1]).__name__}: {errors[-1]}")


def standalone_probes(settings: Settings) -> dict[str, Probe]:
    """Probes that open their own connections, as an operator's check from any machine would."""

    async def temporal() -> str:
        from coding_agent.temporal_client import connect

        client = await connect(settings)
        detail = await _temporal_answers(client, settings.temporal_namespace)
        return f"{settings.temporal_host}: {detail}"

    async def nats_server() -> str:
        nc = await _nats_connect(settings.nats_url.split(","), settings.health_timeout_seconds)
        try:
            await nc.flush(timeout=settings.health_timeout_seconds)
            where = nc.connected_url.geturl() if nc.connected_url else settings.nats_url
            return f"{redact_url(where)} answers"
        finally:
            await nc.close()

    async def database() -> str:
        from coding_agent.reporting.database import Database

        db = Database(settings.sqlalchemy_url(), connect_timeout=settings.health_timeout_seconds)
        try:
            return await _database_answers(db)
        finally:
            await db.close()

    return {"temporal": temporal, "nats": nats_server, "database": database}


def worker_probes(
    settings: Settings, client: Client, publisher: NatsPublisher, database: Database, stop: asyncio.Event
) -> dict[str, Probe]:
    """Probes through the running worker's own connections; a stopping worker is not ready."""

    async def worker() -> str:
        if stop.is_set():
            raise RuntimeError("the worker is shutting down")
        return f"serving {settings.temporal_task_queue_coding_agent}"

    async def temporal() -> str:
        return await _temporal_answers(client, settings.temporal_namespace)

    async def nats_server() -> str:
        if not publisher.connected:
            raise ConnectionError(f"the worker is not connected to {redact_url(settings.nats_url)}")
        return "connected"

    async def db() -> str:
        return await _database_answers(database)

    return {"worker": worker, "temporal": temporal, "nats": nats_server, "database": db}


async def check_health(settings: Settings) -> HealthReport:
    """The standalone readiness report (what ``coding-agent health`` prints)."""
    return await run_probes(standalone_probes(settings), settings.health_timeout_seconds)


def _http_response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


@contextlib.asynccontextmanager
async def health_endpoint(settings: Settings, probes: dict[str, Probe]) -> AsyncIterator[None]:
    """Serve ``GET /healthz`` and ``GET /livez`` on ``health_port`` while the block runs (off when unset)."""
    if settings.health_port is None:
        yield
        return

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            parts = request_line.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
            if method != "GET":
                response = _http_response(405, b'{"error":"use GET"}')
            elif path == "/healthz":
                report = await run_probes(probes, settings.health_timeout_seconds)
                response = _http_response(200 if report.ok else 503, report.model_dump_json().encode())
            elif path == "/livez":
                response = _http_response(200, b'{"ok":true}')
            else:
                response = _http_response(404, json.dumps({"error": f"no such path {path}"}).encode())
            writer.write(response)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, settings.ops_host, settings.health_port)
    log.info("readiness endpoint on http://%s:%d/healthz", settings.ops_host, settings.health_port)
    try:
        yield
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
