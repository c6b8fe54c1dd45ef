"""Real git servers on loopback for tests: bare repositories, smart HTTP with basic auth, and sshd.

- ``make_bare_repo(root, name)``: a bare repository with one commit on ``main`` (a tiny python project),
  configured to serve partial clones and to accept pushes over HTTP.
- ``GitHttpServer``: ``git http-backend`` (CGI) behind a threading HTTP server that demands basic auth
  for the given (user, password) pairs, and can answer 503 to its first N requests (retry tests).
- ``SshServer``: Debian's ``/usr/sbin/sshd`` on a free loopback port with a throwaway host key and
  key-only auth for the current user; repositories are addressed by absolute path.
- ``make_ssh_key(dir, passphrase=None)``: a fresh ed25519 key pair.

These helpers run in test threads, so they use ``subprocess`` directly (the product's own code goes
through ``coding_agent.processes``).
"""

from __future__ import annotations

import base64
import getpass
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.test",
    "GIT_TERMINAL_PROMPT": "0",
}

PROJECT_FILES = {
    "README.md": "# calc\n\nA tiny calculator used by the tests.\n",
    "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n',
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "tests/test_ops.py": "from calc.ops import add\n\n\ndef test_add() -> None:\n    assert add(1, 2) == 3\n",
}


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    """Plain git for test setup and assertions (no hardening: the tests act as a trusted operator)."""
    env = {**os.environ, **GIT_ENV}
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_bare_repo(root: Path, name: str = "project.git", files: dict[str, str] | None = None,
                   branch: str = "main") -> Path:
    """A bare repository ``root/name`` with one commit on ``branch``."""
    bare = root / name
    work = root / f".{name}.seed"
    git("init", "-q", "--bare", f"--initial-branch={branch}", str(bare))
    for key, value in (("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true"),
                       ("http.receivepack", "true")):
        git("config", key, value, cwd=bare)
    git("init", "-q", f"--initial-branch={branch}", str(work))
    for path, text in (files or PROJECT_FILES).items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "Initial commit", cwd=work)
    git("push", "-q", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
    shutil.rmtree(work)
    return bare


def remote_branches(bare: Path) -> dict[str, str]:
    """``{branch: sha}`` of a bare repository."""
    out = git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", cwd=bare)
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


# ----------------------------------------------------------------------------------------- HTTP


@dataclass
class GitHttpServer:
    """Smart HTTP git over ``git http-backend``, with basic auth and optional injected 503s."""

    root: Path
    accounts: Sequence[tuple[str, str]]
    fail_first: int = 0
    port: int = 0
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every request served."""
    authorizations: list[str] = field(default_factory=list)
    """Decoded ``user:password`` of every Authorization header received."""
    capture_cmdlines: bool = False
    """When set, every request snapshots the command lines of all processes (secret-in-argv tests)."""
    cmdlines: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, repo: Path) -> str:
        return f"{self.base_url}/{repo.relative_to(self.root).as_posix()}"

    def start(self) -> GitHttpServer:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                return

            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                owner._handle(self)

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                owner._handle(self)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, handler: http.server.BaseHTTPRequestHandler, status: int) -> None:
        with self._lock:
            self.requests.append((handler.command, handler.path, status))

    def _reply(self, handler: http.server.BaseHTTPRequestHandler, status: int, extra: dict[str, str]) -> None:
        self._record(handler, status)
        handler.send_response(status)
        for key, value in extra.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _read_body(self, handler: http.server.BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    handler.rfile.readline()
                    return bytes(body)
                body += handler.rfile.read(size)
                handler.rfile.readline()
        return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))

    def _snapshot_cmdlines(self) -> None:
        """The argv of every process descending from this test process (other tests running beside
        this one, under xdist, have their own processes and secrets)."""
        parents: dict[int, int] = {}
        for proc_dir in Path("/proc").iterdir():
            if proc_dir.name.isdigit():
                try:
                    stat = (proc_dir / "stat").read_text()
                except OSError:
                    continue
                parents[int(proc_dir.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        me = os.getpid()
        for pid in parents:
            ancestor, hops = pid, 0
            while ancestor not in (me, 0, 1) and hops < 64:
                ancestor, hops = parents.get(ancestor, 0), hops + 1
            if ancestor != me or pid == me:
                continue
            try:
                line = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            with self._lock:
                self.cmdlines.append(line.decode("utf-8", "replace"))

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        if self.capture_cmdlines:
            self._snapshot_cmdlines()
        body = self._read_body(handler) if handler.command == "POST" else b""
        with self._lock:
            failing = self.fail_first > 0
            if failing:
                self.fail_first -= 1
        if failing:
            return self._reply(handler, 503, {})
        auth = handler.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            decoded = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            with self._lock:
                self.authorizations.append(decoded)
            name, _, password = decoded.partition(":")
            if (name, password) in {tuple(a) for a in self.accounts}:
                user = name
        if user is None:
            return self._reply(handler, 401, {"WWW-Authenticate": 'Basic realm="git"'})
        path, _, query = handler.path.partition("?")
        env = {
            **os.environ, **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": handler.command, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
        }
        proc = subprocess.Popen(["git", "http-backend"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None

        def feed() -> None:
            stdin.write(body)
            stdin.close()

        writer = threading.Thread(target=feed)
        writer.start()
        status, headers = 200, []
        while (line := stdout.readline().rstrip(b"\r\n")):
            key, _, value = line.decode("latin-1").partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((key, value.strip()))
        self._record(handler, status)
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        handler.send_header("Connection", "close")
        handler.end_headers()
        shutil.copyfileobj(stdout, handler.wfile, 1 << 20)
        writer.join()
        proc.wait()


@contextmanager
def git_http_server(
    root: Path, accounts: Sequence[tuple[str, str]], fail_first: int = 0
) -> Iterator[GitHttpServer]:
    server = GitHttpServer(root=root, accounts=accounts, fail_first=fail_first).start()
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------ SSH


def make_ssh_key(
    directory: Path, name: str = "id_ed25519", passphrase: str | None = None
) -> tuple[Path, str]:
    """A new ed25519 key pair in ``directory``: (private key path, public key line)."""
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / name
    argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase or "", "-C", name, "-f", str(private)]
    subprocess.run(argv, check=True, capture_output=True)
    return private, (directory / f"{name}.pub").read_text().strip()


@dataclass
class SshServer:
    """sshd on 127.0.0.1:<port>, public-key auth only, for the current user."""

    workdir: Path
    authorized_keys: Sequence[str]
    port: int = 0
    user: str = field(default_factory=getpass.getuser)
    _proc: subprocess.Popen[bytes] | None = None

    def url(self, repo: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repo}"

    @property
    def host_public_key(self) -> str:
        return (self.workdir / "host_key.pub").read_text().strip()

    def known_hosts_line(self) -> str:
        key_type, key = self.host_public_key.split()[:2]
        return f"[127.0.0.1]:{self.port} {key_type} {key}"

    def start(self) -> SshServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.workdir / "host_key")],
                       check=True, capture_output=True)
        keys = self.workdir / "authorized_keys"
        keys.write_text("".join(k.strip() + "\n" for k in self.authorized_keys))
        keys.chmod(0o600)
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege-separation dir sshd insists on
        self.port = self.port or free_port()
        config = self.workdir / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.workdir / 'host_key'}",
            f"PidFile {self.workdir / 'sshd.pid'}", f"AuthorizedKeysFile {keys}", "StrictModes no",
            "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "UsePAM no", "AllowTcpForwarding no", "X11Forwarding no",
            "PrintMotd no", "LogLevel ERROR", "MaxStartups 50:30:100", "",
        ]))
        self._proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                errors = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise RuntimeError(f"sshd exited: {errors}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 10s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(5)


@contextmanager
def ssh_server(workdir: Path, authorized_keys: Sequence[str]) -> Iterator[SshServer]:
    server = SshServer(workdir=workdir, authorized_keys=authorized_keys).start()
    try:
        yield server
    finally:
        server.stop()
