"""Runtime overhead: durable steps per second of ido's local runtime, against SQLite and DBOS.

Run from the repository root (DBOS is optional: `.venv/bin/pip install dbos`, or pass
--skip-dbos; about 4 minutes with the defaults on 2 cores):

    .venv/bin/python benchmarks/runtime_overhead.py --runs 200 --concurrent 100 \\
        --history 10000 --json overhead.json

Everything happens in a fresh temporary folder (`--dir` to choose where; it must be on the
disk you care about, since every number here is bounded by fsync):

1. **ido**: a project of three no-op Python capabilities (`noop-s1` requires
   `state.job.ready` and sets `job.s1`, `noop-s2` requires `job.s1`, `noop-s3` requires
   `job.s2`) and an intent whose goal is `state.job.s3`, so the plan is the chain
   s1 → s2 → s3. `LocalRuntime` runs it on a `SqliteJournal` file, once per planner
   (`search`, `cpsat`): N runs one after another, then M runs on `--concurrent` threads
   sharing one journal (as `ido run A B C --concurrency` does: their writes share commits),
   and, for the search planner, the same threads each with its own connection to the file.
   Durable steps/s = steps that finished OK (counted in the journal) / wall seconds.
   Commits are counted on the journal (`SqliteJournal._commit`, each one fsync'd
   transaction); one extra run on a journal that also counts its calls says what each
   commit of a run holds. Then the command itself, as a user types it, with the M runs:
   `ido run noop-chain-search ×M --concurrency C --processes P --quiet` for each P of
   `--processes` (default 1 and the CPU count: one Python process runs on one core), timed
   whole, interpreter start-up and catalog loading in every process included (the journal's
   span, from the first run's start to the last run's end, is reported beside it). ido's
   bytecode is compiled first, as installed packages have it (PYTHONDONTWRITEBYTECODE
   would otherwise make every process compile ido from source).
2. **Raw SQLite**: one INSERT per `BEGIN IMMEDIATE`/`COMMIT`, WAL, `synchronous=FULL`, a row
   the size of an average ido event, single-threaded: the physical limit of a durable step.
3. **DBOS** (in a child process, so its background threads leave ido's numbers alone): a
   `@DBOS.workflow()` calling three no-op `@DBOS.step()`s, SQLite as the system database,
   in SQLite's default rollback journal (what DBOS gets out of the box) and in WAL (the
   file is switched to WAL before DBOS opens it: ido's mode). Sequential, then
   `--concurrent` plain threads each calling the workflow function (DBOS runs a directly
   called workflow in the calling thread; its default pool of 20 connections is shared).
4. **History**: `--history` finished runs in one journal (real runs when the measured
   sequential rate makes that take under 3 minutes, else realistic events inserted through
   `start_run`/`append`/`finish_run`); then the journal's size on disk, and the latency of
   listing runs: `SqliteJournal(path).runs(50)` and `python -m ido runs --journal PATH`
   (median of 5; the CLI also on a missing journal, its start-up cost alone).

`--profile N` (default 20) cProfiles N sequential runs and prints the functions inside
`ido/` with the most cumulative time. Only the thread that calls `run()` is profiled (the
journal, observe, decide); the no-op bindings run on worker threads.

A run that does not end `achieved`, or raises, is reported with its traceback and the
script exits 1 (in the history, a run that raises is counted, reported and replaced).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import queue
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLANNERS = ("search", "cpsat")
STEPS = 3
NOOP_MODULE = "ido_overhead_noop"
DBOS_MODES = ("default", "wal")
HISTORY_BUDGET_S = 180.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the project ---------------------------------------------------------------------------


def write_project(folder: Path) -> None:
    """Three chained no-op capabilities and one intent per planner, as YAML files."""
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    (folder / f"{NOOP_MODULE}.py").write_text(
        '"""A capability that does nothing: the runtime\'s overhead is all that is left."""\n\n'
        "def noop(ctx):\n    return None\n"
    )
    for i in range(1, STEPS + 1):
        requires = "state.job.ready" if i == 1 else f"state.job.s{i - 1}"
        (folder / "capabilities" / f"noop-s{i}.yaml").write_text(
            "apiVersion: ido/v1\nkind: Capability\n"
            f"metadata: {{name: noop-s{i}, description: 'Step {i} of the chain; does nothing.'}}\n"
            "spec:\n  provider: local\n"
            f'  requires: ["{requires}"]\n'
            f"  effects: {{job.s{i}: true}}\n"
            "  cost: 0.01\n  latency: 1ms\n  reliability: 0.999\n  timeout: 5s\n"
            f'  run: {{python: "{NOOP_MODULE}:noop"}}\n'
        )
    for planner in PLANNERS:
        (folder / "intents" / f"noop-chain-{planner}.yaml").write_text(
            "apiVersion: ido/v1\nkind: Intent\n"
            f"metadata: {{name: noop-chain-{planner}}}\n"
            "spec:\n  given: {job: {ready: true}}\n"
            f'  goal: ["state.job.s{STEPS}"]\n'
            "  mode: auto\n"
            f"  planner: {planner}\n"
        )


