"""The client side: start a run's workflow, wait for it to end or block, send it the
verdicts given locally, and read its journal back (for the local SQLite journal)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, overload

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from ido.errors import ExecutionError, JournalError
from ido.journal.records import Event
from ido.temporal.codec import CONVERTER, packed_size
from ido.temporal.forwarding import Catalogs, Op, none, replayed
from ido.temporal.security import PLAIN, Security
from ido.temporal.workflow import MOST_BYTES, NAME
from ido.testing import MemoryJournal

CONNECT_SECONDS = 10.0
POLL_SECONDS = 0.3
QUERY_SECONDS = 5.0
"""How long a query waits for a worker to answer it (it needs one running)."""
RECONNECT_SECONDS = 2.0
"""How often a wait asks again for a server that stopped answering."""


class TemporalError(ExecutionError):
    """The Temporal server could not be reached, or it refused or failed the run."""


@functools.cache
def _quiet() -> Runtime:
    """The SDK's runtime with its own log lines (each retry of a lost server's call, as
    WARN with the transport's debug text) left to errors: ido says what went wrong."""
    level = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=level)))


RETRIES_QUIET = ",".join(
    [
        TelemetryFilter(core_level="WARN", other_level="WARN").formatted(),
        "temporalio_client::retry=ERROR",
    ]
)
"""A worker's SDK log filter: its warnings, less one per retry of each call to a server
that is gone (two a second, coloured, with the transport's debug text); the worker says
that once itself (`watch_server`)."""


@functools.cache
def _retries_quiet() -> Runtime:
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=RETRIES_QUIET)))


async def connect(
    address: str, namespace: str, quiet: bool = True, security: Security = PLAIN
) -> Client:
    """A client of the server at `address`, over TLS and with an API key if `security`
    says so; a `TemporalError` naming it when unreachable, or when it has no such
    namespace. `quiet=False` (a worker) keeps the SDK's warnings but its retries'."""
    runtime = _quiet() if quiet else _retries_quiet()
    try:
        client = await asyncio.wait_for(
            Client.connect(
                address,
                namespace=namespace,
                runtime=runtime,
                tls=_tls(security),
                api_key=security.api_key,
                data_converter=CONVERTER,
            ),
            CONNECT_SECONDS,
        )
    except (RuntimeError, OSError, TimeoutError, RPCError) as exc:
        why = _unreached(_unsaid(str(exc), security), security)
        over = security.over()
        raise TemporalError(
            f"cannot reach the Temporal server at {address} (namespace {namespace}{over}): {why}"
        ) from None
    # Asked now: a namespace the server lacks is otherwise said only once a run is started
    # (or, by a worker, as the SDK's traceback).
    asked = DescribeNamespaceRequest(namespace=namespace)
    try:
        await client.workflow_service.describe_namespace(asked, timeout=timedelta(seconds=10))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise TemporalError(
                f"the Temporal server at {address} has no namespace {namespace}"
            ) from None
        why = _unsaid(exc.message, security)
        if exc.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
            raise TemporalError(
                f"the Temporal server at {address} refused this client for namespace "
                f"{namespace}: {why} (its API key, --api-key-env, or client certificate)"
            ) from None
        raise TemporalError(f"the Temporal server at {address}: {why}") from None
    return client


async def watch_server(
    client: Client, address: str, say: Callable[[str], None], every: float = 5.0
) -> None:
    """Say once when the server stops answering (stopped, restarting, cut off), and once
    when it answers again; until cancelled."""
    lost = False
    while True:
        try:
            await client.service_client.check_health(timeout=timedelta(seconds=every))
            if lost:
                say(f"the Temporal server at {address} answers again")
            lost = False
        except RPCError as exc:
            if exc.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                return  # a server that does not serve health checks (a proxy): not watched
            if not lost:
                why = _why(exc.message)
                say(
                    f"lost the Temporal server at {address} ({why}): waiting for it to answer again"
                )
            lost = True
        await asyncio.sleep(every)


def _tls(security: Security) -> TLSConfig | bool:
    """The SDK's TLS settings for `security` (False: plaintext)."""
    if not security.secured:
        return False
    return TLSConfig(
        server_root_ca_cert=security.ca,
        domain=security.server_name,
        client_cert=security.cert,
        client_private_key=security.key,
    )


def _unsaid(text: str, security: Security) -> str:
    """`text` with the API key cut out, should the SDK's error ever repeat it."""
    key = security.api_key
    return text.replace(key, "***") if key else text


