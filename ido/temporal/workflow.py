"""The `IdoRun` workflow: one run's durable journal and the loop that keeps it pursued.

Deterministic and without I/O, as Temporal requires: it holds the run's writes (ops, see
`ido.temporal.forwarding`), runs the activity `pursue` with them, and when an attempt
dies (its worker killed, its heartbeat lost) runs it again, for another worker to resume
the run. A blocked run waits here, holding no worker, for the verdicts (signal `answer`)
or its first approval's expiry (a timer). When its history grows long it continues as new
between attempts (`_continues`), carrying the writes on: the same run, in a chain of
executions with the same workflow id. It imports nothing of ido but the names below.
"""

from __future__ import annotations

import contextlib
import json
import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

NAME = "IdoRun"
PURSUE = "pursue"
REFUSED = "IdoRefused"
"""The error type of an attempt that must not be tried again (another catalog, an intent
the worker lacks, a run its journal cannot resume): the workflow fails with it."""
MOST_FAILURES = 20
"""Attempts that may die in a row before the workflow gives the run up."""
LONGEST_STEP = timedelta(days=1)
"""How long one attempt may take in all (a heartbeat tells a dead worker much sooner)."""
MOST_BYTES = 1_500_000
"""The most the run's writes may weigh compressed, as ido's codec sends them
(`ido.temporal.codec`): each attempt takes them all as its input, a continued execution
too, and Temporal refuses a payload over 2 MB (what is left is for the rest of it)."""
MOST_EVENTS = 40_000
"""The most events the workflow's history may hold before it takes no more writes:
Temporal ends a workflow at 50,000 (each write is an update, about five events)."""
MOST_WRITES = 1_900
"""The most writes the workflow takes: the server refuses a workflow's 2,001st update
(its default `history.maxTotalUpdates`), leaving room here for a stopped run's last."""
FULL = "the run's workflow history is full"
"""How the refusal of a write the history has no room for begins (`_full`): the attempt
that hears it fails the workflow with it (`REFUSED`), since another would stop there too."""
HANDED_OVER = "handed over"
"""The outcome of an attempt that stopped between decisions because the workflow asked
(it continues as new): its run goes on in the next execution, from its `trigger`."""
CONTINUE_AFTER_EVENTS = 5_000
"""The history length past which the workflow continues as new (the task's
`continue_after` may lower it): half of the 10,000 events Temporal warns at, so that a run
asked to hand over has room to reach its next decision."""
CONTINUE_AFTER_WRITES = 1_000
"""The writes past which it continues as new: about half of `MOST_WRITES`, for the same
reason (each write is an update, and the server counts them per execution)."""


