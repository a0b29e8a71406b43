"""`ido run`: pursue intents, one, several side by side, or dealt out to worker processes."""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ido.cli.common import (
    DEFAULT_JOURNAL,
    CatalogOpt,
    JournalOpt,
    _cut_words,
    _guard,
    _left,
    _left_by,
    _load,
    _resume_hint,
    _with_journal,
    worst,
)
from ido.cli.planners import PlannerOpt, check_planner, on_planner
from ido.cli.progress import _ended, _progress, _report, run_exit
from ido.cli.run_json import check_json_run, json_stdout, print_runs
from ido.cli.telemetry import _check_telemetry, _telemetry
from ido.cli.temporal import (
    DEFAULT_HEARTBEAT,
    DEFAULT_NAMESPACE,
    DEFAULT_QUEUE,
    HeartbeatOpt,
    NamespaceOpt,
    TaskQueueOpt,
    TemporalOpt,
    WaitOpt,
)
from ido.cli.temporal_security import (
    ApiKeyEnvOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    TlsOpt,
    TlsServerNameOpt,
    security_for,
)
from ido.dealing import DEFAULT_CONCURRENCY
from ido.errors import JournalError
from ido.exiting import settle
from ido.temporal.security import Security


@_guard
@json_stdout
def run(
    intents: Annotated[
        list[str],
        typer.Argument(metavar="INTENT...", help="Intent names or paths to intent files."),
    ],
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    planner: PlannerOpt = None,
    concurrency: Annotated[
        int, typer.Option(help="Most runs at once when several intents are given.", min=1)
    ] = DEFAULT_CONCURRENCY,
    processes: Annotated[
        int,
        typer.Option(
            help="Worker processes to share several intents out over (a process runs "
            "Python on one core); --concurrency counts the runs of all of them.",
            min=1,
        ),
    ] = 1,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only the outcome (with its reason, and how to explain it: of several "
            "intents, each run not achieved).",
        ),
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="text, or json: once the runs end, a JSON array of them (the keys of ido "
            "runs --format json), and no progress lines.",
        ),
    ] = "text",
    temporal: TemporalOpt = None,
    task_queue: TaskQueueOpt = DEFAULT_QUEUE,
    namespace: NamespaceOpt = DEFAULT_NAMESPACE,
    wait: WaitOpt = True,
    heartbeat_timeout: HeartbeatOpt = DEFAULT_HEARTBEAT,
    tls: TlsOpt = False,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    tls_server_name: TlsServerNameOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    worker: Annotated[bool, typer.Option("--worker", hidden=True)] = False,
    tag_runs: Annotated[bool, typer.Option("--tag-runs", hidden=True)] = False,
) -> None:
    """Pursue intents: observe, decide, act and replan until an outcome.

    Several intents run side by side (at most --concurrency at once), each its own run in
    the same journal; lines are prefixed with the intent's name. With --processes N they
    are dealt out to N worker processes as they ask for more. With --temporal HOST:PORT
    the run is pursued by the workers of a Temporal server (ido worker). With --planner
    NAME, every run plans with that backend instead of its intent's, and records it.
    """
    check_planner(planner)
    check_json_run(fmt, temporal, processes, len(intents))
    quiet = quiet or fmt == "json"
    security = security_for(temporal, tls, tls_ca, tls_cert, tls_key, tls_server_name, api_key_env)
    if temporal is not None:
        _run_on_temporal(
            intents,
            catalog,
            journal,
            temporal,
            task_queue,
            namespace,
            wait,
            heartbeat_timeout,
            security,
            planner,
            quiet,
        )
    if processes > 1 and len(intents) > 1 and not worker:
        _run_in_processes(intents, catalog, journal, concurrency, processes, quiet, planner)
    from ido.fanout import dismiss
    from ido.loading.load import find_intent

    dismiss()  # spares started from a glance at the arguments (`ido.fanout`): not needed

    loaded = _load(catalog, intents)
    chosen = [on_planner(find_intent(loaded, reference), planner) for reference in intents]
    from ido.cli.run_catalog import started_with

    # For `ido resume` to load again: each run its own intent's file, not the others'
    # (one of those gone would refuse the resume of a run that never needed it).
    recorded = {i.name: started_with(catalog, [r]) for i, r in zip(chosen, intents, strict=True)}
    from ido.journal.sqlite import SqliteJournal
    from ido.runtime import local  # noqa: F401  (loaded before a worker is let go)

    # What is loaded lives until the process ends (`ido.exiting.settle`).
    channel = None
    if worker:
        from ido.fanout import wait_for_go

        channel = wait_for_go(meanwhile=settle)
        if channel is None:  # stood down: the command has told what was wrong
            raise typer.Exit(0)
    else:
        settle()
    if len(chosen) == 1 and not worker:
        started: list[str] = []
        with _telemetry() as telemetry, SqliteJournal(journal) as store:
            try:
                progress = None if quiet else _progress
                report = _run_one(
                    loaded, chosen[0], store, progress, telemetry, started, recorded[chosen[0].name]
                )
            except KeyboardInterrupt as exc:
                _left(exc, started, journal)
                raise
            except JournalError as exc:
                raise _left_by(exc, started, store, journal) from None
        if fmt == "json":
            print_runs(journal, [report.run_id])
            raise typer.Exit(run_exit(report, journal))
        _report(report, journal)
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()
    names = [intent.name for intent in chosen]
    ended: list[tuple[str, str, Any]] = []  # label, intent, report or run id: as runs stop
    unbegun: list[str] = []  # the intents taken and stopped before their runs began
    stranded: list[str] = []  # the runs a journal that could not be written stopped
    cut: dict[str, KeyboardInterrupt] = {}  # run id → what stopped it (its steps cut short)

    def one(intent: Any) -> Any:
        label = [intent.name]
        started: list[str] = []

        def named(run_id: str) -> None:
            if tag_runs or names.count(intent.name) > 1:
                # Runs of one intent side by side: told apart by their run ids' ends.
                label[0] = f"{intent.name} …{run_id[-6:]}"

        def listener(kind: str, data: Mapping[str, Any]) -> None:
            if kind == "run_started":
                named(str(data["run_id"]))
            with lock:
                _progress(kind, data, prefix=f"[{label[0]}] ")

        try:  # (quiet: no listener, so a decision keeps no heartbeat for nobody)
            report = _run_one(
                loaded,
                intent,
                store,
                None if quiet else listener,
                telemetry,
                started,
                recorded[intent.name],
            )
        except KeyboardInterrupt as exc:
            with lock:
                if started:
                    named(started[0])
                    ended.append((label[0], intent.name, started[0]))
                    cut[started[0]] = exc
                else:
                    unbegun.append(intent.name)
            raise
        except JournalError:  # the others' runs are stopped too, each on its next commit
            with lock:
                stranded.extend(started)
            raise
        named(started[0])
        with lock:
            ended.append((label[0], intent.name, report))
        return label[0], report

    from ido.runtime import stopping

    dealt = None
    if channel is not None:
        from ido.dealing import Dealt

        def say(line: str) -> None:
            with lock:  # a line of its own among the runs' lines
                typer.echo(line)

        dealt = Dealt(chosen, say, channel)
    stopping.reset()
    # One journal for all: runs side by side share its commits (see SqliteJournal).
    with (
        _telemetry() as telemetry,
        SqliteJournal(journal, checked=worker) as store,  # (a worker's: by the command)
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        try:
            if dealt is not None:  # the intents the command deals out, into `chosen`
                reports = _run_dealt(pool, concurrency, dealt, one)
            else:
                reports = list(pool.map(one, chosen))
        except KeyboardInterrupt as exc:  # reaches this thread only: the runs are told to stop
            stopping.stop(exc)
            _shut_down(pool)
            if dealt is None:  # of the command's intents, those no run was started for
                ran = collections.Counter(intent for _, intent, _ in ended)
                left = list((collections.Counter(names) - ran).elements())
            else:  # of a worker's, those taken too late and those dealt and not taken
                left = unbegun + [i.name for i in dealt.left()]
            for line in _stopped_lines(ended, left, journal, cut):
                typer.echo(line, err=fmt == "json")  # (stdout holds JSON alone, or nothing)
            if worker:  # the command says "interrupted", once for all its workers
                raise typer.Exit(stopping.exit_code(exc)) from None
            raise
        except JournalError as exc:  # the first run's, in order: each run it stopped named
            pool.shutdown(wait=True)
            raise _left_by(exc, stranded, store, journal) from None
        finally:
            stopping.reset()
    if fmt == "json" and not worker:
        print_runs(journal, [report.run_id for _, report in reports])
    for label, report in reports if fmt != "json" else ():  # prefixed as the runs' lines are
        for line in _batch_lines(label, report, journal):  # and in their order
            typer.echo(line)
    codes = [run_exit(r, journal) for _, r in reports]  # none: a worker dealt no intent
    raise typer.Exit(worst(codes))


def _stopped_lines(
    ended: Sequence[tuple[str, str, Any]],
    not_started: Sequence[str],
    journal: Path,
    cut: Mapping[str, KeyboardInterrupt] | None = None,
) -> list[str]:
    """What each run of an interrupted `ido run A B …` came to, as the runs stopped: the
    outcome of each that ended, the `ido resume` of each left interrupted (with the steps
    it cut short, by run id in `cut`), and the intents `not_started`, counted by name for
    running them again."""
    lines = []
    for label, _, how in ended:
        if isinstance(how, str):
            stopped = (cut or {}).get(how, KeyboardInterrupt())
            lines.append(f"[{label}] interrupted{_cut_words(stopped, _resume_hint(how, journal))}")
        else:
            lines += _batch_lines(label, how, journal)
    if not_started:
        lines.append(f"not started: {_tally(collections.Counter(not_started))}")
    return lines


def _batch_lines(label: str, report: Any, journal: Path) -> list[str]:
    """`_batch_line`, and for a run not achieved, how to explain it: `[label] why: ido
    explain r…` (`--quiet`'s help promised it, and a failed run's reason is often cut
    short of what explain tells)."""
    line = _batch_line(label, report)
    if report.outcome == "achieved":
        return [line]
    return [line, f"[{label}] why: {_with_journal(f'ido explain {report.run_id}', journal)}"]


def _batch_line(label: str, report: Any) -> str:
    """How one run of `ido run A B …` ended, on one line among the others':
    `[label] achieved: run r…, cost 0.80 (reason)`."""
    line = f"[{label}] {_ended(report)}"
    return line + (f" ({report.reason})" if report.reason else "")


def _run_dealt(pool: Any, concurrency: int, dealt: Any, one: Any) -> list[Any]:
    """In a worker: run the intents dealt to it (`ido.dealing.Dealt`), `concurrency` at
    once, in the order dealt; what `one` gives for each (its label and report)."""
    taken = itertools.count()

    def drain() -> list[tuple[int, Any]]:
        done = []
        while (intent := dealt.take()) is not None:
            order = next(taken)
            done.append((order, one(intent)))
        return done

    threads = [pool.submit(drain) for _ in range(concurrency)]
    return [report for _, report in sorted(pair for t in threads for pair in t.result())]


def _shut_down(pool: Any) -> None:
    """Wait for the runs to stop; another Ctrl-C meanwhile does not cut the wait short."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue


def _tally(counted: Mapping[str, int]) -> str:
    """Intents as counted, for running them again: `ship-order ×5, ship-order-2`."""
    return ", ".join(r if n == 1 else f"{r} ×{n}" for r, n in counted.items())


def _run_in_processes(
    intents: list[str],
    catalog: list[Path] | None,
    journal: Path,
    concurrency: int,
    processes: int,
    quiet: bool,
    planner: str | None = None,
) -> None:
    """`ido run` in worker processes, the intents dealt out to them as they ask (see
    `ido.fanout`); exits with the worst outcome of all."""
    from ido.dealing import Dealer
    from ido.fanout import concurrencies, death, exit_code, run_workers, worker_command
    from ido.fanout import workers as counted
    from ido.journal.sqlite import SqliteJournal

    def check() -> None:  # while the workers load the catalog
        _check_telemetry()  # so a malformed OTEL_* variable is told once, not by every worker
        with SqliteJournal(journal):  # made (or refused) once, before the workers open it
            pass

    position = {r: i for i, r in enumerate(dict.fromkeys(intents))}  # each loaded once
    references = list(position)
    most = concurrencies(concurrency, counted(processes, concurrency, len(intents)))
    common = ["--journal", str(journal), "--worker", *(["--quiet"] if quiet else [])]
    common += ["--planner", planner] if planner is not None else []
    if len(references) < len(intents):  # an intent named twice: each run's lines tagged
        common.append("--tag-runs")
    for extra in catalog or []:
        common += ["--catalog", str(extra)]
    commands = [
        worker_command(["run", *common, "--concurrency", str(each), "--", *references])
        for each in most
    ]
    dealer = Dealer([position[r] for r in intents], most)
    try:
        ended = run_workers(commands, lambda line, err: typer.echo(line, err=err), check, dealer)
    except KeyboardInterrupt:  # each worker said what its runs came to; these none took
        for line in _stopped_lines([], [references[i] for i in dealer.undealt()], journal):
            typer.echo(line)
        raise
    codes = [e.code for e in ended]
    for number, end in enumerate(ended, 1):
        why = death(end.code)
        if why is not None and end.let_go:
            given = collections.Counter(references[i] for i in dealer.given(number - 1))
            named = _tally(given)
            noun = "intent" if given.total() == 1 else "intents"
            typer.echo(
                f"error: worker {number} was {why}; it had been dealt {given.total()} "
                f"{noun} ({named}): the runs it ended are in the journal, those in flight "
                "are left interrupted (ido runs; ido resume RUN), and the others were not run",
                err=True,
            )
        elif why is not None:
            typer.echo(f"error: worker {number} was {why} before it started any run", err=True)
    undealt = collections.Counter(references[i] for i in dealer.undealt())
    if undealt and any(e.let_go for e in ended):  # named, so that they can be run again
        named = _tally(undealt)
        typer.echo(f"error: not started, no worker was left to run them: {named}", err=True)
        codes.append(1)
    if not any(e.let_go for e in ended) and not any(codes):  # left early, saying nothing
        typer.echo("error: a worker ended before it was ready; no run was started", err=True)
        codes.append(1)
    terminated = _terminated_by(codes)
    if terminated:  # the workers stopped their runs on it, and left the saying to the command
        typer.echo(f"interrupted (terminated by {terminated})", err=True)
    raise typer.Exit(worst(exit_code(c) for c in codes))


def _terminated_by(codes: Iterable[int]) -> str | None:
    """The signal (SIGTERM, SIGHUP) that workers with these exit codes stopped on, if any:
    one of those that stop ido's runs, other than Ctrl-C's SIGINT."""
    import signal

    from ido.runtime.stopping import STOPPING_SIGNALS

    stops = [s for s in STOPPING_SIGNALS if s != signal.SIGINT]
    return next((signal.Signals(c - 128).name for c in codes if c - 128 in stops), None)


def _run_one(
    loaded: Any,
    intent: Any,
    store: Any,
    listener: Any,
    telemetry: Any,
    started: list[str],
    context: Mapping[str, Any],
) -> Any:
    """Run `intent`, `context` recorded with its start; its run id is added to `started`
    once it has one, however the run ends (an interruption names the run it stopped),
    without a listener to learn it from."""
    from ido.runtime.local import LocalRuntime

    runtime = LocalRuntime(loaded, store, base=Path.cwd(), listener=listener, telemetry=telemetry)
    try:
        return runtime.run(intent, context)
    finally:
        if runtime.carrying is not None:
            started.append(runtime.carrying)


def _run_on_temporal(
    intents: list[str],
    catalog: list[Path] | None,
    journal: Path,
    address: str,
    task_queue: str,
    namespace: str,
    wait: bool,
    heartbeat: float,
    security: Security,
    planner: str | None = None,
    quiet: bool = False,
) -> None:
    """`ido run INTENT --temporal HOST:PORT` (`ido.cli.temporal.run_remote`)."""
    from ido.cli.temporal import run_remote
    from ido.loading.load import find_intent

    if len(intents) != 1:
        raise typer.BadParameter("give one intent with --temporal", param_hint="INTENT")
    loaded = _load(catalog, intents)
    intent = on_planner(find_intent(loaded, intents[0]), planner)
    run_remote(
        loaded, intent, journal, address, task_queue, namespace, wait, heartbeat, security, quiet
    )
    raise typer.Exit(0)  # (no wait: started, and said so)
