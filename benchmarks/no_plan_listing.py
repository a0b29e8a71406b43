"""What telling runs that found no plan costs `ido runs` on a journal of many failed runs
whose decisions are big (a wide catalog).

Run from the repository root (about a minute with the defaults):

    .venv/bin/python benchmarks/no_plan_listing.py --runs 3000 --width 800

A project in a temporary folder: an order paid in the EU and shipped, with `--width`
US payment capabilities a residency rule denies (each decision lists them all among its
rejections), and EU payment bindings that fail. One run fails after its steps, the next
finds no plan (the failures learnt leave none reliable enough); the failed run is then
copied in SQLite until the journal holds `--runs` of them. Timed as subprocesses (median
of three):

- `ido runs` (the newest 50, the peer: what any listing costs);
- `ido runs --outcome no-plan` (every failed run told apart, to find the one no-plan run);
- `ido runs --outcome failed --format json --limit N` (every failed run, `no_plan` each).

And in this process, over every failed run: its last decision read whole (`json.loads`
of its data, as `ido runs` read it before) against `SqliteJournal.ending` (no decision
of a run whose step started, only the status of one that did not).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ido.journal import SqliteJournal
from ido.run_ends import found_no_plan

PAY = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: {name}}}
spec:
  provider: {provider}
  region: {region}
  tags: [payments, pii]
  requires: ["!state.order.paid"]
  effects: {{order.paid: true}}
  cost: {cost}
  reliability: 0.99
  run: {{python: "svc:call"}}
"""
SHIP = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.order.paid"]
  effects: {order.shipped: true}
  cost: 0.50
  reliability: 0.98
  run: {python: "svc:call"}
"""
POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: residency}
spec:
  rules:
    - id: pii-stays-in-eu
      effect: deny
      when: "'pii' in capability.tags && capability.region != 'eu'"
      message: PII of EU customers is processed in the EU only.
"""
INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: ship-order}
spec:
  goal: ["state.order.paid", "state.order.shipped"]
  constraints: {max_cost: 5.0, min_success_probability: 0.9}
  policies: [residency]
"""
SVC = """\
def call(ctx):
    if ctx.provider in ("cheappay", "priceypay"):
        raise RuntimeError(f"{ctx.provider} is down")
    return None
"""


def project(root: Path, width: int) -> None:
    """The order, its EU payments that fail, and `width` US payments denied."""
    for folder in ("capabilities", "policies", "intents"):
        (root / folder).mkdir()
    pays = [
        PAY.format(name="pay-cheap-eu", provider="cheappay", region="eu", cost=0.30),
        PAY.format(name="pay-pricey-eu", provider="priceypay", region="eu", cost=0.80),
        *(PAY.format(name=f"pay-us-{i}", provider=f"us{i}", region="us", cost=0.10)
          for i in range(width)),
    ]  # fmt: skip
    (root / "capabilities" / "catalog.yaml").write_text("---\n".join([*pays, SHIP]))
    (root / "policies" / "residency.yaml").write_text(POLICY)
    (root / "intents" / "ship-order.yaml").write_text(INTENT)
    (root / "svc.py").write_text(SVC)


def ido(root: Path, *args: str) -> tuple[int, float]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    env.pop("IDO_JOURNAL", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", *args], cwd=root, capture_output=True, env=env, check=False
    )
    return done.returncode, time.perf_counter() - started


def fill(root: Path, runs: int) -> None:
    """A run failed after its steps, one that found no plan; the first copied to `runs`."""
    assert ido(root, "run", "ship-order", "-q")[0] == 1, "the first run should fail"
    assert ido(root, "run", "ship-order", "-q")[0] == 4, "the second should find no plan"
    with sqlite3.connect(root / ".ido" / "ido.db") as db:
        first = db.execute("SELECT id FROM runs ORDER BY started_at LIMIT 1").fetchone()[0]
        for n in range(runs - 1):
            copy = f"r20260101-000000-{n:012x}"
            db.execute(
                "INSERT INTO runs SELECT ?, intent, '2026-01-01' || substr(started_at, 11), "
                "ended_at, outcome, reason, cost, duration, recorded_at FROM runs WHERE id=?",
                (copy, first),
            )
            db.execute(
                "INSERT INTO events SELECT ?, seq, at, kind, data, hash FROM events WHERE run_id=?",
                (copy, first),
            )
    db.close()


def reads(db: Path) -> dict[str, float]:
    """Every failed run's last decision read whole, against `ending`, in seconds."""
    with SqliteJournal(db, reading=True) as store:
        ids = [r.id for r in store.runs(10**9) if r.outcome == "failed"]
        started = time.perf_counter()
        for run_id in ids:  # as `ido runs` read it before: the last decision, whole
            data = store._db.execute(
                "SELECT data FROM events WHERE run_id=? AND kind='decided' "
                "ORDER BY seq DESC LIMIT 1",
                (run_id,),
            ).fetchone()[0]
            json.loads(data)
        read_whole = time.perf_counter() - started
        started = time.perf_counter()
        told = sum(found_no_plan(store.ending(run_id)) for run_id in ids)
        ending = time.perf_counter() - started
    return {"failed_runs": len(ids), "no_plan": told, "whole_s": read_whole, "ending_s": ending}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--width", type=int, default=800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        project(root, args.width)
        fill(root, args.runs)
        db = root / ".ido" / "ido.db"
        print(f"journal: {db.stat().st_size / 1e6:,.0f} MB, {args.runs + 1:,} runs")
        commands = {
            "ido runs": ("runs",),
            "ido runs --outcome no-plan": ("runs", "--outcome", "no-plan"),
            "ido runs --outcome failed -f json (all)": (
                "runs", "--outcome", "failed", "--format", "json", "--limit", str(args.runs + 10),
            ),
        }  # fmt: skip
        took = {}
        for name, command in commands.items():
            took[name] = statistics.median(ido(root, *command)[1] for _ in range(3))
        peer = took["ido runs"]
        for name, seconds in took.items():
            print(f"{name}: {seconds:.2f} s ({seconds / peer:.1f}x ido runs)")
        found = reads(db)
        print(
            f"{found['failed_runs']:,} failed runs ({found['no_plan']} found no plan): last "
            f"decision read whole {found['whole_s']:.2f} s, ending {found['ending_s']:.2f} s "
            f"({found['whole_s'] / found['ending_s']:.0f}x)"
        )


if __name__ == "__main__":
    main()
