"""The agent's file tools: read (paged), write, edit (exact unique snippet) and list a directory.

Every path goes through ``paths.resolve_in_workspace``; every size is bounded: a read returns at most
``read_max_bytes`` with a note how to page on by line range, files over ``file_max_bytes`` are refused,
writes are bounded the same way, and a listing is capped with a count of what was left out. The file
tools handle UTF-8 text only: binary or non-UTF-8 files get a message pointing at the shell instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from coding_agent.tools.errors import ToolError
from coding_agent.tools.paths import check_path_syntax, display, resolve_in_workspace

BINARY_SNIFF_BYTES = 8192
MAX_LIST_DEPTH = 10
LIST_COUNT_LIMIT = 100_000  # stop counting left-out entries here; a listing must stay cheap


def _existing_file(workspace: Path, path: str, file_max_bytes: int) -> Path:
    real = resolve_in_workspace(workspace, path)
    if not real.exists():
        raise ToolError(f"no such file: '{path}'; use list_directory or search_files to find the right path")
    if real.is_dir():
        raise ToolError(f"'{path}' is a directory; use list_directory to see what it contains")
    if not real.is_file():
        raise ToolError(f"'{path}' is not a regular file")
    size = real.stat().st_size
    if size > file_max_bytes:
        raise ToolError(
            f"'{path}' is {size:,} bytes, over the {file_max_bytes:,}-byte limit of the file tools; "
            "look at parts of it with run_shell_command (head, tail, sed -n, grep)"
        )
    return real


def _decode(data: bytes, path: str) -> str:
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise ToolError(
            f"'{path}' looks binary (it contains NUL bytes); the file tools handle UTF-8 text only. "
            "Inspect it with run_shell_command, e.g. `file` or `xxd | head`"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"'{path}' is not valid UTF-8 (first bad byte at offset {exc.start}); the file tools handle "
            "UTF-8 text only. Inspect it with run_shell_command, e.g. `iconv` or `file`"
        ) from None


def read_text(workspace: Path, path: str, file_max_bytes: int) -> tuple[Path, str]:
    """The resolved path and UTF-8 text of an existing, bounded file."""
    real = _existing_file(workspace, path, file_max_bytes)
    return real, _decode(real.read_bytes(), path)


def read_file(
    workspace: Path,
    path: str,
    start_line: int | None = None,
    end_line: int | None = None,
    *,
    read_max_bytes: int = 1 << 20,
    file_max_bytes: int = 5 << 20,
) -> str:
    """The file's text (or a 1-based inclusive line range), at most ``read_max_bytes`` of it."""
    _, text = read_text(workspace, path, file_max_bytes)
    lines = text.splitlines(keepends=True)
    total = len(lines)
    if total == 0:
        return f"[{path} is empty]"
    first = start_line if start_line is not None else 1
    if first > total:
        raise ToolError(f"start_line {first} is past the end: '{path}' has {total} lines")
    last = end_line if end_line is not None else total
    if first < 1 or last < first:
        raise ToolError(
            f"invalid line range {first}-{last}; lines are numbered from 1 and end_line >= start_line"
        )
    last = min(last, total)
    chunks: list[str] = []
    used = 0
    shown_last = first - 1
    for number in range(first, last + 1):
        size = len(lines[number - 1].encode("utf-8"))
        if used + size > read_max_bytes:
            if not chunks:  # one giant line: show its start rather than nothing
                chunks.append(lines[number - 1].encode("utf-8")[:read_max_bytes].decode("utf-8", "ignore"))
                return (
                    "".join(chunks)
                    + f"\n[line {number} of '{path}' is {size:,} bytes; only its first {read_max_bytes:,} "
                    "bytes are shown. Use run_shell_command (cut, fold) to see the rest]"
                )
            break
        chunks.append(lines[number - 1])
        used += size
        shown_last = number
    body = "".join(chunks)
    if shown_last < total:
        reason = "the per-call limit was reached" if shown_last < last else "as requested"
        return (
            body + f"\n[showing lines {first}-{shown_last} of {total} ({reason}); call read_file with "
            f"start_line={shown_last + 1} to read on]"
        )
    if first > 1:
        return body + f"\n[showing lines {first}-{shown_last} of {total}]"
    return body


