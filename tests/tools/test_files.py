"""File tools and path rules on a real temporary workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coding_agent.tools import files
from coding_agent.tools.errors import ToolError, ToolRefused
from coding_agent.tools.paths import resolve_in_workspace
from coding_agent.tools.search import search_files


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "repo"
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / ".git" / "config").write_text("[core]\n")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def main():\n    return 1\n")
    (tmp_path / "outside.txt").write_text("secret outside")
    return workspace


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("../outside.txt", "outside the workspace"),
        ("src/../../outside.txt", "outside the workspace"),
        ("/etc/passwd", "outside the workspace"),
        (".git/config", "inside .git/"),
        ("src/.git/x", "inside .git/"),
        (".GIT/hooks/pre-push", "inside .git/"),
        ("a\x00b", "NUL byte"),
        ("a/" * 2100, "limit is 4096"),
        ("x" * 300, "limit is 255"),
        ("", "empty"),
    ],
)
def test_bad_paths_are_rejected(ws: Path, path: str, fragment: str) -> None:
    with pytest.raises(ToolError, match=fragment):
        resolve_in_workspace(ws, path)


def test_absolute_path_inside_workspace_is_fine(ws: Path) -> None:
    assert resolve_in_workspace(ws, str(ws / "src" / "app.py")) == (ws / "src" / "app.py").resolve()


def test_symlink_escapes_are_refused(ws: Path) -> None:
    (ws / "link").symlink_to(ws.parent / "outside.txt")
    (ws / "dirlink").symlink_to("/etc")
    (ws / "gitlink").symlink_to(".git")
    for path in ("link", "dirlink/passwd", "gitlink/config"):
        with pytest.raises(ToolRefused):
            files.read_file(ws, path)
    with pytest.raises(ToolRefused):
        files.write_file(ws, "dirlink/new.txt", "x")
    assert not Path("/etc/new.txt").exists()


def test_read_pages_large_files(ws: Path) -> None:
    (ws / "big.txt").write_text("".join(f"line {i:05d}\n" for i in range(1, 2001)))  # 11 bytes a line
    first = files.read_file(ws, "big.txt", read_max_bytes=1100)
    assert first.startswith("line 00001\n") and "line 00100\n" in first and "line 00101" not in first
    assert "start_line=101" in first and "of 2000" in first
    page = files.read_file(ws, "big.txt", 1995, None, read_max_bytes=1100)
    assert page.startswith("line 01995") and page.rstrip().endswith("[showing lines 1995-2000 of 2000]")
    assert files.read_file(ws, "big.txt", 10, 11).startswith("line 00010\nline 00011\n")
    with pytest.raises(ToolError, match="past the end"):
        files.read_file(ws, "big.txt", 5000)


def test_size_binary_and_encoding_limits(ws: Path) -> None:
    (ws / "huge.txt").write_bytes(b"a" * 2048)
    with pytest.raises(ToolError, match="over the 1,024-byte limit"):
        files.read_file(ws, "huge.txt", file_max_bytes=1024)
    (ws / "bin.dat").write_bytes(b"\x7fELF\x00\x01")
    with pytest.raises(ToolError, match="binary"):
        files.read_file(ws, "bin.dat")
    (ws / "latin.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ToolError, match="not valid UTF-8"):
        files.read_file(ws, "latin.txt")
    with pytest.raises(ToolError, match="limit"):
        files.write_file(ws, "w.txt", "x" * 2000, file_max_bytes=1024)
    with pytest.raises(ToolError, match="directory"):
        files.read_file(ws, "src")
    with pytest.raises(ToolError, match="no such file"):
        files.read_file(ws, "missing.py")


def test_write_creates_parents_and_refuses_git(ws: Path) -> None:
    assert "created" in files.write_file(ws, "new/deep/file.py", "print(1)\n")
    assert (ws / "new/deep/file.py").read_text() == "print(1)\n"
    assert "overwrote" in files.write_file(ws, "new/deep/file.py", "print(2)\n")
    with pytest.raises(ToolRefused, match=r"\.git"):
        files.write_file(ws, ".git/hooks/pre-push", "#!/bin/sh\n")
    assert not (ws / ".git/hooks/pre-push").exists()


def test_edit_file_cases(ws: Path) -> None:
    (ws / "m.py").write_text("a = 1\nb = 1\nc = 2\n")
    with pytest.raises(ToolError, match="occurs 2 times.*lines 1, 2.*more surrounding"):
        files.edit_file(ws, "m.py", " = 1", " = 3")
    with pytest.raises(ToolError, match="not found"):
        files.edit_file(ws, "m.py", "d = 4", "d = 5")
    with pytest.raises(ToolError, match="whitespace"):
        files.edit_file(ws, "m.py", "c  =  2", "c = 5")
    with pytest.raises(ToolError, match="empty"):
        files.edit_file(ws, "m.py", "", "x")
    assert "lines 2-2" in files.edit_file(ws, "m.py", "b = 1\n", "b = 10\n")
    assert (ws / "m.py").read_text() == "a = 1\nb = 10\nc = 2\n"
    (ws / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    files.edit_file(ws, "crlf.txt", "one\ntwo", "uno\ndos")
    assert (ws / "crlf.txt").read_bytes() == b"uno\r\ndos\r\n"


def test_list_directory_skips_git_and_caps(ws: Path) -> None:
    for i in range(30):
        (ws / "src" / f"f{i:02d}.py").write_text("x")
    listing = files.list_directory(ws, ".", depth=2, max_entries=10)
    assert "\n.git" not in listing and "src/" in listing
    assert "22 further entries left out" in listing  # 32 entries in all: src/, app.py, 30 files
    shallow = files.list_directory(ws, ".", depth=1)
    assert "src/f00.py" not in shallow and "src/" in shallow
    with pytest.raises(ToolRefused):
        files.list_directory(ws, ".git")
    with pytest.raises(ToolError, match="depth"):
        files.list_directory(ws, ".", depth=0)


async def test_search_files(ws: Path) -> None:
    (ws / ".git" / "secret.py").write_text("def main(): hidden\n")
    (ws / "bin.dat").write_bytes(b"def main\x00")
    for i in range(20):
        (ws / "src" / f"m{i:02d}.py").write_text(f"def main():  # {i}\n")
    out = await search_files(ws, r"def main", "*.py", max_results=5)
    assert out.splitlines()[0] == "src/app.py:1: def main():"
    assert "stopped at 5 matches" in out and "hidden" not in out
    assert "no matches" in await search_files(ws, "nothing_like_this", "**/*")
    only = await search_files(ws, r"# 1[0-9]", "src/m1*.py")
    assert len([line for line in only.splitlines() if line.startswith("src/")]) == 10
    with pytest.raises(ToolError, match="invalid regular expression"):
        await search_files(ws, "(unclosed")


async def test_search_with_catastrophic_regex_times_out(ws: Path) -> None:
    (ws / "evil.txt").write_text("a" * 40 + "!\n")
    with pytest.raises(ToolError, match="took longer"):
        await search_files(ws, r"^(a+)+$", "evil.txt", timeout=1.0)


def test_unreadable_parent_symlink_loop(ws: Path) -> None:
    os.symlink("loop", ws / "loop")
    with pytest.raises(ToolError):
        files.read_file(ws, "loop/x")
