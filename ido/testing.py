"""Test doubles shipped with ido: an in-memory journal, a clock that only moves when told,
a real HTTP server on loopback for bindings and observers to call, and a scripted
OpenAI-compatible model server for the llm planners."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ido.errors import JournalError, NotFoundError
from ido.health import Evidence, Lesson, with_lessons
from ido.journal.records import Event, Pending, RunRow, paid_in, scenario_of


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


class Replying(BaseHTTPRequestHandler):
    """A loopback service answering GET and POST alike with `_reply` (a POST's body read
    first), its access log kept off the test output."""

    def _reply(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._reply()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._reply()

    def log_message(self, *args: object) -> None:
        pass

    def send_json(self, value: object, status: int = 200, reason: str | None = None) -> None:
        """Reply `value` as a JSON body."""
        body = json.dumps(value).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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
        self._replies: dict[str, Mapping[str, Any]] = {}

    def get(self, key: str) -> Mapping[str, Any] | None:
        return self._replies.get(key)

    def put(self, key: str, reply: Mapping[str, Any]) -> None:
        self._replies[key] = json.loads(json.dumps(reply))

    def replies(self) -> dict[str, Mapping[str, Any]]:
        """Every model reply kept (the answer cache), by request digest."""
        return dict(self._replies)

    def health(self) -> dict[str, Evidence]:
        return dict(self._health)

    def save_health(self, evidence: Mapping[str, Evidence]) -> None:
        self._health.update(evidence)

    def start_run(
        self,
        run_id: str,
        intent: str,
        at: str,
        data: Mapping[str, Any],
        recorded_at: str | None = None,
    ) -> bool:
        self._runs[run_id] = RunRow(run_id, intent, at, None, None, None, 0.0, None, recorded_at)
        self._events[run_id] = []
        self.append(run_id, "run_started", at, data)
        return True

    def append(self, run_id: str, kind: str, at: str, data: Mapping[str, Any]) -> int:
        events = self._events[run_id]
        payload = json.loads(json.dumps(data, sort_keys=True, default=str))
        events.append(Event(run_id, len(events) + 1, at, kind, payload))
        return len(events)

    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        for kind, at, data in events:
            self.append(run_id, kind, at, data)
        for key, reply in (replies or {}).items():
            self.put(key, reply)

    def append_after(self, run_id: str, after: int, events: Sequence[Pending]) -> bool:
        """As `SqliteJournal`'s: append only if the run's last event is the `after`-th."""
        if len(self._events[run_id]) != after:
            return False
        self.append_many(run_id, events)
        return True

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
        self.append_many(run_id, events)
        self._health = with_lessons(self._health, lessons)
        self.append(
            run_id, "run_finished", at, {"outcome": outcome, "reason": reason, "cost": cost}
        )
        row = self._runs[run_id]
        self._runs[run_id] = replace(
            row, ended_at=at, outcome=outcome, reason=reason, cost=cost, duration=duration
        )

    def runs(self, limit: int = 50) -> list[RunRow]:
        rows = sorted(self._runs.values(), key=lambda r: r.recorded, reverse=True)
        return [self._as_spent(row) for row in rows[:limit]]

    def run(self, run_id: str) -> RunRow:
        if run_id not in self._runs:
            raise NotFoundError(f"run '{run_id}' not found")
        return self._as_spent(self._runs[run_id])

    def _as_spent(self, row: RunRow) -> RunRow:
        """As `SqliteJournal`'s: a run that has not ended costs what its events paid."""
        if row.outcome is not None:
            return row
        return replace(row, cost=sum(map(paid_in, self._events[row.id])))

    def blocked(self) -> dict[str, list[Event]]:
        kinds = ("approval_required", "approval_given", "approval_rejected")
        return {
            run_id: [e for e in self._events[run_id] if e.kind in kinds]
            for run_id, row in self._runs.items()
            if row.outcome == "blocked" and scenario_of(self._events[run_id]) is None
        }

    def events(self, run_id: str) -> list[Event]:
        return list(self._events.get(run_id, []))

    def ending(self, run_id: str) -> list[Event]:
        """Every event of the run: kept in memory, none is costly to read whole
        (`SqliteJournal.ending` reads only the few that tell a run found no plan)."""
        return self.events(run_id)

    def take_over(self, run_id: str, after: int, at: str, data: Mapping[str, Any]) -> None:
        if len(self._events[run_id]) != after:
            raise JournalError(f"run {run_id} was taken over by another process")
        row = self._runs[run_id]
        if row.outcome in ("blocked", "failed"):  # (failed: `ido compensate`)
            self._runs[run_id] = replace(
                row, ended_at=None, outcome=None, reason=None, duration=None
            )
        self.append(run_id, "run_resumed", at, data)

    def resolve(self, reference: str) -> str:
        if reference == "last" and self._runs:
            return next(reversed(self._runs))  # the run recorded last, as SQLite's is
        if reference in self._runs:
            return reference
        raise NotFoundError(f"run '{reference}' not found")


@dataclass
class Answer:
    """One scripted answer of `ScriptedModel`: tool calls (name, arguments as a dict or raw
    text), or text; or an HTTP error status, a delay, or a raw body (malformed JSON).
    `trickle`: seconds between the body's bytes, sent one at a time (a server too slow to
    time out per read)."""

    tool_calls: list[tuple[str, Any]] = field(default_factory=list)
    content: str | None = None
    status: int = 200
    delay: float = 0.0
    trickle: float = 0.0
    raw: bytes | None = None
    prompt_tokens: int = 120
    completion_tokens: int = 30

    def body(self, model: str) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.status != 200:
            error = {"error": {"message": f"scripted HTTP {self.status}", "type": "scripted"}}
            return json.dumps(error).encode()
        calls = [
            {
                "id": f"call_{k}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for k, (name, args) in enumerate(self.tool_calls)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if calls:
            message["tool_calls"] = calls
        response = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 1_800_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
        }
        return json.dumps(response).encode()


Script = Callable[[dict[str, Any]], Answer]


class ScriptedModel:
    """An OpenAI-compatible chat-completions server on loopback, for the llm planners' tests
    and benchmark: each request gets the next scripted answer (the last one repeats), or
    what a function of the request returns. `requests` keeps every request body; `sent`
    counts the answers whose body was sent to its end (a client that gave up first, or
    left, is not counted)."""

    def __init__(self, script: Sequence[Answer] | Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.sent = 0
        self._lock = threading.Lock()

    def answer(self, request: dict[str, Any]) -> Answer:
        with self._lock:
            self.requests.append(request)
            n = len(self.requests)
        if callable(self.script):
            return self.script(request)
        return self.script[min(n, len(self.script)) - 1]

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Serve; yields the base URL to give as `api_base` (it ends in /v1)."""
        model = self
        closing = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    request = {}
                answer = model.answer(request)
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.body(str(request.get("model", "scripted")))
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not answer.trickle:
                        self.wfile.write(body)
                    for k in range(len(body) if answer.trickle else 0):
                        if closing.is_set():
                            return  # the test is over: do not hold up the server's shutdown
                        self.wfile.write(body[k : k + 1])
                        self.wfile.flush()
                        time.sleep(answer.trickle)
                except OSError:
                    return  # the client gave up (a timeout): nothing to answer
                with model._lock:
                    model.sent += 1

            def log_message(self, *args: Any) -> None:
                return

        with serve_on_loopback(Handler) as url:
            try:
                yield f"{url}/v1"
            finally:
                closing.set()
