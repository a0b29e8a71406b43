"""A run's journal as a Temporal workflow holds it: the list of its writes.

Each write a runtime makes (`start_run`, `append`, `finish_run`, ...) is one op,
`[name, args]` in JSON. The workflow keeps the ops in order; a worker seeds a
`MemoryJournal` with them (`replayed`) and journals on into a `ForwardingJournal`, which
sends each new write to the workflow before it returns: the journal's contract, every event
committed before the next side effect, holds with the workflow's history as the disk.
A run's start goes with its catalog digests (`run_started`'s `capabilities`) when they are
small; past `INLINE_CATALOG` bytes of JSON (some thousands of capabilities: 3.3 MB for a
41,229-capability PDDL import, more than Temporal takes in one payload) it names them by
the SHA-256 of their text, as the local journal stores them (`ido.journal.catalogs`), and
whoever makes the journal again from the writes puts them back from a catalog that has
them (`Catalogs`): a worker's own (the same as the run's: checked by digest), the local
journal's `catalogs` table, or the folder's catalog on import.
Nothing here imports temporalio.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ido.errors import JournalError
from ido.health import Evidence, Lesson
from ido.journal.catalogs import named, restored, stored
from ido.journal.records import Pending
from ido.testing import MemoryJournal

Op = list[Any]
"""One write: `[name, args]`, JSON only."""
Catalogs = Callable[[str], Mapping[str, Any] | None]
"""The catalog digests stored under a key (the SHA-256 of their text), or None: unknown."""
INLINE_CATALOG = 100_000
"""The most bytes of catalog digests (as JSON) a run's start carries to the workflow; more
go by their key (`by_digest`). Each attempt's input carries the start, and the digests,
about 40 bytes a capability (half that compressed), took a share of the 1.5 MB the
workflow holds (all of it from about 40,000 capabilities)."""


def by_digest(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """`run_started`'s data as sent to the workflow: its catalog digests, when over
    `INLINE_CATALOG` bytes, named by the SHA-256 of their text (as the local journal
    stores them), else as they are."""
    kept, catalog = stored("run_started", data)
    if catalog is None or len(catalog[1]) <= INLINE_CATALOG:
        return data
    return kept


def none(_key: str) -> Mapping[str, Any] | None:
    """No catalog digests known (`Catalogs`)."""
    return None


def _json(value: Any) -> Any:
    """`value` as JSON would give it back (what the workflow's history holds)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


class ForwardingJournal(MemoryJournal):
    """A MemoryJournal that sends each write (`send`, an op) on before returning; a write
    that cannot be sent is a `JournalError`, which stops the run as a failed commit does."""

    def __init__(self, send: Callable[[Op], None]) -> None:
        super().__init__()
        self._send = send
        self._depth = 0  # MemoryJournal's writes call one another: only the outer one is sent
        # One write at a time, made and sent: writes from two threads would otherwise be
        # sent in another order than made (the workflow's seqs not the runtime's), and the
        # shared depth would keep one of them from being sent at all.
        self._lock = threading.RLock()

    @contextmanager
    def _write(self, name: str, *args: Any) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            if self._depth == 0:
                try:
                    self._send([name, _json(list(args))])
                except JournalError:
                    raise
                except Exception as exc:  # the server, the network: not durable
                    raise JournalError(
                        f"could not record {name} in the Temporal workflow: {exc}"
                    ) from exc

    def seed(self, ops: Sequence[Op], catalogs: Catalogs = none) -> None:
        """Take in the writes the workflow holds, sending none of them back (a start that
        names its catalog digests by their key has them put back from `catalogs`)."""
        with self._lock:
            self._depth += 1
            try:
                for op in ops:
                    apply(self, op, catalogs)
            finally:
                self._depth -= 1

    def start_run(
        self,
        run_id: str,
        intent: str,
        at: str,
        data: Mapping[str, Any],
        recorded_at: str | None = None,
    ) -> bool:
        with self._write("start_run", run_id, intent, at, by_digest(data), recorded_at):
            return super().start_run(run_id, intent, at, data, recorded_at)

    def append(self, run_id: str, kind: str, at: str, data: Mapping[str, Any]) -> int:
        with self._write("append", run_id, kind, at, data):
            return super().append(run_id, kind, at, data)

    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        with self._write("append_many", run_id, [list(e) for e in events], replies or {}):
            super().append_many(run_id, events, replies)

    def finish_run(
        self,
        run_id: str,
        outcome: str,
        reason: str | None,
        cost: float,
        duration: float,
        at: str,
        events: Sequence[Pending] = (),
        lessons: Sequence[Lesson] = (),
    ) -> None:
        sent = ([list(e) for e in events], [dataclasses.asdict(x) for x in lessons])
        with self._write("finish_run", run_id, outcome, reason, cost, duration, at, *sent):
            super().finish_run(run_id, outcome, reason, cost, duration, at, events, lessons)

    def take_over(self, run_id: str, after: int, at: str, data: Mapping[str, Any]) -> None:
        with self._write("take_over", run_id, after, at, data):
            super().take_over(run_id, after, at, data)

    def put(self, key: str, reply: Mapping[str, Any]) -> None:
        with self._write("put", key, reply):
            super().put(key, reply)

    def save_health(self, evidence: Mapping[str, Evidence]) -> None:
        with self._write("save_health", {n: e.to_json() for n, e in evidence.items()}):
            super().save_health(evidence)


def apply(journal: MemoryJournal, op: Op, catalogs: Catalogs = none) -> None:
    """Make the write `op` on `journal`; a `JournalError` for one it cannot make (a
    history written by something else than ido's activity, a start naming catalog digests
    `catalogs` does not have)."""
    try:
        _apply(journal, op, catalogs)
    except JournalError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        shown = json.dumps(op, default=str)[:200]
        raise JournalError(
            f"the Temporal workflow holds a write ido cannot make ({exc!r}): {shown}"
        ) from None


def _apply(journal: MemoryJournal, op: Op, catalogs: Catalogs) -> None:
    name, args = op
    if name == "start_run":
        run_id, intent, at, data, *recorded_at = args
        journal.start_run(run_id, intent, at, _whole(run_id, data, catalogs), *recorded_at)
    elif name == "append_many":
        run_id, events, replies = args
        journal.append_many(run_id, [tuple(e) for e in events], replies)
    elif name == "finish_run":
        run_id, outcome, reason, cost, duration, at, events, lessons = args
        journal.finish_run(
            run_id,
            outcome,
            reason,
            cost,
            duration,
            at,
            [tuple(e) for e in events],
            [Lesson(**x) for x in lessons],
        )
    elif name == "save_health":
        journal.save_health({n: Evidence.from_json(e) for n, e in args[0].items()})
    elif name in ("append", "take_over", "put"):
        getattr(journal, name)(*args)
    else:
        raise JournalError(f"the Temporal workflow holds a write ido does not know: {name}")


def _whole(run_id: str, data: Mapping[str, Any], catalogs: Catalogs) -> Mapping[str, Any]:
    """A run's start as it was recorded: its catalog digests, which it names by their key
    (`by_digest`), put back from `catalogs`."""
    key = named("run_started", data)
    if key is None:
        return data
    digests = catalogs(key)
    if digests is None:
        raise JournalError(
            f"run {run_id} was started with a catalog of digests {key[:12]} (kept by digest, "
            "not in the workflow) that neither this journal nor this folder's catalog holds: "
            "import it in the folder of the catalog the run was started with (with the "
            "--catalog it was given, if any)"
        )
    return restored(data, digests)


def replayed(ops: Sequence[Op], catalogs: Catalogs = none) -> MemoryJournal:
    """The journal the writes `ops` make, from empty (`catalogs`: see `seed`)."""
    journal = MemoryJournal()
    for op in ops:
        apply(journal, op, catalogs)
    return journal
