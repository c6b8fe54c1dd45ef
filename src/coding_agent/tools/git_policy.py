"""Which git invocations the agent's shell may not run: configuration that executes code or moves
credentials.

A model that sets ``credential.helper``, ``core.hooksPath``, ``core.sshCommand``, a filter or a ``url``
rewrite could make the product's own authenticated push run its code or send the credentials elsewhere
(issue 10). The product neutralises these in its own git calls too; this check gives the model a clear
refusal instead of a silent no-op. Reads (``git config --get``, ``--list``) stay allowed.
"""

from __future__ import annotations

import re

_DANGEROUS_KEYS = re.compile(
    r"""^(credential(\..*)?|core\.(hookspath|sshcommand|askpass|fsmonitor|gitproxy|editor|pager|attributesfile)
    |filter\..*|diff\..*\.(textconv|command)|diff\.external|merge\..*\.driver|include(if)?\..*|url\..*
    |remote\..*|http\..*|protocol(\..*)?|ssh\..*|gpg\..*|sequence\.editor|uploadpack\..*|receive\..*
    |safe\.directory|submodule\..*)$""",
    re.X | re.I,
)
_READ_FLAGS = {
    "--get",
    "--get-all",
    "--get-regexp",
    "--get-urlmatch",
    "--list",
    "-l",
    "--get-color",
    "--get-colorbool",
}
_WRITE_FLAGS = {
    "--add",
    "--unset",
    "--unset-all",
    "--replace-all",
    "--rename-section",
    "--remove-section",
    "--edit",
    "-e",
}
_VALUE_FLAGS = {"--file", "-f", "--blob", "--type", "--default", "--comment", "--value"}
_GLOBAL_VALUE_OPTS = {"-C", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--super-prefix"}

INSTEAD = (
    "the product configures git for its own commit and push; change files in the working tree and "
    "inspect with git status/diff/log"
)


def git_refusal(args: list[str]) -> str | None:
    """A refusal message for ``git <args>``, or None when it may run."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        option = args[index]
        if option in ("-c", "--config-env") and index + 1 < len(args):
            key = args[index + 1].split("=", 1)[0]
            if _DANGEROUS_KEYS.match(key):
                return f"refused: `git -c {key}=...` can run code or redirect credentials; {INSTEAD}"
            index += 2
            continue
        if option.startswith("--config-env="):
            key = option.split("=", 2)[1]
            if _DANGEROUS_KEYS.match(key):
                return f"refused: `git --config-env {key}` can run code or redirect credentials; {INSTEAD}"
        index += 2 if option in _GLOBAL_VALUE_OPTS else 1
    if index >= len(args) or args[index] != "config":
        return None
    return _config_refusal(args[index + 1 :])


def _config_refusal(args: list[str]) -> str | None:
    positional: list[str] = []
    flags: set[str] = set()
    skip = False
    for position, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            flags.add(arg.split("=", 1)[0])
            skip = arg in _VALUE_FLAGS and position + 1 < len(args)
        else:
            positional.append(arg)
    # git >= 2.46 has subcommands: git config get|list|set|unset|rename-section|remove-section|edit
    verb = (
        positional[0]
        if positional
        and positional[0] in {"get", "list", "set", "unset", "rename-section", "remove-section", "edit"}
        else None
    )
    if verb is not None:
        positional = positional[1:]
        writes = verb not in ("get", "list")
    else:
        writes = bool(flags & _WRITE_FLAGS) or (not flags & _READ_FLAGS and len(positional) >= 2)
    if not writes:
        return None
    key = positional[0] if positional else ""
    if key and _DANGEROUS_KEYS.match(key):
        return f"refused: `git config {key}` can run code or redirect credentials during the push; {INSTEAD}"
    return f"refused: git configuration writes are not allowed (it lives in .git/); {INSTEAD}"
