"""Run every benchmark with modest defaults (a few minutes on 2 cores) and print their tables.

Each benchmark runs in its own process (its own nats-server and Temporal dev server on free ports);
the figures are also written as JSON to ``--out`` (default bench/results/). ``make bench`` runs this.

    .venv/bin/python bench/run_all.py [--only step_overhead,demo_e2e] [--skip clone_large_repo] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> arguments; modest so that the whole run takes a few minutes.
BENCHMARKS: dict[str, list[str]] = {
    "step_overhead": ["--steps", "30", "--repeats", "3"],
    "demo_e2e": ["--repeats", "3"],
    "worker_scale": ["--tasks", "1,10,50", "--steps", "10", "--repeats", "1"],
    "clone_large_repo": [],  # written by another change; it prints its own table and takes no --json
}
TAKES_JSON = {"step_overhead", "demo_e2e", "worker_scale"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where the JSON figures go")
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(BENCHMARKS)}")
    failed = []
    for name, extra in BENCHMARKS.items():
        if (only and name not in only) or name in skip:
            continue
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"\n== {name}: {script.name} does not exist yet, skipped", flush=True)
            continue
        argv = [sys.executable, str(script), *extra]
        if name in TAKES_JSON:
            argv += ["--json", str(args.out / f"{name}.json")]
        print(f"\n== {name}: {' '.join(argv[1:])}", flush=True)
        began = time.monotonic()
        code = subprocess.call(argv)
        print(f"== {name}: exit {code} in {time.monotonic() - began:.0f}s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
