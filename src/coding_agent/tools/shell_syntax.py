"""A small parser of POSIX shell syntax, enough for the command policy to see what a command does.

It splits a command line into simple commands (through ``;`` ``&&`` ``||`` ``|`` ``&``, newlines,
subshells and braces), removes quotes the way the shell does, records redirections with their targets,
here-documents, and the text of command substitutions (``$(...)``, backticks, ``<(...)``) so that the
policy can check those too. Expansions it cannot know are kept as markers in the word text
(``\\x00NAME\\x00``) so the policy can tell a literal path from one that depends on a variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK = "\x00"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL_VARS = set("@*#?$!-0123456789")


class ShellSyntaxError(ValueError):
    """Unbalanced quotes or brackets: bash itself would refuse the command."""


@dataclass
class Word:
    text: str
    """The word after quote removal; variables and substitutions appear as ``\\x00NAME\\x00`` markers."""
    glob: bool = False
    """It has unquoted glob or brace characters (``* ? [ {``)."""

    @property
    def literal(self) -> bool:
        return MARK not in self.text


@dataclass
class Redirect:
    op: str
    fd: str
    target: Word | None = None
    heredoc: str | None = None


@dataclass
class SimpleCommand:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    stdin_text: str | None = None
    """Literal text piped in by a preceding ``echo``/``printf``, or a here-document's body."""


@dataclass
class Script:
    commands: list[SimpleCommand]
    substitutions: list[str]
    """The inner text of every command and process substitution, to be checked as scripts."""


def _find_close(s: str, i: int) -> int:
    """Index of the ``)`` closing the ``(`` just before ``i``, honouring quotes and nesting."""
    depth = 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = s.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated single quote")
            i = end + 1
            continue
        if c == '"':
            i = _find_dquote_end(s, i + 1) + 1
            continue
        if c == "`":
            i = _find_backtick(s, i + 1) + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError("unbalanced parenthesis")


def _find_dquote_end(s: str, i: int) -> int:
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        if s.startswith("$(", i):
            i = _find_close(s, i + 2) + 1
            continue
        if c == "`":
            i = _find_backtick(s, i + 1) + 1
            continue
        i += 1
    raise ShellSyntaxError("unterminated double quote")


def _find_backtick(s: str, i: int) -> int:
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "`":
            return i
        i += 1
    raise ShellSyntaxError("unterminated backtick")


class _Lexer:
    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0
        self.tokens: list[tuple[str, object]] = []
        self.substitutions: list[str] = []
        self.pending_heredocs: list[tuple[Redirect, str, bool]] = []
        self._reset_word()

    def _reset_word(self) -> None:
        self.buf: list[str] = []
        self.started = False
        self.glob = False
        self.quoted = False

    def _end_word(self) -> None:
        if self.started:
            word = Word("".join(self.buf), self.glob)
            last = self.tokens[-1][1] if self.tokens else None
            if isinstance(last, Redirect) and last.op in ("<<", "<<-"):
                # A here-document: its body starts after the end of this line.
                self.pending_heredocs.append((last, word.text, last.op == "<<-"))
            self.tokens.append(("word", word))
        self._reset_word()

    def _add(self, text: str) -> None:
        self.buf.append(text)
        self.started = True

    def _substitution(self, start: int, close: int, *, knows_pwd: bool = False) -> None:
        """A command substitution whose body is ``s[start:close]``: kept for its own check, marked here
        (``$(pwd)``, with ``knows_pwd``, as the working directory)."""
        inner = self.s[start:close]
        self.substitutions.append(inner)
        self._add(f"{MARK}{'PWD' if knows_pwd and inner.strip() == 'pwd' else 'SUBST'}{MARK}")
        self.i = close + 1

    def _expansion(self) -> None:
        """At a ``$``: variables, ``${...}``, ``$(...)``, ``$((...))``, ``$'...'``."""
        s, i = self.s, self.i
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if s.startswith("$((", i):
            end = _find_close(s, i + 2)
            self._add(f"{MARK}ARITH{MARK}")
            self.i = end + 2 if s.startswith("))", end) else end + 1
        elif nxt == "(":
            self._substitution(i + 2, _find_close(s, i + 2), knows_pwd=True)
        elif nxt == "{":
            end = s.find("}", i + 2)
            if end < 0:
                raise ShellSyntaxError("unterminated ${")
            inner = s[i + 2 : end]
            name = inner if _NAME.fullmatch(inner) else "EXPR"
            self._add(f"{MARK}{name}{MARK}")
            self.i = end + 1
        elif nxt == "'":
            end = i + 2
            while end < len(s) and s[end] != "'":
                end += 2 if s[end] == "\\" else 1
            if end >= len(s):
                raise ShellSyntaxError("unterminated $'")
            self._add(
                s[i + 2 : end].encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")
            )
            self.i = end + 1
        elif match := _NAME.match(s, i + 1):
            self._add(f"{MARK}{match.group()}{MARK}")
            self.i = match.end()
        elif nxt and nxt in _SPECIAL_VARS:
            self._add(f"{MARK}SPECIAL{MARK}")
            self.i = i + 2
        else:
            self._add("$")
            self.i = i + 1

    def _double_quoted(self) -> None:
        s = self.s
        end = _find_dquote_end(s, self.i + 1)
        self.i += 1
        self.started = True
        while self.i < end:
            c = s[self.i]
            if c == "\\" and self.i + 1 < end and s[self.i + 1] in '$`"\\\n':
                if s[self.i + 1] != "\n":
                    self._add(s[self.i + 1])
                self.i += 2
            elif c == "$":
                self._expansion()
            elif c == "`":
                self._substitution(self.i + 1, _find_backtick(s, self.i + 1))
            else:
                self._add(c)
                self.i += 1
        self.i = end + 1

    def _redirect(self, c: str) -> None:
        s, i = self.s, self.i
        fd = ""
        if self.started and not self.quoted and self.buf and "".join(self.buf).isdigit():
            fd = "".join(self.buf)
            self._reset_word()
        else:
            self._end_word()
        ops = (">>", ">|", ">&", ">") if c == ">" else ("<<<", "<<-", "<<", "<&", "<>", "<")
        op = next(o for o in ops if s.startswith(o, i))
        self.tokens.append(("redir", Redirect(op, fd)))
        self.i = i + len(op)

    def _heredoc_bodies(self) -> None:
        """After a newline: consume the bodies of the here-documents opened on the previous line."""
        for redirect, delimiter, strip_tabs in self.pending_heredocs:
            lines: list[str] = []
            while self.i < len(self.s):
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                line = self.s[self.i : end]
                self.i = end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
                lines.append(line)
            redirect.heredoc = "\n".join(lines)
        self.pending_heredocs = []

    def run(self) -> list[tuple[str, object]]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self._end_word()
                self.i += 1
            elif c == "\n":
                self._end_word()
                self.tokens.append(("op", ";"))
                self.i += 1
                self._heredoc_bodies()
            elif c == "#" and not self.started:
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\\":
                if s.startswith("\\\n", self.i):
                    self.i += 2
                else:
                    self._add(s[self.i + 1 : self.i + 2])
                    self.quoted = True
                    self.i += 2
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    raise ShellSyntaxError("unterminated single quote")
                self._add(s[self.i + 1 : end])
                self.quoted = True
                self.i = end + 1
            elif c == '"':
                self.quoted = True
                self._double_quoted()
            elif c == "$":
                self._expansion()
            elif c == "`":
                self._substitution(self.i + 1, _find_backtick(s, self.i + 1))
            elif c in "<>" and s.startswith("(", self.i + 1):
                self._substitution(self.i + 2, _find_close(s, self.i + 2))
            elif c in "<>":
                self._redirect(c)
            elif c == "&":
                self._end_word()
                if s.startswith("&>", self.i):
                    op = "&>>" if s.startswith("&>>", self.i) else "&>"
                    self.tokens.append(("redir", Redirect(op, "&")))
                    self.i += len(op)
                else:
                    op = "&&" if s.startswith("&&", self.i) else "&"
                    self.tokens.append(("op", op))
                    self.i += len(op)
            elif c in "|;()":
                self._end_word()
                op = s[self.i : self.i + 2] if s[self.i : self.i + 2] in ("||", "|&", ";;", ";&") else c
                self.tokens.append(("op", "|" if op == "|&" else op))
                self.i += len(op)
            else:
                if c == "~" and not self.started and (self.i + 1 >= len(s) or s[self.i + 1] in "/ \t\n;|&)"):
                    self._add(f"{MARK}HOME{MARK}")
                elif c in "*?[" or (c == "{" and self.started):
                    self.glob = True
                    self._add(c)
                elif c == "{" and re.match(r"\{[^ \t\n}]*(,|\.\.)[^ \t\n]*\}", s[self.i :]):
                    self.glob = True  # brace expansion such as /{etc,usr}
                    self._add(c)
                else:
                    self._add(c)
                self.i += 1
        self._end_word()
        return self.tokens


def parse(source: str) -> Script:
    """Parse ``source`` into simple commands; raises ShellSyntaxError for unbalanced quoting."""
    lexer = _Lexer(source)
    tokens = lexer.run()
    commands: list[SimpleCommand] = []
    current = SimpleCommand()
    previous_op = ""
    index = 0

    def finish(op: str) -> None:
        nonlocal current, previous_op
        if current.words or current.redirects:
            if previous_op == "|" and commands and _is_literal_echo(commands[-1]):
                current.stdin_text = _echo_text(commands[-1])
            commands.append(current)
        current = SimpleCommand()
        previous_op = op

    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "word":
            assert isinstance(value, Word)
            current.words.append(value)
        elif kind == "redir":
            assert isinstance(value, Redirect)
            if index + 1 < len(tokens) and tokens[index + 1][0] == "word":
                value.target = tokens[index + 1][1]  # type: ignore[assignment]
                index += 1
                if value.heredoc is not None:
                    current.stdin_text = value.heredoc
            current.redirects.append(value)
        else:
            finish(str(value))
        index += 1
    finish("")
    return Script(commands=commands, substitutions=lexer.substitutions)


def _is_literal_echo(command: SimpleCommand) -> bool:
    return (
        bool(command.words)
        and command.words[0].text in ("echo", "printf")
        and all(w.literal for w in command.words)
    )


def _echo_text(command: SimpleCommand) -> str:
    args = [
        w.text for w in command.words[1:] if not (command.words[0].text == "echo" and w.text in ("-e", "-n"))
    ]
    text = " ".join(args)
    return (
        text.replace("\\n", "\n")
        if command.words[0].text == "printf" or "-e" in [w.text for w in command.words]
        else text
    )
