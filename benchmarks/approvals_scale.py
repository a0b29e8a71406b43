"""Approvals at scale: many runs blocked on approval in one journal.

Run from the repository root (about two minutes with the defaults):

    .venv/bin/python benchmarks/approvals_scale.py --blocked 10000 --small 100

A project in a temporary folder: a no-op payment and a shipment (Python bindings that do
nothing), a policy that requires approval before shipping, and an intent that plans with
the search backend. `LocalRuntime` runs the intent N times on one SQLite journal; each run
pays and then stops `blocked`, holding no process. Then:

- the journal's size on disk, per blocked run;
- `ido approvals` (a subprocess, as a user runs it; median of 3) and the same listing
  in-process (`SqliteJournal.blocked()` and `ido.approvals.pending`);
- approving one run (`ido approve`) and resuming it (`ido resume`, to `achieved`), as
  subprocesses (median over three runs), in this journal and in one holding only
  `--small` blocked runs: the two should take the same time, since neither touches the
  other runs.
- the approval runner (`ido.runner.Runner`, in-process as `ido runner` runs it): its first
  look (a scan of every blocked run), an idle look (median of 20: nothing changed), and
  the look that notices one approval and resumes that run to `achieved`.

Prints a Markdown table; `--json FILE` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ido.approvals import pending
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.runner import Runner
from ido.runtime.local import LocalRuntime

CAPABILITIES = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay}
spec:
  provider: bank
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 1.0
  run: {python: "noop:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.order.paid"]
  effects: {order.shipped: true}
  cost: 2.0
  run: {python: "noop:call"}
"""

POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: gate}
spec:
  rules:
    - id: ship-needs-a-person
      effect: require_approval
      when: "capability.name == 'ship'"
      message: A person signs off every shipment.
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: send}
spec:
  goal: ["state.order.shipped"]
  policies: [gate]
  planner: search
"""


def project(root: Path, policy: str = POLICY, intent: str = INTENT) -> Path:
    """The payment and the shipment, doing nothing, under `policy` (`gate`), pursued by
    `intent` (`send`), in `root`."""
    for folder in ("capabilities", "policies", "intents"):
        (root / folder).mkdir(parents=True)
    (root / "capabilities" / "shop.yaml").write_text(CAPABILITIES)
    (root / "policies" / "gate.yaml").write_text(policy)
    (root / "intents" / "send.yaml").write_text(intent)
    (root / "noop.py").write_text("def call(ctx):\n    return None\n")
    return root


def block(root: Path, count: int) -> float:
    """Run the intent `count` times; every run ends blocked. Returns the wall seconds."""
    catalog = load_catalog([root / "capabilities", root / "policies", root / "intents"])
    started = time.perf_counter()
    with SqliteJournal(root / ".ido" / "ido.db") as store:
        runtime = LocalRuntime(catalog, store, base=root)
        for n in range(count):
            report = runtime.run(catalog.intents["send"])
            if report.outcome != "blocked":
                raise SystemExit(f"run {n} ended {report.outcome}: {report.reason}")
            if n % 1000 == 999:
                print(f"  {n + 1:,}/{count:,} blocked", file=sys.stderr)
    return time.perf_counter() - started


def ido(root: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    took = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"ido {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return took, done.stdout


def measure(root: Path, count: int) -> dict[str, float]:
    creation = block(root, count)
    db = root / ".ido" / "ido.db"
    size = sum(p.stat().st_size for p in db.parent.glob("ido.db*"))
    listing = []
    for _ in range(3):
        took, out = ido(root, "approvals")
        listing.append(took)
        if out.count("ship-needs-a-person") != count:
            raise SystemExit(f"ido approvals listed {out.count('ship-needs-a-person')} of {count}")
    started = time.perf_counter()
    with SqliteJournal(db) as store:
        waiting = sum(len(pending(events)) for events in store.blocked().values())
    in_process = time.perf_counter() - started
    assert waiting == count
    with SqliteJournal(db) as store:
        *run_ids, for_runner = [r.id for r in store.runs(4)]
    approvals, resumes = [], []
    for run_id in run_ids:  # three runs, each approved then resumed; the medians count
        took, _ = ido(root, "approve", run_id, "--by", "bench")
        approvals.append(took)
        took, out = ido(root, "resume", run_id, "-q")
        resumes.append(took)
        if "achieved" not in out:
            raise SystemExit(f"resume did not achieve: {out}")
    approve, resume = statistics.median(approvals), statistics.median(resumes)
    runner = watch(root, for_runner)
    return {
        "blocked": count,
        "creation_s": creation,
        "journal_bytes": size,
        "bytes_per_run": size / count,
        "approvals_cli_s": statistics.median(listing),
        "approvals_in_process_s": in_process,
        "approve_cli_s": approve,
        "resume_cli_s": resume,
        **runner,
    }


def watch(root: Path, run_id: str) -> dict[str, float]:
    """The runner's first look, an idle look, and the look that resumes `run_id`."""
    catalog = load_catalog([root / "capabilities", root / "policies", root / "intents"])
    outcomes: list[str] = []
    with SqliteJournal(root / ".ido" / "ido.db") as store:

        def resume(run: str) -> None:
            outcomes.append(LocalRuntime(catalog, store, base=root).resume(run).outcome)

        watcher = Runner(store, resume, time.time)
        started = time.perf_counter()
        watcher.poll()
        first = time.perf_counter() - started
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            watcher.poll()
            idle.append(time.perf_counter() - started)
        ido(root, "approve", run_id, "--by", "bench")
        started = time.perf_counter()
        resumed = watcher.poll()
        noticed = time.perf_counter() - started
    if resumed != [run_id] or outcomes != ["achieved"]:
        raise SystemExit(f"the runner resumed {resumed} with {outcomes}")
    return {
        "runner_first_s": first,
        "runner_idle_s": statistics.median(idle),
        "runner_resume_s": noticed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocked", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for count in (args.small, args.blocked):
        with tempfile.TemporaryDirectory() as folder:
            print(f"{count:,} blocked runs …", file=sys.stderr)
            rows.append(measure(project(Path(folder)), count))
    print(
        "| blocked runs | journal | bytes per blocked run | `ido approvals` (CLI) | "
        "listing in-process | `ido approve` one | `ido resume` one |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['blocked']:,.0f} | {r['journal_bytes'] / 1e6:.1f} MB | "
            f"{r['bytes_per_run']:,.0f} | {r['approvals_cli_s'] * 1000:.0f} ms | "
            f"{r['approvals_in_process_s'] * 1000:.0f} ms | {r['approve_cli_s'] * 1000:.0f} ms | "
            f"{r['resume_cli_s'] * 1000:.0f} ms |"
        )
    print(
        "\n| blocked runs | runner: first look | idle look | look that resumes one approved run |"
    )
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['blocked']:,.0f} | {r['runner_first_s'] * 1000:.0f} ms | "
            f"{r['runner_idle_s'] * 1000:.2f} ms | {r['runner_resume_s'] * 1000:.0f} ms |"
        )
    print(f"\ncreating {rows[-1]['blocked']:,.0f} blocked runs took {rows[-1]['creation_s']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
