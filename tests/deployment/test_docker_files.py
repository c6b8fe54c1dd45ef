"""The Dockerfile and docker-compose.yml, checked statically (there is no Docker engine here): the
services the specification and the issue name, their ports, a worker environment made only of names the
settings object reads, and an image command that points at the real worker script."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from coding_agent.cli.ops import env_name
from coding_agent.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SPECIFIED_ENV = {
    "TEMPORAL_HOST", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE_CODING_AGENT", "OPENROUTER_API_KEY",
    "NATS_URL", "NATS_HTTP_URL", "NATS_SUBJECT_PREFIX", "ELIXIR_WEBHOOK_URL", "ELIXIR_WEBHOOK_SECRET",
    "DATABASE_URL",
}
SETTINGS_ENV = {env_name(field) for field in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # Continuation lines joined, comments dropped: one instruction per line.
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return re.sub(r"\\\n\s*", " ", "\n".join(lines))


def instructions(dockerfile: str, keyword: str) -> list[str]:
    return [line.split(None, 1)[1] for line in dockerfile.splitlines() if line.split()[:1] == [keyword]]


def published(service: dict[str, Any]) -> set[int]:
    """The host ports of a service ("HOST:CONTAINER")."""
    return {int(str(p).split(":")[-2 if ":" in str(p) else -1]) for p in service.get("ports", [])}


def listening(service: dict[str, Any]) -> set[int]:
    """The container ports of a service, as other services reach them."""
    return {int(str(p).split(":")[-1]) for p in [*service.get("ports", []), *service.get("expose", [])]}


def worker_env(compose: dict[str, Any]) -> dict[str, str]:
    env = compose["services"]["coding-agent-worker"]["environment"]
    return {k: str(v) for k, v in env.items()} if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


def test_compose_has_the_specified_services_and_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgresql", "temporal", "temporal-ui", "nats", "coding-agent-worker"} <= services.keys()
    assert 8080 in published(services["temporal-ui"])  # the specification's UI address
    assert 7233 in published(services["temporal"]) and 4222 in published(services["nats"])
    assert "-js" in services["nats"]["command"]
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup")
    assert temporal["environment"]["DB"].startswith("postgres")
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_worker_service_starts_with_its_dependencies(compose: dict[str, Any]) -> None:
    worker = compose["services"]["coding-agent-worker"]
    assert worker["build"] == "." and (ROOT / "Dockerfile").exists()
    depends = worker["depends_on"]
    assert {"temporal", "nats", "postgresql"} <= set(depends)
    assert depends["postgresql"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["postgresql"]
    # Restarts until Temporal answers; stops slower than the worker's own shutdown grace.
    assert worker["restart"] == "unless-stopped" and worker["init"] is True
    grace = float(worker_env(compose)["CODING_AGENT_SHUTDOWN_GRACE_SECONDS"])
    assert float(worker["stop_grace_period"].rstrip("s")) > grace


def test_worker_environment_uses_only_names_the_settings_read(compose: dict[str, Any]) -> None:
    env = worker_env(compose)
    assert SPECIFIED_ENV <= env.keys(), SPECIFIED_ENV - env.keys()
    unknown = set(env) - SETTINGS_ENV
    assert not unknown, f"the worker would ignore {sorted(unknown)}"
    # Addresses point at the compose services, on the ports those services listen on.
    services = compose["services"]
    host, port = env["TEMPORAL_HOST"].split(":")
    assert host in services and int(port) in listening(services[host])
    nats = urlparse(env["NATS_URL"])
    assert nats.hostname in services and nats.port in listening(services[nats.hostname])
    ops_ports = {int(env["CODING_AGENT_METRICS_PORT"]), int(env["CODING_AGENT_HEALTH_PORT"])}
    assert ops_ports <= listening(services["coding-agent-worker"])
    database = urlparse(env["DATABASE_URL"].replace("${POSTGRES_PASSWORD:-automata}", "pw"))
    assert database.scheme == "postgresql" and database.hostname == "postgresql"
    assert database.path.lstrip("/") == services["postgresql"]["environment"]["POSTGRES_DB"]
    # Every value the settings object gets from here must be one it accepts.
    literal = {k: v for k, v in env.items() if "${" not in v}
    Settings(**{field: literal[env_name(field)] for field in Settings.model_fields if env_name(field) in literal})


def test_image_has_the_tools_a_worker_needs_and_runs_the_worker_script(dockerfile: str) -> None:
    assert instructions(dockerfile, "FROM") == ["python:3.11-slim"]
    installs = " ".join(instructions(dockerfile, "RUN"))
    for package in ("git", "openssh-client", "bubblewrap"):
        assert re.search(rf"apt-get install[^&]*\b{package}\b", installs), package
    assert re.search(r"pip install \.", installs)
    user = instructions(dockerfile, "USER")
    assert user and user[-1] not in ("root", "0")
    (cmd,) = instructions(dockerfile, "CMD")
    argv = json.loads(cmd)
    assert argv[0] == "python" and argv == ["python", "workers/coding_agent_worker.py"]
    (workdir,) = instructions(dockerfile, "WORKDIR")
    copied = {line.split()[-1].removeprefix("./") for line in instructions(dockerfile, "COPY")}
    script = Path(argv[1])
    assert script.parts[0] in copied, "the worker script is not copied into the image"
    assert (ROOT / script).is_file() and "__main__" in (ROOT / script).read_text()
    assert workdir == "/app"


def test_dockerignore_keeps_the_context_small_and_free_of_secrets() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", ".env"} <= ignored
    assert not {"src", "workers", "pyproject.toml"} & ignored
