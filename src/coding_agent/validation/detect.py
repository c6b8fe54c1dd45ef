"""Detect the commands that validate a repository (its test runners) from the files it contains.

Only cheap, local signals are used (config files, a tests/ folder, test file names), so detection is
deterministic and never runs anything. A Makefile ``test`` target is the repository's own declared
way to test, so when there is one it is used alone rather than next to a runner it probably wraps.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import tomllib
from pathlib import Path

PYTEST = "python -m pytest -q"
NPM_TEST = "npm test"
GO_TEST = "go test ./..."
CARGO_TEST = "cargo test"
MAKE_TEST = "make test"

# npm init's placeholder script fails on purpose; it is not a test suite.
_NPM_PLACEHOLDER = 'echo "Error: no test specified"'
_MAKE_TEST_TARGET = re.compile(r"^test\s*:(?!=)", re.M)
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", "build", "dist", "target"}
_MAX_SCAN_FILES = 5000
_MAX_SCAN_DEPTH = 4


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError:
        return ""


def _has_test_files(root: Path) -> bool:
    """Whether a Python test module (test_*.py or *_test.py) exists, scanning a bounded tree."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = [] if depth >= _MAX_SCAN_DEPTH else [d for d in dirnames if d not in _SKIP_DIRS]
        for name in filenames:
            seen += 1
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                return True
        if seen > _MAX_SCAN_FILES:
            return False
    return False


def _uses_pytest(root: Path) -> bool:
    if (root / "pytest.ini").is_file() or (root / "conftest.py").is_file():
        return True
    pyproject = _read(root / "pyproject.toml")
    if pyproject:
        try:
            if "pytest" in tomllib.loads(pyproject).get("tool", {}):
                return True
        except tomllib.TOMLDecodeError:
            pass
    for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        text = _read(root / name)
        if text:
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read_string(text)
            except configparser.Error:
                continue
            if parser.has_section(section):
                return True
    has_tests_dir = any((root / d).is_dir() for d in ("tests", "test"))
    has_python = has_tests_dir and any(
        p.suffix == ".py" for d in ("tests", "test") for p in (root / d).rglob("*.py")
    )
    return has_python or _has_test_files(root)


def _npm_has_test(root: Path) -> bool:
    text = _read(root / "package.json")
    if not text:
        return False
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (ValueError, AttributeError):
        return False
    test = scripts.get("test") if isinstance(scripts, dict) else None
    return isinstance(test, str) and bool(test.strip()) and _NPM_PLACEHOLDER not in test


def _makefile_has_test(root: Path) -> bool:
    for name in ("GNUmakefile", "Makefile", "makefile"):
        text = _read(root / name)
        if text:
            return bool(_MAKE_TEST_TARGET.search(text))
    return False


def detect_commands(workspace: Path) -> list[str]:
    """The validation commands for ``workspace``, in a stable order; empty when none is found."""
    root = Path(workspace)
    if _makefile_has_test(root):
        return [MAKE_TEST]
    commands: list[str] = []
    if _uses_pytest(root):
        commands.append(PYTEST)
    if _npm_has_test(root):
        commands.append(NPM_TEST)
    if (root / "go.mod").is_file():
        commands.append(GO_TEST)
    if (root / "Cargo.toml").is_file():
        commands.append(CARGO_TEST)
    return commands
