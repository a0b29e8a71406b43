"""The public Python API (docs/python-api.md), used as an embedder uses it: `import ido`
and nothing else of ido."""

from __future__ import annotations

import contextlib
import importlib
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ido

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"

OBSERVER = """\
apiVersion: ido/v1
kind: Observer
metadata: {name: stock}
spec:
  file: stock.json
  at: inventory
"""


def test_every_public_name_is_there_and_documented() -> None:
    """Each name of `ido.__all__` is an attribute of `ido`, `dir(ido)` lists it, and the
    page of the API names it: what is public is written down."""
    page = DOC.read_text(encoding="utf-8")
    for name in ido.__all__:
        assert getattr(ido, name) is not None
        assert name in dir(ido)
        assert name == "__version__" or f"`{name}" in page, name
    offered = {n for n in dir(ido) if not n.startswith("_") and n != "TYPE_CHECKING"}
    offered -= {n for n in offered if isinstance(getattr(ido, n), types.ModuleType)}
    assert offered == set(ido.__all__) - {"__version__"}


def test_no_public_name_is_hidden_by_a_module_of_its_name() -> None:
    """Importing a module of ido named like a public name (`ido.explain`, `ido.replay`)
    sets that attribute of the package: no public name may be one, or the function would
    turn into the module once something imported it."""
    for name in ido.__all__:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(f"ido.{name}")
        assert not isinstance(getattr(ido, name), types.ModuleType), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A name that is not public is refused as any module refuses one."""
    with pytest.raises(AttributeError, match="module 'ido' has no attribute 'LocalRuntim'"):
        ido.LocalRuntim  # type: ignore[attr-defined]  # noqa: B018


def test_importing_ido_loads_nothing_heavy() -> None:
    """`import ido` loads none of ido's modules, nor pydantic, SQLite, OR-Tools or litellm;
    the first use of a name loads what it needs (an error class: the error tree alone)."""
    code = (
        "import sys, ido\n"
        "first = sorted(m for m in sys.modules if m.startswith(('ido.', 'pydantic', "
        "'sqlite3', 'ortools', 'litellm', 'cel_expr_python')))\n"
        "ido.LoadError\n"
        "then = sorted(m for m in sys.modules if m.startswith(('ido.', 'pydantic', "
        "'sqlite3', 'ortools', 'litellm')))\n"
        "print(first, then)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[] ['ido.errors']"


def test_load_run_read_explain_and_replay_on_a_sqlite_file(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The worked example end to end on a real SQLite file: the run is journaled there, is
    read back from a second opening, explains and replays; nothing is printed."""
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    assert ido.check_names(catalog, project) == []
    path = tmp_path / "journal" / "ido.db"
    with ido.open_journal(path) as journal:
        runtime = ido.LocalRuntime(catalog, journal, base=project)
        report = runtime.run(ido.find_intent(catalog, "ship-order"))
    assert isinstance(report, ido.RunReport)
    assert (report.outcome, report.reason, report.cost) == ("achieved", None, 0.8)
    with ido.open_journal(path, reading=True) as journal:
        assert journal.resolve("last") == report.run_id
        row = journal.run(report.run_id)
        assert (row.intent, row.outcome) == ("ship-order", "achieved")
        kinds = [event.kind for event in journal.events(report.run_id)]
        text = ido.explain_run(journal)
        markdown = ido.explain_run(journal, report.run_id[:12], format="md")
        html = ido.explain_run(journal, format="html")
        replayed = ido.replay_run(journal, "last", catalog)
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert text.startswith(f"run {report.run_id} · intent ship-order · achieved")
    assert "pay-cheap-eu" in text
    assert markdown.startswith(f"# run {report.run_id} · intent ship-order · achieved")
    assert html.startswith("<!DOCTYPE html>")
    assert (replayed.decisions, replayed.divergence) == (1, None)
    assert capsys.readouterr() == ("", "")


