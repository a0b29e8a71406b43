"""Group commit: the writes of a journal's threads queued, and committed together by one
of them at a time, each in its own savepoint, after checking the file is still the one
opened."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from ido.errors import JournalError
from ido.journal.connections import BUSY_SECONDS, identity, patiently
from ido.journal.opening import _Opened
from ido.journal.sqlite_errors import damaged, is_damaged

T = TypeVar("T")
R = TypeVar("R")


class _Committing(_Opened):
    """A journal's writes, committed in groups (see `_write`)."""

    busy_seconds = BUSY_SECONDS
    """How long a commit waits for SQLite's write lock other processes hold (`patiently`)."""

    def _starts(self) -> dict[str, _Write[Any]]:
        """This thread's runs started without waiting, while their start may matter to
        their next writes (a run writes from one thread: `LocalRuntime`'s own)."""
        starts: dict[str, _Write[Any]] | None = getattr(self._local, "starts", None)
        if starts is None:
            starts = self._local.starts = {}
        return starts

    def _write(self, statements: Callable[[], T], run_id: str = "", wait: bool = True) -> T:
        """Run `statements` in a committed transaction; what they return.

        Group commit: writes queue up, and one thread at a time, the leader, commits every
        write queued when it gets the connection, in one transaction (one fsync for all of
        them), then hands the lead to the first write queued meanwhile that waits. A write
        waits on its own lock, so it goes on as soon as its commit is done, not when the
        connection is next free. Each write runs in its own savepoint, so one that fails is
        undone and raises in its own thread alone.

        `wait=False` (a run's start): when a leader is under way, return `_QUEUED` at once
        and leave the write to it; this thread's later writes of the same `run_id` fail if
        this one did (see `start_run`).
        """
        starts = self._starts()
        after = starts.get(run_id) if run_id else None
        if after is not None and after.done:
            self._raise(after)  # the run was never started
            del starts[run_id]  # on disk: nothing to check any more
            after = None
        write = _Write(statements, after)
        try:
            with self._queued:
                self._queue.append(write)
                write.leads = not self._leading
                write.waits = wait or write.leads
                self._leading = True
            if not write.waits:
                starts[run_id] = write
                # (not a T: the marker `start_run`, the one caller not waiting, tells apart)
                return cast(T, _QUEUED)
            if not write.leads:
                write.wake.acquire()  # released when committed, or when handed the lead
            if not write.done:
                self._lead(write)
        except BaseException:  # Ctrl-C: the writes behind this one must not be left waiting
            if write.waits:
                self._abandon(write)
            raise
        self._raise(write)
        return cast(T, write.result)  # (None until it ran: `_raise` raised if it did not)

    def _raise(self, write: _Write[Any]) -> None:
        """Raise what `write` failed with, if it did: SQLite's errors (a read-only file, a
        full disk, …) as the journal's."""
        if isinstance(write.error, sqlite3.Error):
            raise self.failed(write.error) from None
        if write.error is not None:
            raise write.error

    def failed(self, error: sqlite3.Error) -> JournalError:
        """SQLite's `error` as the journal's (`journal .ido/ido.db: database disk image is
        malformed`), a damaged file said to be one (`sqlite_errors.damaged`)."""
        if is_damaged(error):
            return damaged(self.path, error)
        return JournalError(f"journal {self.path}: {error}")

    def _lead(self, own: _Write[Any]) -> None:
        """Commit the queued writes, wake their threads, and hand the lead on; commit again
        while only writes that nobody waits for are queued. `own`: the leader's write."""
        again = True
        try:
            while again:
                batch: list[_Write[Any]] = []
                committed = False
                try:
                    with self._lock:
                        with self._queued:
                            batch, self._queue = self._queue, []
                        self._commit(batch)
                    committed = True
                finally:
                    again = False
                    if not committed and not own.done:  # interrupted before taking it
                        with self._queued:
                            if own in self._queue:
                                self._queue.remove(own)
                        own.error, own.done = JournalError("the commit was interrupted"), True
                    for write in batch:
                        if not write.done:  # interrupted before the commit began
                            write.error = JournalError("the commit was interrupted")
                            write.done = True
                        write.wake.release()
                    again = self._hand_on(committed)
        except BaseException:
            if again:  # interrupted between two commits, still leading
                self._hand_on(committed=False)
            raise

    def _hand_on(self, committed: bool) -> bool:
        """After a commit: hand the lead to the first queued write that waits; True when
        there is none but writes nobody waits for are queued (the leader commits them).
        Interrupted (Ctrl-C, `committed` False), it commits no more: the next write leads."""
        with self._queued:
            following = next((w for w in self._queue if w.waits), None)
            again = committed and following is None and bool(self._queue)
            self._leading = following is not None or again
            if following is not None:
                following.leads = True
        if following is not None:
            following.wake.release()
        return again

    def _abandon(self, write: _Write[Any]) -> None:
        """A waiting thread was interrupted (Ctrl-C): leave the queue, or lead if already
        handed the lead, so the writes behind it are not left waiting."""
        with self._queued:
            if not write.leads and write in self._queue:
                self._queue.remove(write)
                return
        if not write.leads:
            write.wake.acquire()  # in a commit already: its outcome is near
        if not write.done:
            self._lead(write)

    def _begin(self) -> None:
        """Take SQLite's write lock (see `patiently`); else a clear error, nothing written."""
        if not patiently(self._db, "BEGIN IMMEDIATE", self.path, self.busy_seconds):
            raise JournalError(
                f"journal {self.path} is busy: other processes have held its write "
                f"lock for over {self.busy_seconds:g}s; nothing was written (the run can be "
                "continued with ido resume once they are done)"
            )

    def names_its_file(self) -> bool:
        """Whether the path still names the file opened: not removed or replaced since
        (what `_check_file` refuses to commit to)."""
        try:
            return identity(self._where) == self._file
        except OSError:
            return False

    def _check_file(self) -> None:
        """Refuse to commit when the path no longer names the file opened (removed, or
        replaced by a restore): SQLite would go on writing into a file nobody can open again,
        and the run would end "achieved" with no record left to explain or resume it. One
        `stat` a commit."""
        if not self.names_its_file():
            raise JournalError(
                f"journal {self.path} was removed or replaced while this process wrote to "
                "it: what it recorded went with the old file, so it can be neither explained "
                "nor resumed; nothing more is done"
            )

    def _commit(self, batch: list[_Write[Any]]) -> None:
        try:
            self._begin()
            self._check_file()
            if len(batch) == 1:
                batch[0].run()
            else:
                for write in batch:
                    self._db.execute("SAVEPOINT write")
                    if write.run():
                        self._db.execute("RELEASE write")
                    else:
                        self._db.execute("ROLLBACK TO write")
                        self._db.execute("RELEASE write")
            if len(batch) == 1 and batch[0].error is not None:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute("COMMIT")
        except BaseException as exc:
            lost = exc if isinstance(exc, Exception) else JournalError("the commit was interrupted")
            for write in batch:  # first: the rollback below can fail too (a closed file)
                write.error, write.result = write.error or lost, None
            try:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing was committed; the error above is the one to report
            if not isinstance(exc, Exception):
                raise
        finally:
            for write in batch:
                write.done = True


_QUEUED = object()
"""What `_write(wait=False)` returns when it leaves its write to the leader."""


class _Write(Generic[R]):
    """One thread's write, waiting for a commit (see `SqliteJournal._write`)."""

    def __init__(self, statements: Callable[[], R], after: _Write[Any] | None = None) -> None:
        self.statements = statements
        self.after = after  # the run's start, not waited for: this fails if it did
        self.wake = threading.Lock()
        self.wake.acquire()  # the waiting thread blocks on it until released
        self.leads = False
        self.waits = True
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None

    def run(self) -> bool:
        """Run the statements; False (the error kept) when they raise, or when the run's
        start failed (committed before this, in this batch or an earlier one)."""
        if self.after is not None and self.after.error is not None:
            self.error = self.after.error
            return False
        try:
            self.result = self.statements()
        except Exception as exc:
            self.error = exc
            return False
        return True
