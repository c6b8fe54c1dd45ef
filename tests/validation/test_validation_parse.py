"""parse_test_counts on real summary lines of pytest and best-effort runners."""

from __future__ import annotations

import pytest

from coding_agent.validation.parse import parse_test_counts


@pytest.mark.parametrize(
    ("output", "counts"),
    [
        ("..F.\n3 passed, 1 failed in 0.12s\n", (3, 1)),
        ("======== 1 failed, 2 passed, 1 error, 1 warning in 0.31s ========", (2, 2)),
        ("=== 2 errors in 0.05s ===", (0, 2)),
        ("==== 5 passed, 2 skipped, 1 xfailed, 1 xpassed in 1.00s (0:00:01) ====", (6, 0)),
        ("\x1b[32m4 passed\x1b[0m\x1b[32m in 0.02s\x1b[0m", (4, 0)),
        ("no tests ran in 0.01s", (0, 0)),
        ("===== no tests ran in 0.01s =====", (0, 0)),
        # A nested run's summary printed earlier does not count: the last one wins.
        ("1 failed in 0.1s\nmore output\n7 passed in 0.5s\n", (7, 0)),
        (
            "test result: ok. 5 passed; 0 failed; 0 ignored\n"
            "test result: FAILED. 1 passed; 2 failed; 0 ignored",
            (6, 2),
        ),
        ("Tests:       1 failed, 3 passed, 4 total\nTime: 1s", (3, 1)),
        ("  3 passing (12ms)\n  1 failing\n", (3, 1)),
        ("=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\n--- PASS: TestC (0.00s)", (2, 1)),
        ("ok  \texample.com/x\t0.01s", (0, 0)),
        ("", (0, 0)),
    ],
)
def test_parse_test_counts(output: str, counts: tuple[int, int]) -> None:
    assert parse_test_counts(output) == counts
