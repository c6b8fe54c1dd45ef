"""Operational commands: ``coding-agent health`` (readiness of Temporal, NATS and the database) and
``coding-agent env`` (every environment variable the worker reads, with its default and meaning)."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import AliasChoices, SecretStr
from rich.table import Table

from coding_agent.cli import app, console
from coding_agent.settings import Settings


@app.command()
def health(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check that Temporal, NATS and the database are reachable; exit 1 when one is not."""
    from coding_agent.health import check_health

    report = asyncio.run(check_health(Settings()))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        table = Table(title="coding-agent health")
        for column in ("check", "status", "latency", "detail"):
            table.add_column(column)
        for check in report.checks:
            status = "[green]up[/]" if check.ok else "[red]DOWN[/]"
            table.add_row(check.name, status, f"{check.latency_ms} ms", check.detail)
        console.print(table)
    raise typer.Exit(0 if report.ok else 1)


def field_docs() -> dict[str, str]:
    """The one-line docstring under each settings field, read from the source."""
    docs: dict[str, str] = {}
    body = ast.parse(inspect.getsource(Settings)).body[0]
    assert isinstance(body, ast.ClassDef)
    statements = body.body
    for node, following in zip(statements, statements[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                docs[node.target.id] = str(following.value.value).strip()
    return docs


def env_name(field: str) -> str:
    """The environment variable that sets a settings field."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field.upper()


def _default(field: str) -> str:
    value: Any = Settings.model_fields[field].get_default(call_default_factory=True)
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return "(secret)"
    return str(value).replace(str(Path.home()), "~")


def settings_rows() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting, in declaration order."""
    docs = field_docs()
    return [(env_name(f), _default(f), docs.get(f, "")) for f in Settings.model_fields]


def settings_markdown() -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, default, doc in settings_rows():
        cell = default.replace("|", "\\|") if default else "''"
        lines.append(f"| `{name}` | `{cell}` | {doc.replace('|', '/')} |")
    return "\n".join(lines)


@app.command("env")
def env_command(
    markdown: Annotated[bool, typer.Option(help="Print a Markdown table (as in docs/deployment.md)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List every environment variable the worker reads, with its default and meaning."""
    if markdown:
        typer.echo(settings_markdown())
    elif as_json:
        rows = [{"variable": n, "default": d, "meaning": m} for n, d, m in settings_rows()]
        typer.echo(json.dumps(rows, indent=2))
    else:
        table = Table(title="environment variables")
        for column in ("variable", "default", "meaning"):
            table.add_column(column)
        for row in settings_rows():
            table.add_row(*row)
        console.print(table)