def _unreached(text: str, security: Security) -> str:
    """Why the server could not be reached, from the SDK's error: its TLS verdict on the
    server's certificate in words, and what to try when the handshake itself failed."""
    if "NotValidForName" in text:
        names = ", ".join(re.findall(r'DnsName\(\\?"([^"\\]+)', text)) or "other names"
        return (
            f"the server's certificate is not for the host dialed (it names {names}): give "
            "the name it carries with --tls-server-name"
        )
    if "UnknownIssuer" in text:
        return (
            "the server's certificate is signed by a CA this client does not trust: give "
            "that CA's certificate with --tls-ca"
        )
    found = re.search(r"InvalidCertificate\((\w+)", text)
    if found:
        return f"the server's certificate is refused ({found.group(1)})"
    why = _why(text)
    if "after connection" not in text:  # (said when its first call found it closed)
        return why
    if security.secured:
        return (
            f"{why}: the server closed the connection (does it want a client "
            "certificate, --tls-cert and --tls-key, signed by a CA it trusts?)"
        )
    return f"{why}: the server closed the connection (does it take TLS only? give --tls)"


def _why(text: str) -> str:
    """The reason in the SDK's connection error: its OS message (`Connection refused`)
    when it has one, not the transport's debug text around it."""
    found = re.search(r'(?:message|error): "([^"]+)"', text)
    if found:
        return found.group(1).lower()
    return text.splitlines()[0] if text else "no answer"


async def start(client: Client, task_queue: str, task: dict[str, Any]) -> WorkflowHandle[Any, Any]:
    """Start the workflow of the run `task` names (its id: the run id)."""
    # The handle names no execution: it is described, asked and waited for at the latest,
    # once the workflow continued as new, and its result followed along the chain.
    try:
        return await client.start_workflow(
            NAME, task, id=str(task["run_id"]), task_queue=task_queue, result_type=dict
        )
    except RPCError as exc:
        raise TemporalError(f"the Temporal server refused run {task['run_id']}: {exc}") from None


async def outcome(
    handle: WorkflowHandle[Any, Any], after: int = 0, tell: Callable[[str], None] = print
) -> tuple[dict[str, Any], list[Op]]:
    """Wait until the run ends, or blocks in an attempt later than `after`; its report and
    its journal's writes. While no worker answers (none running), or the server does not
    (stopped, restarting), it waits on, and says so once (`tell`): the run is the
    server's, and an error here would read as the run's failure."""
    told = False
    lost = False
    while True:
        try:
            ended = await _look(handle, after)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and lost:  # back, with an empty database
                raise TemporalError(
                    f"the Temporal server answers again, but has no run {handle.id} (started "
                    f"again without its database?): the run is lost there ({exc.message})"
                ) from None
            if exc.status != RPCStatusCode.UNAVAILABLE:
                raise _lost(handle, exc) from None
            if not lost:
                tell(
                    f"lost the Temporal server ({_why(exc.message)}) while waiting for run "
                    f"{handle.id}: waiting for it to answer again (the run is kept there)"
                )
            lost = True
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        if lost:
            tell(f"the Temporal server answers again: waiting for run {handle.id}")
            lost = False
        if isinstance(ended, tuple):
            return ended
        if ended is not None:  # no worker took the query in time: none is running now
            if not told:
                tell(
                    f"no worker answers for run {handle.id} yet (ido worker on task queue "
                    f"{ended}?): waiting"
                )
            told = True
            continue
        await asyncio.sleep(POLL_SECONDS)


async def _look(
    handle: WorkflowHandle[Any, Any], after: int
) -> tuple[dict[str, Any], list[Op]] | str | None:
    """The run's report and writes when it ended or blocked in an attempt after `after`;
    None while it goes on; its task queue when no worker answered its query. The server's
    `UNAVAILABLE` is raised as it is, for `outcome` to wait out, and its `NOT_FOUND` (a
    server back without its database) for `outcome` to tell."""
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.NOT_FOUND):
            raise
        raise _lost(handle, exc) from None
    if described.status is not None and described.status.name != "RUNNING":
        try:
            result: dict[str, Any] = await handle.result()
        except RPCError as exc:
            if exc.status == RPCStatusCode.UNAVAILABLE:
                raise
            raise _lost(handle, exc) from None
        except WorkflowFailureError as exc:
            cause: Any = exc.cause
            while getattr(cause, "cause", None) is not None:
                cause = cause.cause
            raise TemporalError(
                f"run {handle.id} failed: {getattr(cause, 'message', cause)}"
            ) from None
        ops = result.pop("ops")
        return result, ops
    held = await journal_of(handle, patient=True)
    if held is None:
        return str(described.task_queue)
    report = held["report"]
    if held["waiting"] and held["attempt"] > after and report is not None:
        return report, held["ops"]
    return None


