"""Read passed/failed test counts from a test runner's output (pytest first, best effort for others).

Counts come from the runner's own summary line, so they are only as good as that line: when nothing
recognisable is printed the counts are (0, 0) and the exit code alone decides success.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# pytest: "3 passed, 1 failed, 2 errors in 0.12s" (possibly framed by '=' and with a duration suffix).
_PYTEST_SUMMARY = re.compile(
    r"^[=\s]*(?P<body>(?:\d+ \w+(?:, )?)+|no tests ran)\s+in\s+[\d.]+s\b.*$|^[=\s]*no tests ran\b", re.M
)
_PYTEST_COUNT = re.compile(r"(\d+) (passed|failed|errors?|xpassed)\b")
# cargo: "test result: ok. 5 passed; 1 failed; 0 ignored; ..." (one line per test binary).
_CARGO = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed")
# jest: "Tests:       1 failed, 3 passed, 4 total"
_JEST = re.compile(r"^Tests:\s+(.*\btotal)\s*$", re.M)
# mocha: "  3 passing (12ms)" / "  1 failing"
_MOCHA_PASS = re.compile(r"^\s*(\d+) passing\b", re.M)
_MOCHA_FAIL = re.compile(r"^\s*(\d+) failing\b", re.M)
# go test -v: "--- PASS: TestX" / "--- FAIL: TestX"; without -v only package lines: "ok  pkg" / "FAIL pkg".
_GO_PASS = re.compile(r"^\s*--- PASS: ", re.M)
_GO_FAIL = re.compile(r"^\s*--- FAIL: ", re.M)


def _pytest(output: str) -> tuple[int, int] | None:
    matches = list(_PYTEST_SUMMARY.finditer(output))
    if not matches:
        return None
    # The last summary wins: earlier ones may come from nested runs printed by the tests themselves.
    line = matches[-1].group(0)
    passed = failed = 0
    for number, word in _PYTEST_COUNT.findall(line):
        if word in ("passed", "xpassed"):
            passed += int(number)
        else:
            failed += int(number)
    return passed, failed


def _cargo(output: str) -> tuple[int, int] | None:
    found = _CARGO.findall(output)
    if not found:
        return None
    return sum(int(p) for p, _ in found), sum(int(f) for _, f in found)


def _jest(output: str) -> tuple[int, int] | None:
    matches = _JEST.findall(output)
    if not matches:
        return None
    counts = dict((word, int(n)) for n, word in re.findall(r"(\d+) (passed|failed)", matches[-1]))
    return counts.get("passed", 0), counts.get("failed", 0)


def _mocha(output: str) -> tuple[int, int] | None:
    passing, failing = _MOCHA_PASS.findall(output), _MOCHA_FAIL.findall(output)
    if not passing and not failing:
        return None
    return sum(map(int, passing)), sum(map(int, failing))


def _go(output: str) -> tuple[int, int] | None:
    passed, failed = len(_GO_PASS.findall(output)), len(_GO_FAIL.findall(output))
    if passed or failed:
        return passed, failed
    return None


def parse_test_counts(output: str) -> tuple[int, int]:
    """(passed, failed) from a test run's output; errors count as failed; (0, 0) when unknown."""
    text = _ANSI.sub("", output or "")
    for parser in (_pytest, _cargo, _jest, _mocha, _go):
        counts = parser(text)
        if counts is not None:
            return counts
    return 0, 0
