"""`ido validate`: check a catalog's YAML, names, conditions and bindings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ido.cli.common import DEFAULT_DIRS, CatalogOpt, _catalog_paths, _guard, _warn
from ido.cli.deciding import _telling_loads
from ido.errors import LoadError, NotFoundError


@_guard
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders; default: the catalog here.")
    ] = None,
    catalog: CatalogOpt = None,
) -> None:
    """Check YAML resources: schema, names, references, CEL conditions and Python bindings.

    Files or folders inside the catalog folders here (intents/, capabilities/, policies/,
    scenarios/) are checked with that catalog, which their references name; others on
    their own, with --catalog for what they name elsewhere."""
    from ido.approver_check import check_approvers
    from ido.binding_check import check_bindings, check_observer_files
    from ido.key_check import check_model_keys
    from ido.loading.load import check_ignored, check_models, load_catalog
    from ido.scenario.runner import check_own_catalogs, own_catalog
    from ido.shell_check import check_shell_programs
    from ido.text import counted

    if not paths and Path("scenarios").is_dir():
        paths = [*_catalog_paths(catalog), Path("scenarios")]
    elif paths:
        folders = [Path(d) for d in (*DEFAULT_DIRS, "scenarios") if Path(d).is_dir()]
        within = [folder.resolve() for folder in folders]
        if all(any(p.resolve().is_relative_to(f) for f in within) for p in paths):
            paths = [*(f for f in folders if f.name != "scenarios"), *paths]
    # With no PATH, `--catalog DIR` is what to check: it was refused, "no catalog found
    # … or pass --catalog DIR", in a folder with no intents/, capabilities/ or policies/.
    everything = [*(paths or _catalog_paths(catalog)), *(catalog or [])]
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
    _warn(loaded)
    ignored = [*check_ignored(loaded, Path.cwd()), *own_ignored, *bindings.warnings]
    for warning in ignored:  # (`plan --planner llm` reads the llm ones)
        typer.echo(f"warning: {warning}", err=True)
    counts = ", ".join(
        (
            counted(len(loaded.intents), "intent"),
            counted(len(loaded.capabilities), "capability", "capabilities"),
            counted(len(loaded.policies), "policy", "policies"),
            counted(len(loaded.observers), "observer"),
            counted(len(loaded.scenarios) + own, "scenario"),
            counted(len(loaded.policy_tests), "policy test"),
        )
    )
    typer.echo(f"ok: {counted(len(loaded) + own, 'resource')} ({counts})")
