"""The sandboxed shell, with real bubblewrap: containment holds even for commands the policy allows."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coding_agent.tools.registry import Toolbox
from coding_agent.tools.sandbox import choose_sandbox, probe_bubblewrap
from coding_agent.tools.shell import ShellRunner

SENTINEL = "sentinel-secret-5b1f0c9e"


@pytest.fixture(scope="module")
async def bwrap_available() -> None:
    problem = await probe_bubblewrap()
    if problem is not None:
        # CI installs bubblewrap (.ci/run): there, a sandbox that cannot run is a failure, not a skip.
        if os.environ.get("CI") == "true":
            pytest.fail(f"bubblewrap cannot run in CI: {problem}")
        pytest.skip(f"bubblewrap cannot run here: {problem}")


def _exists(*paths: str | Path) -> bool:
    return any(os.path.exists(path) for path in paths)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "repo"
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / ".git" / "config").write_text("[core]\n")
    return workspace


@pytest.fixture
async def box(ws: Path, bwrap_available: None) -> AsyncIterator[Toolbox]:
    yield Toolbox(ws, sandbox="bubblewrap", output_max_chars=4000)


async def test_auto_chooses_bubblewrap_here(bwrap_available: None) -> None:
    assert (await choose_sandbox("auto")).kind == "bubblewrap"
    assert (await choose_sandbox("none")).kind == "none"
    with pytest.raises(ValueError, match="auto, bubblewrap or none"):
        await choose_sandbox("docker")


async def test_only_the_workspace_is_writable(box: Toolbox, ws: Path, tmp_path: Path) -> None:
    scratch = f"/tmp/sandbox-probe-{uuid.uuid4().hex}"
    result = await box.run_command(
        f"echo ok > inside.txt; touch {tmp_path}/outside.txt; touch /usr/evil; echo hi > {scratch}; "
        "mount -o remount,rw / ; echo done",
        timeout=30,
    )
    assert "done" in result.output
    assert (ws / "inside.txt").read_text() == "ok\n"
    assert not _exists(tmp_path / "outside.txt", "/usr/evil")
    assert "Read-only file system" in result.output
    assert not _exists(scratch)  # the sandbox's /tmp is private


async def test_git_dir_is_read_only(box: Toolbox, ws: Path) -> None:
    result = await box.run_command(
        "echo 'exit 0' > .git/hooks/pre-push; printf '[core]\\n\\thooksPath = x\\n' >> .git/config; "
        "git config core.hooksPath evil; cat .git/config",
        timeout=30,
    )
    assert not (ws / ".git/hooks/pre-push").exists()
    assert (ws / ".git/config").read_text() == "[core]\n"
    assert "[core]" in result.output  # still readable


async def test_worker_secrets_are_not_visible(
    box: Toolbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODING_AGENT_TEST_SECRET", SENTINEL)
    monkeypatch.setenv("OPENROUTER_API_KEY", SENTINEL)
    result = await box.run_command(
        f"env; printenv; cat /proc/self/environ; cat /proc/{os.getpid()}/environ; "
        f"cat /proc/{os.getppid()}/environ; echo END",
        timeout=30,
    )
    assert "END" in result.output and "HOME=/tmp/home" in result.output
    assert SENTINEL not in result.output
    assert "GIT_CONFIG_NOSYSTEM=1" in result.output and "GIT_TERMINAL_PROMPT=0" in result.output


async def test_masked_paths_are_hidden(ws: Path, tmp_path: Path, bwrap_available: None) -> None:
    secrets = tmp_path / "worker-secrets"
    secrets.mkdir()
    (secrets / "id_rsa").write_text(SENTINEL)
    key_file = tmp_path / "token.txt"
    key_file.write_text(SENTINEL)
    box = Toolbox(ws, sandbox="bubblewrap", mask_paths=[secrets, key_file])
    result = await box.run_command(f"cat {secrets}/id_rsa {key_file}; ls -a {secrets}; echo END", timeout=30)
    assert "END" in result.output and SENTINEL not in result.output


async def _listener() -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_network_is_off_unless_allowed(ws: Path, bwrap_available: None) -> None:
    server, port = await _listener()
    probe = f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED || echo FAILED"
    try:
        closed = await Toolbox(ws, sandbox="bubblewrap").run_command(probe, timeout=30)
        opened = await Toolbox(ws, sandbox="bubblewrap", allow_network=True).run_command(probe, timeout=30)
    finally:
        server.close()
    assert "FAILED" in closed.output and "CONNECTED" not in closed.output
    assert "CONNECTED" in opened.output


def _sleepers(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"sleep\x00" + marker.encode()):
            found.append(int(pid))
    return found


@pytest.mark.parametrize("mode", ["bubblewrap", "none"])
async def test_timeout_kills_the_process_tree(ws: Path, mode: str, bwrap_available: None) -> None:
    marker = "100.4" if mode == "bubblewrap" else "100.3"
    box = Toolbox(ws, sandbox=mode)
    result = await box.run_command(f"sleep {marker} & sleep {marker} & echo started; wait", timeout=1.5)
    assert result.timed_out and "started" in result.output
    for _ in range(50):
        if not _sleepers(marker):
            break
        await asyncio.sleep(0.1)
    assert _sleepers(marker) == []


async def test_heartbeats_while_running(ws: Path, bwrap_available: None) -> None:
    beats: list[float] = []
    runner = ShellRunner(ws, await choose_sandbox("bubblewrap"), ws.parent, heartbeat_interval=0.2)
    result = await runner.run("sleep 1; echo finished", timeout=10, heartbeat=lambda: beats.append(1.0))
    assert result.exit_code == 0 and "finished" in result.output
    assert len(beats) >= 3


async def test_a_toolchain_under_tmp_stays_usable(box: Toolbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker installed under /tmp (a CI checkout's virtual environment) keeps its tools in the sandbox,
    read-only, although the sandbox's /tmp is private."""
    import tempfile

    tool_dir = Path(tempfile.mkdtemp(prefix="toolchain-", dir="/tmp"))
    tool = tool_dir / "hello-tool"
    tool.write_text("#!/bin/sh\necho hello from the toolchain\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool_dir}:{os.environ['PATH']}")
    result = await box.run_command(f"hello-tool; touch {tool_dir}/written", timeout=30)
    assert "hello from the toolchain" in result.output
    assert not (tool_dir / "written").exists()
