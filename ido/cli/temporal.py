"""`ido worker`, and `ido run` / `ido resume` with `--temporal`: runs on a Temporal server.

Nothing here imports temporalio at module level: `ido run` without `--temporal` must not
pay for it (`ido.temporal` is its one home)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

from ido.cli.common import DEFAULT_JOURNAL, CatalogOpt, JournalOpt, _guard, _load, _tell
from ido.cli.temporal_security import (
    ApiKeyEnvOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    TlsOpt,
    TlsServerNameOpt,
    hint,
    security_of,
)
from ido.cli_typer import IdoTyper
from ido.errors import IdoError, NotFoundError
from ido.temporal.security import PLAIN, Security

ADDRESS = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-_]*):(\d{1,5})")


def _address(value: str | None) -> str | None:
    """`--temporal`: HOST:PORT, said of here rather than as the SDK's traceback."""
    if value is None:
        return None
    found = ADDRESS.fullmatch(value)
    if found is None or not 0 < int(found.group(1)) < 65536:
        raise typer.BadParameter(
            f"{value!r} is not HOST:PORT (as 127.0.0.1:7233, without http://)",
            param_hint="'--temporal'",
        )
    return value


TemporalOpt = Annotated[
    str | None,
    typer.Option(
        "--temporal",
        metavar="HOST:PORT",
        callback=_address,
        help="Run on the Temporal server at HOST:PORT, by its workers (ido worker).",
    ),
]
AddressOpt = Annotated[
    str,
    typer.Option(
        "--temporal", metavar="HOST:PORT", callback=_address, help="The Temporal server's address."
    ),
]
TaskQueueOpt = Annotated[
    str, typer.Option("--task-queue", help="The Temporal task queue the workers serve.")
]
NamespaceOpt = Annotated[str, typer.Option("--namespace", help="The Temporal namespace.")]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="With --temporal: wait until the run ends or blocks, and import its events "
        "into the journal.",
    ),
]
HeartbeatOpt = Annotated[
    float,
    typer.Option(
        "--heartbeat-timeout",
        min=1.0,
        max=3600.0,
        help="With --temporal: seconds without a heartbeat before a worker counts as dead "
        "and another resumes the run.",
    ),
]
DEFAULT_QUEUE = "ido"
DEFAULT_NAMESPACE = "default"
DEFAULT_HEARTBEAT = 30.0


@_guard
def worker(
    temporal: AddressOpt,
    catalog: CatalogOpt = None,
    task_queue: TaskQueueOpt = DEFAULT_QUEUE,
    namespace: NamespaceOpt = DEFAULT_NAMESPACE,
    concurrency: Annotated[int, typer.Option(help="Most runs at once.", min=1)] = 4,
    tls: TlsOpt = False,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    tls_server_name: TlsServerNameOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
) -> None:
    """Pursue runs started with ido run --temporal, on this folder's catalog, until
    interrupted (Ctrl-C): a run it carries then is resumed by another worker."""
    import asyncio
    import os

    from ido.exiting import teardown_crashes
    from ido.temporal.worker import serve

    security = security_of(tls, tls_ca, tls_cert, tls_key, tls_server_name, api_key_env)
    if api_key_env is not None:  # bindings inherit the worker's environment: not the key
        os.environ.pop(api_key_env, None)
    loaded = _load(catalog, None)
    # The SDK's threads (Rust's) may call into Python while the interpreter tears down,
    # which aborts it (SIGABRT, after `worker stopped`: temporalio issue #300).
    teardown_crashes("the Temporal SDK's threads abort the interpreter's teardown")
    asyncio.run(
        serve(temporal, namespace, task_queue, loaded, Path.cwd(), _tell, concurrency, security)
    )
    _tell("worker stopped")


CONTINUE_AFTER = "IDO_TEMPORAL_CONTINUE_AFTER"
"""The history length (events) past which a run's workflow continues as new, lower than
the workflow's own 5,000: to see it happen, or for tests to make it happen often."""


def continue_after(value: str | None) -> int | None:
    """`IDO_TEMPORAL_CONTINUE_AFTER`'s events, None when unset; an error when not a count."""
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise IdoError(f"{CONTINUE_AFTER} must be a positive whole number, not {value!r}")
    return int(value)


