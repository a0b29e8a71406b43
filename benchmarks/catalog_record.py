"""What a run's start costs for its catalog: the journal's bytes per run, and the time to
digest every capability (for approvals and for replays).

Run from the repository root (a minute or two; the PDDL import grounds 41,229 actions):

    .venv/bin/python benchmarks/catalog_record.py \\
        --pddl /work/shared/benchmarks/pddl/rovers/domain.pddl \\
        /work/shared/benchmarks/pddl/rovers/p40.pddl

Two catalogs: 1,000 synthetic capabilities with Python bindings, and a PDDL import (no
bindings) when `--pddl` names one. For each:

- **bytes per run**: `--runs` runs started in one fresh SQLite journal with the data
  `ido run` records at a start (the intent, and the catalog's digests, `capabilities`),
  then the journal's size on disk (its write-ahead log checkpointed) over the runs, and
  the bytes of their `run_started` events and of the `catalogs` table, when there is one;
- **start**: the digests a runtime works out when it is made, the median of `--repeat`:
  each capability's `spec_digests` (approvals) and the catalog's `catalog_digests`
  (replays), as two dumps of each capability and, where this ido has it, as one
  (`declared_spec`), the two checked to give the same digests.

Run it with another ido on `PYTHONPATH` (a checkout of an earlier commit) for the journal
it wrote. Prints a Markdown table; `--json FILE` writes the numbers.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ido.approval_asking import spec_digests
from ido.catalog_record import catalog_digests
from ido.journal import SqliteJournal
from ido.loading.load import load_documents
from ido.model import Capability

ONE_DUMP = "declared" in inspect.signature(spec_digests).parameters  # (this ido, or before)


def synthetic(count: int) -> dict[str, Capability]:
    """`count` capabilities of 50 providers, each with a Python binding and a secret."""
    documents = [
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": f"cap-{n:05d}"},
            "spec": {
                "provider": f"provider-{n % 50}",
                "region": "eu" if n % 2 else "us",
                "tags": ["payments"] if n % 3 == 0 else [],
                "requires": [f"state.stage{n % 7}.done"],
                "effects": {f"stage{n % 7 + 1}.done": True, f"item{n}.done": True},
                "cost": round(0.01 * (n % 97), 2),
                "latency": f"{100 + n % 900}ms",
                "reliability": 0.99,
                "run": {"python": f"caps.mod{n % 10}:call", "secrets": ["API_KEY"]},
            },
        }
        for n in range(count)
    ]
    return dict(load_documents(documents, Path("synthetic.yaml")).capabilities)


def imported(domain: Path, problem: Path) -> dict[str, Capability]:
    """The capabilities `ido import-pddl domain problem` would write."""
    from ido.pddl import pddl_catalog

    catalog, _, _ = pddl_catalog(domain, problem)
    return dict(catalog.capabilities)


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def start_times(capabilities: Mapping[str, Capability], repeat: int) -> dict[str, float]:
    """Seconds to digest the catalog as a runtime's start does: two dumps, and one."""

    def two() -> tuple[object, object]:
        specs = {n: spec_digests(c) for n, c in capabilities.items()}
        return specs, catalog_digests(capabilities)

    found: dict[str, list[float]] = {"two_dumps_s": []}
    if ONE_DUMP:
        from ido.catalog_record import start_digests

        def one() -> tuple[object, object]:
            return start_digests(capabilities)

        assert one() == two(), "one dump gave other digests than two"
        found["one_dump_s"] = []
    for _ in range(repeat):  # taking turns: the machine's load falls on both alike
        found["two_dumps_s"].append(median_seconds(two, 1))
        if ONE_DUMP:
            found["one_dump_s"].append(median_seconds(one, 1))
    return {k: statistics.median(v) for k, v in found.items()}


def journal_bytes(capabilities: Mapping[str, Capability], runs: int) -> dict[str, float]:
    """Bytes per run of `runs` starts recorded with the catalog's digests."""
    digests = catalog_digests(capabilities)
    intent = {"apiVersion": "ido/v1", "kind": "Intent", "metadata": {"name": "bench"}}
    with tempfile.TemporaryDirectory(prefix="ido-catalog-") as folder:
        path = Path(folder) / "ido.db"
        took = []
        with SqliteJournal(path) as journal:
            for n in range(runs):
                data = {"intent": intent, "planner": "search", "capabilities": digests}
                started = time.perf_counter()
                journal.start_run(f"r{n:05d}", "bench", "2026-12-07T00:00:00.000+00:00", data)
                took.append(time.perf_counter() - started)
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (events,) = db.execute("SELECT SUM(LENGTH(CAST(data AS BLOB))) FROM events").fetchone()
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            stored = 0
            if "catalogs" in tables:
                (stored,) = db.execute(
                    "SELECT COALESCE(SUM(LENGTH(CAST(capabilities AS BLOB))), 0) FROM catalogs"
                ).fetchone()
        size = path.stat().st_size
    return {
        "file_bytes_per_run": size / runs,
        "event_bytes_per_run": events / runs,
        "catalog_bytes": stored,
        "start_run_s_median": statistics.median(took),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pddl", nargs=2, type=Path, metavar=("DOMAIN", "PROBLEM"))
    parser.add_argument("--count", type=int, default=1000, help="synthetic capabilities")
    parser.add_argument("--runs", type=int, default=20, help="runs started per journal")
    parser.add_argument("--repeat", type=int, default=5, help="timings of the digests")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    catalogs = {f"synthetic {args.count:,}": synthetic(args.count)}
    if args.pddl:
        catalogs[f"{args.pddl[1].parent.name} {args.pddl[1].stem}"] = imported(*args.pddl)
    results: dict[str, dict[str, Any]] = {}
    for name, capabilities in catalogs.items():
        found: dict[str, Any] = {"capabilities": len(capabilities)}
        found |= journal_bytes(capabilities, args.runs)
        found |= start_times(capabilities, args.repeat)
        results[name] = found
    print(
        "| catalog | capabilities | file bytes/run | run_started bytes/run | catalogs "
        "table | start_run | digests, two dumps | digests, one dump |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        one = f"{r['one_dump_s'] * 1000:.1f} ms" if "one_dump_s" in r else "-"
        print(
            f"| {name} | {r['capabilities']:,} | {r['file_bytes_per_run']:,.0f} | "
            f"{r['event_bytes_per_run']:,.0f} | {r['catalog_bytes']:,} | "
            f"{r['start_run_s_median'] * 1000:.1f} ms | {r['two_dumps_s'] * 1000:.1f} ms | {one} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
