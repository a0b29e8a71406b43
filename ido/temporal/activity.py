"""The activity `pursue`: the local runtime's loop on a worker, journaling to its workflow.

One attempt runs `LocalRuntime.run` (the first) or `LocalRuntime.resume` (the others, and
after a blocked run's answers) on the worker's catalog, with a `ForwardingJournal` seeded
with the writes the workflow holds: each write is an update of the workflow, held by it
before the write returns (refused, for an attempt given up: the run stops there). A thread
heartbeats while the runtime works, so a worker that dies is noticed within the heartbeat
timeout and the workflow runs `pursue` again. When a write's reply asks for it (the
workflow's history is long), the run is handed over before its next decision, and the
attempt after the workflow continued as new carries it on (`LocalRuntime.carry_on`).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from ido.approval_verdicts import ready
from ido.approvals import requests, verdicts, waiting_of
from ido.catalog_record import catalog_digests
from ido.errors import IdoError, JournalError
from ido.journal.catalogs import key_of
from ido.loading.catalog import Catalog
from ido.model import Intent
from ido.run_ends import no_plan_of
from ido.runtime.handover import HandedOver
from ido.state import digest
from ido.temporal.client import record
from ido.temporal.forwarding import ForwardingJournal, Op
from ido.temporal.workflow import FULL, HANDED_OVER, PURSUE, REFUSED

BENIGN = ApplicationErrorCategory.BENIGN
"""The failures ido says itself, on one line (`Pursuit.say`): the SDK logs them without
its traceback. A bug's error still comes with one."""
SEND_SECONDS = 20.0
"""How long a write waits for its workflow to hold it before it is sent again."""
SENDS = 3
"""How many times a write is sent before the run stops on it (not durable)."""
BEAT_SHARE = 0.25
"""A heartbeat every this share of the heartbeat timeout: a beat held up (a busy machine,
a slow server) by up to three quarters of it still comes in time. The worker lets the SDK
send each one at once (`ido.temporal.worker.THROTTLE`)."""


def catalog_digest(catalog: Catalog) -> str:
    """What the run's decisions depend on in `catalog`: its intents, capabilities,
    policies and observers as loaded (not where their files lie)."""
    tables: dict[str, dict[str, Any]] = {
        "intents": catalog.intents,
        "capabilities": catalog.capabilities,
        "policies": catalog.policies,
        "observers": catalog.observers,
    }
    return digest(
        {
            kind: {n: r.model_dump(mode="json", by_alias=True) for n, r in sorted(t.items())}
            for kind, t in tables.items()
        }
    )


def refused(message: str) -> ApplicationError:
    """An error the workflow does not try again: it fails the run's workflow with it."""
    return ApplicationError(message, type=REFUSED, non_retryable=True, category=BENIGN)


