"""Load a scenario with its catalog, run it in its simulated world, check its expectations."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ido.approval_verdicts import ready
from ido.approver_check import check_approvers
from ido.binding_check import check_bindings
from ido.errors import LoadError, NotFoundError, Problem, unreadable_file
from ido.journal.records import Journal, Pending, stamp
from ido.loading.catalog import Catalog, display
from ido.loading.files import inside, yaml_files, yaml_under
from ido.loading.load import check_ignored, check_models, load_catalog
from ido.model import KINDS, Intent, Scenario
from ido.observe import boolean_facts, snapshot
from ido.runtime.local import Listener, LocalRuntime, RunReport, new_run_id
from ido.scenario.answers import MOST_ROUNDS, verdicts
from ido.scenario.expect import unmet
from ido.scenario.world import SimulatedWorld, VirtualClock
from ido.testing import MemoryJournal
from ido.yamlsrc import read_documents


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario run: its `report`, and each expectation it did not meet (`unmet`, in the
    words `ido scenario test` prints); `journal` holds the run, for `explain_run`."""

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

    @property
    def name(self) -> str:
        return self.scenario.name


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
        # In a folder, only files, and nothing hidden (`.old/`), as in a catalog.
        files, problems = yaml_under(path) if folder else ([path], [])
        if problems:
            raise LoadError(problems)
        named = path.is_file()  # a file named on its own is taken whatever it declares
        for file in files:
            try:
                text = file.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise _unreadable(file, exc) from None
            documents, problems = read_documents(text, str(file))
            if named or problems or any(_maybe_scenario(d.data) for d in documents):
                found.append(file)  # (loading it says what is wrong with a broken one)
    # A file named twice (a folder and a file in it) is one file, tested once.
    first: dict[Path, Path] = {}
    for file in found:
        first.setdefault(file.resolve(), file)
    return list(first.values())


def _maybe_scenario(data: Any) -> bool:
    """Whether a document may be meant as a Scenario: it says so, or says no kind ido
    knows (a typo such as `Scenaro`). Other kinds beside scenarios are their catalogs."""
    if not isinstance(data, dict):
        return data is not None  # a list or a scalar where a resource should be
    kind = data.get("kind")
    return kind == "Scenario" or kind not in KINDS


def _unreadable(file: Path, error: OSError | UnicodeDecodeError) -> LoadError:
    """A file that cannot be read, as the loader says it."""
    return LoadError([unreadable_file(str(file), error)])


def load_scenarios(file: Path, catalog_paths: Sequence[Path]) -> list[tuple[Scenario, Catalog]]:
    """The scenarios declared in `file`, in order, each with the catalog it runs against:
    `catalog_paths`, its own `catalog` entries (relative to its file), and the file itself.
    Scenarios of one file whose entries differ get catalogs of their own: one scenario's
    extra capabilities must not be planned in another's run."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError([Problem(str(file), None, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, unreadable, not text
        raise _unreadable(file, exc) from None
    documents, problems = read_documents(text, str(file))
    if problems:
        raise LoadError(problems)
    shown = display(file.resolve(), Path.cwd())
    groups: dict[tuple[str, ...], None] = {}  # each distinct list of entries, in order
    for document in documents:
        if _is_scenario(document.data):
            entries = _entries(document.data)
            groups[entries] = None
            for i, entry in enumerate(_listed(document.data)):
                wrong = _entry_problem(file, entry)
                if wrong is not None:
                    at = document.line_of(("spec", "catalog", i))
                    problems.append(Problem(shown, at, f"spec.catalog[{i}]", wrong))
    # A wrong entry is told with the rest of what is wrong in the file: the scenarios are
    # loaded with the entries that are there.
    resolved = file.resolve()
    found: list[tuple[int, Scenario, Catalog]] = []
    for entries in groups or {(): None}:
        there = [file.parent / entry for entry in entries if (file.parent / entry).exists()]
        paths = [*catalog_paths, *there]
        if not inside(file, paths):
            paths.append(file)

        def other(at: Path, data: Any, entries: tuple[str, ...] = entries) -> bool:
            """Another group's scenario in this file, or one of another file that needs its
            own catalog (which this one does not load)."""
            if at == resolved:
                return _is_scenario(data) and _entries(data) != entries
            return own_catalog(data)

        try:
            catalog = load_catalog(paths, skip=other)
        except LoadError as exc:
            problems += (p for p in exc.problems if p not in problems)  # (each group's)
            continue
        found += [
            (origin.index, catalog.scenarios[name], catalog)
            for (kind, name), origin in catalog.origins.items()
            if kind == "Scenario" and origin.file == resolved
        ]
    if problems:
        raise LoadError(problems)
    if not found:
        raise LoadError([Problem(str(file), None, "kind", "declares no Scenario")])
    return [(scenario, catalog) for _, scenario, catalog in sorted(found, key=lambda f: f[0])]


def _entry_problem(file: Path, entry: Any) -> str | None:
    """What is wrong with one of a scenario's `catalog` entries, if anything (one that is
    not text, the model tells)."""
    if isinstance(entry, str) and not (file.parent / entry).exists():
        return f"no such file or folder: {entry}"
    return None


def own_catalog(data: Any) -> bool:
    """Whether a document is a scenario that names catalog entries of its own: it is
    checked with them (`load_scenarios`), not in the catalog of everything else."""
    return _is_scenario(data) and bool(_listed(data))


def check_own_catalogs(
    paths: Sequence[Path],
    environ: Mapping[str, str] | None = None,
    checked: Collection[str] = (),
    bound: Collection[tuple[str, str]] = (),
) -> tuple[int, list[Problem]]:
    """Check each scenario under `paths` that has catalog entries of its own, as `ido
    scenario` loads it (`load_scenarios`, `paths` the rest of its catalog); how many there
    are, and the warnings of its catalog's settings nothing reads (`check_ignored`: these
    scenarios are not in the shared catalog the caller warns of) and of its Python
    bindings (`check_bindings`, whose errors are raised). With `environ`, the models of
    its catalog's intents are checked too (`check_models`). They leave out the intents
    named in `checked` and the resources (by kind and name) in `bound`: the shared
    catalog's, which every group holds and the caller checks once. Raises LoadError with
    every problem found."""
    files, problems = yaml_files(paths)
    warnings: list[Problem] = []
    count = 0
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # (loading the catalog says so)
        if not _may_hold_scenario(text):
            continue
        documents, _ = read_documents(text, str(file))
        if not any(own_catalog(d.data) for d in documents):
            continue
        try:
            found = load_scenarios(file, paths)
        except LoadError as exc:
            problems += exc.problems
            continue
        count += sum(1 for scenario, _ in found if scenario.spec.catalog)
        for catalog in {id(c): c for _, c in found}.values():  # (one per group)
            ignored = check_ignored(catalog, Path.cwd(), checked=checked)
            warnings += (w for w in ignored if w not in warnings)  # (entries shared)
            bindings = check_bindings(catalog, Path.cwd(), checked=bound)
            warnings += (w for w in bindings.warnings if w not in warnings)
            approvers = check_approvers(catalog, Path.cwd())
            warnings += (w for w in approvers if w not in warnings)
            problems += (p for p in bindings.errors if p not in problems)
            if environ is not None:
                found_here = check_models(catalog, environ, checked=checked)
                problems += (p for p in found_here if p not in problems)
    if problems:
        raise LoadError(problems)
    return count, warnings


def _may_hold_scenario(text: str) -> bool:
    """Whether a YAML file's `text` may declare a scenario: its kind is written `Scenario`
    unless an escape spells it (`"Sc\\x65nario"`). A large catalog file (a PDDL import of
    41,000 capabilities) was parsed a second time for this alone: 4 of `ido validate`'s 10 s."""
    return "Scenario" in text or "\\" in text


