"""detect_commands on small repositories of each kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coding_agent.validation.detect import detect_commands


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


@pytest.mark.parametrize(
    "files",
    [
        {"pytest.ini": "[pytest]\n"},
        {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n"},
        {"setup.cfg": "[tool:pytest]\ntestpaths = tests\n"},
        {"tox.ini": "[pytest]\n"},
        {"conftest.py": ""},
        {"tests/test_app.py": "def test_x(): pass\n"},
        {"src/pkg/app_test.py": "def test_x(): pass\n"},
    ],
)
def test_python_repos_use_pytest(tmp_path: Path, files: dict[str, str]) -> None:
    assert detect_commands(make(tmp_path, files)) == ["python -m pytest -q"]


def test_plain_python_without_tests_has_no_command(tmp_path: Path) -> None:
    make(tmp_path, {"app.py": "print(1)\n", "pyproject.toml": "[project]\nname = 'x'\n", "README.md": "x"})
    assert detect_commands(tmp_path) == []


def test_test_files_inside_skipped_folders_do_not_count(tmp_path: Path) -> None:
    make(tmp_path, {".venv/lib/test_x.py": "", "node_modules/m/test_y.py": ""})
    assert detect_commands(tmp_path) == []


def test_npm_test_script(tmp_path: Path) -> None:
    make(tmp_path, {"package.json": json.dumps({"scripts": {"test": "jest"}})})
    assert detect_commands(tmp_path) == ["npm test"]


def test_npm_placeholder_script_is_not_a_test_suite(tmp_path: Path) -> None:
    placeholder = 'echo "Error: no test specified" && exit 1'
    make(tmp_path, {"package.json": json.dumps({"scripts": {"test": placeholder}})})
    assert detect_commands(tmp_path) == []


def test_go_rust_and_polyglot(tmp_path: Path) -> None:
    make(tmp_path, {"go.mod": "module x\n", "Cargo.toml": "[package]\n", "tests/test_a.py": ""})
    assert detect_commands(tmp_path) == ["python -m pytest -q", "go test ./...", "cargo test"]


def test_makefile_test_target_wins(tmp_path: Path) -> None:
    make(tmp_path, {"Makefile": "lint:\n\truff .\n\ntest: lint\n\tpytest\n", "tests/test_a.py": ""})
    assert detect_commands(tmp_path) == ["make test"]


def test_makefile_without_test_target_is_ignored(tmp_path: Path) -> None:
    make(tmp_path, {"Makefile": "build:\n\tgo build\ntest_dir := x\n", "go.mod": "module x\n"})
    assert detect_commands(tmp_path) == ["go test ./..."]


def test_broken_config_files_do_not_crash(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": "[tool.pytest", "setup.cfg": "no section", "package.json": "{"})
    assert detect_commands(tmp_path) == []
