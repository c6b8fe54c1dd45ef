"""The LLM client: one chat-completion call to an OpenAI-compatible API, with errors classified once.

It wraps the official ``openai`` ``AsyncOpenAI`` client with ``max_retries=0``: Temporal's retry
policy is the only place retries happen, so every failure becomes one ``LLMError`` that says whether
retrying can help (408/409/429/5xx, timeouts, connection errors, truncated or malformed answers) or
not (bad key, other 4xx), and how long the server asked us to wait. The response body is parsed here
rather than trusted to the SDK, so a broken answer is an error instead of a half-empty object.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, Field

from coding_agent.models import ToolCall
from coding_agent.redaction import Redactor

AUTH_MESSAGE = "authentication failed: check OPENROUTER_API_KEY"
_RETRYABLE_STATUS = {408, 409, 425, 429}


class LLMError(Exception):
    """A failed LLM call, classified once: ``retryable`` tells the caller whether to try again."""

    def __init__(
        self, message: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after

    def __reduce__(self) -> Any:
        # Keyword-only attributes would be lost by the default exception pickling.
        return (_rebuild_llm_error, (self.message, self.retryable, self.status, self.retry_after))


def _rebuild_llm_error(
    message: str, retryable: bool, status: int | None, retry_after: float | None
) -> LLMError:
    return LLMError(message, retryable=retryable, status=status, retry_after=retry_after)


class ChatResponse(BaseModel):
    """One assistant answer: text and/or tool calls, and the token usage it cost."""

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def assistant_message(self) -> dict[str, Any]:
        """The message to append to the transcript, in OpenAI's format."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        elif message["content"] is None:
            # Some providers reject a null content on an assistant message without tool calls.
            message["content"] = ""
        return message


class ChatClient(Protocol):
    """What the planner and the agent loop need from a model; ``LLMClient`` is the real one."""

    async def chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResponse: ...


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _status_error(status: int, detail: str, retry_after: float | None) -> LLMError:
    if status in (401, 403):
        return LLMError(f"{AUTH_MESSAGE} (HTTP {status})", retryable=False, status=status)
    if status in _RETRYABLE_STATUS or status >= 500:
        hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return LLMError(
            f"LLM server error HTTP {status}: {detail}{hint}",
            retryable=True,
            status=status,
            retry_after=retry_after,
        )
    hint = " (the conversation may exceed the model's context window)" if status in (400, 413) else ""
    return LLMError(
        f"LLM request rejected with HTTP {status}: {detail}{hint}", retryable=False, status=status
    )


def _tool_calls(raw: Any) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, dict):
            raise ValueError("a tool call is not an object")
        function = item.get("function") or {}
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a tool call has no function name")
        arguments = function.get("arguments")
        if arguments is None:
            arguments = "{}"
        elif not isinstance(arguments, str):
            # Some providers send the arguments as an object instead of a JSON string.
            arguments = json.dumps(arguments)
        call_id = item.get("id") or f"call_{index}"
        calls.append(ToolCall(id=str(call_id), name=name, arguments=arguments))
    return calls


def _count(value: Any) -> int:
    # Usage is informational: a provider's odd value must not fail an otherwise good answer.
    return int(value) if isinstance(value, int | float) and value >= 0 else 0


def parse_completion(data: Any) -> ChatResponse:
    """A ``ChatResponse`` from a chat.completion JSON object; raises ``LLMError`` if it is not one."""
    if not isinstance(data, dict):
        raise LLMError("malformed LLM response: the body is not a JSON object", retryable=True)
    if isinstance(data.get("error"), dict):
        # OpenRouter reports upstream provider failures as an error object, sometimes with HTTP 200.
        error = data["error"]
        code = error.get("code")
        status = code if isinstance(code, int) and 400 <= code < 600 else 502
        raise _status_error(status, str(error.get("message") or "provider error")[:300], None)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMError("malformed LLM response: no choices in the answer", retryable=True)
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise LLMError("malformed LLM response: the choice has no message", retryable=True)
    try:
        tool_calls = _tool_calls(message.get("tool_calls"))
    except ValueError as exc:
        raise LLMError(f"malformed LLM response: {exc}", retryable=True) from None
    content = message.get("content")
    raw_usage = data.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    return ChatResponse(
        content=content if isinstance(content, str) else None,
        tool_calls=tool_calls,
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
    )


class LLMClient:
    """Chat completions against ``base_url`` (OpenRouter or any OpenAI-compatible server)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float) -> None:
        self._redactor = Redactor([api_key])
        self._client = AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._timeout = timeout

    async def chat(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResponse:
        """One completion; raises ``LLMError`` (with ``retryable`` set) on any failure."""
        kwargs: dict[str, Any] = {"model": model, "messages": messages}
        if tools:
            kwargs["tools"] = tools
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        try:
            raw = await self._client.chat.completions.with_raw_response.create(**kwargs)
            body = raw.http_response.content
        except LLMError:
            raise
        except Exception as exc:
            raise self._classify(exc) from None
        try:
            data = json.loads(body)
        except ValueError:
            raise LLMError("malformed LLM response: the body is not valid JSON", retryable=True) from None
        try:
            return parse_completion(data)
        except LLMError as exc:
            exc.message = self._redactor.text(exc.message)
            exc.args = (exc.message,)
            raise

    def _classify(self, exc: Exception) -> LLMError:
        # `from None` above keeps the SDK's exception (and its request headers) out of tracebacks.
        if isinstance(exc, openai.APITimeoutError):
            return LLMError(f"LLM call timed out after {self._timeout:g}s", retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            return LLMError(f"LLM connection failed ({cause}): {self._scrub(str(exc))}", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return _status_error(exc.status_code, self._detail(exc), parse_retry_after(exc.response.headers))
        if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
            return LLMError("malformed LLM response: the body could not be parsed", retryable=True)
        return LLMError(f"LLM call failed: {type(exc).__name__}: {self._scrub(str(exc))}", retryable=True)

    def _detail(self, exc: openai.APIStatusError) -> str:
        # The SDK hands over the "error" object of the body when there is one.
        body = exc.body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = body["error"]
        if isinstance(body, dict) and body.get("message"):
            return self._scrub(str(body["message"]))
        return self._scrub(exc.message)

    def _scrub(self, text: str) -> str:
        return self._redactor.text(text)[:300]

    async def close(self) -> None:
        await self._client.close()
