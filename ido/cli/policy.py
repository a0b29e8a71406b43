"""`ido policy test`: run the catalog's policy unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ido.cli.common import CatalogOpt, _catalog_paths, _guard
from ido.cli_typer import IdoTyper
from ido.errors import NotFoundError

policy_app = IdoTyper(help="Test policies.", no_args_is_help=True)


@policy_app.command("test")
@_guard
def policy_test(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATH...]",
            help="More policy test files or folders, beside the catalog's (which always run).",
        ),
    ] = None,
    catalog: CatalogOpt = None,
) -> None:
    """Run policy unit tests (kind PolicyTest): given a capability and state, what fires."""
    from ido.loading.files import inside
    from ido.loading.load import load_catalog
    from ido.policy_test import run_policy_test

    base = _catalog_paths(catalog)
    loaded = load_catalog([*base, *(p for p in paths or [] if not inside(p, base))])
    results = [r for t in loaded.policy_tests.values() for r in run_policy_test(t, loaded)]
    if not results:  # a test run that tests nothing must not pass (as `scenario test`)
        raise NotFoundError(
            "no policy tests in the catalog or the PATHs given: a policy test is a YAML "
            "file of kind: PolicyTest"
        )
    for r in results:
        typer.echo(f"{'pass' if r.passed else 'FAIL'}  {r.test}: {r.case}")
        for problem in r.problems:
            typer.echo(f"      ✗ {problem}")
    failed = sum(1 for r in results if not r.passed)
    typer.echo(f"\n{len(results) - failed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)