def _is_scenario(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == "Scenario"


def _listed(data: Any) -> list[Any]:
    """A scenario document's `spec.catalog`, as written (the model checks its shape)."""
    spec = data.get("spec") if isinstance(data, dict) else None
    entries = spec.get("catalog") if isinstance(spec, dict) else None
    return entries if isinstance(entries, list) else []


def _entries(data: Any) -> tuple[str, ...]:
    return tuple(entry for entry in _listed(data) if isinstance(entry, str))


def run_scenario(
    scenario: Scenario,
    catalog: Catalog,
    *,
    base: Path,
    listener: Listener | None = None,
    journal: Journal | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> ScenarioResult:
    """Run the scenario's intent in its simulated world and check the expectations.

    Kept in a `journal`, the run is recorded on its virtual clock, as its events are, and
    with the time of `wall_clock` (this world's) it was recorded at: its id says that time,
    and `ido runs` and `ido prune` go by it, as by any run's start."""
    intent = _intent(scenario, catalog)
    facts = boolean_facts(catalog)
    world = SimulatedWorld(scenario, catalog, snapshot(intent, [], {}, facts))
    store = journal if journal is not None else MemoryJournal()
    name = f"s-{scenario.name}-{scenario.spec.seed}"
    recorded = None if journal is None else wall_clock()
    runtime = LocalRuntime(
        catalog,
        store,
        base=base,
        clock=world.clock,
        # In a shared journal, scenario runs get unique ids like any run.
        new_id=(lambda _: name)
        if recorded is None
        else (lambda _: f"{name}-{new_run_id(recorded)}"),
        listener=listener,
        environment=world,
    )
    started = time.process_time()
    report = runtime.run(
        intent,
        {"scenario": scenario.model_dump(mode="json", by_alias=True)},
        None if recorded is None else stamp(recorded),
    )
    for _ in range(MOST_ROUNDS):  # the scenario's verdicts on what the run waits for
        answered = report.outcome == "blocked" and verdicts(
            store.events(report.run_id), scenario.spec.approvals, world.clock()
        )
        if not answered:
            break
        moment, given = answered
        went_on = go_on(runtime, store, report.run_id, world.clock, moment, given, listener)
        if went_on is None:
            break
        report = went_on
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


def go_on(
    runtime: LocalRuntime,
    journal: Journal,
    run_id: str,
    clock: VirtualClock,
    moment: float,
    given: Sequence[Pending],
    listener: Listener | None = None,
) -> RunReport | None:
    """Record the verdicts `given` on a blocked run, move the clock to `moment` and resume
    it there, as a person's `ido approve` and then `ido runner` would; None, the run left
    blocked, when it may not go on then (a request still waits, its wait not over). A
    scenario's run and a replay of one go on so alike: the replay gave the recorded time
    and outcome only if it moved its clock where the recording's had moved."""
    clock.advance_to(moment)
    for kind, at, data in given:
        journal.append(run_id, kind, at, data)
        if listener is not None:
            listener(kind, data)
    if not ready(journal.events(run_id), clock()):
        return None
    return runtime.resume(run_id)


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
