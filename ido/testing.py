"""Test doubles shipped with ido: an in-memory journal, a clock that only moves when told,
and a real HTTP server on loopback for bindings and observers to call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ido.errors import JournalError, NotFoundError
from ido.health import Evidence
from ido.journal import Event, Pending, RunRow


@contextmanager
def serve_on_loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 at a free port; yields the base URL, shuts down after."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="ido:loopback", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class StepClock:
    """A clock that advances by `step` seconds each time it is read."""

    def __init__(self, start: float = 1_800_000_000.0, step: float = 0.001) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class MemoryJournal:
    """A Journal kept in memory; events are JSON round-tripped like the SQLite one."""

    def __init__(self) -> None:
        self._runs: dict[str, RunRow] = {}
        self._events: dict[str, list[Event]] = {}
        self._health: dict[str, Evidence] = {}

    def health(self) -> dict[str, Evidence]:
        return dict(self._health)

    def save_health(self, evidence: Mapping[str, Evidence]) -> None:
        self._health.update(evidence)

    def start_run(self, run_id: str, intent: str, at: str, data: Mapping[str, Any]) -> None:
        self._runs[run_id] = RunRow(run_id, intent, at, None, None, None, 0.0, None)
        self._events[run_id] = []
        self.append(run_id, "run_started", at, data)

    def append(self, run_id: str, kind: str, at: str, data: Mapping[str, Any]) -> int:
        events = self._events[run_id]
        payload = json.loads(json.dumps(data, sort_keys=True, default=str))
        events.append(Event(run_id, len(events) + 1, at, kind, payload))
        return len(events)

    def append_many(self, run_id: str, events: Sequence[Pending]) -> None:
        for kind, at, data in events:
            self.append(run_id, kind, at, data)

    def finish_run(
        self,
        run_id: str,
        outcome: str,
        reason: str | None,
        cost: float,
        duration: float,
        at: str,
        events: Sequence[Pending] = (),
        health: Mapping[str, Evidence] | None = None,
    ) -> None:
        self.append_many(run_id, events)
        self._health.update(health or {})
        self.append(
            run_id, "run_finished", at, {"outcome": outcome, "reason": reason, "cost": cost}
        )
        row = self._runs[run_id]
        self._runs[run_id] = RunRow(
            row.id, row.intent, row.started_at, at, outcome, reason, cost, duration
        )

    def runs(self, limit: int = 50) -> list[RunRow]:
        rows = sorted(self._runs.values(), key=lambda r: r.started_at, reverse=True)
        return rows[:limit]

    def run(self, run_id: str) -> RunRow:
        if run_id not in self._runs:
            raise NotFoundError(f"run '{run_id}' not found")
        return self._runs[run_id]

    def blocked(self) -> dict[str, list[Event]]:
        kinds = ("approval_required", "approval_given", "approval_rejected")
        return {
            run_id: [e for e in self._events[run_id] if e.kind in kinds]
            for run_id, row in self._runs.items()
            if row.outcome == "blocked"
        }

    def events(self, run_id: str) -> list[Event]:
        return list(self._events.get(run_id, []))

    def take_over(self, run_id: str, after: int, at: str, data: Mapping[str, Any]) -> None:
        if len(self._events[run_id]) != after:
            raise JournalError(f"run {run_id} was taken over by another process")
        row = self._runs[run_id]
        if row.outcome == "blocked":
            self._runs[run_id] = RunRow(
                row.id, row.intent, row.started_at, None, None, None, row.cost, row.duration
            )
        self.append(run_id, "run_resumed", at, data)

    def resolve(self, reference: str) -> str:
        if reference == "last" and self._runs:
            return self.runs(1)[0].id
        if reference in self._runs:
            return reference
        raise NotFoundError(f"run '{reference}' not found")
