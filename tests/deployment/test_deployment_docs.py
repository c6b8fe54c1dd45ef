"""docs/deployment.md names only variables the worker reads, and documents the specified ones; its
table is the output of ``coding-agent env --markdown`` (regenerate it when settings change)."""

from __future__ import annotations

import re
from pathlib import Path

from coding_agent.cli.ops import env_name, settings_markdown
from coding_agent.settings import Settings
from tests.deployment.test_docker_files import SPECIFIED_ENV

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def test_documented_variables_exist_and_the_specified_ones_are_documented() -> None:
    text = DOC.read_text()
    known = {env_name(field) for field in Settings.model_fields}
    named = set(re.findall(r"`((?:CODING_AGENT|TEMPORAL|NATS|OPENROUTER|ELIXIR)_[A-Z_]+|DATABASE_URL)`", text))
    assert not named - known, f"docs/deployment.md names unknown variables: {sorted(named - known)}"
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", text, re.M))
    assert SPECIFIED_ENV <= rows


def test_generated_table_describes_every_setting() -> None:
    table = settings_markdown()
    for field in Settings.model_fields:
        assert f"| `{env_name(field)}` |" in table
    assert "| `CODING_AGENT_METRICS_PORT` | `(unset)` | Port of the Prometheus endpoint" in table
