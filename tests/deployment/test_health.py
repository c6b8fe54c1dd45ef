"""Readiness as an operator sees it: ``coding-agent health`` against the real Temporal, NATS and
database, and the worker's ``GET /healthz`` — both say which dependency is down, and fail when one is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from coding_agent.stack import free_port
from tests.deployment.worker_process import ROOT, settings_env
from tests.support.harness import make_settings, worker_running

LLM_UNUSED = "http://127.0.0.1:9/v1"


def dead_nats_url() -> str:
    return f"nats://127.0.0.1:{free_port()}"


def health_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "coding-agent"), "health", *args]
    env = {**env, "COLUMNS": "200"}  # one table row per line
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_health_command_reports_every_dependency_up(tmp_path: Path, temporal_address: str, nats_url: str) -> None:
    settings = make_settings(tmp_path, temporal_address=temporal_address, nats_url=nats_url, llm_url=LLM_UNUSED)
    done = health_cli(settings_env(settings), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert [(c["name"], c["ok"]) for c in report["checks"]] == [("temporal", True), ("nats", True), ("database", True)]


def test_health_command_fails_and_names_a_dead_nats(tmp_path: Path, temporal_address: str) -> None:
    settings = make_settings(
        tmp_path, temporal_address=temporal_address, nats_url=dead_nats_url(), llm_url=LLM_UNUSED
    )
    done = health_cli(settings_env(settings, CODING_AGENT_HEALTH_TIMEOUT_SECONDS="3"))
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") >= 4}
    assert "DOWN" in rows["nats"] and "refused" in done.stdout.lower()
    assert "up" in rows["temporal"] and "up" in rows["database"]


async def test_worker_readiness_endpoint_is_503_while_nats_is_down(tmp_path: Path, temporal_address: str) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path,
        temporal_address=temporal_address,
        nats_url=dead_nats_url(),
        llm_url=LLM_UNUSED,
        health_port=port,
        ops_host="127.0.0.1",
    )
    async with worker_running(settings), httpx.AsyncClient(timeout=10) as http:
        ready = await http.get(f"http://127.0.0.1:{port}/healthz")
        live = await http.get(f"http://127.0.0.1:{port}/livez")
        missing = await http.get(f"http://127.0.0.1:{port}/nope")
    assert ready.status_code == 503
    checks = {c["name"]: c for c in ready.json()["checks"]}
    assert ready.json()["ok"] is False and checks["nats"]["ok"] is False
    assert checks["worker"]["ok"] and checks["temporal"]["ok"] and checks["database"]["ok"]
    assert live.status_code == 200 and missing.status_code == 404
