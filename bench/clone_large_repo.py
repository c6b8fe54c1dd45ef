"""Full clone versus blob-less partial clone of a large repository, over file:// and smart HTTP.

Generates (once, into a cache dir) a bare repository whose history holds >= 200 MB of incompressible
blobs: a set of files rewritten with random bytes in every commit, so old versions pile up in history
while the checked-out tree stays small. Then times the product's own ``coding_agent.git.clone`` to a
usable checkout, full and partial, and (partial) a commit + push, printing a table.

    .venv/bin/python bench/clone_large_repo.py [--cache-dir DIR] [--size-mb 220] [--skip-http]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.git_servers import GIT_ENV, git, git_http_server  # noqa: E402

from coding_agent.git import clone, commit_all, push  # noqa: E402
from coding_agent.models import GitCredentials, GitCredentialsType  # noqa: E402

FILES = 40
FILE_BYTES = 256 * 1024
USER, PASSWORD = "bench", "bench-password"


def generate(bare: Path, size_mb: int) -> None:
    """Write the history with git fast-import (fast: one pack, no worktree)."""
    commits = max(1, (size_mb * 1024 * 1024) // (FILES * FILE_BYTES) + 1)
    git("init", "-q", "--bare", "--initial-branch=main", str(bare))
    for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant", "http.receivepack"):
        git("config", key, "true", cwd=bare)
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=bare, env=env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    out = proc.stdin
    for number in range(commits):
        message = f"revision {number}".encode()
        out.write(b"commit refs/heads/main\n")
        out.write(f"committer Bench <bench@example.test> {1_700_000_000 + number} +0000\n".encode())
        out.write(b"data %d\n%s\n" % (len(message), message))
        if number == 0:
            readme = b"# large benchmark repository\n"
            out.write(b"M 100644 inline README.md\ndata %d\n%s\n" % (len(readme), readme))
        for index in range(FILES):
            data = os.urandom(FILE_BYTES)
            out.write(b"M 100644 inline data/blob_%03d.bin\ndata %d\n" % (index, len(data)))
            out.write(data + b"\n")
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")


def repo_size_mb(bare: Path) -> float:
    return sum(f.stat().st_size for f in (bare / "objects").rglob("*") if f.is_file()) / 1e6


async def timed_clone(url: str, dest: Path, partial: bool, creds: GitCredentials | None) -> float:
    started = time.monotonic()
    await clone(url, "main", dest, creds, timeout=1800, partial=partial, attempts=1)
    return time.monotonic() - started


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "coding-agent-bench")
    parser.add_argument("--size-mb", type=int, default=220)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    bare = args.cache_dir / f"large-{args.size_mb}mb.git"
    if not (bare / "refs" / "heads" / "main").exists() and not (bare / "packed-refs").exists():
        shutil.rmtree(bare, ignore_errors=True)
        args.cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"generating {bare} ...", flush=True)
        started = time.monotonic()
        generate(bare, args.size_mb)
        print(f"  generated in {time.monotonic() - started:.1f}s", flush=True)
    commits = git("rev-list", "--count", "main", cwd=bare).strip()
    print(
        f"repository: {repo_size_mb(bare):.0f} MB of objects, {commits} commits, "
        f"checkout {FILES} x {FILE_BYTES // 1024} KiB\n"
    )
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory(prefix="clone-bench-") as tmp:
        work = Path(tmp)
        for partial in (False, True):
            name = "partial (blob:none)" if partial else "full"
            rows.append(
                (
                    "file://",
                    name,
                    await timed_clone(f"file://{bare}", work / f"file-{partial}", partial, None),
                )
            )
        if not args.skip_http:
            creds = GitCredentials(
                credential_type=GitCredentialsType.USERNAME_PASSWORD, username=USER, password=PASSWORD
            )
            with git_http_server(bare.parent, [(USER, PASSWORD)]) as server:
                for partial in (False, True):
                    name = "partial (blob:none)" if partial else "full"
                    dest = work / f"http-{partial}"
                    rows.append(
                        ("smart HTTP", name, await timed_clone(server.url(bare), dest, partial, creds))
                    )
                # The partial clone can still commit and push (to a throwaway branch, then removed).
                dest = work / "http-True"
                (dest / "data" / "blob_000.bin").write_bytes(os.urandom(1024))
                started = time.monotonic()
                await commit_all(dest, "bench change", author_name="Bench", author_email="bench@example.test")
                await push(dest, "bench/partial-push", server.url(bare), creds, timeout=600, attempts=1)
                rows.append(("smart HTTP", "partial: commit + push", time.monotonic() - started))
                git("update-ref", "-d", "refs/heads/bench/partial-push", cwd=bare)
    print(f"{'transport':<12} {'clone':<24} {'seconds':>8}")
    for transport, name, seconds in rows:
        print(f"{transport:<12} {name:<24} {seconds:>8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
