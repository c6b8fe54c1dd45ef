"""A worker started before its Temporal cluster waits for it (saying so), and still stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from coding_agent.stack import free_port


def test_worker_waits_for_an_unreachable_temporal_and_stops_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODING_AGENT_", "TEMPORAL_"))}
    env.update(TEMPORAL_HOST=f"127.0.0.1:{free_port()}", CODING_AGENT_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "workers/coding_agent_worker.py"], cwd=Path(__file__).parents[2], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    line = ""
    deadline = time.monotonic() + 30
    while "unreachable" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert "Temporal at 127.0.0.1" in line and "retrying" in line
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert "Traceback" not in proc.stdout.read()
