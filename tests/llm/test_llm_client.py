"""LLMClient against the scripted server: answers parsed, and every failure classified once."""

from __future__ import annotations

import asyncio
import json
import pickle
import time

import pytest

from coding_agent.demo.scripted_llm import Fault, Script, ScriptedToolCall
from coding_agent.llm.client import LLMError

USER = [{"role": "user", "content": "hello"}]
SCRIPT = Script(
    plan="a plain answer",
    turns=[
        [ScriptedToolCall("read_file", {"path": "a.py"}), ScriptedToolCall("list_directory", {"path": "."})],
        "All done.",
    ],
)


async def test_text_answer(make_server, make_client) -> None:
    server = make_server(script=SCRIPT)
    response = await make_client(server).chat("some/model", USER, max_tokens=100)
    assert response.content == "a plain answer"
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert response.prompt_tokens > 0 and response.completion_tokens > 0
    assert response.assistant_message() == {"role": "assistant", "content": "a plain answer"}
    sent = server.requests[-1].body
    assert sent["model"] == "some/model" and sent["max_tokens"] == 100 and "tools" not in sent


async def test_tool_calls_then_final_text(make_server, make_client, tools) -> None:
    server = make_server(script=SCRIPT)
    client = make_client(server)
    first = await client.chat("m", USER, tools=tools)
    assert first.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in first.tool_calls] == [
        ("read_file", {"path": "a.py"}),
        ("list_directory", {"path": "."}),
    ]
    message = first.assistant_message()
    assert message["tool_calls"][0] == {
        "id": first.tool_calls[0].id,
        "type": "function",
        "function": {"name": "read_file", "arguments": first.tool_calls[0].arguments},
    }
    # A retry of the same request gets the same answer, ids included.
    again = await client.chat("m", USER, tools=tools)
    assert [c.id for c in again.tool_calls] == [c.id for c in first.tool_calls]

    transcript = [*USER, message] + [
        {"role": "tool", "tool_call_id": c.id, "content": "result"} for c in first.tool_calls
    ]
    second = await client.chat("m", transcript, tools=tools)
    assert second.content == "All done." and second.tool_calls == []
    third = await client.chat("m", [*transcript, second.assistant_message()], tools=tools)
    assert third.content == "Done."
    assert server.requests[-1].body["tools"][0]["function"]["name"] == "run_shell_command"


async def test_rate_limit_honours_retry_after(make_server, make_client) -> None:
    server = make_server(script=SCRIPT, faults=[Fault.http(429, retry_after=7)])
    client = make_client(server)
    with pytest.raises(LLMError) as caught:
        await client.chat("m", USER)
    assert caught.value.retryable and caught.value.status == 429 and caught.value.retry_after == 7
    # The fault is consumed: the next call succeeds.
    assert (await client.chat("m", USER)).content == "a plain answer"


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503])
async def test_server_errors_are_retryable(make_server, make_client, status: int) -> None:
    server = make_server(script=SCRIPT, faults=[Fault.http(status)])
    with pytest.raises(LLMError) as caught:
        await make_client(server).chat("m", USER)
    assert caught.value.retryable and caught.value.status == status and caught.value.retry_after is None


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_other_client_errors_are_final(make_server, make_client, status: int) -> None:
    server = make_server(script=SCRIPT, faults=[Fault.http(status)])
    with pytest.raises(LLMError) as caught:
        await make_client(server).chat("m", USER)
    assert not caught.value.retryable and caught.value.status == status
    assert f"HTTP {status}" in str(caught.value)


async def test_bad_api_key_is_final_and_not_leaked(make_server, make_client) -> None:
    server = make_server(script=SCRIPT)
    wrong_key = "sk-wrong-key-abcdefghijklmnop"
    with pytest.raises(LLMError) as caught:
        await make_client(server, api_key=wrong_key).chat("m", USER)
    error = caught.value
    assert not error.retryable and error.status == 401
    assert "OPENROUTER_API_KEY" in str(error)
    assert wrong_key not in str(error) and wrong_key not in repr(error.__dict__)
    assert server.requests[-1].authorized is False


async def test_forbidden_is_an_authentication_error(make_server, make_client) -> None:
    server = make_server(script=SCRIPT, faults=[Fault.http(403)])
    with pytest.raises(LLMError, match="authentication failed") as caught:
        await make_client(server).chat("m", USER)
    assert not caught.value.retryable


@pytest.mark.parametrize("fault", [Fault.malformed(), Fault.truncated(), Fault.no_choices()])
async def test_broken_answers_are_retryable(make_server, make_client, fault: Fault) -> None:
    server = make_server(script=SCRIPT, faults=[fault])
    with pytest.raises(LLMError) as caught:
        await make_client(server).chat("m", USER)
    assert caught.value.retryable and caught.value.status is None


async def test_timeout_is_retryable(make_server, make_client) -> None:
    server = make_server(script=SCRIPT, faults=[Fault.slow(3.0)])
    started = time.monotonic()
    with pytest.raises(LLMError, match="timed out") as caught:
        await make_client(server, timeout=0.3).chat("m", USER)
    assert caught.value.retryable
    assert time.monotonic() - started < 2.5


async def test_connection_refused_is_retryable(make_server, make_client) -> None:
    server = make_server(script=SCRIPT)
    client = make_client(server)
    server.stop()
    with pytest.raises(LLMError, match="connection") as caught:
        await client.chat("m", USER)
    assert caught.value.retryable


async def test_server_answers_concurrent_requests_in_parallel(make_server, make_client) -> None:
    server = make_server(script=SCRIPT, latency=0.4)
    client = make_client(server)
    started = time.monotonic()
    answers = await asyncio.gather(*(client.chat("m", USER) for _ in range(5)))
    assert [a.content for a in answers] == ["a plain answer"] * 5
    assert time.monotonic() - started < 1.5
    assert len(server.requests) == 5


def test_llm_error_survives_pickling() -> None:
    error = LLMError("slow down", retryable=True, status=429, retry_after=3.0)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.retryable, copy.status, copy.retry_after) == ("slow down", True, 429, 3.0)


async def test_unknown_key_is_accepted_when_none_expected(make_server, make_client, api_key) -> None:
    server = make_server(script=SCRIPT, expected_api_key=None)
    assert (await make_client(server, api_key="anything").chat("m", USER)).content == "a plain answer"
    assert api_key not in json.dumps(server.requests[-1].body)
