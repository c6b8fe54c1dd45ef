"""A real OpenAI-compatible HTTP server on loopback that replays a scripted conversation.

It stands in for OpenRouter in the demo, the tests and the benchmarks: the product's real ``openai``
client talks real HTTP to it. It runs a ``ThreadingHTTPServer`` in a daemon thread, so it works the same
from an async test and from a process whose main loop runs a Temporal worker. Scripts are stateless:
the answer depends only on the request (the number of assistant messages already in it), so a retried
request gets the same answer. Faults (HTTP errors, slow answers, broken bodies) are injected in order
into the first requests, and every request is recorded for assertions.
"""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

__all__ = [
    "Fault",
    "RecordedRequest",
    "Script",
    "ScriptedLLMServer",
    "ScriptedToolCall",
    "Turn",
    "demo_script",
    "sample_repo_files",
]

FINAL_TEXT = "Done."
CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any]


Turn = str | list[ScriptedToolCall]
"""One assistant answer: a text, or a list of tool calls."""


@dataclass(frozen=True)
class Script:
    plan: str | list[str]
    """Answer to requests without tools; a list is indexed like ``turns`` (the last one repeats)."""
    turns: list[Turn] = field(default_factory=list)
    """Answers to requests with tools, indexed by the number of assistant messages already sent."""


FaultKind = Literal["status", "delay", "malformed", "truncated", "no_choices"]


@dataclass(frozen=True)
class Fault:
    """One injected failure, consumed by one request."""

    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0

    @classmethod
    def http(cls, status: int, retry_after: float | None = None) -> Fault:
        return cls("status", status=status, retry_after=retry_after)

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Answer normally, but only after ``delay`` seconds (longer than the client's timeout)."""
        return cls("delay", delay=delay)

    @classmethod
    def malformed(cls) -> Fault:
        """A 200 whose body is not JSON."""
        return cls("malformed")

    @classmethod
    def truncated(cls) -> Fault:
        """A 200 that announces more bytes than it sends, then closes the connection."""
        return cls("truncated")

    @classmethod
    def no_choices(cls) -> Fault:
        """A 200 with valid JSON but no ``choices``."""
        return cls("no_choices")


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    body: dict[str, Any]
    authorized: bool
    """Whether the bearer token matched ``expected_api_key`` (always True when none is expected)."""
    received_at: float


def _count_assistant(messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant")


def build_completion(body: dict[str, Any], script: Script, serial: int) -> dict[str, Any]:
    """The OpenAI chat.completion object answering ``body`` according to ``script``."""
    messages = body.get("messages") or []
    k = _count_assistant(messages)
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if not body.get("tools"):
        plans = [script.plan] if isinstance(script.plan, str) else script.plan
        message["content"] = plans[min(k, len(plans) - 1)] if plans else ""
        finish = "stop"
    else:
        turn: Turn = script.turns[k] if k < len(script.turns) else FINAL_TEXT
        if isinstance(turn, str):
            message["content"] = turn
            finish = "stop"
        else:
            # Ids depend only on (k, index) so a retried request yields identical ids.
            message["tool_calls"] = [
                {
                    "id": f"call_{k}_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for i, call in enumerate(turn)
            ]
            finish = "tool_calls"
    prompt_chars = len(json.dumps(messages))
    completion_chars = len(json.dumps(message))
    return {
        "id": f"chatcmpl-scripted-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model", "scripted")),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": completion_chars // 4,
            "total_tokens": prompt_chars // 4 + completion_chars // 4,
        },
    }


