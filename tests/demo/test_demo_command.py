"""The README's first command, as a new user runs it: `coding-agent run` with no model key runs the
built-in demo on its own embedded stack and succeeds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end_on_the_embedded_stack(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "CODING_AGENT_", "TEMPORAL_"))}
    env.update(CODING_AGENT_DATA_DIR=str(tmp_path / "data"), CODING_AGENT_WORKSPACE_ROOT=str(tmp_path / "ws"),
               COLUMNS="200", TERM="dumb")
    done = subprocess.run(
        [sys.executable, "-m", "coding_agent", "run"], env=env, capture_output=True, text=True, timeout=180
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "DEMO MODE" in out and "scripted" in out
    assert "Temporal UI: http://localhost:" in out
    for step in ("workflow_started", "repo_cloned", "branch_created", "plan_created", "implementation_started",
                 "implementation_step", "validation_completed", "changes_committed", "changes_pushed",
                 "workflow_completed"):
        assert step in out, step
    result = json.loads(out[out.index("{\n"): out.rindex("}") + 1])
    assert result["success"] is True and result["validation_result"]["tests_passed"] == 2
    remote = Path(re.search(r"--git-dir (\S+)", out).group(1))  # the command tells the user where to look
    shown = subprocess.run(["git", "--git-dir", str(remote), "show", f"{result['branch_name']}:calc.py"],
                           capture_output=True, text=True, check=True).stdout
    assert "def multiply" in shown
