"""Scale of one worker: M tasks at once, each of K tool steps, with a scripted model latency of 1 s.

The worker is the product's own ``coding-agent worker`` in a subprocess (configured by environment
variables, as in production), so its peak memory (``VmHWM`` from /proc) is its own. Each task has its
own sample remote; all M are started together and the wall time runs from the first start to the
last result.

Ideal: a task makes K + 2 model calls (the plan, K tool turns, the closing summary), so with latency L
no harness could finish it in less than (K + 2) * L; M independent tasks ideally finish in that same
time. ``overhead`` is wall minus ideal: clone, validation (the sample's pytest), commit, push, every
Temporal round trip, and queueing inside the worker.

    .venv/bin/python bench/worker_scale.py [--tasks 1,10,50] [--steps 10] [--latency 1.0] [--repeats 2]
        [--worker-env CODING_AGENT_MAX_CONCURRENT_ACTIVITIES=100] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import embedded_stack, median, step_turns, table, write_json  # noqa: E402

from coding_agent.demo.sample_repo import create_sample_remote  # noqa: E402
from coding_agent.demo.scripted_llm import Script, ScriptedLLMServer, demo_script  # noqa: E402
from coding_agent.models import CodingAgentResult  # noqa: E402
from coding_agent.settings import Settings  # noqa: E402
from coding_agent.temporal_client import connect  # noqa: E402
from coding_agent.workflows.coding_agent import CodingAgentWorkflow  # noqa: E402
from tests.support.harness import SCRIPTED_KEY, make_request, new_task_id  # noqa: E402


def proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class WorkerProcess:
    """``coding-agent worker`` in a subprocess; samples its memory until stopped."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        binary = Path(sys.executable).parent / "coding-agent"
        self.proc = subprocess.Popen(
            [str(binary), "worker"], env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_rss_kib = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak_rss_kib = max(self.peak_rss_kib, proc_status_kib(self.proc.pid, "VmRSS"))
            except (OSError, ValueError):
                return

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the worker exited with {self.proc.returncode}; see {self.log_path}")
            if b"worker serving" in self.log_path.read_bytes():
                return
            time.sleep(0.1)
        raise SystemExit(f"the worker did not start within {timeout:.0f}s; see {self.log_path}")

    def hwm_kib(self) -> int:
        return proc_status_kib(self.proc.pid, "VmHWM")

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


async def one_round(client: Any, queue: str, tasks: int, work: Path) -> tuple[float, list[float]]:
    remotes = [await create_sample_remote(work / f"repo{i}") for i in range(tasks)]
    began = time.monotonic()

    async def one(remote: Path) -> float:
        task_id = new_task_id()
        result = await client.execute_workflow(
            CodingAgentWorkflow.run, make_request(task_id, remote.as_uri(), max_iterations=100),
            id=f"coding-agent-{task_id}", task_queue=queue, result_type=CodingAgentResult,
        )
        if not result.success:
            raise SystemExit(f"task {task_id} failed: {result.error_message}")
        return time.monotonic() - began

    finished = await asyncio.gather(*(one(r) for r in remotes))
    return time.monotonic() - began, list(finished)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    script = Script(plan=demo_script().plan, turns=step_turns(args.steps))
    ideal = (args.steps + 2) * args.latency
    rows: list[dict[str, Any]] = []
    extra = dict(kv.split("=", 1) for kv in args.worker_env)
    with embedded_stack(root / "stack") as stack, ScriptedLLMServer(script, latency=args.latency) as llm:
        for tasks in args.tasks:
            work = root / f"m{tasks}"
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            env = {
                "TEMPORAL_HOST": stack.temporal_address,
                "TEMPORAL_TASK_QUEUE_CODING_AGENT": queue,
                "NATS_URL": stack.nats_url,
                "OPENROUTER_BASE_URL": llm.base_url,
                "OPENROUTER_API_KEY": SCRIPTED_KEY,
                "CODING_AGENT_DATA_DIR": str(work / "data"),
                "CODING_AGENT_SQLITE_PATH": str(work / "data" / "activities.db"),
                "CODING_AGENT_WORKSPACE_ROOT": str(work / "workspaces"),
                **extra,
            }
            worker = WorkerProcess(env, root / f"worker-m{tasks}.log")
            try:
                worker.wait_ready()
                client = await connect(Settings(temporal_host=stack.temporal_address))
                walls, task_times = [], []
                for r in range(args.repeats):
                    wall, finished = await one_round(client, queue, tasks, work / f"r{r}")
                    walls.append(wall)
                    task_times += finished
                    print(f"M={tasks} run {r + 1}/{args.repeats}: wall {wall:.1f}s (ideal {ideal:.1f}s)",
                          file=sys.stderr)
                hwm = worker.hwm_kib()
            finally:
                worker.stop()
            rows.append({
                "tasks": tasks,
                "wall_s": median(walls),
                "walls_s": walls,
                "ideal_s": ideal,
                "ratio": median(walls) / ideal,
                "overhead_s": median(walls) - ideal,
                "median_task_s": median(task_times),
                "peak_rss_mib": max(hwm, worker.peak_rss_kib) / 1024,
            })
    print(f"\nOne worker, K={args.steps} steps per task, model latency {args.latency:g}s, "
          f"ideal (K+2) x latency = {ideal:.1f}s, {args.repeats} runs each"
          + (f", worker env {' '.join(args.worker_env)}" if args.worker_env else "") + "\n")
    print(table(
        ["tasks M", "wall median s", "ideal s", "wall / ideal", "overhead s", "median task s", "worker peak RSS MiB"],
        [[r["tasks"], f"{r['wall_s']:.1f}", f"{r['ideal_s']:.1f}", f"{r['ratio']:.2f}", f"{r['overhead_s']:.1f}",
          f"{r['median_task_s']:.1f}", f"{r['peak_rss_mib']:.0f}"] for r in rows],
    ))
    return {"steps": args.steps, "latency_s": args.latency, "repeats": args.repeats,
            "worker_env": args.worker_env, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50],
                        help="comma-separated task counts M (default 1,10,50)")
    parser.add_argument("--steps", type=int, default=10, help="tool steps K per task (default 10)")
    parser.add_argument("--latency", type=float, default=1.0, help="scripted model latency, seconds (default 1)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per M (default 2)")
    parser.add_argument("--worker-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the worker (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    write_json(args.json, {"benchmark": "worker_scale", **asyncio.run(main_async(args))})


if __name__ == "__main__":
    main()