class ScriptedLLMServer:
    """``start()`` returns the base URL (``http://127.0.0.1:PORT/v1``); ``stop()`` or use ``with``."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        script_for: Callable[[dict[str, Any]], Script] | None = None,
        faults: list[Fault] | None = None,
        latency: float = 0.0,
        expected_api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        default = script if script is not None else demo_script()
        self.script_for: Callable[[dict[str, Any]], Script] = script_for or (lambda _body: default)
        self.faults: list[Fault] = list(faults or [])
        self.latency = latency
        self.expected_api_key = expected_api_key
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._serial = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the scripted LLM server is not running")
        port = self._httpd.server_address[1]
        return f"http://{self._host}:{port}/v1"

    def start(self) -> str:
        if self._httpd is not None:
            return self.base_url
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((self._host, self._port), handler)
        # Handlers may be sleeping in an injected delay: never block shutdown on them.
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._stopping.clear()
        # A short poll interval keeps stop() fast (shutdown waits for the next poll).
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-llm", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- used by the handler threads --------------------------------------------------------

    def _record(self, path: str, body: dict[str, Any], authorized: bool) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(path, body, authorized, time.time()))

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def _next_serial(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    def _sleep(self, seconds: float) -> None:
        # Interruptible so stop() does not wait for a long injected delay.
        if seconds > 0:
            self._stopping.wait(seconds)


def _make_handler(server: ScriptedLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the second back
        # for the peer's delayed ACK (~40 ms a response).
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return  # quiet: request lines could carry anything

        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            error = {"message": message, "type": "scripted", "code": status}
            self._send_json(status, {"error": error}, headers)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
            else:
                self._error(404, "not found")

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            try:
                self._handle_post()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. its timeout fired during an injected delay)

        def _handle_post(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path not in CHAT_PATHS:
                self._error(404, f"unknown path {path}")
                return
            try:
                body = json.loads(raw or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("body must be an object")
            except ValueError:
                self._error(400, "request body is not a JSON object")
                return
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            authorized = server.expected_api_key is None or token == server.expected_api_key
            server._record(path, body, authorized)
            if not authorized:
                self._error(401, "invalid API key")
                return
            fault = server._next_fault()
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
                self._error(fault.status, f"injected HTTP {fault.status}", headers)
                return
            if fault is not None and fault.kind == "delay":
                server._sleep(fault.delay)
            server._sleep(server.latency)
            serial = server._next_serial()
            if fault is not None and fault.kind == "no_choices":
                self._send_json(200, {"id": f"chatcmpl-scripted-{serial}", "object": "chat.completion"})
                return
            if fault is not None and fault.kind == "malformed":
                data = b'{"id": "chatcmpl-broken", "choices": [ this is not json'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            completion = build_completion(body, server.script_for(body), serial)
            if fault is not None and fault.kind == "truncated":
                data = json.dumps(completion).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send_json(200, completion)

    return Handler


# --- the built-in demo: a tiny Python repo and the conversation that adds multiply() ------------

_CALC_V1 = textwrap.dedent(
    """\
    \"\"\"A tiny calculator.\"\"\"


    def add(a, b):
        return a + b
    """
)
_CALC_V2 = _CALC_V1 + textwrap.dedent(
    """\


    def multiply(a, b):
        return a * b
    """
)
_TEST_V1 = textwrap.dedent(
    """\
    from calc import add


    def test_add():
        assert add(2, 3) == 5
    """
)
_TEST_V2 = textwrap.dedent(
    """\
    from calc import add, multiply


    def test_add():
        assert add(2, 3) == 5


    def test_multiply():
        assert multiply(4, 5) == 20
        assert multiply(-2, 3) == -6
    """
)

DEMO_TASK_TITLE = "Add a multiply function"
DEMO_TASK_DESCRIPTION = "Add multiply(a, b) to calc.py next to add(a, b), with a unit test."


def sample_repo_files() -> dict[str, str]:
    """The demo repository before the agent runs: relative path -> content."""
    return {
        "calc.py": _CALC_V1,
        "tests/test_calc.py": _TEST_V1,
        "README.md": (
            "# calc\n\nA tiny calculator used by the coding agent demo.\n\n"
            "Run the tests: `python -m pytest -q`\n"
        ),
        # pythonpath lets tests/ import calc no matter how pytest is started.
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\ntestpaths = ["tests"]\n',
    }


def demo_script() -> Script:
    """The plan and the tool turns that implement ``multiply`` in the sample repository."""
    plan = {
        "steps": [
            "Inspect the repository layout",
            "Read calc.py",
            "Add multiply(a, b) to calc.py",
            "Add a multiply test to tests/test_calc.py",
            "Run the test suite",
        ],
        "files_to_create": [],
        "files_to_modify": ["calc.py", "tests/test_calc.py"],
        "estimated_steps": 5,
        "validation_criteria": ["python -m pytest -q passes", "multiply(4, 5) == 20"],
    }
    turns: list[Turn] = [
        [ScriptedToolCall("list_directory", {"path": "."})],
        [ScriptedToolCall("read_file", {"path": "calc.py"})],
        [ScriptedToolCall("write_file", {"path": "calc.py", "content": _CALC_V2})],
        [ScriptedToolCall("write_file", {"path": "tests/test_calc.py", "content": _TEST_V2})],
        [ScriptedToolCall("run_shell_command", {"command": "python -m pytest -q"})],
        "Added multiply(a, b) to calc.py and a test for it in tests/test_calc.py; the test suite passes.",
    ]
    return Script(plan="```json\n" + json.dumps(plan, indent=2) + "\n```", turns=turns)
