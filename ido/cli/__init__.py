"""The `ido` command line: the only package that prints and sets exit codes. The commands
live in modules of their own, one area each; here are their table (`COMMANDS`) and the app
made with them: with every one (`app`, `ido --help`) or with the one a command line names."""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from ido.cli_typer import IdoTyper

COMMANDS: tuple[tuple[str, str, str, bool], ...] = (
    ("validate", "validate", "validate", False),
    ("plan", "plan", "plan", False),
    ("run", "run", "run", False),
    ("resume", "resume", "resume", False),
    ("runner", "resume", "runner", False),
    ("worker", "temporal", "worker", False),
    ("compensate", "resume", "compensate", False),
    ("replay", "replay", "replay", False),
    ("approvals", "approvals", "approvals", False),
    ("approve", "approvals", "approve", False),
    ("reject", "approvals", "reject", False),
    ("audit", "journal", "audit", False),
    ("prune", "journal", "prune", False),
    ("verify", "verify", "verify", False),
    ("health", "health", "health_app", True),
    ("policy", "policy", "policy_app", True),
    ("runs", "journal", "runs", False),
    ("explain", "explain", "explain", False),
    ("schema", "schema", "schema", False),
    ("import-pddl", "pddl", "import_pddl", False),
    ("scenario", "scenario", "scenario_app", True),
    ("temporal", "temporal", "temporal_app", True),
)
"""Every command, in the order `ido --help` lists them: its name, the module of
`ido.cli` that holds it, the function (or the Typer app of a group's commands) there, and
whether it is a group. A command's module is imported when the app is made with it:
`ido plan` imports `ido.cli.plan` alone, not the modules of the 21 others (and Typer
makes the options of one command, not of all)."""


def _version(asked: bool) -> None:
    if asked:
        from ido.installed import installed_version

        typer.echo(f"ido {installed_version()}")
        raise typer.Exit(0)


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


def ido_app(only: str | None = None) -> IdoTyper:
    """The `ido` app with every command, or with the command named `only` alone (what
    `ido only ...` runs: the same command, callback and options)."""
    made = IdoTyper(
        name="ido",
        help="Intent-driven orchestrator: declare the outcome, ido plans, acts and explains.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    made.callback()(_ido)
    for name, module, attribute, group in COMMANDS:
        if only is not None and name != only:
            continue
        found = getattr(importlib.import_module(f"ido.cli.{module}"), attribute)
        if group:
            made.add_typer(found, name=name)
        else:
            made.command(name)(found)
    return made


if TYPE_CHECKING:
    app: IdoTyper
    """The app with every command (`ido_app()`), made when first asked for."""
else:  # (for mypy, a module's `__getattr__` would make every name of it exist)

    def __getattr__(name: str) -> IdoTyper:
        """`ido.cli.app`: the app with every command, made when first asked for."""
        if name != "app":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        made = ido_app()
        globals()["app"] = made
        return made


def _app_for(argv: list[str]) -> IdoTyper:
    """The app that runs `ido ARGV`: with its command alone when the first word names
    one (nothing before a command's name is an option but `--version` and the help,
    which list or need no command), else with every command (`ido --help`, a mistyped
    name told with the names there are)."""
    names = {name for name, *_ in COMMANDS}
    if argv[:1] and argv[0] in names:
        return ido_app(argv[0])
    return ido_app()


def main() -> None:
    """The command line (the `ido` command is `ido.__main__.main`)."""
    _take_termination_as_interrupt()
    _app_for(sys.argv[1:])(prog_name="ido")


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