def run_remote(
    loaded: Any,
    intent: Any,
    journal: Path,
    address: str,
    task_queue: str,
    namespace: str,
    wait: bool,
    heartbeat: float,
    security: Security = PLAIN,
    quiet: bool = False,
) -> None:
    """`ido run INTENT --temporal`: start the run's workflow; waiting, import its events
    when it ends or blocks and say its outcome as `ido run` does (`quiet`: that alone, as
    `ido run -q` does; not waiting, that it started is the outcome, and said)."""
    import time

    from ido.runtime.core import new_run_id
    from ido.temporal import client
    from ido.temporal.activity import catalog_digest

    run_id = new_run_id(time.time())
    task: dict[str, Any] = {
        "intent": intent.name,
        "planner": intent.spec.planner,  # (`ido run --planner`'s, or the intent's own)
        "catalog_digest": catalog_digest(loaded),
        "run_id": run_id,
        "heartbeat": heartbeat,
        "temporal": {"address": address, "task_queue": task_queue, "namespace": namespace},
    }
    if security.flags:  # for the commands ido suggests (paths and names: never the key)
        task["temporal"]["flags"] = list(security.flags)
    after = continue_after(os.environ.get(CONTINUE_AFTER))
    if after is not None:
        task["continue_after"] = after

    async def go() -> tuple[dict[str, Any], list[Any]] | None:
        connection = await client.connect(address, namespace, security=security)
        handle = await client.start(connection, task_queue, task)
        if not (quiet and wait):
            _tell(f"started run {run_id} ({intent.name}) on {address}, task queue {task_queue}")
        return await client.outcome(handle, tell=_tell) if wait else None

    _wait_out(go(), run_id, address, security, journal, loaded)


def resume_remote(
    run_ref: str,
    journal: Path,
    address: str,
    namespace: str,
    wait: bool = True,
    security: Security = PLAIN,
    catalog: list[Path] | None = None,
) -> None:
    """`ido resume RUN --temporal`: send the verdicts given locally (`ido approve`,
    `ido reject`) to the blocked run's workflow and wait for it again (`catalog`: its
    --catalog, where a big catalog's digests may be)."""
    from ido.journal.sqlite import SqliteJournal
    from ido.temporal import client

    with SqliteJournal(journal, reading=True) as store:  # (written by the import alone)
        run_id = store.resolve(run_ref)
        local = store.events(run_id)
    _on_temporal(run_id, local)

    async def go() -> tuple[dict[str, Any], list[Any]] | None:
        connection = await client.connect(address, namespace, security=security)
        handle = connection.get_workflow_handle(run_id)
        held = await client.journal_of(handle)
        _, remote = client.events_of(run_id, held["ops"], _catalogs(journal, extra=catalog))
        verdicts = [
            e
            for e in local
            if e.seq > len(remote) and e.kind in ("approval_given", "approval_rejected")
        ]
        attempt = await client.answer(handle, verdicts)
        _tell(f"sent {len(verdicts)} verdict(s) to run {run_id} on {address}")
        return await client.outcome(handle, attempt, _tell) if wait else None

    _wait_out(go(), run_id, address, security, journal, extra=catalog)


def _on_temporal(run_id: str, events: Any) -> None:
    """Refuse to look for a workflow of a run this journal pursued itself: the server would
    say only that it has no such workflow."""
    from ido.journal.records import temporal_of

    if events and temporal_of(events) is None:
        raise IdoError(
            f"run {run_id} was run here, not on a Temporal server: continue it with "
            f"ido resume {run_id} (without --temporal)"
        )


def _wait_out(
    go: Coroutine[Any, Any, tuple[dict[str, Any], list[Any]] | None],
    run_id: str,
    address: str,
    security: Security,
    journal: Path,
    loaded: Any = None,
    extra: list[Path] | None = None,
) -> None:
    """Run `go` (`run_remote`'s, `resume_remote`'s) and import the run it saw end or
    block (`loaded`: the catalog it was started with, if loaded, else `extra`: the
    command's --catalog); Ctrl-C stops only the
    wait: the run goes on on the server, and how to import it later is said."""
    import asyncio

    try:
        ended = asyncio.run(go)
    except KeyboardInterrupt:
        pull = f"ido temporal pull {run_id} --temporal {address}{hint(security)}"
        _tell(f"stopped waiting; run {run_id} goes on on the server: import it with {pull}")
        raise
    if ended is not None:
        _ended(run_id, *ended, journal, _catalogs(journal, loaded, extra))


