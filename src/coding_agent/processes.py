"""The one place that runs subprocesses.

Every command runs in its own process group so a timeout kills the whole tree; output (stdout and
stderr interleaved) is captured with bounded memory, keeping the head and the tail; a callback can
heartbeat while the command runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int
    output: str
    """stdout and stderr interleaved; the middle is elided when it exceeded the cap."""
    timed_out: bool
    duration_seconds: float
    elided_bytes: int = 0


class _BoundedBuffer:
    """Keeps the first and last ``limit // 2`` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    @property
    def elided(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if not self.elided:
            return head + self.tail.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        return f"{head}\n... [{self.elided} bytes of output elided] ...\n{tail}"


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    output_limit: int = 1024 * 1024,
    stdin_data: bytes | None = None,
    heartbeat: Callable[[], Awaitable[None] | None] | None = None,
    heartbeat_interval: float = HEARTBEAT_INTERVAL_SECONDS,
) -> ProcessResult:
    """Run ``argv`` and return its exit code and bounded output; never raises on a non-zero exit."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=str(cwd) if cwd is not None else None,
        env=dict(env) if env is not None else None,
        stdin=asyncio.subprocess.PIPE if stdin_data is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    buffer = _BoundedBuffer(output_limit)

    async def pump() -> None:
        assert proc.stdout is not None
        if stdin_data is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(stdin_data)
                await proc.stdin.drain()
                proc.stdin.close()
        while chunk := await proc.stdout.read(65536):
            buffer.feed(chunk)
        await proc.wait()

    async def beat() -> None:
        while True:
            await asyncio.sleep(heartbeat_interval)
            if heartbeat is not None:
                maybe = heartbeat()
                if maybe is not None:
                    await maybe

    timed_out = False
    beater = asyncio.create_task(beat()) if heartbeat is not None else None
    try:
        await asyncio.wait_for(pump(), timeout)
    except TimeoutError:
        timed_out = True
        _kill_group(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
    except BaseException:
        # Cancellation (e.g. the activity was cancelled) must not leave the tree running.
        _kill_group(proc)
        raise
    finally:
        if beater is not None:
            beater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beater
    # Children that outlived the main process (background jobs) die with the group.
    _kill_group(proc)
    exit_code = proc.returncode if proc.returncode is not None else -9
    return ProcessResult(
        exit_code=exit_code,
        output=buffer.text(),
        timed_out=timed_out,
        duration_seconds=time.monotonic() - started,
        elided_bytes=buffer.elided,
    )