def test_runtimes_on_threads_share_one_sqlite_journal(project: Path, tmp_path: Path) -> None:
    """As the page says: a runtime per thread, one journal for all; every run is there."""
    from concurrent.futures import ThreadPoolExecutor

    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    with ido.open_journal(tmp_path / "ido.db") as journal:

        def one(_: int) -> ido.RunReport:
            runtime = ido.LocalRuntime(catalog, journal, base=project)
            return runtime.run(catalog.intents["ship-order"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            reports = list(pool.map(one, range(8)))
        rows = journal.runs()
    assert [r.outcome for r in reports] == ["achieved"] * 8
    assert sorted(r.id for r in rows) == sorted(r.run_id for r in reports)


def test_plan_decides_without_acting_with_the_journals_beliefs(project: Path) -> None:
    """`plan` returns the decision `ido plan` shows, performs nothing and journals nothing;
    given a journal, it decides with the health its runs learnt."""
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    decision = ido.plan(catalog, "ship-order", alternatives=1)
    assert isinstance(decision, ido.Decision)
    assert decision.result.status == "planned"
    assert decision.result.plan is not None
    assert [s.capability for s in decision.result.plan.steps] == ["pay-cheap-eu", "ship"]
    assert len(decision.result.alternatives) == 1
    assert not (project / "calls.log").exists()  # nothing was performed
    journal = ido.MemoryJournal()
    ido.LocalRuntime(catalog, journal, base=project).run(catalog.intents["ship-order"])
    learnt = ido.plan(catalog, catalog.intents["ship-order"], journal=journal)
    assert decision.beliefs == {}  # no journal: the declared figures
    assert "after 0 failures and 1 success" in learnt.beliefs["pay-cheap-eu"].why


def test_a_run_on_a_memory_journal_and_its_counterfactual(project: Path) -> None:
    """A run kept in memory explains like any other; a counterfactual without the policy
    that kept the payment in the EU pays in the US instead, and says so."""
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    journal = ido.MemoryJournal()
    report = ido.LocalRuntime(catalog, journal, base=project).run(catalog.intents["ship-order"])
    assert report.outcome == "achieved"
    assert ido.explain_run(journal, "last", format="json").startswith("{")
    (project / "policies" / "residency.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: residency}\nspec:\n"
        "  rules: [{id: never, effect: deny, when: 'false', message: Never.}]\n"
    )
    freer = ido.load_catalog(["intents", "capabilities", "policies"])
    what_if = ido.counterfactual_run(journal, report.run_id, freer)
    assert isinstance(what_if, ido.Counterfactual)
    assert (what_if.recorded_outcome, what_if.outcome) == ("achieved", "achieved")
    assert what_if.cost < what_if.recorded_cost
    assert [c.number for c in what_if.decisions] == [1]


def test_a_bad_catalog_is_a_load_error_naming_file_line_and_field(project: Path) -> None:
    """Loading raises (never exits) with every problem, each placed at its file, line and
    field, as `ido validate` prints them."""
    (project / "capabilities" / "catalog.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: pay}\nspec:\n"
        "  provider: acme\n  effects: {order.paid: true}\n  cost: cheap\n  colour: red\n"
    )
    with pytest.raises(ido.LoadError, match=r"2 problems found") as caught:
        ido.load_catalog(["capabilities"])
    assert isinstance(caught.value, ido.IdoError)
    placed = [(p.file, p.line, p.field) for p in caught.value.problems]
    assert placed == [
        ("capabilities/catalog.yaml", 7, "spec.cost"),
        ("capabilities/catalog.yaml", 8, "spec.colour"),
    ]
    assert all(isinstance(p, ido.Problem) for p in caught.value.problems)
    assert str(caught.value.problems[1]).startswith("capabilities/catalog.yaml:8: spec.colour:")


def test_a_folder_that_is_not_there_is_a_load_error(project: Path) -> None:
    """A catalog path that is not there is a problem like any other, not a crash."""
    with pytest.raises(ido.LoadError, match=r"  capabilitis: no such file or folder"):
        ido.load_catalog(["capabilitis", "intents"])


def test_an_unknown_intent_is_not_found_and_says_which_are(project: Path) -> None:
    """An intent the catalog does not hold is a NotFoundError naming those it holds."""
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    said = r"intent 'ship-ordr' not found; known intents: ship-order"
    with pytest.raises(ido.NotFoundError, match=said):
        ido.plan(catalog, "ship-ordr")
    with pytest.raises(ido.NotFoundError, match=said):
        ido.find_intent(catalog, "ship-ordr")


def test_a_journal_to_read_that_is_not_there_is_not_made(tmp_path: Path) -> None:
    """Opening a journal to read that is not there says so (a misspelt path) instead of
    making an empty one, as `ido explain --journal` does."""
    missing = tmp_path / "ido.db"
    with pytest.raises(ido.NotFoundError, match=re.escape(f"no journal at {missing}")):
        ido.open_journal(missing, reading=True)
    assert not missing.exists()
    with pytest.raises(ido.JournalError, match="is a folder; name a file"):
        ido.open_journal(tmp_path)


def test_explaining_an_unknown_run_or_format_is_refused() -> None:
    """An unknown run is a NotFoundError; a format `ido explain` does not write, ValueError."""
    journal = ido.MemoryJournal()
    with pytest.raises(ido.NotFoundError, match="run 'r-none' not found"):
        ido.explain_run(journal, "r-none")
    with pytest.raises(ValueError, match="format 'pdf' is not one of text, md, json, html"):
        ido.explain_run(journal, "last", format="pdf")


def test_an_unread_observer_raises_unless_plan_is_told_what_to_do(project: Path) -> None:
    """`plan` raises the ObserverError of an observer it cannot read; with
    `on_observer_error` it tells that and plans without it, as `ido plan` does."""
    (project / "capabilities" / "stock.yaml").write_text(OBSERVER)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  observers: [stock]\n")
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    with pytest.raises(ido.ObserverError, match="observer stock") as caught:
        ido.plan(catalog, "ship-order")
    told: list[ido.ObserverError] = []
    decision = ido.plan(catalog, "ship-order", on_observer_error=told.append)
    assert [e.observer for e in told] == ["stock"]
    assert told[0].reason == caught.value.reason
    assert decision.result.status == "planned"


def _code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


@pytest.fixture
def example_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project's example catalog and its Python services, made the current
    directory, with `capabilities` importable from there alone while the test runs."""
    for folder in ("intents", "capabilities", "policies", "scenarios"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    ours = [m for m in sys.modules if m == "capabilities" or m.startswith("capabilities.")]
    saved = {name: sys.modules.pop(name) for name in ours}
    yield tmp_path
    for name in [m for m in sys.modules if m == "capabilities" or m.startswith("capabilities.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_the_pages_python_runs_as_written(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Python block of docs/python-api.md runs, in order, in a copy of the project:
    the page cannot fall behind the API."""
    monkeypatch.delenv("IDO_DEMO_FAIL", raising=False)
    blocks = _code_blocks()
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"python-api.md block {number}", "exec"), namespace)
    assert (example_project / ".ido" / "ido.db").is_file()
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests  # the page's pytest test passes too
    for test in tests:
        assert callable(test)
        test()