async def current(handle: WorkflowHandle[Any, Any]) -> tuple[dict[str, Any] | None, list[Op]]:
    """The run's report (None while it never stopped yet) and its writes, now."""
    try:
        described = await handle.describe()
    except RPCError as exc:
        raise _lost(handle, exc) from None
    if described.status is not None and described.status.name == "COMPLETED":
        try:
            result: dict[str, Any] = await handle.result()
        except RPCError as exc:
            raise _lost(handle, exc) from None
        return result, result.pop("ops")
    held = await journal_of(handle)
    return held["report"], held["ops"]


@overload
async def journal_of(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]: ...
@overload
async def journal_of(handle: WorkflowHandle[Any, Any], patient: bool) -> dict[str, Any] | None: ...


async def journal_of(
    handle: WorkflowHandle[Any, Any], patient: bool = False
) -> dict[str, Any] | None:
    """What the workflow holds now (its `journal` query, which a worker answers). `patient`:
    None when no worker answered in `QUERY_SECONDS`, rather than an error."""
    try:
        held: dict[str, Any] = await handle.query(
            "journal", result_type=dict, rpc_timeout=timedelta(seconds=QUERY_SECONDS)
        )
    except RPCError as exc:
        if patient and exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
            return None
        if patient and exc.status == RPCStatusCode.UNAVAILABLE:  # the caller waits it out
            raise
        raise _lost(handle, exc) from None
    return held


def _lost(handle: WorkflowHandle[Any, Any], exc: RPCError) -> TemporalError:
    """The server's error about the run's workflow (not found, gone away), on one line."""
    if exc.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
        return TemporalError(
            f"no worker answered for run {handle.id} in {QUERY_SECONDS:g} s: asking an open "
            "run needs an ido worker running on its task queue"
        )
    if exc.status == RPCStatusCode.NOT_FOUND:
        return TemporalError(f"run {handle.id}'s workflow is not open there: {exc.message}")
    return TemporalError(f"the Temporal server, asked about run {handle.id}: {exc.message}")


def events_of(
    run_id: str, ops: Sequence[Op], catalogs: Catalogs = none
) -> tuple[MemoryJournal, list[Event]]:
    """The run's journal and events as the workflow's writes make them (`catalogs`: where
    the digests of a big catalog, which its start names by their key, are found)."""
    journal = replayed(ops, catalogs)
    return journal, journal.events(run_id)


async def answer(handle: WorkflowHandle[Any, Any], events: Sequence[Event]) -> int:
    """Send verdicts recorded locally to the blocked run; the attempt they follow."""
    held = await journal_of(handle)
    try:
        await handle.signal("answer", [[e.kind, e.at, e.data] for e in events])
    except RPCError as exc:
        raise _lost(handle, exc) from None
    return int(held["attempt"])


async def record(handle: WorkflowHandle[Any, Any], attempt: int, at: int, op: Op) -> bool:
    """Make the write `op` of `attempt`, the run's write number `at` (from 0), in its
    workflow, and return once the workflow holds it: whether it asks for the run to be
    handed over (its history is long). Sent again (its reply lost), it is taken once: its
    update id, and its place, are the same. A `JournalError` when the workflow refuses it
    (the attempt was given up, the history is full)."""
    text = json.dumps(op, sort_keys=True)
    write: dict[str, Any] = {"attempt": attempt, "at": at, "op": op}
    packed = packed_size(op) if len(text) > MOST_BYTES else 0
    if packed > MOST_BYTES:
        # Sent whole, the server would refuse it past 2 MB, without a word to the run:
        # the workflow is told its size instead, and refuses it saying why.
        write = {"attempt": attempt, "at": at, "op": [op[0]], "packed": packed}
    # The server answers an update id it has seen with that update's result: the id names
    # the write itself, so that another one at the same place is judged, not taken for it.
    made = hashlib.sha256(text.encode()).hexdigest()[:16]
    try:
        held = await handle.execute_update(
            "record", write, id=f"{attempt}:{at}:{made}", result_type=dict
        )
    except WorkflowUpdateFailedError as exc:
        why = getattr(exc.cause, "message", None) or str(exc.cause or exc)
        raise JournalError(f"the Temporal workflow refused {op[0]}: {why}") from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # its sender gave up waiting: say nothing
            raise asyncio.CancelledError from None
        raise JournalError(f"the Temporal server did not answer {op[0]} in time") from None
    return bool(held.get("hand_over"))
