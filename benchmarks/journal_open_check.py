"""What checking a journal whole costs when it is opened to write, and in `ido verify`.

Run from the repository root (a few seconds with the defaults):

    .venv/bin/python benchmarks/journal_open_check.py --megabytes 100

Makes a journal of about `--megabytes` (one real journal's setup, then runs of eight
events of `--pad` bytes each, copied in by SQL: the check reads pages, not what they
mean), then times, in turns, `--repeat` times each (the median), with the file in the
system's memory as it is right after a run: opening it to write without the check (the
bound `CHECKED_AT_OPEN_BYTES` set to 0), opening it with the check (`PRAGMA
quick_check`), and `PRAGMA integrity_check` (what `ido verify` adds). Prints a Markdown
table with the ratios to opening without the check.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from ido.journal import SqliteJournal, integrity

AT = "2026-12-07T00:00:00.000+00:00"


def build(path: Path, megabytes: int, pad: int) -> int:
    """A journal of about `megabytes`; how many runs it holds."""
    with SqliteJournal(path) as journal:
        journal.start_run("seed", "ship", AT, {})
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_chained")  # (rows copied in carry no real hashes)
    data = '{"observed": {"pad": "' + "x" * pad + '"}}'
    runs = 0
    while path.stat().st_size < megabytes * 1024 * 1024:
        with db:
            for _ in range(1000):
                runs += 1
                run_id = f"r{runs:08d}"
                db.execute(
                    "INSERT INTO runs(id, intent, started_at, outcome, cost) "
                    "VALUES (?, 'ship', ?, 'achieved', 0.8)",
                    (run_id, AT),
                )
                db.executemany(
                    "INSERT INTO events VALUES (?, ?, ?, 'observed', ?, 'h')",
                    [(run_id, seq, AT, data) for seq in range(1, 9)],
                )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with SqliteJournal(path):  # the guard made again: later opens write nothing
        pass
    return runs


def timed(path: Path, how: str) -> float:
    """Seconds to open the journal to write (`unchecked`, `checked`), or to run
    `PRAGMA integrity_check` on it."""
    start = time.perf_counter()
    if how == "integrity_check":
        db = sqlite3.connect(path)
        db.execute("PRAGMA integrity_check").fetchall()
        db.close()
    else:
        bound = integrity.CHECKED_AT_OPEN_BYTES
        integrity.CHECKED_AT_OPEN_BYTES = 0 if how == "unchecked" else 1 << 62
        try:
            SqliteJournal(path).close()
        finally:
            integrity.CHECKED_AT_OPEN_BYTES = bound
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--pad", type=int, default=200, help="bytes of each event's data")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ido.db"
        runs = build(path, args.megabytes, args.pad)
        size = path.stat().st_size / 1024 / 1024
        hows = ("unchecked", "checked", "integrity_check")
        times: dict[str, list[float]] = {how: [] for how in hows}
        timed(path, "checked")  # (the file read into memory once)
        for _ in range(args.repeat):
            for how in hows:
                times[how].append(timed(path, how))
        base = statistics.median(times["unchecked"])
        print(f"journal of {size:.0f} MB, {runs:,} runs, {runs * 8:,} events\n")
        print("| what | median seconds | ratio to opening unchecked |")
        print("|---|---:|---:|")
        for how in hows:
            median = statistics.median(times[how])
            print(f"| {how} | {median:.3f} | {median / base:.1f}x |")


if __name__ == "__main__":
    main()
