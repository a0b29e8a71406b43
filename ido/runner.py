"""The approval runner (`ido runner`): continues blocked runs as soon as they may go on.

A blocked run holds nothing while it waits; the runner is one process for a whole journal
that notices when a run may go on (every request of its plan answered, one rejected, or
one left past its last wait) and resumes it at once. It reads only what changed since it
last looked (approval events after a mark) and keeps the next deadlines in a heap, so a
poll costs the same however many runs wait. While it runs it holds a lock on a file beside
the journal, so `ido approve` can say the run will go on by itself.
"""

from __future__ import annotations

import fcntl
import heapq
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ido.approval_verdicts import ready, ready_of
from ido.approvals import requests, verdicts, waiting_of
from ido.errors import NotFoundError
from ido.journal.connections import PRIVATE_FILE
from ido.journal.records import Event, scenario_of
from ido.journal.sqlite import SqliteJournal

RETRY_FIRST = 1.0
"""Seconds before a run the runner could not continue is tried again; each failure after
doubles the wait, up to `RETRY_MOST`."""
RETRY_MOST = 60.0


class Runner:
    """Watches one journal; `poll()` resumes every blocked run that may go on.

    `resume` continues one run (in `ido runner`, a LocalRuntime on the same journal); it
    returns False when the run could not go on and is to be tried again: after
    `RETRY_FIRST` seconds, then twice as long after each failure up to `RETRY_MOST`; at
    the next look after a verdict on it, or after `retry_now()` (its catalog changed).
    """

    def __init__(
        self,
        store: SqliteJournal,
        resume: Callable[[str], object],
        clock: Callable[[], float],
        interrupted: Callable[[Event], object] | None = None,
    ) -> None:
        self.store = store
        self.resume = resume
        self.clock = clock
        self.interrupted = interrupted
        """Told of each run a signal stopped while the runner watched (its `run_interrupted`
        event), as it notices: the runner continues blocked runs only."""
        self._mark: int | None = None  # None: not looked yet
        self._prunes: int | None = None  # the journal's prunes when the mark was taken
        self._deadlines: list[tuple[float, str]] = []
        self._again: set[str] = set()
        """Runs to look at again at the next look: one whose request was seen before its
        row said blocked (a run commits its requests, then its end)."""
        self._retry: dict[str, tuple[float, float]] = {}
        """Runs `resume` could not continue: when to try each again, and the wait before."""

    def _left_interrupted(self, stopped: Event) -> bool:
        """Whether the run is still as the signal `stopped` left it: nothing recorded since
        (not resumed, by `ido resume` or another host, nor stopped again), and of this
        world (a scenario's simulated run is not `ido resume`'s to continue)."""
        try:
            events = self.store.events(stopped.run_id)
        except NotFoundError:  # pruned since
            return False
        return bool(events) and events[-1].seq == stopped.seq and scenario_of(events) is None

    def poll(self) -> list[str]:
        """Resume the runs that may go on now; the ids resumed, in order."""
        now = self.clock()
        prunes = self.store.prunes()
        if prunes != self._prunes:  # pruned since: its events may be numbered afresh
            self._mark, self._prunes = None, prunes
        if self._mark is None:
            self._mark, _ = self.store.approvals_since(-1)
            # (a run on a Temporal server is its workflow's to continue, not the runner's)
            candidates = self._watch(self.store.blocked(temporal=False), now)
        else:
            self._mark, fresh = self.store.approvals_since(self._mark)
            stopped = [e for e in fresh if e.kind == "run_interrupted"]
            if self.interrupted is not None:
                for event in stopped:
                    if self._left_interrupted(event):
                        self.interrupted(event)
            touched = dict.fromkeys(e.run_id for e in fresh if e.kind != "run_interrupted")
            candidates = self._watch({r: self._approval_events(r) for r in touched}, now)
        while self._deadlines and self._deadlines[0][0] < now:
            candidates.add(heapq.heappop(self._deadlines)[1])
        candidates |= self._again
        candidates.update(r for r, (at, _) in self._retry.items() if at <= now)
        self._again = set()
        resumed = []
        for run_id in sorted(candidates):
            try:
                outcome = self.store.run(run_id).outcome
            except NotFoundError:  # ended and pruned since it was seen: nothing to do
                self._retry.pop(run_id, None)
                continue
            if outcome is None:  # still on its way to blocked (or interrupted): look again
                self._again.add(run_id)
                continue
            if outcome != "blocked":
                self._retry.pop(run_id, None)  # (`ido resume` took it meanwhile)
                continue
            if ready(self._approval_events(run_id), now):
                if self.resume(run_id) is False:  # it could not go on (yet): try it again
                    waited = self._retry.get(run_id, (now, RETRY_FIRST / 2))[1]
                    wait = min(2 * waited, RETRY_MOST)
                    self._retry[run_id] = (now + wait, wait)
                    continue
                self._retry.pop(run_id, None)
                resumed.append(run_id)
        return resumed

    @property
    def retrying(self) -> bool:
        """Whether some run waits to be tried again (see `retry_now`)."""
        return bool(self._retry)

    def retry_now(self) -> None:
        """Try every run `resume` could not continue at the next look, as on its first
        failure: what stopped it (its catalog) changed."""
        self._retry = {run_id: (0.0, RETRY_FIRST / 2) for run_id in self._retry}

    def _approval_events(self, run_id: str) -> list[Event]:
        kinds = ("approval_required", "approval_given", "approval_rejected")
        return [e for e in self.store.events(run_id) if e.kind in kinds]

    def _watch(self, runs: dict[str, list[Event]], now: float) -> set[str]:
        """Runs among these that may go on now; the others' next deadlines are kept."""
        candidates = set()
        for run_id, events in runs.items():
            given = verdicts(events)  # read once for both questions
            waiting = waiting_of(requests(events), given)
            if ready_of(waiting, given, now):
                candidates.add(run_id)
                continue
            for request in waiting:
                if request.deadline is not None:
                    heapq.heappush(self._deadlines, (request.deadline, run_id))
        return candidates


def lock_path(journal: Path) -> Path:
    """The runner lock of the journal file, however a path names it (a symlink too)."""
    journal = journal.resolve()
    return journal.with_name(journal.name + ".runner")


def hold_lock(journal: Path) -> IO[str] | None:
    """Take the runner lock of `journal`; None when another runner holds it.

    A lock file made now gets the journal's mode (0600 for one ido made: `make_private`),
    not the umask's (0644: every user could see which journal a runner watched, and
    when); one there already keeps its own."""
    try:
        shared = os.stat(journal).st_mode & 0o666
    except OSError:  # (no journal yet: the runner makes it private)
        shared = PRIVATE_FILE
    fd = os.open(lock_path(journal), os.O_RDWR | os.O_CREAT | os.O_APPEND, shared)
    handle = os.fdopen(fd, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def runner_active(journal: Path) -> bool:
    """Whether a runner watches `journal` now (it holds the lock)."""
    path = lock_path(journal)
    try:  # read-only: a lock file another user's runner made is one this user may read
        handle = path.open("r")
    except OSError:  # none, or not ours to read: no runner that we can tell of
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def watching_pid(journal: Path) -> int | None:
    """The process id of the runner that watches `journal` now, as its lock file says
    (0 when it says none); None when no runner watches it."""
    if not runner_active(journal):
        return None
    try:
        return int(lock_path(journal).read_text().strip() or 0)
    except (OSError, ValueError):  # not ours to read, or a lock file of another making
        return 0