def test_plan_works_out_as_many_alternatives_as_the_intent_asks(project: Path) -> None:
    """`ido.plan` passed its own default of 3 alternatives to `decide`, over the intent's
    `limits.alternatives`: the 83-second alternatives that setting turns off came back
    for an embedder."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {alternatives: 0}\n")
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    assert ido.plan(catalog, "ship-order").result.alternatives == ()
    assert len(ido.plan(catalog, "ship-order", alternatives=1).result.alternatives) == 1


def test_one_path_is_loaded_as_one_path_not_its_letters(project: Path) -> None:
    """`load_catalog("capabilities")`, a path not in a list, loads that folder: it was read
    as a list of its letters (`c: no such file or folder`, …), and a `Path` as a TypeError."""
    listed = ido.load_catalog(["capabilities"])
    for one in ("capabilities", Path("capabilities"), project / "capabilities"):
        assert ido.load_catalog(one).capabilities.keys() == listed.capabilities.keys()
    with pytest.raises(ido.LoadError, match=r"1 problem found:\n  capabilitis: no such"):
        ido.load_catalog("capabilitis")


def test_a_binding_types_its_context_with_the_public_name(project: Path) -> None:
    """A binding written as the reference shows (`from ido import ActionContext`) runs, and
    is given an `ido.ActionContext`: the type a binding needs was only in a module the page
    calls internal (`ido.runtime.context`)."""
    (project / "fakesvc" / "typed.py").write_text(
        "from typing import Any\n\nfrom ido import ActionContext\n\n\n"
        "def call(ctx: ActionContext) -> dict[str, Any]:\n"
        "    return {'typed': isinstance(ctx, ActionContext), 'key': ctx.idempotency_key}\n"
    )
    catalog_file = project / "capabilities" / "catalog.yaml"
    catalog_file.write_text(catalog_file.read_text().replace("fakesvc.impl:", "fakesvc.typed:"))
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    journal = ido.MemoryJournal()
    report = ido.LocalRuntime(catalog, journal, base=project).run(catalog.intents["ship-order"])
    outputs = [e.data.get("output") for e in journal.events(report.run_id)]
    assert report.outcome == "achieved"
    assert {"typed": True, "key": f"{report.run_id}/1/1"} in outputs
    context = ido.ActionContext("r1", "i", "c", "p", 1, 1, "r1/1/1", 5.0, {"a": 1})
    assert context.state == {"a": 1}


SCENARIOS = """\
apiVersion: ido/v1
kind: Scenario
metadata: {name: eu-down}
spec:
  intent: ship-order
  faults: [{provider: cheappay, outage: true, error: "cheappay: 503"}]
  expect: {outcome: achieved, used: [pay-cheap-eu, pay-pricey-eu]}