def write_file(workspace: Path, path: str, content: str, *, file_max_bytes: int = 5 << 20) -> str:
    """Create or overwrite a text file (parent directories included)."""
    data = content.encode("utf-8", "surrogatepass")
    if len(data) > file_max_bytes:
        raise ToolError(
            f"content is {len(data):,} bytes, over the {file_max_bytes:,}-byte limit; write smaller files"
        )
    real = resolve_in_workspace(workspace, path)
    if real.is_dir():
        raise ToolError(f"'{path}' is a directory; give a file path")
    existed = real.exists()
    real.parent.mkdir(parents=True, exist_ok=True)
    # Re-check after mkdir: a parent created just now cannot be a symlink, but one that existed could be.
    real = resolve_in_workspace(workspace, path)
    real.write_bytes(data)
    lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
    verb = "overwrote" if existed else "created"
    return f"{verb} {display(workspace, real)} ({len(data):,} bytes, {lines} lines)"


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def edit_file(
    workspace: Path, path: str, old_text: str, new_text: str, *, file_max_bytes: int = 5 << 20
) -> str:
    """Replace the one occurrence of ``old_text`` with ``new_text``."""
    if not old_text:
        raise ToolError(
            "old_text is empty; give the exact snippet to replace (use write_file to create a file)"
        )
    real, text = read_text(workspace, path, file_max_bytes)
    count = text.count(old_text)
    if count == 0 and "\r\n" in text and "\r\n" not in old_text:
        # The model writes '\n'; a CRLF file would otherwise never match.
        old_text, new_text = old_text.replace("\n", "\r\n"), new_text.replace("\n", "\r\n")
        count = text.count(old_text)
    if count == 0:
        hint = ""
        if " ".join(old_text.split()) in " ".join(text.split()):
            hint = " (it does match when whitespace is ignored: check indentation and line breaks)"
        raise ToolError(
            f"old_text was not found in '{path}'{hint}; read the file again and copy the snippet exactly"
        )
    if count > 1:
        where: list[str] = []
        start = 0
        while len(where) < 10 and (index := text.find(old_text, start)) >= 0:
            where.append(str(_line_of(text, index)))
            start = index + 1
        raise ToolError(
            f"old_text occurs {count} times in '{path}' (at lines {', '.join(where)}); include more "
            "surrounding lines in old_text so that it matches exactly once"
        )
    index = text.index(old_text)
    updated = text[:index] + new_text + text[index + len(old_text) :]
    data = updated.encode("utf-8", "surrogatepass")
    if len(data) > file_max_bytes:
        raise ToolError(
            f"the edit would make '{path}' {len(data):,} bytes, over the {file_max_bytes:,}-byte limit"
        )
    real.write_bytes(data)
    first = _line_of(updated, index)
    last = first + new_text.rstrip("\n").count("\n")
    return f"edited {display(workspace, real)}: replaced 1 occurrence; new text at lines {first}-{last}"


def list_directory(workspace: Path, path: str = ".", depth: int = 1, *, max_entries: int = 500) -> str:
    """Entries under ``path`` down to ``depth`` levels, ``.git`` skipped, at most ``max_entries``."""
    check_path_syntax(path)
    if not 1 <= depth <= MAX_LIST_DEPTH:
        raise ToolError(f"depth must be between 1 and {MAX_LIST_DEPTH}")
    real = resolve_in_workspace(workspace, path)
    if not real.exists():
        raise ToolError(f"no such directory: '{path}'")
    if not real.is_dir():
        raise ToolError(f"'{path}' is a file; use read_file to read it")
    shown: list[str] = []
    left_out = 0

    def walk(directory: Path, level: int) -> None:
        nonlocal left_out
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            shown.append(f"{display(workspace, directory)}/ [unreadable: {exc.strerror}]")
            return
        for entry in entries:
            if entry.name == ".git":
                continue
            if len(shown) >= max_entries:
                left_out += 1
                if left_out >= LIST_COUNT_LIMIT:
                    return
            else:
                shown.append(_describe(workspace, entry))
            # Symlinked directories are not followed: they may point outside the workspace.
            if level < depth and entry.is_dir(follow_symlinks=False):
                walk(Path(entry.path), level + 1)
                if left_out >= LIST_COUNT_LIMIT:
                    return

    walk(real, 1)
    header = f"{display(workspace, real)} (depth {depth}, .git skipped):"
    if not shown:
        return header + "\n[empty directory]"
    text = header + "\n" + "\n".join(shown)
    if left_out:
        more = f"more than {left_out:,}" if left_out >= LIST_COUNT_LIMIT else f"{left_out:,}"
        text += (
            f"\n[{more} further entries left out (limit {max_entries}); list a subdirectory or use a "
            "smaller depth]"
        )
    return text


def _describe(workspace: Path, entry: os.DirEntry[str]) -> str:
    rel = Path(entry.path).relative_to(workspace.resolve()).as_posix()
    if entry.is_symlink():
        try:
            return f"{rel} -> {os.readlink(entry.path)}"
        except OSError:
            return f"{rel} -> ?"
    if entry.is_dir():
        return f"{rel}/"
    try:
        return f"{rel} ({entry.stat().st_size:,} bytes)"
    except OSError:
        return rel
