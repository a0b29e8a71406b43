"""The `ido` command line: the only package that prints and sets exit codes. The commands
live in modules of their own, one area each; here is the app they are registered with."""

from __future__ import annotations

import contextlib
import threading
from typing import Annotated

import typer

from ido.cli import (
    approvals,
    explain,
    journal,
    pddl,
    plan,
    replay,
    resume,
    run,
    schema,
    temporal,
    validate,
    verify,
)
from ido.cli.health import health_app
from ido.cli.policy import policy_app
from ido.cli.scenario import scenario_app
from ido.cli_typer import IdoTyper

app = IdoTyper(
    name="ido",
    help="Intent-driven orchestrator: declare the outcome, ido plans, acts and explains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(asked: bool) -> None:
    if asked:
        from ido.installed import installed_version

        typer.echo(f"ido {installed_version()}")
        raise typer.Exit(0)


@app.callback()
def _ido(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print ido's version and exit."
        ),
    ] = False,
) -> None:
    """Intent-driven orchestrator: declare the outcome, ido plans, acts and explains."""
    from ido.lock_waits import tell_waits

    tell_waits(_tell_wait)


def _tell_wait(said: str) -> None:
    """Say on stderr that a write waits for the journal's lock (it waited unsaid)."""
    with contextlib.suppress(OSError):
        typer.echo(f"ido: {said}", err=True)


# In the order `ido --help` lists them.
app.command()(validate.validate)
app.command()(plan.plan)
app.command()(run.run)
app.command()(resume.resume)
app.command()(resume.runner)
app.command()(temporal.worker)
app.command()(resume.compensate)
app.command()(replay.replay)
app.command()(approvals.approvals)
app.command()(approvals.approve)
app.command()(approvals.reject)
app.command()(journal.audit)
app.command()(journal.prune)
app.command()(verify.verify)
app.add_typer(health_app, name="health")
app.add_typer(policy_app, name="policy")
app.command()(journal.runs)
app.command()(explain.explain)
app.command()(schema.schema)
app.command("import-pddl")(pddl.import_pddl)
app.add_typer(scenario_app, name="scenario")
app.add_typer(temporal.temporal_app, name="temporal")


def main() -> None:
    """The command line (the `ido` command is `ido.__main__.main`)."""
    _take_termination_as_interrupt()
    app(prog_name="ido")


def _take_termination_as_interrupt() -> None:
    """SIGTERM and SIGHUP end the command as Ctrl-C does (`stopping.Terminated`), not at
    once: a shell step's process is killed with the run, which is left interrupted. A
    signal set to be ignored (`nohup`) stays ignored."""
    import signal

    from ido.runtime.stopping import STOPPING_SIGNALS, terminate

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOPPING_SIGNALS:
        if signum != signal.SIGINT and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, terminate)
