"""Recording that a signal stopped a run (`run_interrupted`), within a bounded time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any

from ido.journal.records import Journal

RECORD_SECONDS = 5.0
"""How long a stopping process waits for its `run_interrupted` to be written: a journal
whose write lock another process holds (up to two minutes) or whose disk hangs must not
keep a process asked to stop from ending (Kubernetes kills it 30 seconds after SIGTERM)."""


def record_interruption(
    journal: Journal,
    run_id: str,
    at: str,
    data: Mapping[str, Any],
    within: float | None = None,
) -> bool:
    """Append `run_interrupted` to the run's journal, waiting at most `within` seconds
    (None: `RECORD_SECONDS`) for the write, on a thread of its own left behind if it
    blocks. True when it was written; False when it failed or did not end in time (the run
    reads as before: interrupted, its last event its last step's). A journal file is
    written on a connection of its own that waits no longer than that for SQLite's write
    lock: on the journal's own, a write waiting for a lock another process holds (up to two
    minutes) kept the journal's `close`, and so the process's exit, waiting with it."""
    written = threading.Event()

    seconds = RECORD_SECONDS if within is None else within

    def write() -> None:
        with contextlib.suppress(Exception):  # (a journal that failed may fail this too)
            apart = getattr(journal, "apart", None)  # a journal file: see `SqliteJournal.apart`
            if apart is None:
                journal.append(run_id, "run_interrupted", at, data)
            else:
                with apart(seconds) as own:
                    own.append(run_id, "run_interrupted", at, data)
            written.set()

    writer = threading.Thread(target=write, name="ido:interrupted", daemon=True)
    writer.start()
    writer.join(seconds)
    return written.is_set()