---
apiVersion: ido/v1
kind: Scenario
metadata: {name: wrong-hope}
spec:
  intent: ship-order
  expect: {outcome: failed, max_cost: 0.1}
"""


def test_scenarios_run_from_python_as_the_command_tests_them(project: Path) -> None:
    """`run_scenarios` runs each scenario of the project's `scenarios/` in its simulated
    world, no binding called: what it did, whether it passed, and each unmet expectation in
    the words `ido scenario test` prints; its journal explains it."""
    (project / "scenarios").mkdir()
    (project / "scenarios" / "ship.yaml").write_text(SCENARIOS)
    results = ido.run_scenarios()
    assert [(r.name, r.passed, r.report.outcome) for r in results] == [
        ("eu-down", True, "achieved"),
        ("wrong-hope", False, "achieved"),
    ]
    assert all(isinstance(r, ido.ScenarioResult) for r in results)
    assert results[1].unmet == (
        "outcome: expected failed, got achieved",
        "max_cost: spent 0.80, more than 0.10",
    )
    explained = ido.explain_run(results[0].journal, results[0].report.run_id)
    assert "cheappay: 503" in explained
    assert not (project / "calls.log").exists()  # the world answered, not the bindings
    tested = subprocess.run(
        [sys.executable, "-m", "ido", "scenario", "test"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 1
    for said in results[1].unmet:
        assert f"✗ {said}" in tested.stdout


def test_scenarios_run_from_another_folder_with_the_project_as_base(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`base` is the project: its `scenarios/` and catalog folders, wherever the test runs."""
    (project / "scenarios").mkdir()
    (project / "scenarios" / "ship.yaml").write_text(SCENARIOS)
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    results = ido.run_scenarios(base=project)
    assert [r.name for r in results] == ["eu-down", "wrong-hope"]
    one = ido.run_scenarios(project / "scenarios" / "ship.yaml", base=project)
    assert [r.name for r in one] == ["eu-down", "wrong-hope"]


def test_no_scenario_or_a_broken_one_is_an_error_not_a_pass(project: Path) -> None:
    """A suite that finds nothing to run raises rather than pass; a scenario that does not
    load is a LoadError naming its file, line and field."""
    with pytest.raises(ido.NotFoundError, match="scenarios: no such file or folder"):
        ido.run_scenarios()
    (project / "scenarios").mkdir()
    with pytest.raises(ido.NotFoundError, match=r"no scenarios in .*scenarios"):
        ido.run_scenarios()
    (project / "scenarios" / "ship.yaml").write_text(SCENARIOS.replace("ship-order", "shp"))
    with pytest.raises(ido.LoadError) as caught:
        ido.run_scenarios("scenarios")
    assert next((p.file, p.line, p.field) for p in caught.value.problems) == (
        "scenarios/ship.yaml",
        5,
        "spec.intent",
    )