class Pursuit:
    """The worker's side of runs: its catalog and folder, and its client and event loop
    (a threaded activity has no client of its own: the writes are sent on the worker's)."""

    def __init__(
        self,
        catalog: Catalog,
        base: Path,
        client: Client,
        loop: asyncio.AbstractEventLoop,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.catalog = catalog
        self.digest = catalog_digest(catalog)
        self._digests: tuple[str, dict[str, str]] | None = None  # see `catalogs`
        self._digesting = threading.Lock()
        self.base = base
        self.client = client
        self.loop = loop
        self.say = say

    # No CancelledError raised into the run's thread when its attempt is given up: raised
    # at whatever line the thread is on, it once hit the thread a step's output reader was
    # starting, which hung the step. The workflow refuses the attempt's next write instead,
    # and the run stops there, before its next side effect.
    @activity.defn(name=PURSUE, no_thread_cancel_exception=True)
    def pursue(self, task: dict[str, Any]) -> dict[str, Any]:
        """Pursue the run of `task` (intent, catalog_digest, run_id, ops, attempt) to an
        outcome; its report, with `wait_until` for a blocked run."""
        # Beating from the start: the server counts the heartbeat timeout from when it
        # handed the attempt out, and loading the runtime below may take a while.
        stop = self._heartbeat()
        try:
            return self._pursue(task)
        finally:
            stop.set()

    def _planned(self, task: dict[str, Any], name: str) -> Intent:
        """The intent `name`, planned by the planner its run was started with (`ido run
        --planner`'s, or the intent's own; a run started by an ido that did not send one:
        the intent's)."""
        intent = self.catalog.intents[name]
        planner = task.get("planner") or intent.spec.planner
        if planner == intent.spec.planner:
            return intent
        from ido.planner import PLANNERS

        if planner not in PLANNERS:
            raise self._refused(f"intent {name}: this worker has no planner {planner}")
        spec = intent.spec.model_copy(update={"planner": planner})
        return intent.model_copy(update={"spec": spec})

    def _pursue(self, task: dict[str, Any]) -> dict[str, Any]:
        from ido.runtime.local import LocalRuntime

        run_id, name = str(task["run_id"]), str(task["intent"])
        if task["catalog_digest"] != self.digest:
            raise self._refused(
                f"intent {name} (run {run_id}) was started with catalog "
                f"{task['catalog_digest']}, and this worker has {self.digest}: run the "
                "workers and ido run on the same catalog"
            )
        if name not in self.catalog.intents:
            raise self._refused(f"intent {name} is not in this worker's catalog")
        ops: list[Op] = task["ops"]
        asked = threading.Event()  # the workflow asks for the run to be handed over
        journal = ForwardingJournal(self._sender(run_id, int(task["attempt"]), len(ops), asked))
        try:
            journal.seed(ops, self.catalogs)
        except JournalError as exc:  # the same history again would fail the same way
            raise self._refused(f"run {run_id} of intent {name}: {exc}") from None
        runtime = LocalRuntime(self.catalog, journal, base=self.base, new_id=lambda _: run_id)
        runtime.handover = asked.is_set
        first, trigger = not ops, task.get("trigger")
        said = "took" if first else "carried on" if trigger is not None else "resumed"
        self.say(f"{said} run {run_id} ({name})")
        try:
            if first:
                where = {"temporal": task.get("temporal") or {}}  # so a local resume refuses
                report = runtime.run(self._planned(task, name), context=where)
            elif trigger is not None:  # handed over by the attempt before: on as if unstopped
                report = runtime.carry_on(run_id, str(trigger))
            else:
                events = journal.events(run_id)
                now = runtime.clock()
                ended = journal.run(run_id).outcome
                if ended is not None and ended != "blocked":  # its attempt died after
                    self.say(f"run {run_id} ({name}) had ended {ended}")
                    return _blocked(journal, run_id)  # (the report of the run as it is)
                if ended == "blocked" and not ready(events, now):
                    self.say(f"run {run_id} still waits for approval")
                    return _blocked(journal, run_id)
                report = runtime.resume(run_id)
        except JournalError as exc:  # not durable: another attempt resumes from what is
            full = str(exc).find(FULL)
            if full >= 0:  # unless the history is full: another would stop there too
                raise self._refused(f"run {run_id} of intent {name}: {str(exc)[full:]}") from None
            self.say(f"run {run_id} ({name}) stopped: {exc}")
            raise ApplicationError(str(exc), type="JournalError", category=BENIGN) from None
        except IdoError as exc:
            raise self._refused(f"run {run_id} of intent {name}: {exc}") from None
        except HandedOver as over:  # as asked: the workflow continues as new, and on with it
            self.say(f"run {run_id} ({name}) handed over: its workflow continues as new")
            return {"run_id": run_id, "outcome": HANDED_OVER, "trigger": over.trigger}
        except KeyboardInterrupt:  # the worker stops: another worker resumes the run
            self.say(f"run {run_id} ({name}) left to another worker")
            stopped = f"the worker carrying run {run_id} stopped"
            raise ApplicationError(stopped, category=BENIGN) from None
        self.say(f"run {run_id} ({name}) {report.outcome}")
        result = dict(report.__dict__)
        if report.outcome == "blocked":
            result.update(_blocked(journal, run_id))
        return result

    def catalogs(self, key: str) -> dict[str, str] | None:
        """This worker's catalog digests when `key` names them (`ido.temporal.forwarding`:
        a run of a big catalog names them so), worked out once; None: another catalog's."""
        with self._digesting:
            if self._digests is None:
                digests = catalog_digests(self.catalog.capabilities)
                self._digests = (key_of(digests), digests)
        return self._digests[1] if self._digests[0] == key else None

    def _refused(self, message: str) -> ApplicationError:
        """Say why a run is refused here, and the error that fails its workflow with it."""
        self.say(f"refused: {message}")
        return refused(message)

    def _sender(
        self, run_id: str, attempt: int, held: int, asked: threading.Event
    ) -> Callable[[Op], None]:
        """Send a write to the run's workflow (which holds `held` before this attempt's
        first), waiting until the workflow holds it; one whose reply does not come in time
        is sent again (the workflow takes it once). A refused write is a `JournalError`.
        `asked` is set once a reply asks for the run to be handed over."""
        handle = self.client.get_workflow_handle(run_id)
        place = [held]

        def send(op: Op) -> None:
            for sent in range(1, SENDS + 1):
                made = record(handle, attempt, place[0], op)
                future = asyncio.run_coroutine_threadsafe(made, self.loop)
                try:
                    if future.result(SEND_SECONDS):
                        asked.set()
                    break
                except TimeoutError:
                    future.cancel()
                    if sent == SENDS:
                        raise
            place[0] += 1

        return send

    @staticmethod
    def _heartbeat() -> threading.Event:
        """Heartbeat from a thread of its own, at once and then every quarter of the
        heartbeat timeout, until the returned event is set."""
        stop = threading.Event()
        timeout = activity.info().heartbeat_timeout
        every = timeout.total_seconds() * BEAT_SHARE if timeout else 10.0
        context = contextvars.copy_context()  # the activity's, for `heartbeat` to find

        def beat() -> None:
            context.run(activity.heartbeat)
            while not stop.wait(every):
                context.run(activity.heartbeat)

        threading.Thread(target=beat, name="ido:heartbeat", daemon=True).start()
        return stop


def _blocked(journal: ForwardingJournal, run_id: str) -> dict[str, Any]:
    """The run's report as its journal stands (a blocked run's, or one that had ended),
    with when its first waiting request expires (or None), and whether it found no plan
    before it did anything, as the report of a run that ends here says (`RunReport`):
    without it, `ido run --temporal` read the run's events again for its exit code."""
    row = journal.run(run_id)
    events = journal.events(run_id)
    given = verdicts(events)
    deadlines = [r.deadline for r in waiting_of(requests(events), given) if r.deadline is not None]
    outcome = row.outcome or "blocked"
    return {
        "run_id": run_id,
        "outcome": outcome,
        "reason": row.reason,
        "cost": row.cost,
        "duration": row.duration or 0.0,
        "found_no_plan": no_plan_of(outcome, events),
        "wait_until": min(deadlines) if deadlines else None,
    }
