"""`ido validate`: check a catalog's YAML, names, conditions and bindings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ido.cli.common import (
    DEFAULT_DIRS,
    CatalogOpt,
    _catalog_paths,
    _check_format,
    _guard,
    _warnings,
)
from ido.cli.deciding import _telling_loads
from ido.errors import LoadError, NotFoundError, Problem


@_guard
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders; default: the catalog here.")
    ] = None,
    catalog: CatalogOpt = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="text, or json: one document on stdout, each problem and warning with its "
            "file, line, field and message, for CI annotations.",
        ),
    ] = "text",
) -> None:
    """Check YAML resources: schema, names, references, CEL conditions and Python bindings.

    Files or folders inside the catalog folders here (intents/, capabilities/, policies/,
    scenarios/) are checked with that catalog, which their references name; others on
    their own, with --catalog for what they name elsewhere."""
    from ido.text import counted

    _check_format(fmt, ("text", "json"))
    try:
        warnings, counts = _checked(paths, catalog)
    except LoadError as exc:
        if fmt != "json":
            raise
        _as_json(exc.problems, [], None)
        raise typer.Exit(exc.exit_code) from None
    if fmt == "json":
        _as_json([], warnings, counts)
        return
    for warning in warnings:  # (`plan --planner llm` reads the llm ones)
        typer.echo(f"warning: {warning}", err=True)
    total = counts.pop("resources")
    said = ", ".join(
        counted(counts[key], *words) for key, words in zip(counts, _WORDS, strict=True)
    )
    typer.echo(f"ok: {counted(total, 'resource')} ({said})")


_WORDS = (
    ("intent",),
    ("capability", "capabilities"),
    ("policy", "policies"),
    ("observer",),
    ("scenario",),
    ("policy test",),
)


def _as_json(errors: list[Problem], warnings: list[Problem], counts: dict[str, int] | None) -> None:
    """Print what validate found as one JSON document (see docs/cli.md)."""
    import json

    found = [("error", p) for p in errors] + [("warning", p) for p in warnings]
    problems = [
        {
            "severity": severity,
            "file": p.file,
            "line": p.line,
            "field": p.field,
            "message": p.message,
        }
        for severity, p in found
    ]
    typer.echo(json.dumps({"ok": not errors, "counts": counts, "problems": problems}, indent=2))


def _checked(
    paths: list[Path] | None, catalog: list[Path] | None
) -> tuple[list[Problem], dict[str, int]]:
    """Check `paths` (with `catalog`): the warnings, and how many resources of each kind;
    a `LoadError` with every problem found."""
    from ido.approver_check import check_approvers
    from ido.binding_check import check_bindings, check_observer_files
    from ido.key_check import check_model_keys
    from ido.loading.load import check_ignored, check_models, load_catalog
    from ido.scenario.runner import check_own_catalogs, own_catalog
    from ido.shell_check import check_shell_programs

    if not paths and Path("scenarios").is_dir():
        paths = [*_catalog_paths(catalog), Path("scenarios")]
    elif paths:
        folders = [Path(d) for d in (*DEFAULT_DIRS, "scenarios") if Path(d).is_dir()]
        within = [folder.resolve() for folder in folders]
        if all(any(p.resolve().is_relative_to(f) for f in within) for p in paths):
            paths = [*(f for f in folders if f.name != "scenarios"), *paths]
    # With no PATH, `--catalog DIR` is what to check: it was refused, "no catalog found
    # … or pass --catalog DIR", in a folder with no intents/, capabilities/ or policies/.
    # (Each once: `_catalog_paths` holds `--catalog` already, and a folder missing was
    # told twice.)
    everything = list(dict.fromkeys([*(paths or _catalog_paths(catalog)), *(catalog or [])]))
    # A scenario with catalog entries of its own is checked with them, as it runs.
    with _telling_loads():
        loaded = load_catalog(everything, skip=lambda _, data: own_catalog(data))
    bindings = check_bindings(loaded, Path.cwd())
    bindings.warnings.extend(check_observer_files(loaded, Path.cwd()))
    bindings.warnings.extend(check_shell_programs(loaded, Path.cwd()))
    bindings.warnings.extend(check_model_keys(loaded, os.environ, Path.cwd()))
    bindings.warnings.extend(check_approvers(loaded, Path.cwd()))
    wrong = [*check_models(loaded, os.environ), *bindings.errors]
    try:  # (an own catalog holds the shared intents too: their models are checked here)
        own, own_ignored = check_own_catalogs(
            everything, os.environ, checked=set(loaded.intents), bound=set(loaded.origins)
        )
    except LoadError as exc:
        raise LoadError([*exc.problems, *wrong]) from None
    if wrong:
        raise LoadError(wrong)
    if len(loaded) + own == 0:  # a mistyped or emptied folder in CI must not pass
        where = ", ".join(str(p) for p in everything)
        raise NotFoundError(f"nothing to check: no YAML resource in {where}")
    warnings = [*_warnings(loaded), *check_ignored(loaded, Path.cwd()), *own_ignored]
    counts = {
        "resources": len(loaded) + own,
        "intents": len(loaded.intents),
        "capabilities": len(loaded.capabilities),
        "policies": len(loaded.policies),
        "observers": len(loaded.observers),
        "scenarios": len(loaded.scenarios) + own,
        "policy_tests": len(loaded.policy_tests),
    }
    return [*warnings, *bindings.warnings], counts