def test_a_runtime_refuses_a_second_run_while_it_carries_one(project: Path) -> None:
    """A run begun on a runtime already carrying one (from another thread: one runtime kept
    for a whole service) is refused, saying to give each thread its own: it wrote its
    events into the first run's. Once the first ends, the runtime takes the next."""
    import threading

    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    intent = catalog.intents["ship-order"]
    journal = ido.MemoryJournal()
    said: list[str] = []
    tried: list[bool] = []

    def second() -> None:
        try:
            runtime.run(intent)
        except ido.IdoError as exc:
            said.append(str(exc))

    def listen(kind: str, data: object) -> None:
        if kind == "action_started" and not tried:  # the first run is in its first step
            tried.append(True)
            thread = threading.Thread(target=second, daemon=True)
            thread.start()
            thread.join(timeout=60)  # (the second run, let in, waited on the first for good)

    runtime = ido.LocalRuntime(catalog, journal, base=project, listener=listen)
    report = runtime.run(intent)
    assert report.outcome == "achieved"
    assert said == [
        f"this LocalRuntime is carrying run {report.run_id} already: it carries one run at a "
        "time; give each thread its own LocalRuntime (they may share one journal)"
    ]
    assert [row.id for row in journal.runs()] == [report.run_id]
    kinds = [event.kind for event in journal.events(report.run_id)]
    assert kinds.count("run_started") == kinds.count("run_finished") == 1
    assert runtime.run(intent).outcome == "achieved"


def test_a_run_is_given_one_requests_facts_over_the_intents(project: Path) -> None:
    """`with_given` merges a request's facts over the intent's `given` (the intent as
    loaded unchanged), and the run plans and records with them; a value JSON has not is
    refused, naming the intent, not turned into text."""
    from decimal import Decimal

    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    intent = catalog.intents["ship-order"]
    us = ido.with_given(intent, {"order": {"region": "us"}})
    assert us.spec.given == {"order": {"id": "7", "region": "us"}}
    assert intent.spec.given == {"order": {"id": "7", "region": "eu"}}
    journal = ido.MemoryJournal()
    report = ido.LocalRuntime(catalog, journal, base=project).run(us)
    assert report.outcome == "achieved"
    started = journal.events(report.run_id)[0].data
    assert started["intent"]["spec"]["given"] == {"order": {"id": "7", "region": "us"}}
    with pytest.raises(ido.IdoError, match=r"^given of intent ship-order: Object of type Decimal"):
        ido.with_given(intent, {"order": {"amount": Decimal("12.50")}})
    with pytest.raises(ido.IdoError, match=r"numbers must be finite, not nan \(at order.amount\)"):
        ido.with_given(intent, {"order": {"amount": float("nan")}})


def test_a_refused_run_never_names_the_runtimes_run_before(project: Path) -> None:
    """A run refused while the runtime's next run is starting (reading the journal's
    health, its id not made yet) said the runtime carried the run before, long ended."""
    import threading

    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    intent = catalog.intents["ship-order"]
    said: list[str] = []

    class Watched(ido.MemoryJournal):
        starting = False

        def health(self) -> dict[str, Any]:
            if self.starting:  # the second run is starting: another thread tries one
                self.starting = False
                thread = threading.Thread(target=second, daemon=True)
                thread.start()
                thread.join(timeout=60)
            return super().health()

    def second() -> None:
        try:
            runtime.run(intent)
        except ido.IdoError as exc:
            said.append(str(exc))

    journal = Watched()
    runtime = ido.LocalRuntime(catalog, journal, base=project)
    first = runtime.run(intent)
    journal.starting = True
    assert runtime.run(intent).outcome == "achieved"
    assert len(said) == 1
    assert first.run_id not in said[0]
    assert said[0].startswith("this LocalRuntime is carrying a run already")
