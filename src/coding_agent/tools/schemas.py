"""The tools as the model sees them (OpenAI function-calling schemas) and as the toolbox validates them
(one pydantic model per tool, extra arguments forbidden).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_CONTENT_CHARS = 5 << 20  # the byte limit is checked by the tool; this bounds the JSON itself


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunShellArgs(_Args):
    command: str = Field(min_length=1, max_length=100_000)
    timeout_seconds: float | None = Field(default=None, gt=0)
    workdir: str | None = None


class ReadFileArgs(_Args):
    path: str
    start_line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)


class WriteFileArgs(_Args):
    path: str
    content: str = Field(max_length=MAX_CONTENT_CHARS)


class ListDirectoryArgs(_Args):
    path: str = "."
    depth: int = Field(default=1, ge=1, le=10)


class EditFileArgs(_Args):
    path: str
    old_text: str = Field(max_length=MAX_CONTENT_CHARS)
    new_text: str = Field(max_length=MAX_CONTENT_CHARS)


class SearchFilesArgs(_Args):
    pattern: str = Field(min_length=1, max_length=10_000)
    path_glob: str = "**/*"
    max_results: int = Field(default=100, ge=1, le=1000)


ARGUMENT_MODELS: dict[str, type[_Args]] = {
    "run_shell_command": RunShellArgs,
    "read_file": ReadFileArgs,
    "write_file": WriteFileArgs,
    "list_directory": ListDirectoryArgs,
    "edit_file": EditFileArgs,
    "search_files": SearchFilesArgs,
}


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_PATH = {"type": "string", "description": "Path relative to the repository root (e.g. 'src/app.py')."}

TOOL_SCHEMAS: list[dict[str, Any]] = [
    _tool(
        "run_shell_command",
        "Run a bash command in the repository (tests, builds, git status/diff, grep...). Returns the exit "
        "code and output (long output keeps its start and end). No network unless the task allows it; "
        "dangerous commands are refused; .git is read-only (the product commits and pushes for you).",
        {
            "command": {"type": "string", "description": "The bash command line."},
            "timeout_seconds": {"type": "number", "description": "Time limit in seconds (default 300)."},
            "workdir": {
                "type": "string",
                "description": "Directory to run in, relative to the repository root.",
            },
        },
        ["command"],
    ),
    _tool(
        "read_file",
        "Read a UTF-8 text file. Large files are returned in pages: use start_line/end_line (1-based, "
        "inclusive) to read a range; the result says how to read on.",
        {
            "path": _PATH,
            "start_line": {"type": "integer", "minimum": 1, "description": "First line to return (1-based)."},
            "end_line": {"type": "integer", "minimum": 1, "description": "Last line to return (inclusive)."},
        },
        ["path"],
    ),
    _tool(
        "write_file",
        "Create a file (or replace its whole content); parent directories are created. To change part "
        "of an existing file, prefer edit_file.",
        {"path": _PATH, "content": {"type": "string", "description": "The complete new file content."}},
        ["path", "content"],
    ),
    _tool(
        "list_directory",
        "List files and directories (sizes shown, .git skipped) down to the given depth.",
        {
            "path": {
                "type": "string",
                "description": "Directory relative to the repository root (default '.').",
            },
            "depth": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10,
                "description": "Levels to descend (default 1).",
            },
        },
        [],
    ),
    _tool(
        "edit_file",
        "Replace one exact snippet of a file: old_text must occur exactly once (copy it from read_file, "
        "including indentation; add surrounding lines if it is not unique).",
        {
            "path": _PATH,
            "old_text": {
                "type": "string",
                "description": "The exact text to replace; must be unique in the file.",
            },
            "new_text": {"type": "string", "description": "The replacement text."},
        },
        ["path", "old_text", "new_text"],
    ),
    _tool(
        "search_files",
        "Search the repository's text files with a Python regular expression; returns path:line: text.",
        {
            "pattern": {"type": "string", "description": "Python regular expression, matched per line."},
            "path_glob": {
                "type": "string",
                "description": "Which files: '*.py' (any depth), 'src/**/*.ts', default '**/*' (all).",
            },
            "max_results": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Default 100."},
        },
        ["pattern"],
    ),
]
