"""`ido explain`: a run's decisions, as text, Markdown, JSON or an HTML page."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ido.api import FORMATS
from ido.cli.common import (
    DEFAULT_JOURNAL,
    JournalOpt,
    RunRef,
    _check_format,
    _check_out_file,
    _guard,
    _journal_there,
    _with_journal,
)
from ido.errors import IdoError, NotFoundError, writing


@_guard
def explain(
    run_ref: RunRef,
    journal: JournalOpt = DEFAULT_JOURNAL,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md, json or html.")] = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file, not stdout."),
    ] = None,
    color: Annotated[
        str,
        typer.Option("--color", help="auto (tables and colour on a terminal), always or never."),
    ] = "auto",
    why_not: Annotated[
        str | None,
        typer.Option(
            "--why-not",
            metavar="CAPABILITY",
            help="Only what each decision said of this capability: chosen, in an "
            "alternative, or rejected and why (text or json).",
        ),
    ] = None,
) -> None:
    """Explain every decision of a run: trigger, observed facts, choice, alternatives, outcome.

    `--format html -o report.html` writes one self-contained page: the plan graph, a
    timeline of actions and approvals, and a card per decision.
    """
    _check_format(fmt, FORMATS)
    _check_format(color, ("auto", "always", "never"), "--color")
    if why_not is not None and fmt not in ("text", "json"):
        raise typer.BadParameter(
            f"--why-not is told as text or json, not {fmt}", param_hint="--format"
        )
    if output is not None:
        _check_out_file(output, "--output", journal)
    elif fmt == "html" and sys.stdout.isatty():  # a page of markup flooded the terminal
        raise IdoError(
            "the HTML report is a page for a browser, not the terminal: write it to a file "
            "with -o report.html (or redirect it: > report.html)"
        )

    from ido.api import catalog_names, rendered, viewed
    from ido.journal.sqlite import SqliteJournal

    if not _journal_there(journal):  # a path named that is not there is a typo, said so
        raise NotFoundError(f"no journal at {journal}; run an intent first (ido run INTENT)")
    with SqliteJournal(journal, reading=True) as store:
        view = viewed(store, run_ref)
        catalog = catalog_names(store, view["run"]["id"]) if why_not is not None else None
    if fmt != "json":  # (JSON is the view as it is: tools read it)
        view["asked_with"] = _with_journal("", journal)  # for the `--why-not` hint
    terminal = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if why_not is not None:
        text = _why_not(view, why_not, catalog, fmt)
    elif fmt == "text" and (color == "always" or (color == "auto" and terminal)):
        from ido.explain_tty import render_tty

        text = render_tty(view, width=shutil.get_terminal_size().columns)
    else:
        text = rendered(view, fmt)
    if output is None:
        typer.echo(text, nl=False, color=True)  # ANSI only in what render_tty made
        return
    with writing(output):
        output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


def _why_not(view: dict[str, Any], name: str, catalog: frozenset[str] | None, fmt: str) -> str:
    """`--why-not NAME`: what each decision said of capability `name`, as text or JSON."""
    import difflib
    import json

    from ido.explain_rejected import known_names, why_not, why_not_lines
    from ido.text import printable

    run = str(view["run"]["id"])
    told = why_not(view, name, catalog)
    if told is None:
        near = difflib.get_close_matches(name, known_names(view, catalog), n=3)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise NotFoundError(
            f"no capability {name!r} in run {run}: no decision names it and its catalog "
            f"does not hold it{hint}"
        )
    if fmt == "json":
        return json.dumps({"run": run, "capability": name, "decisions": told}, indent=2) + "\n"
    return "\n".join(map(printable, why_not_lines(told, name, run))) + "\n"
