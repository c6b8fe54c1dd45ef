"""Session-wide real servers on free loopback ports: NATS (with JetStream) and a Temporal dev server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from coding_agent.stack import ServerProcess, start_nats, start_temporal

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def nats_url(servers_dir: Path) -> Iterator[str]:
    server, url = start_nats(servers_dir)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def temporal_server(servers_dir: Path) -> Iterator[tuple[ServerProcess, str]]:
    server, address = start_temporal(servers_dir)
    yield server, address
    server.stop()


@pytest.fixture(scope="session")
def temporal_address(temporal_server: tuple[ServerProcess, str]) -> str:
    return temporal_server[1]


@pytest.fixture
async def temporal_client(temporal_address: str) -> AsyncIterator[Client]:
    from temporalio.contrib.pydantic import pydantic_data_converter

    yield await Client.connect(temporal_address, data_converter=pydantic_data_converter)

