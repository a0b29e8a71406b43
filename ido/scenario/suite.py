"""Scenarios found under paths, every file loaded before any runs: for `ido scenario run |
test` and `ido.run_scenarios`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ido.errors import LoadError, NotFoundError, Problem
from ido.loading.catalog import Catalog
from ido.model import Scenario
from ido.scenario.runner import ScenarioResult, load_scenarios, run_scenario, scenario_files

CATALOG_DIRS = ("intents", "capabilities", "policies")
"""The catalog folders a project keeps, read when they are there (as the commands do)."""

Paths = Sequence[Path | str] | Path | str


def every_scenario(
    paths: Sequence[Path], catalog: Sequence[Path]
) -> list[tuple[Path, Scenario, Catalog]]:
    """(file, scenario, its catalog) of every scenario under `paths`, all loaded before any
    runs: the problems of every file are told at once, and a name two files declare is one
    of them (their rows could not be told apart)."""
    found: list[tuple[Path, Scenario, Catalog]] = []
    problems: list[Problem] = []
    for file in scenario_files(paths):
        try:
            found += [(file, s, loaded) for s, loaded in load_scenarios(file, catalog)]
        except LoadError as exc:
            problems += exc.problems
    first: dict[str, Path] = {}
    for file, scenario, loaded in found:
        if scenario.name not in first:
            first[scenario.name] = file
            continue
        line = loaded.origins[("Scenario", scenario.name)].line_of(("metadata", "name"))
        said = f"Scenario '{scenario.name}' is declared twice; first in {first[scenario.name]}"
        problems.append(Problem(str(file), line, "metadata.name", said))
    if problems:
        raise LoadError(problems)
    return found


def _listed(paths: Paths) -> list[Path]:
    if isinstance(paths, str | os.PathLike):  # one path, not a sequence of its letters
        return [Path(paths)]
    return [Path(p) for p in paths]


def run_scenarios(
    paths: Paths | None = None, *, catalog: Paths | None = None, base: Path | None = None
) -> list[ScenarioResult]:
    """Run every scenario under `paths` (files or folders; default: `scenarios/` of
    `base`), as `ido scenario test` does: each result says whether it `passed`, and what
    was `unmet`. `catalog`: the catalog's files and folders (default: `intents/`,
    `capabilities/`, `policies/` of `base`, those that are there); `base`: the project
    folder (default: the current directory)."""
    base = base or Path.cwd()
    searched = [base / "scenarios"] if paths is None else _listed(paths)
    folders = [base / d for d in CATALOG_DIRS if (base / d).is_dir()]
    found = every_scenario(searched, folders if catalog is None else _listed(catalog))
    if not found:  # a test run that tests nothing must not pass (a mistyped folder, say)
        where = ", ".join(str(p) for p in searched)
        raise NotFoundError(f"no scenarios in {where}: a scenario is a YAML file of kind: Scenario")
    return [run_scenario(scenario, loaded, base=base) for _, scenario, loaded in found]
