"""The journal as runs pile up: do the commands that read it stay fast as it grows?

Run from the repository root (about two minutes with the defaults):

    .venv/bin/python benchmarks/journal_scale.py --runs 1000,4000

A project in a temporary folder: an order paid and shipped by Python bindings that do
nothing, and an approval rule that holds one order in twenty (`order.big`) for a person.
`LocalRuntime` runs the intent on one SQLite journal until it holds each count of runs;
at each count the commands a user runs against the journal are timed as subprocesses (the
median of three), with their peak memory (`/usr/bin/time`, when there is one):

- `ido runs` (the latest 50) and `ido runs --format json --limit 1000000` (every run);
- `ido audit` (every run's events, summed up);
- `ido explain last`, `ido approvals`, `ido plan send` (reads the stored health);
- `ido run send` itself, one more run.

A command whose time grows with the journal where its output does not (the latest 50,
one run, one plan) is the finding to look for. Prints a Markdown table; `--json FILE`
writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from approvals_scale import project  # the same payment and shipment, doing nothing

from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.model import Intent
from ido.runtime.local import LocalRuntime

POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: gate}
spec:
  rules:
    - id: big-orders-need-a-person
      effect: require_approval
      when: "capability.name == 'ship' && state.order.big"
      message: A person signs off a big shipment.
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: send}
spec:
  given: {order: {big: false}}
  goal: ["state.order.shipped"]
  policies: [gate]
"""

COMMANDS: dict[str, tuple[str, ...]] = {
    "runs": ("runs",),
    "runs_all_json": ("runs", "--format", "json", "--limit", "1000000"),
    "audit": ("audit",),
    "explain_last": ("explain", "last"),
    "approvals": ("approvals",),
    "plan": ("plan", "send"),
    "run": ("run", "send", "-q"),
}


def fill(root: Path, upto: int, have: int) -> None:
    """Run the intent until the journal holds `upto` runs (it holds `have`); one order in
    twenty is big, and its run ends blocked for approval."""
    catalog = load_catalog([root / "capabilities", root / "policies", root / "intents"])
    plain = catalog.intents["send"]
    big = _big(plain)
    with SqliteJournal(root / ".ido" / "ido.db") as store:
        runtime = LocalRuntime(catalog, store, base=root)
        for n in range(have, upto):
            report = runtime.run(big if n % 20 == 19 else plain)
            if report.outcome not in ("achieved", "blocked"):
                raise SystemExit(f"run {n} ended {report.outcome}: {report.reason}")
            if n % 1000 == 999:
                print(f"  {n + 1:,}/{upto:,} runs", file=sys.stderr)


def _big(intent: Intent) -> Intent:
    spec = intent.spec.model_copy(update={"given": {"order": {"big": True}}})
    return intent.model_copy(update={"spec": spec})


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def ido(root: Path, args: tuple[str, ...]) -> tuple[float, float | None]:
    """One command as a user runs it: wall seconds, and peak memory in MB when known."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    env.pop("IDO_JOURNAL", None)
    command = [sys.executable, "-m", "ido", *args]
    if TIME is not None:
        command = [TIME, "-f", "peak-kb %M", *command]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, env=env)
    took = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"ido {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak = re.search(r"peak-kb (\d+)", done.stderr)
    return took, (int(peak[1]) / 1024 if peak else None)


def measure(root: Path, runs: int) -> dict[str, float | None]:
    db = root / ".ido" / "ido.db"
    found: dict[str, float | None] = {
        "runs": runs,
        "journal_mb": sum(p.stat().st_size for p in db.parent.glob("ido.db*")) / 1e6,
    }
    for name, args in COMMANDS.items():
        timings = [ido(root, args) for _ in range(3)]
        found[f"{name}_s"] = statistics.median(t for t, _ in timings)
        peaks = [p for _, p in timings if p is not None]
        found[f"{name}_mb"] = max(peaks) if peaks else None
    return found


def table(rows: list[dict[str, float | None]]) -> str:
    header = "| runs | journal MB | " + " | ".join(f"`{n}` s (MB)" for n in COMMANDS) + " |"
    lines = [header, "|" + "---|" * (len(COMMANDS) + 2)]
    for row in rows:
        cells = []
        for name in COMMANDS:
            seconds, peak = row[f"{name}_s"], row[f"{name}_mb"]
            cells.append(f"{seconds:.2f} ({peak:.0f})" if peak else f"{seconds:.2f}")
        start = f"| {row['runs']:,.0f} | {row['journal_mb']:.1f} | "
        lines.append(start + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1000,4000", help="journal sizes, ascending")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.runs.split(","))
    rows = []
    with tempfile.TemporaryDirectory(prefix="ido-journal-scale-") as folder:
        root = project(Path(folder), POLICY, INTENT)
        have = 0
        for size in sizes:
            fill(root, size, have)
            # Each size is measured after the previous one's commands added runs of theirs.
            with SqliteJournal(root / ".ido" / "ido.db") as store:
                have = len(store.runs(-1))
            rows.append(measure(root, have))
            with SqliteJournal(root / ".ido" / "ido.db") as store:
                have = len(store.runs(-1))
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
