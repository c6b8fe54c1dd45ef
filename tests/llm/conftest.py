"""Fixtures of the LLM tests: a scripted OpenAI-compatible server on loopback and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from coding_agent.demo.scripted_llm import ScriptedLLMServer
from coding_agent.llm.client import LLMClient

API_KEY = "sk-test-scripted-key-0123456789"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": name,
            "parameters": {"type": "object", "properties": {}, "additionalProperties": True},
        },
    }
    for name in ("run_shell_command", "read_file", "write_file", "list_directory")
]


@pytest.fixture
def make_server() -> Iterator[Callable[..., ScriptedLLMServer]]:
    """Start scripted servers (stopped at teardown); keyword arguments go to ScriptedLLMServer."""
    servers: list[ScriptedLLMServer] = []

    def make(**kwargs: object) -> ScriptedLLMServer:
        kwargs.setdefault("expected_api_key", API_KEY)
        server = ScriptedLLMServer(**kwargs)  # type: ignore[arg-type]
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., LLMClient]]:
    clients: list[LLMClient] = []

    def make(server: ScriptedLLMServer, *, api_key: str = API_KEY, timeout: float = 5.0) -> LLMClient:
        client = LLMClient(server.base_url, api_key, timeout=timeout)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def tools() -> list[dict[str, object]]:
    """Tool definitions for requests that should get the scripted tool turns."""
    return TOOLS


@pytest.fixture
def api_key() -> str:
    return API_KEY
