"""The command policy: refuse shell commands that would destroy the host or escape the workspace.

The command is parsed (``shell_syntax``), not pattern-matched: quotes, ``sudo``/``env`` wrappers,
``bash -c``/``eval`` and piped-in scripts, chains, substitutions and redirections are all looked
through. Refused: recursive deletes outside the workspace (``rm -rf /``, ``~``, ``$HOME``...), fork bombs,
formatting and partitioning tools, writes to block devices and memory, mount/shutdown, changes to files
outside the workspace (``/tmp`` and harmless devices such as ``/dev/null`` excepted), writes into
``.git/`` and git configuration that would run code or redirect credentials. The sandbox is the second
line; this layer gives the model a readable reason ("refused: <why>; <what to do instead>").
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from coding_agent.tools.command_targets import Target, TargetResolver
from coding_agent.tools.git_policy import git_refusal
from coding_agent.tools.shell_syntax import MARK, ShellSyntaxError, SimpleCommand, Word, parse

MAX_COMMAND_CHARS = 100_000
MAX_NESTING = 8
_FORK_BOMB = re.compile(
    r"(?:function\s+([^\s(){};|&<>]+)\s*(?:\(\s*\))?|([^\s(){};|&<>]+)\s*\(\s*\))\s*\{(.*?)\}", re.S
)
_OTHER_BOMBS = re.compile(
    r"fork\s+while\s+fork|while\s*(?:True|1)\s*:\s*os\.fork|fork\(\)\s*while|\bfork\s*;\s*redo"
)
_DISK_TOOLS = {
    "wipefs",
    "fdisk",
    "sfdisk",
    "cfdisk",
    "gdisk",
    "sgdisk",
    "parted",
    "blkdiscard",
    "mkswap",
    "mke2fs",
    "badblocks",
    "hdparm",
    "cryptsetup",
    "mdadm",
    "pvremove",
    "vgremove",
    "lvremove",
    "zpool",
    "debugfs",
    "tune2fs",
    "e2fsck",
    "fsck",
}
_SYSTEM_TOOLS = {
    "mount",
    "umount",
    "swapon",
    "swapoff",
    "losetup",
    "pivot_root",
    "insmod",
    "rmmod",
    "modprobe",
    "kexec",
}
_POWER = {"shutdown", "reboot", "halt", "poweroff", "init", "telinit"}
_SHELLS = {"bash", "sh", "dash", "zsh", "ksh", "ash", "busybox-sh"}
_WRAPPERS_WITH_ARGS = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p", "-t"},
    "stdbuf": {"-i", "-o", "-e"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "xargs": {"-I", "-n", "-P", "-d", "-a", "-E", "-L", "-s", "--max-args", "--delimiter"},
    "flock": {"-w", "-E", "--timeout"},
    "chrt": set(),
    "nohup": set(),
    "time": set(),
    "exec": set(),
    "command": set(),
    "builtin": set(),
    "setsid": set(),
    "unbuffer": set(),
    "busybox": set(),
    "then": set(),
    "do": set(),
    "else": set(),
    "if": set(),
    "elif": set(),
    "while": set(),
    "until": set(),
    "!": set(),
    "{": set(),
    "}": set(),
}
_IGNORED = {"for", "select", "case", "function", "fi", "done", "esac", "in", "}"}


class _Refused(Exception):
    pass


def _refuse(why: str, instead: str) -> _Refused:
    return _Refused(f"refused: {why}; {instead}")


class CommandPolicy:
    """Decides whether a command may run in a workspace; ``check`` returns None or a refusal message."""

    def __init__(self, workspace: Path, *, home: Path | None = None, protected: Sequence[Path] = ()) -> None:
        self.workspace = workspace.resolve()
        self.home = (home or Path.home()).resolve()
        self.protected = [Path(p).resolve() for p in protected]
        self.targets = TargetResolver(self.workspace, self.home, self.protected)

    def check(self, command: str, cwd: Path | None = None) -> str | None:
        if len(command) > MAX_COMMAND_CHARS:
            return f"refused: the command is {len(command):,} characters long; write a script file and run it"
        try:
            self._script(command, (cwd or self.workspace).resolve(), 0)
        except _Refused as refusal:
            return str(refusal)
        return None

    # --- scripts -------------------------------------------------------------------------------
    def _script(self, source: str, cwd: Path | None, depth: int) -> Path | None:
        if depth > MAX_NESTING:
            raise _refuse("the command nests shells/substitutions too deeply to check", "flatten it")
        if _OTHER_BOMBS.search(source):
            raise _refuse(
                "this is a fork bomb (endless process creation)", "do not start unbounded processes"
            )
        for match in _FORK_BOMB.finditer(source):
            function = match.group(1) or match.group(2)
            if re.search(rf"(^|[\s;|&(]){re.escape(function)}($|[\s;|&)])", match.group(3)):
                raise _refuse(
                    f"the function {function!r} calls itself (a fork bomb pattern)",
                    "write a loop with a fixed bound instead",
                )
        try:
            script = parse(source)
        except ShellSyntaxError as exc:
            raise _refuse(f"the command cannot be parsed ({exc})", "fix the quoting and try again") from None
        for inner in script.substitutions:
            self._script(inner, cwd, depth + 1)
        for command in script.commands:
            cwd = self._command(command, cwd, depth)
        return cwd

    def _command(self, command: SimpleCommand, cwd: Path | None, depth: int) -> Path | None:
        for redirect in command.redirects:
            if redirect.target is None or redirect.op in ("<", "<<", "<<-", "<<<", "<&"):
                continue
            if redirect.op in (">&", "<&") and re.fullmatch(r"\d+-?|-", redirect.target.text):
                continue  # duplicating a file descriptor, not a file
            self._write(redirect.target, cwd, "an output redirection")
        words = [w for w in command.words]
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0].text):
            words.pop(0)  # NAME=value prefixes
        words, via_xargs = self._unwrap(words)
        if via_xargs and words and os.path.basename(words[0].text) in ("rm", "shred", "chmod", "chown"):
            raise _refuse(
                f"`xargs {words[0].text}` takes its targets from input that cannot be checked",
                "name the paths literally, or use find . -delete inside the workspace",
            )
        if not words:
            return cwd
        name = os.path.basename(words[0].text)
        args = words[1:]
        if name in _IGNORED:
            return cwd
        if name in ("cd", "pushd"):
            return self._cd(args, cwd)
        if name == "popd":
            return None
        if name in _SHELLS:
            self._shell(args, command.stdin_text, cwd, depth)
        elif name == "eval":
            self._script(" ".join(_unmark(w.text) for w in args), cwd, depth + 1)
        elif name == "env":
            self._env(args, command, cwd, depth)
        else:
            self._rules(name, args, cwd)
        return cwd

    def _unwrap(self, words: list[Word]) -> tuple[list[Word], bool]:
        """Strip ``sudo``, ``nice``, ``timeout 10``... to reach the command that really runs."""
        via_xargs = False
        while words and os.path.basename(words[0].text) in _WRAPPERS_WITH_ARGS:
            name = os.path.basename(words[0].text)
            via_xargs = via_xargs or name == "xargs"
            takes_arg = _WRAPPERS_WITH_ARGS[name]
            words = words[1:]
            while words and words[0].text.startswith("-") and words[0].text != "-":
                flag = words.pop(0).text
                if flag == "--":
                    break
                if flag in takes_arg and words:
                    words.pop(0)
            if name == "timeout" and words:
                words = words[1:]  # the duration
        return words, via_xargs

    def _shell(self, args: list[Word], stdin_text: str | None, cwd: Path | None, depth: int) -> None:
        for index, word in enumerate(args):
            text = word.text
            if text.startswith("-") and not text.startswith("--") and "c" in text[1:]:
                if index + 1 < len(args):
                    self._script(_unmark(args[index + 1].text), cwd, depth + 1)
                return
            if not text.startswith("-"):
                return  # a script file: the sandbox contains what it does
        if stdin_text is not None:
            self._script(stdin_text, cwd, depth + 1)

    def _env(self, args: list[Word], command: SimpleCommand, cwd: Path | None, depth: int) -> None:
        rest = list(args)
        while rest:
            text = rest[0].text
            if text in ("-u", "-C", "--unset", "--chdir"):
                rest = rest[2:]
            elif text in ("-S", "--split-string") and len(rest) > 1:
                self._script(" ".join(_unmark(w.text) for w in rest[1:]), cwd, depth + 1)
                return
            elif text.startswith("-") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", text):
                rest = rest[1:]
            else:
                break
        if rest:
            self._command(SimpleCommand(words=rest, stdin_text=command.stdin_text), cwd, depth)

    def _cd(self, args: list[Word], cwd: Path | None) -> Path | None:
        operands = [w for w in args if not w.text.startswith("-") or w.text == "-"]
        if not operands:
            return self.home
        path = self.targets.expand(operands[0], cwd)
        return Path(os.path.normpath(path)) if path and os.path.isabs(path) else None

    # --- rules ---------------------------------------------------------------------------------
    def _rules(self, name: str, args: list[Word], cwd: Path | None) -> None:
        texts = [w.text for w in args]
        if name.startswith("mkfs") or name in _DISK_TOOLS:
            raise _refuse(
                f"{name} formats, partitions or wipes disks", "work on files in the workspace instead"
            )
        if name in _SYSTEM_TOOLS:
            raise _refuse(
                f"{name} changes the system's mounts or kernel", "work on files in the workspace instead"
            )
        if name in _POWER or (name == "systemctl" and set(texts) & {"poweroff", "reboot", "halt", "kexec"}):
            raise _refuse(f"{name} would stop or restart the machine", "there is no need to restart anything")
        if name in ("kill", "pkill") and ("-1" in texts[1:] or texts[-1:] == ["-1"]):
            raise _refuse("kill -1 signals every process", "kill specific process ids")
        if name == "git":
            message = git_refusal(texts)
            if message:
                raise _Refused(message)
            return
        operands, flags = _split(args)
        recursive = any(re.fullmatch(r"-[a-zA-Z]*[rR][a-zA-Z]*", f) or f == "--recursive" for f in flags)
        if name == "rm" and "--no-preserve-root" in flags:
            raise _refuse(
                "rm --no-preserve-root deletes the whole system", "delete paths inside the workspace"
            )
        if name in ("rm", "unlink", "rmdir", "shred", "srm", "truncate"):
            for word in _skip_option_args(operands, flags, name):
                self._delete(word, cwd, name, strict=recursive and name == "rm")
        elif name == "mv":
            for word in operands:
                self._delete(word, cwd, name, strict=False)
        elif name in ("cp", "install", "ln", "rsync", "scp"):
            target_dir = _flag_value(args, ("-t", "--target-directory"))
            dest = target_dir or (operands[-1] if len(operands) >= 2 else None)
            if dest is not None and not (name in ("rsync", "scp") and ":" in dest.text):
                self._write(dest, cwd, name, follow=name != "ln")
        elif name in ("touch", "mkdir", "tee"):
            for word in _skip_option_args(operands, flags, name):
                self._write(word, cwd, name)
        elif name in ("chmod", "chown", "chgrp", "chattr", "setfacl"):
            targets = operands if any(f.startswith("--reference") for f in flags) else operands[1:]
            for word in targets:
                self._delete(word, cwd, name, strict=recursive)
        elif name == "dd":
            for word in args:
                if word.text.startswith("of="):
                    self._write(Word(word.text[3:], word.glob), cwd, "dd")
        elif name == "sed" and any(f.startswith(("-i", "--in-place")) for f in flags):
            scripted = any(f in ("-e", "-f", "--expression", "--file") for f in flags)
            for word in operands if scripted else operands[1:]:
                self._write(word, cwd, "sed -i")
        elif name == "find":
            if set(texts) & {"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint"}:
                for word in args:
                    if word.text.startswith(("-", "(", "!")):
                        break
                    self._delete(word, cwd, "find -delete/-exec", strict=True, children=True)

    # --- targets -------------------------------------------------------------------------------
    def _delete(
        self, word: Word, cwd: Path | None, verb: str, *, strict: bool, children: bool = False
    ) -> None:
        follow = word.text.endswith("/")
        target = self.targets.classify(word, cwd, follow=follow, children=children)
        if target.kind in ("inside", "tmp"):
            return
        if target.kind == "unknown":
            if strict:
                raise _refuse(
                    f"cannot tell where '{target.shown}' points (it depends on a variable or substitution)",
                    "use a literal path inside the workspace",
                )
            return
        if target.kind in ("dev_ok", "device") and verb in ("shred", "truncate"):
            raise _refuse(
                f"{verb} of the device {target.real} wipes it", "only change files in the workspace"
            )
        self._explain(target, verb)

    def _write(self, word: Word, cwd: Path | None, verb: str, *, follow: bool = True) -> None:
        target = self.targets.classify(word, cwd, follow=follow, children=False)
        if target.kind in ("inside", "tmp", "dev_ok", "unknown"):
            return
        self._explain(target, verb)

    def _explain(self, target: Target, verb: str) -> None:
        shown, real = target.shown, target.real
        if target.kind == "git":
            raise _refuse(
                f"'{shown}' is inside .git/ ({verb}): the product manages the repository and commits for you",
                "change files in the working tree; inspect the repository with git status/diff/log",
            )
        if target.kind == "root":
            raise _refuse(
                f"'{shown}' is the workspace itself ({verb})", "name the files or directories inside it"
            )
        if target.kind == "ancestor":
            raise _refuse(
                f"'{shown}' is {real}, which contains the workspace "
                f"({verb} would destroy the system or the task)",
                "work on paths inside the workspace",
            )
        if target.kind == "device":
            raise _refuse(
                f"{verb} would write to the device {real} (disk or memory wiping)",
                "write to files in the workspace",
            )
        place = "your home directory" if real.startswith(str(self.home)) else real
        why = f"'{shown}' is outside the workspace ({place}): {verb} may only change files in the workspace"
        if target.kind == "protected":
            why = f"'{shown}' belongs to the worker, not to the task ({verb})"
        raise _refuse(why, "use paths inside the workspace (or /tmp for scratch files)")


def _unmark(text: str) -> str:
    """Turn markers back into shell syntax for a nested script (``bash -c "$X"`` -> ``${X}``)."""
    return re.sub(f"{MARK}([A-Za-z_][A-Za-z0-9_]*){MARK}", r"${\1}", text).replace(MARK, "")


def _split(args: list[Word]) -> tuple[list[Word], list[str]]:
    """Operands and flags (everything after ``--`` is an operand)."""
    operands: list[Word] = []
    flags: list[str] = []
    only_operands = False
    for word in args:
        if only_operands or not word.text.startswith("-") or word.text == "-":
            operands.append(word)
        elif word.text == "--":
            only_operands = True
        else:
            flags.append(word.text)
    return operands, flags


_OPTION_ARGS = {
    "truncate": {"-s", "--size", "-r", "--reference"},
    "touch": {"-d", "-t", "-r"},
    "mkdir": {"-m", "--mode"},
    "shred": {"-n", "-s", "--iterations", "--size"},
}


def _skip_option_args(operands: list[Word], flags: list[str], name: str) -> list[Word]:
    """Drop operands that are really the values of options such as ``truncate -s 0``."""
    takes = _OPTION_ARGS.get(name, set())
    count = sum(1 for f in flags if f in takes)
    return operands[count:]


def _flag_value(args: list[Word], names: tuple[str, ...]) -> Word | None:
    for index, word in enumerate(args):
        if word.text in names and index + 1 < len(args):
            return args[index + 1]
        for name in names:
            if name.startswith("--") and word.text.startswith(name + "="):
                return Word(word.text[len(name) + 1 :], word.glob)
    return None
