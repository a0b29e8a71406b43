"""`ido scenario run | test`: rehearse failures in simulated worlds from the command line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from ido.cli.common import (
    DEFAULT_DIRS,
    CatalogOpt,
    _check_out_file,
    _guard,
    _plain_journal,
    _tell,
)
from ido.cli.progress import _progress
from ido.cli_typer import IdoTyper
from ido.errors import NotFoundError

scenario_app = IdoTyper(
    help="Rehearse failures: run intents in simulated worlds on a virtual clock.",
    no_args_is_help=True,
)


def _catalog(extra: list[Path] | None) -> list[Path]:
    return [Path(d) for d in DEFAULT_DIRS if Path(d).is_dir()] + list(extra or [])


@scenario_app.command("run")
@_guard
def scenario_run(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Scenario files.")],
    catalog: CatalogOpt = None,
    journal: Annotated[
        Path | None,
        typer.Option(help="Also keep the runs in this journal (for ido explain and ido replay)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the verdicts.")] = False,
) -> None:
    """Run scenarios: live output, the explanation, then each expectation's verdict."""
    from contextlib import nullcontext

    from ido.journal.sqlite import SqliteJournal
    from ido.scenario.suite import every_scenario

    # Every file loaded before any runs, as `test` does: a typo in the second file was
    # told only after the first file's scenarios had run (and been kept in the journal).
    found = every_scenario(files, _catalog(catalog))
    with SqliteJournal(journal) if journal is not None else nullcontext() as store:
        failed = _run_all(found, store, quiet)
    raise typer.Exit(1 if failed else 0)


SCRIPTED = ("approval_required", "approval_given", "approval_rejected")
"""What a scenario's live output adds to a run's: who was asked, and the scripted answer.
`ido run` ends blocked there and says so; a scenario goes on, and only said `resuming`."""


def _live(kind: str, data: Any) -> None:
    if kind in SCRIPTED:
        from ido.explain import event_line

        _tell(f"  ? {event_line({'kind': kind, **data})}")
    _progress(kind, data)


def _run_all(found: list[tuple[Path, Any, Any]], store: Any, quiet: bool) -> int:
    """Run loaded scenarios one by one; how many did not meet their expectations."""
    from ido.explain import render, run_view
    from ido.model import format_wait
    from ido.scenario.runner import run_scenario
    from ido.text import money

    failed = 0
    for _, scenario, loaded in found:
        typer.echo(f"scenario {scenario.name} (seed {scenario.spec.seed})")
        result = run_scenario(
            scenario,
            loaded,
            base=Path.cwd(),
            listener=None if quiet else _live,
            journal=store,
        )
        if not quiet:
            run_id = result.report.run_id
            view = run_view(result.journal.run(run_id), result.journal.events(run_id))
            typer.echo("\n" + render(view, "text"))
        typer.echo(
            f"{result.report.outcome} after {format_wait(result.elapsed)} of virtual "
            f"time, cost {money(result.report.cost)}"
        )
        if result.passed:
            typer.echo("expectations: all met")
        else:
            failed += 1
            typer.echo("expectations not met:")
            for problem in result.unmet:
                typer.echo(f"  ✗ {problem}")
    return failed


@scenario_app.command("test")
@_guard
def scenario_test(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="[PATH...]", help="Scenario files or folders; default scenarios/."),
    ] = None,
    catalog: CatalogOpt = None,
    junit: Annotated[
        Path | None, typer.Option(help="Also write the results as JUnit XML to this file.")
    ] = None,
) -> None:
    """Run every scenario and tabulate pass/fail, spelling out each unmet expectation."""
    from ido.model import format_wait
    from ido.scenario.runner import run_scenario
    from ido.scenario.suite import every_scenario

    if junit is not None:
        _check_out_file(junit, "--junit", _plain_journal())  # before the scenarios run
    searched = paths or [Path("scenarios")]
    found = every_scenario(searched, _catalog(catalog))
    if not found:  # a test run that tests nothing must not pass (a mistyped folder, say)
        where = ", ".join(str(p) for p in searched)
        raise NotFoundError(f"no scenarios in {where}: a scenario is a YAML file of kind: Scenario")
    results = [(file, run_scenario(s, loaded, base=Path.cwd())) for file, s, loaded in found]
    width = max(len("SCENARIO"), *(len(r.scenario.name) for _, r in results))
    typer.echo(f"{'SCENARIO':<{width}}  {'OUTCOME':<9} {'TIME':>8} {'COST':>7}  RESULT")
    for _, r in results:
        verdict = "pass" if r.passed else "FAIL"
        typer.echo(
            f"{r.scenario.name:<{width}}  {r.report.outcome:<9} "
            f"{format_wait(r.elapsed):>8} {r.report.cost:>7.2f}  {verdict}"
        )
        for problem in r.unmet:
            typer.echo(f"{'':<{width}}  ✗ {problem}")
    failed = sum(1 for _, r in results if not r.passed)
    typer.echo(f"\n{len(results) - failed} passed, {failed} failed")
    if junit is not None:
        _write_junit(junit, results)
    raise typer.Exit(1 if failed else 0)


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
"""Characters XML 1.0 cannot hold at all, even escaped (a fault's `error` may carry them)."""


def _xml_text(text: str) -> str:
    """`text` as XML can hold it: each character it cannot, written as `\\xNN`."""
    return _NOT_IN_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _write_junit(path: Path, results: list[tuple[Path, Any]]) -> None:
    import xml.etree.ElementTree as ET  # writes XML, never parses it

    failed = sum(1 for _, r in results if not r.passed)
    suite = ET.Element(
        "testsuite",
        name="ido scenarios",
        tests=str(len(results)),
        failures=str(failed),
        time=f"{sum(r.cpu for _, r in results):.3f}",
    )
    for file, r in results:
        case = ET.SubElement(
            suite, "testcase", classname=str(file), name=r.scenario.name, time=f"{r.cpu:.3f}"
        )
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=_xml_text(r.unmet[0]))
            failure.text = _xml_text("\n".join(r.unmet))
    from ido.errors import writing

    with writing(path):
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
