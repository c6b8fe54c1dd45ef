"""Cut long text to a bounded size, keeping its head and tail and saying how much was left out."""

from __future__ import annotations


def elide_middle(text: str, max_chars: int) -> str:
    """Return ``text`` if it fits, else its head and tail around a note of the elided count."""
    if len(text) <= max_chars:
        return text
    keep = max(max_chars - 80, 0)
    head = keep // 2
    tail = keep - head
    elided = len(text) - head - tail
    marker = f"\n... [{elided} characters elided] ...\n"
    return text[:head] + marker + (text[-tail:] if tail else "")
