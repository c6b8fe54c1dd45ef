"""search_files: a regular-expression search over the workspace's text files, with bounded results.

The model writes the pattern, and a pathological one (``(a+)+$``) can make Python's regex engine spin
for hours; a thread cannot be interrupted, so the search itself runs in a child Python process (through
``processes.run_process``) with a timeout. ``.git`` (directly or through a symlink), symlinks leaving
the workspace, binary, non-UTF-8 and oversized files are skipped; results are ``path:line: text``
with long lines cut.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from coding_agent.processes import run_process
from coding_agent.tools.errors import ToolError
from coding_agent.tools.paths import check_path_syntax, touches_git_dir

MAX_LINE_CHARS = 300
SEARCH_TIMEOUT_SECONDS = 30.0
_SRC_DIR = str(Path(__file__).resolve().parents[2])


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """Compile a path glob: ``**`` spans directories, ``*`` and ``?`` stay within one."""
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and (end := glob.find("]", i + 1)) > i:
            out.append("[" + glob[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def search_sync(workspace: Path, pattern: str, path_glob: str, max_results: int, file_max_bytes: int) -> str:
    """The search itself (runs in the child process)."""
    regex = re.compile(pattern)
    root = workspace.resolve()
    glob = glob_to_regex(path_glob.removeprefix("./"))
    by_name = "/" not in path_glob  # '*.py' means every .py file, at any depth
    results: list[str] = []
    files = skipped = 0
    more = False
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames):
            full = Path(directory, name)
            rel = full.relative_to(root).as_posix()
            if not glob.match(name if by_name else rel):
                continue
            try:
                if full.is_symlink():
                    # Like read_file: nothing outside the workspace, nothing inside .git through a link.
                    real = full.resolve()
                    if not real.is_relative_to(root) or touches_git_dir(real.relative_to(root)):
                        continue
                if not full.is_file() or full.stat().st_size > file_max_bytes:
                    skipped += 1
                    continue
                data = full.read_bytes()
            except OSError:
                skipped += 1
                continue
            if b"\x00" in data[:8192]:
                skipped += 1
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                skipped += 1
                continue
            files += 1
            for number, line in enumerate(text.splitlines(), 1):
                if regex.search(line):
                    if len(results) >= max_results:
                        more = True
                        break
                    cut = line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " [line cut]"
                    results.append(f"{rel}:{number}: {cut}")
            if more:
                break
        if more:
            break
    if not results:
        return f"no matches for /{pattern}/ in {files} files matching '{path_glob}'"
    text = "\n".join(results)
    if more:
        text += f"\n[stopped at {max_results} matches; narrow the pattern or path_glob to see the rest]"
    if skipped:
        text += f"\n[{skipped} binary, non-UTF-8 or oversized files skipped]"
    return text


async def search_files(
    workspace: Path,
    pattern: str,
    path_glob: str = "**/*",
    max_results: int = 100,
    *,
    file_max_bytes: int = 5 << 20,
    timeout: float = SEARCH_TIMEOUT_SECONDS,  # noqa: ASYNC109 - enforced by run_process on the child
) -> str:
    """Search ``workspace`` for ``pattern`` (a Python regex); raises ToolError for bad input or a timeout."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"invalid regular expression {pattern!r}: {exc}") from None
    check_path_syntax(path_glob)
    if path_glob.startswith("/") or ".." in path_glob.split("/"):
        raise ToolError("path_glob is matched against workspace-relative paths; give e.g. 'src/**/*.py'")
    if not 1 <= max_results <= 1000:
        raise ToolError("max_results must be between 1 and 1000")
    request = json.dumps(
        {
            "workspace": str(workspace),
            "pattern": pattern,
            "path_glob": path_glob,
            "max_results": max_results,
            "file_max_bytes": file_max_bytes,
        }
    ).encode()
    result = await run_process(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {_SRC_DIR!r}); "
            "from coding_agent.tools.search import main; main()",
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        stdin_data=request,
        timeout=timeout,
        output_limit=4 << 20,
    )
    if result.timed_out:
        raise ToolError(
            f"the search took longer than {timeout:.0f}s and was stopped; simplify the pattern (avoid "
            "nested quantifiers) or narrow path_glob"
        )
    if result.exit_code != 0:
        raise ToolError(f"search failed: {result.output.strip()[-500:]}")
    return result.output


def main() -> None:
    """Child-process entry: read the request as JSON on stdin, print the result."""
    args = json.loads(sys.stdin.read())
    print(
        search_sync(
            Path(args["workspace"]),
            args["pattern"],
            args["path_glob"],
            args["max_results"],
            args["file_max_bytes"],
        ),
        end="",
    )
