"""Runs of ido killed after each of their first commits in turn (`IDO_CRASH_AFTER_EVENTS`),
until the journal's last event is the one a test needs: a step in flight, a repeat made."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ido.journal.records import Event
from ido.journal.sqlite import SqliteJournal


def killed_when(
    folder: Path,
    args: tuple[str, ...],
    last: Callable[[Event], bool],
    before_each: Callable[[], None] = lambda: None,
    tries: int = 30,
) -> str:
    """Run `python -m ido ARGS` in `folder` (its default journal), killed after its first
    commit, then its second, and so on, until the last event of the run is one `last`
    accepts: the run's id. `before_each` sets the world up again before each try; an
    `ido run` starts each try from an empty journal (each is a new run), an `ido resume`
    goes on with the one it names."""
    env = {k: v for k, v in os.environ.items() if k != "IDO_JOURNAL"}
    journal = folder / ".ido" / "ido.db"
    for n in range(1, tries):
        before_each()
        for stale in folder.glob(".ido/ido.db*") if args[0] == "run" else ():
            stale.unlink()
        crash = {**env, "IDO_CRASH_AFTER_EVENTS": str(n)}
        cmd = [sys.executable, "-m", "ido", *args]
        subprocess.run(cmd, cwd=folder, env=crash, capture_output=True, check=False)
        with SqliteJournal(journal) as store:
            run_id = args[1] if args[0] == "resume" else store.runs()[0].id
            if last(store.events(run_id)[-1]):
                return run_id
    raise AssertionError(f"no crash of ido {' '.join(args)} left the event the test needs")


def started(capability: str) -> Callable[[Event], bool]:
    """Whether an event is the start of a step of `capability` (in flight at the kill)."""
    return lambda e: e.kind == "action_started" and e.data["capability"] == capability
