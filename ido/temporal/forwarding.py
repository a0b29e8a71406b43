"""A run's journal as a Temporal workflow holds it: the list of its writes.

Each write a runtime makes (`start_run`, `append`, `finish_run`, ...) is one op,
`[name, args]` in JSON. The workflow keeps the ops in order; a worker seeds a
`MemoryJournal` with them (`replayed`) and journals on into a `ForwardingJournal`, which
sends each new write to the workflow before it returns: the journal's contract, every event
committed before the next side effect, holds with the workflow's history as the disk.
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
from ido.journal.records import Pending
from ido.testing import MemoryJournal

Op = list[Any]
"""One write: `[name, args]`, JSON only."""


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

    def seed(self, ops: Sequence[Op]) -> None:
        """Take in the writes the workflow holds, sending none of them back."""
        with self._lock:
            self._depth += 1
            try:
                for op in ops:
                    apply(self, op)
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
        with self._write("start_run", run_id, intent, at, data, recorded_at):
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


def apply(journal: MemoryJournal, op: Op) -> None:
    """Make the write `op` on `journal`; a `JournalError` for one it cannot make (a
    history written by something else than ido's activity)."""
    try:
        _apply(journal, op)
    except JournalError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        shown = json.dumps(op, default=str)[:200]
        raise JournalError(
            f"the Temporal workflow holds a write ido cannot make ({exc!r}): {shown}"
        ) from None


def _apply(journal: MemoryJournal, op: Op) -> None:
    name, args = op
    if name == "append_many":
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
    elif name in ("start_run", "append", "take_over", "put"):
        getattr(journal, name)(*args)
    else:
        raise JournalError(f"the Temporal workflow holds a write ido does not know: {name}")


def replayed(ops: Sequence[Op]) -> MemoryJournal:
    """The journal the writes `ops` make, from empty."""
    journal = MemoryJournal()
    for op in ops:
        apply(journal, op)
    return journal
