"""Load a scenario with its catalog, run it in its simulated world, check its expectations."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ido.errors import LoadError, NotFoundError, Problem, unreadable
from ido.journal import Journal
from ido.loading import Catalog, inside, load_catalog
from ido.model import KINDS, Intent, Scenario
from ido.observe import boolean_facts, snapshot
from ido.runtime.local import Listener, LocalRuntime, RunReport, new_run_id
from ido.scenario.expect import unmet
from ido.scenario.world import SimulatedWorld
from ido.testing import MemoryJournal
from ido.yamlsrc import read_documents


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    report: RunReport
    elapsed: float
    """Virtual seconds the run took."""
    cpu: float
    """CPU seconds it took to simulate."""
    unmet: tuple[str, ...]
    journal: Journal

    @property
    def passed(self) -> bool:
        return not self.unmet


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """The YAML files under `paths` (folders searched recursively) that declare a Scenario."""
    found: list[Path] = []
    for path in paths:
        try:
            there, folder = path.exists(), path.is_dir()
        except OSError as exc:  # a folder on the way that may not be looked into
            raise _unreadable(path, exc) from None
        if not there:
            raise NotFoundError(f"{path}: no such file or folder")
        # In a folder, only files: a folder or a broken link named *.yaml is no scenario.
        files = sorted(f for f in path.rglob("*.y*ml") if f.is_file()) if folder else [path]
        named = path.is_file()  # a file named on its own is taken whatever it declares
        for file in files:
            try:
                text = file.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise _unreadable(file, exc) from None
            documents, problems = read_documents(text, str(file))
            if named or problems or any(_maybe_scenario(d.data) for d in documents):
                found.append(file)  # (loading it says what is wrong with a broken one)
    return found


def _maybe_scenario(data: Any) -> bool:
    """Whether a document may be meant as a Scenario: it says so, or says no kind ido
    knows (a typo such as `Scenaro`). Other kinds beside scenarios are their catalogs."""
    if not isinstance(data, dict):
        return data is not None  # a list or a scalar where a resource should be
    kind = data.get("kind")
    return kind == "Scenario" or kind not in KINDS


def _unreadable(file: Path, error: OSError | UnicodeDecodeError) -> LoadError:
    """A file that cannot be read, as the loader says it."""
    return LoadError([Problem(str(file), None, "", unreadable(error))])


def load_scenarios(file: Path, catalog_paths: Sequence[Path]) -> tuple[list[Scenario], Catalog]:
    """The scenarios declared in `file`, and the catalog they run against: `catalog_paths`,
    the scenario's own `catalog` entries (relative to its file), and the file itself."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError([Problem(str(file), None, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, unreadable, not text
        raise _unreadable(file, exc) from None
    documents, problems = read_documents(text, str(file))
    if problems:
        raise LoadError(problems)
    extra: list[Path] = []
    for document in documents:
        spec = document.data.get("spec") if isinstance(document.data, dict) else None
        entries = spec.get("catalog") if isinstance(spec, dict) else None
        if isinstance(entries, list):
            extra += [file.parent / str(entry) for entry in entries]
    paths = [*catalog_paths, *extra]
    if not inside(file, paths):
        paths.append(file)
    resolved = file.resolve()
    catalog = load_catalog(paths)
    found = [
        s for (kind, name), origin in catalog.origins.items()
        if kind == "Scenario" and origin.file == resolved
        for s in [catalog.scenarios[name]]
    ]  # fmt: skip
    if not found:
        raise LoadError([Problem(str(file), None, "kind", "declares no Scenario")])
    return found, catalog


def run_scenario(
    scenario: Scenario,
    catalog: Catalog,
    *,
    base: Path,
    listener: Listener | None = None,
    journal: Journal | None = None,
) -> ScenarioResult:
    """Run the scenario's intent in its simulated world and check the expectations."""
    intent = _intent(scenario, catalog)
    facts = boolean_facts(catalog)
    world = SimulatedWorld(scenario, catalog, snapshot(intent, [], {}, facts))
    store = journal if journal is not None else MemoryJournal()
    name = f"s-{scenario.name}-{scenario.spec.seed}"
    runtime = LocalRuntime(
        catalog,
        store,
        base=base,
        clock=world.clock,
        # In a shared journal, scenario runs get unique ids like any run.
        new_id=(lambda _: name) if journal is None else (lambda now: f"{name}-{new_run_id(now)}"),
        listener=listener,
        environment=world,
    )
    started = time.process_time()
    report = runtime.run(intent, {"scenario": scenario.model_dump(mode="json", by_alias=True)})
    cpu = time.process_time() - started
    problems = unmet(
        scenario.spec.expect,
        outcome=report.outcome,
        reason=report.reason,
        cost=report.cost,
        elapsed=world.clock.elapsed,
        events=store.events(report.run_id),
    )
    return ScenarioResult(scenario, report, world.clock.elapsed, cpu, tuple(problems), store)


def _intent(scenario: Scenario, catalog: Catalog) -> Intent:
    chosen = scenario.spec.intent
    if isinstance(chosen, str):
        return catalog.intents[chosen]
    return Intent.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Intent",
            "metadata": scenario.metadata.model_dump(),
            "spec": chosen.model_dump(mode="json", by_alias=True),
        }
    )
