"""The `IdoRun` workflow: one run's durable journal and the loop that keeps it pursued.

Deterministic and without I/O, as Temporal requires: it holds the run's writes (ops, see
`ido.temporal.forwarding`), runs the activity `pursue` with them, and when an attempt
dies (its worker killed, its heartbeat lost) runs it again, for another worker to resume
the run. A blocked run waits here, holding no worker, for the verdicts (signal `answer`)
or its first approval's expiry (a timer). It imports nothing of ido but the names below.
"""

from __future__ import annotations

import contextlib
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


@workflow.defn(name=NAME)
class IdoRun:
    """A run pursued by workers; its input: intent, catalog_digest, run_id, heartbeat."""

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        self.attempt = 0
        self.answered = False
        self.report: dict[str, Any] | None = None
        self.waiting = False

    @workflow.signal(name="record")
    def record(self, write: dict[str, Any]) -> None:
        """A write of the current attempt; one of an attempt given up is dropped."""
        if write.get("attempt") == self.attempt:
            self.ops.append(write["op"])

    @workflow.signal(name="answer")
    def answer(self, events: list[list[Any]]) -> None:
        """Approval events (`ido approve`, `ido reject`) for a blocked run: kept, and the
        run is pursued again."""
        run_id = self.ops[0][1][0] if self.ops else ""
        for kind, at, data in events:
            self.ops.append(["append", [run_id, kind, at, data]])
        self.answered = True

    @workflow.query(name="journal")
    def journal(self) -> dict[str, Any]:
        """The run's writes so far, and its last report (None while it was never stopped)."""
        return {
            "ops": self.ops,
            "report": self.report,
            "attempt": self.attempt,
            "waiting": self.waiting,
        }

    @workflow.run
    async def run(self, task: dict[str, Any]) -> dict[str, Any]:
        heartbeat = timedelta(seconds=float(task.get("heartbeat", 30.0)))
        failures = 0
        while True:
            self.attempt += 1
            try:
                report: dict[str, Any] = await workflow.execute_activity(
                    PURSUE,
                    {**task, "ops": self.ops, "attempt": self.attempt},
                    start_to_close_timeout=LONGEST_STEP,
                    heartbeat_timeout=heartbeat,
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    result_type=dict,
                )
            except ActivityError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type == REFUSED:
                    raise ApplicationError(
                        cause.message, type=REFUSED, non_retryable=True
                    ) from None
                failures += 1
                if failures >= MOST_FAILURES:
                    raise ApplicationError(
                        f"{failures} attempts in a row died; last: {exc.cause or exc}",
                        type=REFUSED,
                        non_retryable=True,
                    ) from None
                await workflow.sleep(min(60.0, 0.5 * 2 ** (failures - 1)))
                continue
            failures = 0
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