@workflow.defn(name=NAME)
class IdoRun:
    """A run pursued by workers; its input: intent, catalog_digest, run_id, heartbeat,
    continue_after (optional), and in a continued execution what it carries (`carried`)."""

    # With its input, so that a continued execution holds the run's writes before any
    # signal or update of its first task is handled.
    @workflow.init
    def __init__(self, task: dict[str, Any]) -> None:
        carried: dict[str, Any] = task.get("carried") or {}
        self.ops: list[list[Any]] = list(carried.get("ops", []))
        self.attempt = int(carried.get("attempt", 0))  # counted on, so old ones stay refused
        self.carrier: int | None = None  # the attempt running now, whose writes are taken
        # (a quarter of zlib's default memory, 140 kB a run held: it compresses as well)
        self.packer = zlib.compressobj(memLevel=4)  # see `_weigh`
        self.weight = 0  # the writes' size compressed (about: a little over)
        for op in self.ops:
            self._weigh(op)
        self.checked: Checked | None = None  # the validator's work on the write it let in
        self.updates = 0  # writes taken (each an update: the server counts them)
        self.full: str | None = None  # why it takes no more writes (the validator's own)
        self.answered = False
        self.report: dict[str, Any] | None = carried.get("report")
        self.waiting = False
        self.limit = int(task.get("continue_after") or CONTINUE_AFTER_EVENTS)

    @workflow.update(name="record")
    def record(self, write: dict[str, Any]) -> dict[str, Any]:
        """A write of the attempt carrying the run, at its place (`at`: the writes before
        it); how many the workflow holds, and whether the run should be handed over at its
        next decision (`hand_over`: the workflow continues as new then). One sent again
        (its reply lost) is taken once."""
        self.updates += 1
        checked, self.checked = self.checked, None
        if write["at"] == len(self.ops):
            self.ops.append(write["op"])
            if checked is not None and checked.update == _update():
                self._took(checked)
            else:  # (replayed: validators are not run again)
                self._weigh(write["op"])
        return {"held": len(self.ops), "hand_over": self._continues()}

    def _weigh(self, op: list[Any]) -> None:
        """Add `op` to `weight`: its JSON through one zlib stream of all the writes, flushed
        after each, which weighs them as the codec's compression of them all at once does,
        give or take a few bytes a write (the flushes: so a little over)."""
        self.weight += _packed(self.packer, _json(op).encode())

    def _took(self, checked: Checked) -> None:
        """Weigh the write the validator let in as `_weigh` would, with the validator's
        work: its JSON, or the stream that took it already (a copy of `packer`, which
        nothing else took since), and the weight with it."""
        if checked.packer is None:
            self.weight += _packed(self.packer, checked.text)
        else:
            self.packer, self.weight = checked.packer, checked.weight

    def _continues(self) -> bool:
        """Whether the history is long enough to continue as new: the server suggests it,
        or it is past `limit` events or `CONTINUE_AFTER_WRITES` writes."""
        info = workflow.info()
        return bool(self.ops) and (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.limit
            or self.updates >= CONTINUE_AFTER_WRITES
        )

    @record.validator
    def _may_record(self, write: dict[str, Any]) -> None:
        """Refuse, and so tell its sender, a write of an attempt given up (a worker that
        was only slow or cut off: it must stop before its next side effect), one out of
        place, and one the history has no room for."""
        attempt, at, op = write.get("attempt"), write.get("at"), write.get("op")
        self.checked = None
        if attempt != self.carrier:
            now = "no attempt" if self.carrier is None else f"attempt {self.carrier}"
            raise ApplicationError(f"attempt {attempt} was given up; {now} carries the run")
        events = workflow.info().get_current_history_length()
        if "packed" in write:  # too big to be sent: only its size came
            self.full = self.full or _full(self.weight + int(write["packed"]), 0, events)
            raise ApplicationError(str(self.full))
        if not isinstance(at, int) or at > len(self.ops):
            raise ApplicationError(f"write {at} is out of place: {len(self.ops)} are held")
        if at < len(self.ops):
            if self.ops[at] != op:
                raise ApplicationError(f"write {at} is not the one the workflow holds there")
            return  # taken already: its sender did not hear so
        # While its JSON fits as it is, it need not be compressed to be weighed; past that,
        # it is weighed as the handler would weigh it, through a copy of the stream. Either
        # is handed to the handler, which runs next (nothing runs between them), so that
        # neither the JSON nor its compression is made twice.
        text = _json(op).encode()
        weight, packer = self.weight + len(text), None
        if weight > MOST_BYTES:
            packer = self.packer.copy()
            weight = self.weight + _packed(packer, text)
        self.full = self.full or _full(weight, self.updates, events)
        if self.full is not None:
            raise ApplicationError(self.full)
        self.checked = Checked(_update(), text, packer, weight)

    @workflow.signal(name="answer")
    def answer(self, events: list[list[Any]]) -> None:
        """Approval events (`ido approve`, `ido reject`) for a blocked run: kept, and the
        run is pursued again."""
        run_id = self.ops[0][1][0] if self.ops else ""
        for kind, at, data in events:
            self.ops.append(["append", [run_id, kind, at, data]])
            self._weigh(self.ops[-1])
        self.answered = True

    @workflow.query(name="journal")
    def journal(self) -> dict[str, Any]:
        """The run's writes so far, and its last report (None while it was never stopped);
        `weight`: what the writes weigh compressed, as held to `MOST_BYTES`."""
        return {
            "ops": self.ops,
            "report": self.report,
            "attempt": self.attempt,
            "waiting": self.waiting,
            "weight": self.weight,
        }

    def _release(self, why: str) -> None:
        """Record that the attempt carrying the run no longer does (the workflow stopped
        taking its writes): the next one resumes the run even where the process of that
        attempt still lives on the same machine (paused, or cut off), which `ido resume`
        would otherwise take for the run's owner."""
        if not self.ops or self.ops[-1][0] == "finish_run":
            return
        run_id = self.ops[0][1][0]
        at = workflow.now().isoformat(timespec="milliseconds")
        self.ops.append(["append", [run_id, "run_released", at, {"error": why}]])
        self._weigh(self.ops[-1])

    @workflow.run
    async def run(self, task: dict[str, Any]) -> dict[str, Any]:
        heartbeat = timedelta(seconds=float(task.get("heartbeat", 30.0)))
        carried: dict[str, Any] = task.get("carried") or {}
        task = {k: v for k, v in task.items() if k != "carried"}  # (the writes go as ops)
        failures = int(carried.get("failures", 0))
        trigger: str | None = carried.get("trigger")  # the first attempt's, handed over
        handed = False
        while True:
            # The one safe point: no attempt runs, no approval is waited for, and a run
            # handed over stopped between decisions with all its writes held here.
            if handed or (self.updates > 0 and self._continues()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                kept = {"ops": self.ops, "attempt": self.attempt, "report": self.report}
                kept.update(failures=failures, trigger=trigger)
                workflow.continue_as_new({**task, "carried": kept})
            self.attempt += 1
            self.carrier = self.attempt
            given = {} if trigger is None else {"trigger": trigger}
            trigger = None  # (an attempt after it resumes the run as after a crash)
            try:
                report: dict[str, Any] = await workflow.execute_activity(
                    PURSUE,
                    {**task, "ops": self.ops, "attempt": self.attempt, **given},
                    start_to_close_timeout=LONGEST_STEP,
                    heartbeat_timeout=heartbeat,
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    result_type=dict,
                )
            except ActivityError as exc:
                self.carrier = None
                # (A history full is refused by the attempt, as the worker heard it: `full`
                # is the validator's, which a replay does not run, so it must not decide.)
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type == REFUSED:
                    raise ApplicationError(
                        cause.message, type=REFUSED, non_retryable=True
                    ) from None
                self._release(f"attempt {self.attempt} was given up: {cause or exc}")
                failures += 1
                if failures >= MOST_FAILURES:
                    raise ApplicationError(
                        f"{failures} attempts in a row died; last: {exc.cause or exc}",
                        type=REFUSED,
                        non_retryable=True,
                    ) from None
                await workflow.sleep(min(60.0, 0.5 * 2 ** (failures - 1)))
                continue
            self.carrier = None
            failures = 0
            if report["outcome"] == HANDED_OVER:  # stopped at its next decision, as asked
                trigger, handed = str(report["trigger"]), True
                continue
            self.report = report
            if report["outcome"] != "blocked":
                return {**report, "ops": self.ops}  # for the client to import
            self.answered, self.waiting = False, True
            until = report.get("wait_until")
            timeout = None
            if until is not None:
                timeout = timedelta(seconds=max(0.0, until - workflow.now().timestamp()) + 1)
            # Past the first expiry, resuming fails the run, as `ido runner` would.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.answered, timeout=timeout)
            self.waiting = False


@dataclass(frozen=True)
class Checked:
    """What `record`'s validator made of the write it let in (`update`: its update's id),
    for the handler: its JSON (`text`), and, when it was weighed compressed, the stream
    that took it (`packer`) and the weight with it."""

    update: str | None
    text: bytes
    packer: Any  # (zlib's compressor: its type is not importable)
    weight: int


def _update() -> str | None:
    """The id of the update being handled (None: none)."""
    info = workflow.current_update_info()
    return None if info is None else info.id


def _packed(packer: Any, text: bytes) -> int:
    """How much `text` adds to `packer`'s stream, flushed after it (the stream takes it)."""
    return len(packer.compress(text)) + len(packer.flush(zlib.Z_SYNC_FLUSH))


def _json(value: Any) -> str:
    """`value` as the SDK's JSON converter writes it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _full(weight: int, writes: int, events: int) -> str | None:
    """Why the history has no room for one more write, or None: `weight` is the writes'
    size with it (compressed), `writes` those taken before it, `events` the history's
    length. The run then stops, and its workflow fails with this."""
    if weight > MOST_BYTES:
        held = f"{weight / 1e6:.1f} MB of writes compressed"
    elif writes >= MOST_WRITES:
        held = f"{writes} writes"
    elif events > MOST_EVENTS:
        held = f"{events} events"
    else:
        return None
    return (
        f"{FULL} ({held}; Temporal takes at most 2 MB per "
        "payload, 2,000 updates and 50,000 events): a run this long must run locally "
        "(ido run)"
    )