temporal_app = IdoTyper(
    help="Runs on a Temporal server (see also ido worker, ido run --temporal).",
    no_args_is_help=True,
)


@temporal_app.command("pull")
@_guard
def pull(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run id (its workflow's id).")],
    temporal: AddressOpt,
    namespace: NamespaceOpt = DEFAULT_NAMESPACE,
    journal: JournalOpt = DEFAULT_JOURNAL,
    catalog: CatalogOpt = None,
    tls: TlsOpt = False,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    tls_server_name: TlsServerNameOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
) -> None:
    """Import a run's events from its workflow into the journal, as they stand (a run
    started with --no-wait, or one still going); a run of a big catalog started with
    --catalog is pulled with the same --catalog."""
    import asyncio

    from ido.journal.sqlite import SqliteJournal
    from ido.temporal import client

    security = security_of(tls, tls_ca, tls_cert, tls_key, tls_server_name, api_key_env)

    async def go() -> tuple[dict[str, Any] | None, list[Any]]:
        connection = await client.connect(temporal, namespace, security=security)
        return await client.current(connection.get_workflow_handle(run_id))

    _, ops = asyncio.run(go())
    if not ops:
        raise NotFoundError(f"run {run_id} on {temporal} has recorded nothing yet")
    held, events = client.events_of(run_id, ops, _catalogs(journal, extra=catalog))
    with SqliteJournal(journal) as store:
        added = store.import_run(held.run(run_id), events, held.replies())
    row = held.run(run_id)
    state = row.outcome or "running (or interrupted)"
    _tell(f"imported {added} new event(s) of run {run_id}: {state}")


def _ended(
    run_id: str,
    report: dict[str, Any],
    ops: list[Any],
    journal: Path,
    catalogs: Callable[[str], dict[str, Any] | None],
) -> None:
    """Import the run's events into the local journal (a big catalog's digests from
    `catalogs`), then say its outcome."""
    from ido.cli.progress import _report
    from ido.journal.sqlite import SqliteJournal
    from ido.temporal.client import events_of

    held, events = events_of(run_id, ops, catalogs)
    with SqliteJournal(journal) as store:
        store.import_run(held.run(run_id), events, held.replies())
    fields = ("run_id", "outcome", "reason", "cost", "duration", "found_no_plan")
    _report(SimpleNamespace(**{f: report.get(f) for f in fields}), journal)


def _catalogs(
    journal: Path, loaded: Any = None, extra: list[Path] | None = None
) -> Callable[[str], dict[str, Any] | None]:
    """Where an import finds the digests of a big catalog, which a run's start names by
    their key (`ido.temporal.forwarding.by_digest`): the journal's `catalogs` table (a run
    of that catalog journaled or imported here before), else this folder's catalog
    (`loaded`, or loaded with the command's --catalog, `extra`, when first asked; its
    warnings unsaid: nothing here runs it), when they are its digests. The journal is
    opened to read: opened to write, it was checked whole each time (about 0.2 s a 100 MB
    journal), then again by the import that follows."""
    from ido.catalog_record import catalog_digests
    from ido.cli.common import _catalog_paths
    from ido.journal.catalogs import key_of
    from ido.journal.sqlite import SqliteJournal
    from ido.loading.load import load_catalog

    own: list[tuple[str, dict[str, str]]] = []

    def find(key: str) -> dict[str, Any] | None:
        if journal.exists():
            with SqliteJournal(journal, reading=True) as store:  # (not checked whole)
                text = store.catalog(key)
            if text is not None:
                found: dict[str, Any] = json.loads(text)
                return found
        if not own:
            try:
                catalog = loaded if loaded is not None else load_catalog(_catalog_paths(extra))
            except IdoError:  # no catalog here: said as the run's start wanting one
                return None
            digests = catalog_digests(catalog.capabilities)
            own.append((key_of(digests), digests))
        return own[0][1] if own[0][0] == key else None

    return find