def load(folder: Path) -> Any:
    from ido.loading import load_catalog

    return load_catalog([folder / "capabilities", folder / "intents"], base=folder)


# --- ido -----------------------------------------------------------------------------------


def counting_journal(path: Path) -> Any:
    """A `SqliteJournal` that counts its commits (each one fsync'd transaction)."""
    from ido.journal import SqliteJournal

    class Counting(SqliteJournal):
        commits = 0

        def _commit(self, batch: list[Any]) -> None:
            self.commits += 1  # under the journal's lock: commits are one at a time
            super()._commit(batch)

    return Counting(path)


def _ido_worker(
    catalog: Any,
    base: Path,
    journal: Any,
    intent: Any,
    todo: queue.SimpleQueue[int],
    start: threading.Barrier,
    outcomes: list[str],
) -> None:
    """One thread: its own runtime on `journal`, runs until `todo` is empty."""
    from ido.runtime.local import LocalRuntime

    runtime = LocalRuntime(catalog, journal, base=base)
    start.wait()
    while True:
        try:
            todo.get_nowait()
        except queue.Empty:
            return
        try:
            outcomes.append(runtime.run(intent).outcome)
        except Exception:  # reported with its traceback, not hidden
            outcomes.append(traceback.format_exc())


def run_ido(
    catalog: Any,
    base: Path,
    path: Path,
    intent: Any,
    runs: int,
    threads: int,
    shared: bool = True,
) -> dict[str, Any]:
    """`runs` runs of `intent` on `threads` threads (1: sequential), timed from a barrier.

    `shared`: the threads share one journal, as `ido run A B --concurrency` does (their
    writes share commits); else each opens its own connection to the file."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(runs):
        todo.put(i)
    outcomes: list[str] = []
    start = threading.Barrier(threads + 1)
    journals = [counting_journal(path) for _ in range(1 if shared else threads)]
    workers = [
        threading.Thread(
            target=_ido_worker,
            args=(catalog, base, journals[i % len(journals)], intent, todo, start, outcomes),
            name=f"bench-{i}",
        )
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    commits = sum(j.commits for j in journals)
    for journal in journals:
        journal.close()
    return {"wall_s": wall, "commits": commits, **journal_counts(path), **_errors(outcomes, runs)}


def run_cli(
    project: Path, path: Path, intent: str, runs: int, threads: int, processes: int
) -> dict[str, Any]:
    """`ido run INTENT ×runs --concurrency threads --processes P --quiet` as a user types it,
    timed whole: interpreter start-up, imports and catalog loading (in every worker too)
    included. `span_s` is the journal's own account: the first run's start to the last
    run's end."""
    command = [
        *(sys.executable, "-m", "ido", "run", *[intent] * runs),
        *("--journal", str(path), "--concurrency", str(threads)),
        *("--processes", str(processes), "--quiet"),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    command_wall = time.perf_counter() - started
    outcomes = [line.split(":", 1)[0] for line in done.stdout.splitlines() if ": run " in line]
    if done.returncode != 0:
        outcomes.append(f"Traceback? exit {done.returncode}:\n{done.stderr[-2000:]}")
    with sqlite3.connect(path) as db:
        first, last = db.execute("SELECT min(started_at), max(ended_at) FROM runs").fetchone()
    db.close()
    span = (_instant(last) - _instant(first)) if first and last else command_wall
    return {
        "wall_s": command_wall,
        "span_s": span,
        "commits": None,
        **journal_counts(path),
        **_errors(outcomes, runs),
    }


def _cache_bytecode() -> None:
    """Compile ido's modules to `__pycache__` as an installed package has them (pip
    compiles at install; an editable install, on its first run). Without it, with
    PYTHONDONTWRITEBYTECODE set (as on the machines here), every process of the command
    would compile ido from source first: about 0.4 s each on 2 cores, a cost no user has."""
    import compileall

    compileall.compile_dir(ROOT / "ido", quiet=1)


def _instant(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def _errors(outcomes: list[str], runs: int) -> dict[str, Any]:
    crashed = [o for o in outcomes if o.startswith("Traceback")]
    by_last_line = Counter(o.strip().splitlines()[-1] for o in crashed)
    first: dict[str, str] = {}
    for o in crashed:
        first.setdefault(o.strip().splitlines()[-1], o)
    return {
        "submitted": runs,
        "outcomes": dict(Counter(o for o in outcomes if not o.startswith("Traceback"))),
        "crashed": len(crashed),
        "crash_kinds": dict(by_last_line),
        "tracebacks": list(first.values()),
    }


def journal_counts(path: Path) -> dict[str, Any]:
    """What the journal holds: runs by outcome, events, steps that finished OK, event size."""
    with sqlite3.connect(path) as db:
        outcomes = dict(db.execute("SELECT outcome, count(*) FROM runs GROUP BY outcome"))
        runs = sum(outcomes.values())
        events, mean_bytes = db.execute("SELECT count(*), avg(length(data)) FROM events").fetchone()
        steps = db.execute(
            "SELECT count(*) FROM events WHERE kind = 'action_finished' "
            "AND json_extract(data, '$.ok')"
        ).fetchone()[0]
    db.close()
    return {
        "runs": runs,
        "journal_outcomes": outcomes,
        "events": events,
        "steps_ok": steps,
        "mean_event_bytes": mean_bytes or 0.0,
    }


def calibrate(catalog: Any, base: Path, path: Path, intent: Any) -> dict[str, Any]:
    """One run on a journal that counts its transactions: commits (fsyncs) per run, by kind."""
    from ido.journal import SqliteJournal
    from ido.runtime.local import LocalRuntime

    kinds: Counter[str] = Counter()

    class CountingJournal(SqliteJournal):
        def start_run(self, *args: Any, **kwargs: Any) -> bool:
            kinds["start_run (run_started event + runs row)"] += 1
            return super().start_run(*args, **kwargs)

        def append(self, run_id: str, kind: str, at: str, data: Any) -> int:
            kinds[f"append {kind}"] += 1
            return super().append(run_id, kind, at, data)

        def append_many(self, run_id: str, events: Any, replies: Any = None) -> None:
            kinds["append_many (" + " + ".join(kind for kind, _, _ in events) + ")"] += 1
            super().append_many(run_id, events, replies)

        def finish_run(self, *args: Any, **kwargs: Any) -> None:
            kinds["finish_run (run_finished event + runs row)"] += 1
            super().finish_run(*args, **kwargs)

        def save_health(self, *args: Any, **kwargs: Any) -> None:
            kinds["save_health (health row)"] += 1
            super().save_health(*args, **kwargs)

        def _commit(self, batch: list[Any]) -> None:
            kinds["(transactions)"] += 1
            super()._commit(batch)

    with CountingJournal(path) as journal:
        report = LocalRuntime(catalog, journal, base=base).run(intent)
        events = len(journal.events(report.run_id))
    transactions = kinds.pop("(transactions)")
    return {
        "outcome": report.outcome,
        "commits_per_run": transactions,
        "events_per_run": events,
        "by_call": dict(kinds),
    }


def summarise_ido(row: dict[str, Any]) -> dict[str, Any]:
    achieved = row["journal_outcomes"].get("achieved", 0)
    wall, commits = row["wall_s"], row["commits"]
    return {
        **row,
        "runs_per_s": achieved / wall,
        "steps_per_s": row["steps_ok"] / wall,
        "commits_per_run": None if commits is None else commits / max(1, row["runs"]),
        "events_per_run": row["events"] / max(1, row["runs"]),
        "commits_per_s": None if commits is None else commits / wall,
    }


# --- raw SQLite ----------------------------------------------------------------------------


def raw_sqlite(path: Path, seconds: float, row_bytes: int) -> dict[str, Any]:
    """Single-threaded INSERT + COMMIT in ido's journal mode, for `seconds` (at least 200)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, "
        "kind TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq))"
    )
    data = json.dumps({"pad": "x" * max(0, row_bytes - 11)})
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = db.execute("PRAGMA synchronous").fetchone()[0]
    n = 0
    started = time.perf_counter()
    while n < 200 or time.perf_counter() - started < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO events(run_id, seq, at, kind, data) VALUES (?, ?, ?, ?, ?)",
            ("r20261123-000000-beef", n, "2026-11-23T00:00:00.000+00:00", "observed", data),
        )
        db.execute("COMMIT")
        n += 1
    wall = time.perf_counter() - started
    db.close()
    return {
        "commits": n,
        "wall_s": wall,
        "commits_per_s": n / wall,
        "row_bytes": len(data),
        "journal_mode": mode,
        "synchronous": sync,
    }


# --- DBOS (child process) ------------------------------------------------------------------


def dbos_child(
    folder: Path, mode: str, runs: int, threads: int, concurrent_runs: int
) -> dict[str, Any]:
    """Runs inside the child process: time DBOS's 3-step workflow, sequential then threaded."""
    import sqlalchemy as sa
    from dbos import DBOS, DBOSConfig
    from dbos._dbos import _get_dbos_instance

    path = folder / f"dbos-{mode}.sqlite"
    if mode == "wal":  # WAL is a property of the file: DBOS's connections then use it
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
        db.close()
    config: DBOSConfig = {
        "name": "ido-overhead",
        "system_database_url": f"sqlite:///{path}",
        "log_level": "WARNING",
    }
    DBOS(config=config)

    @DBOS.step()
    def step1() -> None:
        return None

    @DBOS.step()
    def step2() -> None:
        return None

    @DBOS.step()
    def step3() -> None:
        return None

    @DBOS.workflow()
    def chain() -> None:
        step1()
        step2()
        step3()

    DBOS.launch()
    engine = _get_dbos_instance()._sys_db.engine
    commits = {"sqlalchemy": 0, "writes": 0}

    @sa.event.listens_for(engine, "commit")
    def _count(connection: Any) -> None:  # a write transaction is open when DML ran
        commits["sqlalchemy"] += 1
        if connection.connection.dbapi_connection.in_transaction:
            commits["writes"] += 1

    with engine.connect() as connection:
        journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").fetchone()[0]
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").fetchone()[0]
    for _ in range(5):  # warm-up
        chain()
    result: dict[str, Any] = {
        "mode": mode,
        "journal_mode": journal_mode,
        "synchronous": synchronous,
        "pool_size": engine.pool.size() if hasattr(engine.pool, "size") else None,
        "version": version("dbos"),
    }

    def timed(count: int, workers: int) -> dict[str, Any]:
        commits.update(sqlalchemy=0, writes=0)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(count):
            todo.put(i)
        errors: list[str] = []
        start = threading.Barrier(workers + 1)

        def work() -> None:
            start.wait()
            while True:
                try:
                    todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    chain()
                except Exception:
                    errors.append(traceback.format_exc())

        pool = [threading.Thread(target=work) for _ in range(workers)]
        for thread in pool:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in pool:
            thread.join()
        wall = time.perf_counter() - started
        return {
            "threads": workers,
            "submitted": count,
            "wall_s": wall,
            "errors": len(errors),
            "tracebacks": errors[:2],
            "commits_sqlalchemy": commits["sqlalchemy"],
            "commits_write": commits["writes"],
        }

    result["sequential"] = timed(runs, 1)
    result["concurrent"] = timed(concurrent_runs, threads)
    DBOS.destroy()
    with sqlite3.connect(path) as db:
        result["statuses"] = dict(
            db.execute("SELECT status, count(*) FROM workflow_status GROUP BY status")
        )
        result["step_rows"] = db.execute("SELECT count(*) FROM operation_outputs").fetchone()[0]
    db.close()
    return result


def run_dbos(
    folder: Path, mode: str, runs: int, threads: int, concurrent_runs: int
) -> dict[str, Any]:
    """Start the DBOS child for one journal mode; its JSON is the last line of its stdout."""
    try:
        dbos_version = version("dbos")
    except PackageNotFoundError:
        return {"mode": mode, "skipped": "dbos is not installed (.venv/bin/pip install dbos)"}
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--dbos-child",
        str(folder),
        mode,
        str(runs),
        str(threads),
        str(concurrent_runs),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        return {
            "mode": mode,
            "version": dbos_version,
            "skipped": f"DBOS child failed:\n{done.stderr[-3000:]}",
        }
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["child_stderr_tail"] = done.stderr[-2000:]
    return result


def summarise_dbos(result: dict[str, Any], which: str) -> dict[str, Any]:
    row = result[which]
    ok = row["submitted"] - row["errors"]
    return {
        **row,
        "runs_per_s": ok / row["wall_s"],
        "steps_per_s": ok * STEPS / row["wall_s"],
        "commits_per_run": row["commits_write"] / max(1, row["submitted"]),
        "commits_per_s": row["commits_write"] / row["wall_s"],
    }


# --- history and listing -------------------------------------------------------------------


def build_history(
    catalog: Any, base: Path, path: Path, intent: Any, count: int, rate: float, how: str
) -> dict[str, Any]:
    """`count` finished runs in one journal: real runs when fast enough, else replayed events."""
    from ido.journal import SqliteJournal
    from ido.runtime.local import LocalRuntime

    if how == "auto":
        how = "runs" if count / rate <= HISTORY_BUDGET_S else "inserts"
    log(f"history: {count:,} runs by {how} (sequential rate {rate:.1f} runs/s)")
    crashes: Counter[str] = Counter()
    first: dict[str, str] = {}
    started = time.perf_counter()
    with SqliteJournal(path) as journal:
        if how == "runs":
            runtime = LocalRuntime(catalog, journal, base=base)
            made = 0
            while made < count:
                try:
                    report = runtime.run(intent)
                except Exception as exc:  # e.g. a run id that collides: counted, then retried
                    key = f"{type(exc).__name__}: {exc}"
                    crashes[key] += 1
                    first.setdefault(key, traceback.format_exc())
                    continue
                if report.outcome != "achieved":
                    crashes[f"outcome {report.outcome}: {report.reason}"] += 1
                made += 1
                if made % 1000 == 0:
                    log(f"  {made:,}/{count:,} runs, {time.perf_counter() - started:.0f}s")
        else:
            template = LocalRuntime(catalog, journal, base=base).run(intent)
            events = journal.events(template.run_id)
            stamp = time.time()
            for i in range(count - 1):
                moment = time.gmtime(stamp + i // 50)
                run_id = f"r{time.strftime('%Y%m%d-%H%M%S', moment)}-{i:05x}"
                at = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", moment)
                journal.start_run(run_id, intent.name, at, events[0].data)
                for event in events[1:-1]:
                    journal.append(run_id, event.kind, at, event.data)
                journal.finish_run(run_id, "achieved", None, 0.03, 0.02, at)
                if (i + 2) % 1000 == 0:
                    log(f"  {i + 2:,}/{count:,} runs, {time.perf_counter() - started:.0f}s")
    wall = time.perf_counter() - started
    return {
        "how": "ido runs (LocalRuntime)" if how == "runs" else "events inserted via SqliteJournal",
        "runs": journal_counts(path)["runs"],
        "wall_s": wall,
        "crashes": dict(crashes),
        "tracebacks": list(first.values())[:3],
    }


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def _cli(journal: Path, cwd: Path, code: int = 0) -> tuple[float, str]:
    """Wall ms and stdout of `python -m ido runs --journal PATH`, which must exit `code`
    (2 for a journal that is not there: a named journal missing is an error since
    `00a3194`)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", "runs", "--journal", str(journal)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - started) * 1e3
    if done.returncode != code:
        raise RuntimeError(f"ido runs exited {done.returncode}: {done.stderr}")
    return wall, done.stdout


# The child reports its own peak: a child's ru_maxrss on Linux keeps the high-water mark of
# the process it was forked from (here ~150 MiB), so wait4's figure would be this script's.
_PEAK = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('\\nVmHWM ' + line.split()[1] + '\\n')\n"
    "atexit.register(peak)\n"
    "sys.argv = ['ido', 'runs', '--journal', sys.argv[1]]\n"
    "runpy.run_module('ido', run_name='__main__', alter_sys=True)\n"
)


def _cli_peak_kib(journal: Path, cwd: Path) -> int | None:
    """Peak resident memory (VmHWM, KiB) of `ido runs` on `journal`; None off Linux."""
    if not Path("/proc/self/status").exists():
        return None
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(journal)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("VmHWM ")]
    return int(found[-1]) if found else None


def listing(path: Path, cwd: Path, repeat: int) -> dict[str, Any]:
    """Journal size on disk and how long listing the newest 50 runs takes."""
    from ido.journal import SqliteJournal

    def size(suffix: str) -> int:
        file = Path(str(path) + suffix)
        return file.stat().st_size if file.exists() else 0

    sizes = {"db_bytes": size(""), "wal_bytes": size("-wal"), "shm_bytes": size("-shm")}

    expected = min(50, journal_counts(path)["runs"])

    def open_and_list() -> None:
        with SqliteJournal(path) as journal:
            rows = journal.runs(50)
        assert len(rows) == expected, len(rows)

    warm = SqliteJournal(path)
    list_only = _median_ms(lambda: warm.runs(50), repeat)
    warm.close()
    opened = _median_ms(open_and_list, repeat)
    cli, cli_empty, outputs = [], [], []
    for _ in range(repeat):
        wall, out = _cli(path, cwd)
        cli.append(wall)
        outputs.append(out)
    for _ in range(repeat):
        wall, _ = _cli(cwd / "no-such-journal.db", cwd, code=2)
        cli_empty.append(wall)
    lines = outputs[-1].strip().splitlines()
    if len(lines) != expected + 1:
        raise RuntimeError(
            f"ido runs printed {len(lines)} lines, expected a header and {expected} runs"
        )
    return {
        **sizes,
        "total_mb": sum(sizes.values()) / 1e6,
        "runs_50_list_only_ms": list_only,
        "runs_50_open_and_list_ms": opened,
        "cli_runs_ms": statistics.median(cli),
        "cli_missing_journal_ms": statistics.median(cli_empty),
        "cli_peak_rss_kib": _cli_peak_kib(path, cwd),
        "repeat": repeat,
    }


# --- profile -------------------------------------------------------------------------------


def profile(
    catalog: Any, base: Path, path: Path, intent: Any, runs: int, top: int
) -> dict[str, Any]:
    """cProfile `runs` sequential runs; the ido functions with the most cumulative time."""
    from ido.journal import SqliteJournal
    from ido.runtime.local import LocalRuntime

    with SqliteJournal(path) as journal:
        runtime = LocalRuntime(catalog, journal, base=base)
        runtime.run(intent)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(runs):
            runtime.run(intent)
        profiler.disable()
        wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    package = str(ROOT / "ido") + os.sep
    rows = []
    for (file, line, func), (_, calls, tottime, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if file.startswith(package):
            rows.append(
                {
                    "function": f"{Path(file).relative_to(ROOT)}:{line}({func})",
                    "calls": calls,
                    "tottime_s": tottime,
                    "cumulative_s": cumulative,
                }
            )
    rows.sort(key=lambda r: -r["cumulative_s"])
    outside = []
    for (file, line, func), (_, calls, tottime, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        outside.append(
            {
                "function": f"{Path(file).name}:{line}({func})",
                "calls": calls,
                "tottime_s": tottime,
                "cumulative_s": cumulative,
            }
        )
    outside.sort(key=lambda r: -r["tottime_s"])
    return {
        "runs": runs,
        "wall_s": wall,
        "ido_cumulative": rows[:top],
        "all_tottime": outside[:top],
    }


# --- report --------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"{a / b:.3f}×" if a / b < 0.1 else f"{a / b:.2f}×"


def table(report: dict[str, Any]) -> str:
    raw = report["raw_sqlite"]["commits_per_s"]
    dbos = {r["mode"]: r for r in report["dbos"] if "skipped" not in r}
    peer = dbos.get("wal")
    head = (
        "| system | variant | threads | runs | wall s | runs/s | durable steps/s | commits/run "
        "| commits/s | steps/s ÷ raw commits/s | commits/s ÷ raw commits/s "
        "| steps/s ÷ DBOS-WAL steps/s |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    r = report["raw_sqlite"]
    lines.append(
        f"| raw SQLite | INSERT+COMMIT, {r['journal_mode']}, synchronous={r['synchronous']} "
        f"| 1 | — | {r['wall_s']:.2f} | — | — | 1 | {_fmt(raw)} | — | 1.00× | — |"
    )
    for row in report["ido"]:
        same = peer and summarise_dbos(peer, "sequential" if row["threads"] == 1 else "concurrent")
        variant = f"planner: {row['planner']}{'' if row['shared'] else ', a journal per thread'}"
        if "processes" in row:
            variant = (
                f"`ido run` ×{row['submitted']} --concurrency {row['threads']} "
                f"--processes {row['processes']} (the whole command, start-up included)"
            )
        commits = row["commits_per_run"]
        lines.append(
            f"| ido | {variant} | {row['threads']} "
            f"| {row['journal_outcomes'].get('achieved', 0)}/{row['submitted']} "
            f"| {row['wall_s']:.2f} | {_fmt(row['runs_per_s'])} | {_fmt(row['steps_per_s'])} "
            f"| {'—' if commits is None else f'{commits:.2f}'} | {_fmt(row['commits_per_s'])} "
            f"| {_ratio(row['steps_per_s'], raw)} | {_ratio(row['commits_per_s'], raw)} "
            f"| {_ratio(row['steps_per_s'], same['steps_per_s'] if same else None)} |"
        )
    for mode, result in dbos.items():
        for which in ("sequential", "concurrent"):
            s = summarise_dbos(result, which)
            variant = f"{result['journal_mode']}, synchronous={result['synchronous']}"
            lines.append(
                f"| DBOS {result['version']} | {mode}: {variant} | {s['threads']} "
                f"| {s['submitted'] - s['errors']} | {s['wall_s']:.2f} | {_fmt(s['runs_per_s'])} "
                f"| {_fmt(s['steps_per_s'])} | {s['commits_per_run']:.1f} "
                f"| {_fmt(s['commits_per_s'])} "
                f"| {_ratio(s['steps_per_s'], raw)} | {_ratio(s['commits_per_s'], raw)} | — |"
            )
    for result in report["dbos"]:
        if "skipped" in result:
            lines.append(
                f"| DBOS | {result['mode']} | — | — | — | — | — | — | — | — | — | "
                f"skipped: {result['skipped'].splitlines()[0]} |"
            )
    return "\n".join(lines)


def history_table(report: dict[str, Any]) -> str:
    h, listed = report["history"], report["listing"]
    lines = [
        "| runs in journal | created by | creation wall s | journal size (db + wal) | bytes/run "
        "| `runs(50)` warm | `SqliteJournal(path).runs(50)` (open + list) "
        "| `python -m ido runs` | same, missing journal (start-up) | CLI peak RSS |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {h['runs']:,} | {h['how']} | {h['wall_s']:.1f} "
        f"| {listed['total_mb']:.1f} MB ({listed['db_bytes'] / 1e6:.1f} "
        f"+ {listed['wal_bytes'] / 1e6:.1f}) "
        f"| {(listed['db_bytes'] + listed['wal_bytes']) / max(1, h['runs']):,.0f} "
        f"| {listed['runs_50_list_only_ms']:.2f} ms | {listed['runs_50_open_and_list_ms']:.2f} ms "
        f"| {listed['cli_runs_ms']:.0f} ms | {listed['cli_missing_journal_ms']:.0f} ms "
        f"| {_fmt(listed['cli_peak_rss_kib'] and listed['cli_peak_rss_kib'] / 1024, 0)} MiB |",
    ]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": os.getloadavg(),
    }
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "ido"],
        capture_output=True,
        text=True,
        check=False,
    )
    info["commit"] = head.stdout.strip() + (" (ido/ modified)" if dirty.stdout.strip() else "")
    for package in ("ortools", "dbos", "sqlalchemy"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    return info


def notes(report: dict[str, Any]) -> list[str]:
    """What the tables imply: commits per run, the ceiling the raw commit rate sets, DBOS."""
    c, raw = report["calibration"], report["raw_sqlite"]["commits_per_s"]
    lines = [
        f"Per ido run: {c['commits_per_run']} commits (each an fsync'd transaction), "
        f"{c['events_per_run']} journal events, {STEPS} steps; by call: "
        + ", ".join(f"{k} ×{v}" for k, v in c["by_call"].items()),
        f"Mean ido event payload {report['ido'][0]['mean_event_bytes']:.0f} bytes; "
        f"peak RSS of this process {_peak_rss_mib():.0f} MiB.",
    ]
    for row in report["ido"]:
        if "processes" in row:
            span_steps = row["steps_ok"] / row["span_s"]
            lines.append(
                f"ido run --processes {row['processes']}: the whole command (start-up, "
                f"catalog, {row['submitted']} runs) took {row['wall_s']:.2f} s; from the first "
                f"run's start to the last run's end {row['span_s']:.2f} s, {span_steps:,.1f} "
                "durable steps/s"
            )
            continue
        cap = raw / row["commits_per_run"]
        lines.append(
            f"ido {row['planner']} on {row['threads']} thread(s): the raw commit rate allows "
            f"{cap:,.0f} runs/s at {row['commits_per_run']:.2f} commits/run; ido reaches "
            f"{row['runs_per_s'] / cap:.0%} of it ({1e3 / row['runs_per_s']:.1f} ms/run, of "
            f"which {row['commits_per_run'] * 1e3 / raw:.1f} ms would be raw commits); "
            f"{row['crashed']} runs raised"
        )
    for result in report["dbos"]:
        if "skipped" in result:
            continue
        for which in ("sequential", "concurrent"):
            s = summarise_dbos(result, which)
            cap = raw / max(s["commits_per_run"], 1e-9)
            lines.append(
                f"DBOS {result['mode']} on {s['threads']} thread(s): the raw commit rate allows "
                f"{cap:,.0f} workflows/s at {s['commits_per_run']:.1f} write commits/workflow; "
                f"DBOS reaches {s['runs_per_s'] / cap:.0%} of it; {s['errors']} raised"
            )
        lines.append(
            f"DBOS {result['mode']}: journal_mode {result['journal_mode']}, synchronous "
            f"{result['synchronous']}, pool of {result['pool_size']} connections; statuses "
            f"{result['statuses']}, {result['step_rows']} step rows (5 warm-up runs included)"
        )
    if report["history"]["crashes"]:
        lines.append(f"History: runs that raised, then retried: {report['history']['crashes']}")
    return lines


def profile_lines(p: dict[str, Any]) -> list[str]:
    n = p["runs"]
    lines = [
        f"Profile of {n} sequential runs (planner search, {p['wall_s'] * 1e3 / n:.1f} ms/run "
        "under cProfile), ido functions by cumulative time (main thread only):"
    ]
    for r in p["ido_cumulative"]:
        lines.append(
            f"  {r['cumulative_s'] * 1e3 / n:8.2f} ms/run cum {r['tottime_s'] * 1e3 / n:7.2f} "
            f"ms/run own {r['calls'] / n:7.1f} calls/run  {r['function']}"
        )
    lines.append("Top functions anywhere by own time:")
    for r in p["all_tottime"][:10]:
        lines.append(
            f"  {r['tottime_s'] * 1e3 / n:8.2f} ms/run own {r['calls'] / n:7.1f} calls/run  "
            f"{r['function']}"
        )
    return lines


def _keep(report: dict[str, Any], row: dict[str, Any], label: str) -> list[str]:
    """Add an ido row to the report; its failures (tracebacks, runs not achieved)."""
    report["ido"].append(row)
    bad = {k: v for k, v in row["journal_outcomes"].items() if k != "achieved"}
    return [*row["tracebacks"], *([f"{label}: runs not achieved: {bad}"] if bad else [])]


def measure(args: argparse.Namespace, folder: Path, report: dict[str, Any]) -> list[str]:
    """Every measurement, into `report`; returns the failures (tracebacks, runs not achieved)."""
    project = folder / "project"
    write_project(project)
    catalog = load(project)
    chain = catalog.intents["noop-chain-search"]
    failures: list[str] = []
    log(f"folder {folder}; warming up (imports, first plans)")
    for planner in PLANNERS:
        intent = catalog.intents[f"noop-chain-{planner}"]
        failures += run_ido(catalog, project, folder / "warmup.db", intent, 3, 1)["tracebacks"]
    report["calibration"] = calibrate(catalog, project, folder / "calibrate.db", chain)
    rows = [
        (planner, threads, runs, shared)
        for planner in PLANNERS
        for threads, runs, shared in (
            (1, args.runs, True),
            (args.concurrent, args.concurrent_runs, True),
            (args.concurrent, args.concurrent_runs, False),
        )
        if (shared or planner == "search") and threads and runs
    ]
    for planner, threads, runs, shared in rows:
        intent = catalog.intents[f"noop-chain-{planner}"]
        how = "one journal" if shared else "a connection per thread"
        log(f"ido planner {planner}: {runs} runs on {threads} thread(s), {how}")
        path = folder / f"ido-{planner}-{threads}x{runs}-{'shared' if shared else 'own'}.db"
        row = summarise_ido(run_ido(catalog, project, path, intent, runs, threads, shared))
        row.update(planner=planner, threads=threads, shared=shared)
        log(
            f"  {row['runs_per_s']:.1f} runs/s, {row['steps_per_s']:.1f} steps/s, "
            f"{row['crashed']} raised, outcomes {row['journal_outcomes']}"
        )
        failures += _keep(report, row, f"ido {planner} × {threads}")
    if args.processes:
        _cache_bytecode()
    for processes in args.processes if args.concurrent and args.concurrent_runs else ():
        log(
            f"ido run (the command): {args.concurrent_runs} runs, --concurrency "
            f"{args.concurrent} --processes {processes}"
        )
        path = folder / f"cli-{processes}.db"
        row = summarise_ido(
            run_cli(
                project, path, "noop-chain-search", args.concurrent_runs, args.concurrent, processes
            )
        )
        row.update(planner="search", threads=args.concurrent, shared=True, processes=processes)
        log(
            f"  {row['runs_per_s']:.1f} runs/s, {row['steps_per_s']:.1f} steps/s over the whole "
            f"command ({row['wall_s']:.2f} s; first start to last end {row['span_s']:.2f} s)"
        )
        failures += _keep(report, row, f"ido run --processes {processes}")
    row_bytes = round(report["ido"][0]["mean_event_bytes"])
    log(f"raw SQLite: {args.raw_seconds:g}s of single-row commits ({row_bytes} bytes)")
    report["raw_sqlite"] = raw_sqlite(folder / "raw.db", args.raw_seconds, row_bytes)
    for mode in () if args.skip_dbos else DBOS_MODES:
        log(f"DBOS ({mode} journal mode), in a child process")
        result = run_dbos(folder, mode, args.runs, args.concurrent, args.concurrent_runs)
        report["dbos"].append(result)
        if "skipped" in result:
            log(f"  skipped: {result['skipped']}")
    rate = report["ido"][0]["runs_per_s"]  # search, sequential
    history = folder / "history.db"
    report["history"] = build_history(
        catalog, project, history, chain, args.history, rate, args.history_by
    )
    failures += report["history"]["tracebacks"]
    log("listing runs")
    report["listing"] = listing(history, folder, 5)
    if args.profile:
        log(f"profiling {args.profile} sequential runs")
        report["profile"] = profile(
            catalog, project, folder / "profile.db", chain, args.profile, args.top
        )
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="sequential runs per row")
    parser.add_argument("--concurrent", type=int, default=100, help="threads, concurrent rows")
    parser.add_argument(
        "--concurrent-runs", type=int, default=2000, help="runs the threads share, per row"
    )
    parser.add_argument(
        "--processes",
        type=_counts,
        default=sorted({1, os.cpu_count() or 1}),
        help="comma-separated --processes of the `ido run` rows (default: 1 and the CPU count; "
        "empty: skip)",
    )
    parser.add_argument("--history", type=int, default=10_000, help="runs in the listing journal")
    parser.add_argument(
        "--history-by",
        choices=("auto", "runs", "inserts"),
        default="auto",
        help="real runs, or events inserted (auto: runs when under 3 minutes)",
    )
    parser.add_argument("--raw-seconds", type=float, default=5.0, help="raw SQLite commit loop")
    parser.add_argument(
        "--profile", type=int, default=20, metavar="N", help="cProfile N sequential runs (0: skip)"
    )
    parser.add_argument("--top", type=int, default=20, help="profile rows to print")
    parser.add_argument("--skip-dbos", action="store_true", help="do not measure DBOS")
    parser.add_argument("--dir", type=Path, help="parent of the temporary folder ($TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--dbos-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("runs", "concurrent", "concurrent_runs", "history", "profile", "top"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be 0 or more")
    if args.runs < 1 or args.history < 1:
        parser.error("--runs and --history must be at least 1 (they set the history's pace)")
    if args.dbos_child:
        folder, mode, runs, threads, total = args.dbos_child
        print(json.dumps(dbos_child(Path(folder), mode, int(runs), int(threads), int(total))))
        return 0

    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    folder = Path(tempfile.mkdtemp(prefix="ido-overhead-", dir=args.dir))
    report: dict[str, Any] = {
        "machine": info,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "folder": str(folder),
        "ido": [],
        "dbos": [],
    }
    try:
        failures = measure(args, folder, report)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(table(report))
    print()
    print(history_table(report))
    print()
    print("\n".join(notes(report)))
    if "profile" in report:
        print()
        print("\n".join(profile_lines(report["profile"])))
    for failure in dict.fromkeys(failures):
        print(f"\nFAILED:\n{failure}")
    if args.json:
        report["failures"] = failures
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 1 if failures else 0


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"'{text}' is not a comma-separated list of counts"
        raise argparse.ArgumentTypeError(message) from None
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"'{text}': every count must be at least 1")
    return counts


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
