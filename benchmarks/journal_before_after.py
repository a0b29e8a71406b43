"""The commands that read a whole journal, timed against another checkout's ido on the
same journal: the same output, and how much faster.

Run from the repository root; `--before` names a checkout of the ido to compare with
(`git worktree add /tmp/ido-before COMMIT`, or `git archive COMMIT ido | tar -x -C DIR`):

    .venv/bin/python benchmarks/journal_before_after.py --project /tmp/scale_20k \
        --runs 20000 --before /tmp/ido-before

The project is made and filled as `journal_scale.py` makes it (real runs of `LocalRuntime`,
one order in twenty held for approval) unless `--project` holds one already. Each command
runs as a subprocess, the ido before and this one taking turns, `--repeat` times each:
the median wall seconds, the least CPU seconds (user and system: the machine may be
shared), and the ratios, with the outputs (stdout and stderr) compared byte for byte. A
mistyped run id is one real id with a digit changed (`ido explain` then names the run
meant). Prints a Markdown table; `--json FILE` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from journal_scale import INTENT, POLICY, fill, project

COMMANDS: dict[str, tuple[str, ...]] = {
    "verify": ("verify",),
    "audit": ("audit",),
    "audit --format json": ("audit", "--format", "json"),
    "runs": ("runs",),
    "explain RUN": ("explain", "{run}"),
    "explain MISTYPED": ("explain", "{typo}"),
    "prune --dry-run": ("prune", "--dry-run", "--keep", "100"),
}


def ido(root: Path, args: tuple[str, ...], checkout: Path | None) -> tuple[float, float, str]:
    """One command as a user runs it, with `checkout`'s ido (None: this one): wall and
    CPU seconds, and its output."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    env.pop("IDO_JOURNAL", None)
    env.pop("PYTHONPATH", None)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", *args], cwd=root, capture_output=True, check=False, env=env
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    said = f"exit {done.returncode}\n{done.stdout.decode()}\n{done.stderr.decode()}"
    return wall, cpu, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="made here if not there")
    parser.add_argument("--runs", type=int, default=20000, help="runs to fill a new one with")
    parser.add_argument("--before", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", help="the commands to time, by name, comma-separated")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args()
    root = args.project
    if not (root / ".ido" / "ido.db").exists():
        root.mkdir(parents=True, exist_ok=True)
        fill(project(root, POLICY, INTENT), args.runs, 0)
    with sqlite3.connect(f"file:{root / '.ido' / 'ido.db'}?mode=ro", uri=True) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM runs").fetchone()
        query = "SELECT id FROM runs ORDER BY rowid LIMIT 1 OFFSET ?"
        run = str(db.execute(query, (count // 2,)).fetchone()[0])
        (events,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
    typo = run[:20] + ("0" if run[20] != "0" else "1") + run[21:]  # a digit of its hex wrong
    size = (root / ".ido" / "ido.db").stat().st_size / 1e6
    rows = []
    names = args.only.split(",") if args.only else list(COMMANDS)
    for name in names:
        command = COMMANDS[name]
        asked = tuple(part.format(run=run, typo=typo) for part in command)
        timed: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        said: dict[str, set[str]] = {"before": set(), "after": set()}
        for _ in range(args.repeat):
            for side, checkout in (("before", args.before), ("after", None)):
                wall, cpu, output = ido(root, asked, checkout)
                timed[side].append((wall, cpu))
                said[side].add(output)
        row = {"command": name, "same_output": said["before"] == said["after"]}
        for side in ("before", "after"):
            row[f"{side}_wall"] = statistics.median(w for w, _ in timed[side])
            row[f"{side}_cpu"] = min(c for _, c in timed[side])
        rows.append(row)
    print(f"{count:,} runs, {events:,} events, {size:.0f} MB; wall s (median), CPU s (least)\n")
    print(
        "| command | before wall | after wall | ratio | before CPU | after CPU | ratio "
        "| same output |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| `ido {r['command']}` | {r['before_wall']:.2f} | {r['after_wall']:.2f} | "
            f"{r['before_wall'] / r['after_wall']:.1f}× | {r['before_cpu']:.2f} | "
            f"{r['after_cpu']:.2f} | {r['before_cpu'] / r['after_cpu']:.1f}× | "
            f"{'yes' if r['same_output'] else 'NO'} |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"runs": count, "events": events, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
