"""`ido resume`, `ido runner` and `ido compensate`: continue interrupted and blocked runs, and
undo again what a failed run left undone."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ido.cli.common import (
    DEFAULT_JOURNAL,
    CatalogOpt,
    JournalOpt,
    RunRef,
    _catalog_paths,
    _guard,
    _left,
    _left_by,
    _load,
    _with_journal,
)
from ido.cli.planners import check_planner, same_planner
from ido.cli.progress import _outcome_lines, _progress, _report, run_exit
from ido.cli.run_catalog import load_as_started
from ido.cli.run_json import check_json_run, json_stdout, print_runs
from ido.cli.telemetry import _telemetry
from ido.cli.temporal import DEFAULT_NAMESPACE, NamespaceOpt, TemporalOpt
from ido.cli.temporal_security import (
    ApiKeyEnvOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    TlsOpt,
    TlsServerNameOpt,
    security_for,
)
from ido.errors import IdoError, JournalError, NotFoundError

if TYPE_CHECKING:
    from ido.journal.records import Event
    from ido.journal.sqlite import SqliteJournal
    from ido.loading.catalog import Catalog
    from ido.runtime.local import LocalRuntime, RunReport


@_guard
@json_stdout
def resume(
    run_ref: RunRef,
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    planner: Annotated[
        str | None,
        typer.Option(
            "--planner",
            metavar="NAME",
            help="The planner the run was started with (it goes on with it; another is refused).",
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the outcome (with its reason, and how to explain it)."
        ),
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="text, or json: once the run stops, a JSON array of it (as ido run -f json), "
            "and no progress lines.",
        ),
    ] = "text",
    temporal: TemporalOpt = None,
    namespace: NamespaceOpt = DEFAULT_NAMESPACE,
    tls: TlsOpt = False,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    tls_server_name: TlsServerNameOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
) -> None:
    """Continue an interrupted run, or a blocked one once its approvals are answered, from
    its journal; completed steps are never repeated. With --temporal HOST:PORT, send the
    verdicts given here to the run's workflow, and wait for it again. A run goes on with the
    planner it was started with: a --planner naming another is refused."""
    from ido.journal.sqlite import SqliteJournal
    from ido.runtime.local import LocalRuntime

    check_planner(planner)
    check_json_run(fmt, temporal, 1, 1)
    security = security_for(temporal, tls, tls_ca, tls_cert, tls_key, tls_server_name, api_key_env)
    if not journal.exists():
        raise NotFoundError(f"no journal at {journal}; nothing to resume")
    if planner is not None:  # before anything is done: a remote resume too
        with SqliteJournal(journal, reading=True) as store:
            run_id = store.resolve(run_ref)
            same_planner(run_id, store.events(run_id), planner)
    if temporal is not None:
        from ido.cli.temporal import resume_remote

        resume_remote(run_ref, journal, temporal, namespace, security=security, catalog=catalog)
    from ido.runtime.recovery import refuse_ended

    with SqliteJournal(journal) as store:  # (a journal it may not write: refused first)
        run_id = store.resolve(run_ref)
        refuse_ended(store.run(run_id))  # (before its catalog, which it would not need)
        loaded = load_as_started(catalog, store.started(run_id), run_id)
        _not_on_temporal(run_id, store.events(run_id))
        _warn_policies_changed(store, run_id, loaded)
        quiet = quiet or fmt == "json"
        report = _carry_on(LocalRuntime.resume, loaded, store, journal, run_id, quiet)
    if fmt == "json":
        print_runs(journal, [report.run_id])
        raise typer.Exit(run_exit(report, journal))
    _report(report, journal)


def _warn_policies_changed(store: Any, run_id: str, loaded: Catalog, of: str = "") -> None:
    """Warn, before going on, of policies that governed the run's last decision and are
    edited or gone (a `--catalog` left out: the company's enforced rules with it), or of
    enforced ones added: the run goes on under the catalog as it stands. `of`: the run
    named first (`run r…: `), where several are carried on. Nothing for a run that ended,
    that nobody answered, or that lacks a policy it lists: resuming refuses it, and says why."""
    import time

    from ido.approval_verdicts import check_answered
    from ido.approvals import requests, verdicts
    from ido.explain_policies import changed_since, changed_warning
    from ido.policy import policy_digests
    from ido.text import printable

    outcome = store.run(run_id).outcome
    if outcome not in (None, "blocked"):
        return  # (it ended: resuming refuses it, and nothing governs it from here on)
    events = store.events(run_id)
    if outcome == "blocked":
        try:  # (nobody answered it: resuming refuses it, saying what it waits for)
            check_answered(run_id, requests(events), verdicts(events), time.time())
        except IdoError:
            return
    policies = loaded.policies
    started: dict[str, Any] = next((e.data for e in events if e.kind == "run_started"), {})
    listed = ((started.get("intent") or {}).get("spec") or {}).get("policies") or []
    if any(name not in policies for name in listed):
        return  # (the run does not go on without one it lists: resuming refuses, naming it)
    decisions = [e.data for e in events if e.kind == "decided"]
    enforced = [n for n, p in policies.items() if p.spec.enforced]
    changed = changed_since(decisions, policy_digests(policies, policies), enforced)
    if changed is not None:
        typer.echo(printable(f"warning: {of}{changed_warning(changed)}"), err=True)


def _carry_on(
    how: Callable[[LocalRuntime, str], RunReport],
    loaded: Catalog,
    store: SqliteJournal,
    journal: Path,
    run_id: str,
    quiet: bool,
) -> RunReport:
    """Carry run `run_id` on here (`how`: resume it, or undo again what it left undone),
    with progress unless `quiet`; interrupted, say how the run was left."""
    from ido.runtime.local import LocalRuntime

    with _telemetry() as telemetry:
        runtime = LocalRuntime(
            loaded,
            store,
            base=Path.cwd(),
            listener=None if quiet else _progress,
            telemetry=telemetry,
        )
        try:
            return how(runtime, run_id)
        except KeyboardInterrupt as exc:
            _left(exc, [run_id], journal)
            raise
        except JournalError as exc:
            raise _left_by(exc, [run_id], store, journal) from None


def _not_on_temporal(run_id: str, events: Any) -> None:
    """Refuse to carry on here a run a Temporal server pursues: its workflow would go on
    with it too, and each would perform its steps."""
    from ido.journal.records import resume_command, temporal_of

    temporal = temporal_of(events)
    if temporal is not None:
        raise IdoError(
            f"run {run_id} is pursued on the Temporal server at {temporal.get('address')}; "
            f"continue it there: {resume_command(run_id, events)}"
        )


@_guard
def compensate(
    run_ref: RunRef,
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="List the compensations it would try again; do nothing."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the outcome (with its reason, and how to explain it)."
        ),
    ] = False,
    unknown_too: Annotated[
        bool,
        typer.Option(
            "--unknown-too",
            help="Also make again a compensation that is not idempotent whose outcome is "
            "unknown (it timed out, or was cut short): it may have been made; check first.",
        ),
    ] = False,
) -> None:
    """Try again the compensations a failed run left undone (failed after every attempt, or
    left to a person), once what made them fail is mended; exit 0 when nothing is left
    undone after."""
    from ido.journal.sqlite import SqliteJournal
    from ido.runtime.local import LocalRuntime
    from ido.runtime.undoing import left_undone, outcome_unknown, to_undo_again
    from ido.text import printable

    if not journal.exists():
        raise NotFoundError(f"no journal at {journal}; no run to compensate")
    with SqliteJournal(journal, reading=dry_run) as store:
        run_id = store.resolve(run_ref)
        _not_on_temporal(run_id, store.events(run_id))
        events = store.events(run_id)
        if dry_run:
            left = to_undo_again(store.run(run_id), events)
            typer.echo(f"run {run_id} failed; ido compensate would try again:")
            for undo in left:
                typer.echo(printable(f"  {_left_line(undo, outcome_unknown(events, undo))}"))
            return
        loaded = load_as_started(catalog, store.started(run_id), run_id)
        if not unknown_too:
            _refuse_unknown(run_id, events, loaded.capabilities)
        report = _carry_on(LocalRuntime.compensate, loaded, store, journal, run_id, quiet)
        still = left_undone(store.events(run_id))
    for line in _outcome_lines(report, journal):
        typer.echo(line)
    raise typer.Exit(1 if still else 0)


def _left_line(undo: Mapping[str, Any], unknown: bool) -> str:
    """A compensation left undone, as `--dry-run` lists it: `refund, undoing charge (step
    1): it failed: RuntimeError: …`, or `… its outcome is unknown: timed out after 2s`
    (`unknown`: it may have been made)."""
    said = "its outcome is unknown" if unknown else "it failed"
    return (
        f"{undo['capability']}, undoing {undo['undoes']} (step {undo['undoes_step']}): "
        f"{said}: {undo['error']}"
    )


def _refuse_unknown(run_id: str, events: Any, capabilities: Mapping[str, Any]) -> None:
    """Refuse to make again, unasked, a compensation that is not idempotent whose outcome
    is unknown (`outcome_unknown`): a refund that timed out may have been made, and made
    again it refunds twice. Nothing is written; `--unknown-too` says a person checked."""
    from ido.runtime.undoing import left_undone, outcome_unknown
    from ido.text import printable  # (the journal's words: shown, not acted on)

    unsure = [
        u
        for u in left_undone(events)
        if outcome_unknown(events, u)
        and not (u["capability"] in capabilities and capabilities[u["capability"]].spec.idempotent)
    ]
    if unsure:
        named = printable("; ".join(_left_line(u, True) for u in unsure))
        raise IdoError(
            f"run {run_id}: {named}: it may have been made, and made again it would be made "
            "twice; nothing done: check with its provider, then run ido compensate again "
            "with --unknown-too to make it again"
        )


def _interval(seconds: float) -> float:
    """`--interval`, from 0.05 to 86400 seconds. (Checked here, not by the option's range,
    which said of `nan` that it "should be less than or equal to 86400".)"""
    if math.isnan(seconds):
        raise typer.BadParameter("nan is not a number of seconds; give 0.05 to 86400")
    if not 0.05 <= seconds <= 86400:
        raise typer.BadParameter(f"{seconds:g} seconds is not from 0.05 to 86400")
    return seconds


@_guard
def runner(
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            callback=_interval,
            help="Seconds between looks at the journal, 0.05 to 86400.",
        ),
    ] = 1.0,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Look once, then exit; exit 0 without looking while another runner "
            "watches the journal (it continues the runs).",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Say whether a runner watches the journal, and exit: 0 when one does, 1 "
            "when none does. Continues nothing (a probe, a cron check).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print outcomes.")] = False,
) -> None:
    """Continue blocked runs as soon as they may go on: every request approved, one
    rejected, or one past its last wait. Runs until interrupted (Ctrl-C)."""
    import time

    from ido.cli.runner_start import check_watched, tell_interrupted
    from ido.journal.sqlite import SqliteJournal
    from ido.runner import Runner, hold_lock
    from ido.runtime.local import LocalRuntime

    if check:
        if once:
            raise typer.BadParameter("--check continues nothing; give it without --once")
        raise typer.Exit(_check_runner(journal, quiet))
    made = check_watched(journal)
    catalog_now = _Reloaded(catalog)
    told: dict[str, str] = {}  # per run, the trouble last told
    with _telemetry() as telemetry, SqliteJournal(journal) as store:
        lock = hold_lock(journal)
        if lock is None:
            if not once:
                raise IdoError(f"another ido runner already watches {journal}")
            if not quiet:  # a cron job or probe beside it: the runs are continued
                typer.echo(f"{_watched_by(journal)}: it continues the runs; looked at none")
            return
        if made and not quiet:
            typer.echo(f"no journal at {journal} yet: made an empty one to watch")
        tell_interrupted(store, journal)

        current: list[str] = []  # the run being resumed, if one is

        def resume(run_id: str) -> bool:
            listener = None if quiet else _named(run_id, store.run(run_id).intent)
            try:  # its workflow continues it: told once, and not tried again
                _not_on_temporal(run_id, store.events(run_id))
            except IdoError as exc:
                if told.get(run_id) != str(exc):
                    typer.echo(f"error: {exc}", err=True)
                told[run_id] = str(exc)
                return True
            current[:] = [run_id]
            try:
                _warn_policies_changed(store, run_id, catalog_now(), f"run {run_id}: ")
                runtime = LocalRuntime(
                    catalog_now(), store, base=Path.cwd(), listener=listener, telemetry=telemetry
                )
                report = runtime.resume(run_id)
            except Exception as exc:  # one run's trouble must not stop the runner
                current.clear()
                said = f"run {run_id}: cannot continue: {exc}"
                if store.run(run_id).outcome is None:  # taken over, then given up
                    again = _with_journal(f"ido resume {run_id}", journal)
                    said += f"; it is left interrupted: continue it with {again}"
                if told.get(run_id) != said:  # (tried again each look: told once)
                    typer.echo(said, err=True)
                told[run_id] = said
                return store.run(run_id).outcome != "blocked"  # else: try it again
            current.clear()  # (not on Ctrl-C: the handler below names the run)
            told.pop(run_id, None)
            typer.echo("\n".join(_outcome_lines(report, journal)))
            return True

        def interrupted(event: Event) -> None:
            """Name a run a signal stopped while the runner watched, as the next start would."""
            if event.run_id in current:  # (its own: said as the runner stops)
                return
            again = _with_journal(f"ido resume {event.run_id}", journal)
            typer.echo(
                f"warning: run {event.run_id} was interrupted ({event.data.get('signal')}), "
                f"and the runner continues blocked runs only: continue it with {again}",
                err=True,
            )

        watcher = Runner(store, resume, time.time, interrupted)
        if not quiet and once:
            typer.echo(f"looking once in {journal} for runs that may go on")
        elif not quiet:
            from ido.installed import installed_version  # (which ido runs, after an upgrade)

            typer.echo(
                f"watching {journal} for runs that may go on (ido {installed_version()}; Ctrl-C "
                "or SIGTERM stops it)"
            )
        try:
            while True:
                if not store.names_its_file():
                    raise JournalError(_watched_gone(journal))
                if watcher.retrying and catalog_now.moved():
                    watcher.retry_now()  # what stopped them may be mended
                watcher.poll()
                if once:
                    break
                time.sleep(interval)
        except KeyboardInterrupt as exc:
            if current and _taken_over(store, current[0]):  # left interrupted: `_guard` says
                _left(exc, current, journal)
                raise
            _stopped_watching(exc)
        finally:
            lock.close()


def _watched_by(journal: Path) -> str:
    """`another ido runner watches JOURNAL (process N)`, naming the process when its lock
    file does."""
    from ido.runner import watching_pid

    pid = watching_pid(journal)
    return f"another ido runner watches {journal}" + (f" (process {pid})" if pid else "")


def _check_runner(journal: Path, quiet: bool) -> int:
    """`ido runner --check`: 0 when a runner watches `journal` (its lock is held), 1 when
    none does, said in one line unless `quiet`. Reads neither the journal nor a catalog."""
    from ido.runner import watching_pid

    pid = watching_pid(journal)
    if not quiet:
        by = f" (process {pid})" if pid else ""
        said = f"an ido runner watches {journal}{by}" if pid is not None else None
        typer.echo(said or f"no ido runner watches {journal}")
    return 0 if pid is not None else 1


def _taken_over(store: Any, run_id: str) -> bool:
    """Whether the runner, stopped as it went to continue `run_id`, had taken the run over
    (it has no outcome now). Stopped before (as it loaded the changed catalog again), the
    run is still blocked, for the next runner: it was named left interrupted, with an `ido
    resume` to type and exit 143. A journal that cannot be read now: taken over, to be safe."""
    try:
        return bool(store.run(run_id).outcome is None)
    except Exception:  # (any: the interrupt must still be said, and the run named)
        return True


def _stopped_watching(interrupt: KeyboardInterrupt) -> None:
    """Say why the runner stopped while it only watched; exit 129 after SIGHUP. That is no
    stop asked for (`systemctl kill -s HUP`, a stray `kill -HUP`, a closed terminal), and exit 0
    kept a service under `Restart=on-failure` stopped for good, unsaid."""
    import signal

    from ido.runtime.stopping import Terminated

    by = f" ({interrupt})" if isinstance(interrupt, Terminated) else ""
    with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) reads it no more
        typer.echo(f"runner stopped{by}")
    if isinstance(interrupt, Terminated) and interrupt.signum == signal.SIGHUP:
        raise typer.Exit(128 + signal.SIGHUP)


def _watched_gone(journal: Path) -> str:
    """Why the runner stops when its journal was removed or replaced (restored from a
    copy): it watched the old file on, where no verdict would ever come, and said nothing."""
    return (
        f"journal {journal} was removed or replaced while the runner watched it; no verdict "
        "given in the new file would have reached it: start ido runner again"
    )


def _named(run_id: str, intent: str) -> Callable[..., None]:
    """`_progress` for a run the runner carries on, after a line that names it (runs go on
    one after another there, and their lines named none until each outcome): said with
    the run's first line, so a run that cannot go on yet says nothing more each look.
    Each line begins with the run's id (`[r…] `), as `ido run A B` begins each with its
    intent's: a line read alone (grep, a log search) names its run."""
    said: list[bool] = []

    def listener(kind: str, data: Mapping[str, Any]) -> None:
        if not said:
            said.append(True)
            typer.echo(f"run {run_id} · intent {intent}")
        _progress(kind, data, prefix=f"[{run_id}] ")

    return listener


class _Reloaded:
    """The catalog `ido runner` resumes runs with, loaded again when its YAML files change
    (a policy added while the runner watches binds the runs it continues after). A
    catalog that no longer loads raises LoadError, and the runs wait for it to load."""

    def __init__(self, catalog: list[Path] | None) -> None:
        self.catalog = catalog
        self.seen = self.looked = self._files()
        self.loaded = _load(catalog, None)
        self.failed: Exception | None = None  # the files as they are do not load

    def _files(self) -> tuple[tuple[str, int, int], ...]:
        from ido.loading.files import yaml_files

        found = []
        for file in yaml_files(_catalog_paths(self.catalog))[0]:
            try:
                stat = file.stat()
            except OSError:
                continue
            found.append((str(file), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def moved(self) -> bool:
        """Whether the YAML files changed since this was last asked."""
        now = self._files()
        moved, self.looked = now != self.looked, now
        return moved

    def __call__(self) -> Any:
        now = self._files()
        if now != self.seen:  # read once per change, loaded or not
            self.seen = now
            try:
                self.loaded, self.failed = _load(self.catalog, None), None
            except IdoError as exc:
                self.failed = exc
        if self.failed is not None:
            raise self.failed
        return self.loaded
