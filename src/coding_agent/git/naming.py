"""Feature-branch names: ``feat/YYYYMMDD-<slug>``, with ``-2``, ``-3``... when the name is taken."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import date

MAX_SLUG_CHARS = 50
FALLBACK_SLUG = "task"


def slugify(title: str, max_chars: int = MAX_SLUG_CHARS) -> str:
    """Lower-case ASCII letters, digits and single hyphens, at most ``max_chars`` long."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > max_chars:
        cut = slug[:max_chars]
        # Prefer ending on a word boundary when one is reasonably close.
        boundary = cut.rfind("-")
        slug = cut[:boundary] if boundary >= max_chars // 2 else cut
    return slug.strip("-") or FALLBACK_SLUG


def branch_name(title: str, day: date) -> str:
    """``feat/YYYYMMDD-<slug of title>``."""
    return f"feat/{day:%Y%m%d}-{slugify(title)}"


def unique_branch_name(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base-2``, ``base-3``... the first one not in ``taken``."""
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"
