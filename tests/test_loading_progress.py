"""Word from a long load: reading and checking a large catalog, grounding a PDDL problem."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido import cli, planning_words, yamlsrc
from ido.cli import deciding
from ido.loading import documents, load_catalog
from ido.pddl import import_pddl, load_pddl
from ido.planner import progress
from ido.planning_words import describe

grounding = importlib.import_module("ido.pddl.ground")  # (`ido.pddl.ground` is the function)

DOMAIN = """(define (domain lights)
  (:predicates (on ?x))
  (:action switch :parameters (?x) :precondition (not (on ?x)) :effect (on ?x)))"""
PROBLEM = """(define (problem five) (:domain lights)
  (:objects a b c d e) (:init) (:goal (and (on a) (on b) (on c) (on d) (on e))))"""


def capabilities(folder: Path, count: int) -> Path:
    """A catalog of `count` capabilities in one file, and an intent that needs them all."""
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    documents = [
        "apiVersion: ido/v1\nkind: Capability\n"
        f"metadata: {{name: light-{i}}}\n"
        f"spec: {{provider: home, effects: {{light.l{i}: true}}}}\n"
        for i in range(count)
    ]
    (folder / "capabilities" / "lights.yaml").write_text("---\n".join(documents))
    goal = ", ".join(f"state.light.l{i}" for i in range(count))
    (folder / "intents" / "all-on.yaml").write_text(
        f"apiVersion: ido/v1\nkind: Intent\nmetadata: {{name: all-on}}\nspec: {{goal: [{goal}]}}\n"
    )
    return folder


@pytest.fixture
def often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports every two documents, resources and ground actions, not every thousands."""
    monkeypatch.setattr(yamlsrc, "EVERY", 2)
    monkeypatch.setattr(documents, "REPORT_EVERY", 2)
    monkeypatch.setattr(grounding, "REPORT_EVERY", 2)


def test_loading_a_large_catalog_reports_reading_checking_and_the_checks_across(
    tmp_path: Path, often: None
) -> None:
    folder = capabilities(tmp_path, 5)
    file = folder / "capabilities" / "lights.yaml"
    reports: list[Mapping[str, object]] = []
    quiet = load_catalog([folder], base=folder)
    with progress.listening(reports.append):
        heard = load_catalog([folder], base=folder)
    assert heard.capabilities == quiet.capabilities and list(heard.intents) == ["all-on"]
    mine = [r for r in reports if r.get("file") in (None, "capabilities/lights.yaml")]
    assert [(r["step"], r["resources"], r.get("of")) for r in mine] == [
        ("reading", 0, None),
        ("reading", 2, None),
        ("reading", 4, None),
        ("checking", 0, 5),
        ("checking", 2, 5),
        ("checking", 4, 5),
        ("across", 6, None),  # the capabilities and the intent
    ]
    assert all(r["stage"] == "loading" for r in reports)
    assert file.is_file()


def test_grounding_reports_how_many_actions_it_has_and_grounds_the_same(
    tmp_path: Path, often: None
) -> None:
    (tmp_path / "d.pddl").write_text(DOMAIN)
    (tmp_path / "five.pddl").write_text(PROBLEM)
    reports: list[Mapping[str, object]] = []
    quiet = load_pddl(tmp_path / "d.pddl", tmp_path / "five.pddl")
    with progress.listening(reports.append):
        heard = load_pddl(tmp_path / "d.pddl", tmp_path / "five.pddl")
    assert heard == quiet and len(heard.actions) == 5
    assert reports == [
        {"stage": "grounding", "problem": "five.pddl", "actions": 2},
        {"stage": "grounding", "problem": "five.pddl", "actions": 4},
    ]


def test_an_import_reports_the_file_it_writes(tmp_path: Path, often: None) -> None:
    (tmp_path / "d.pddl").write_text(DOMAIN)
    (tmp_path / "five.pddl").write_text(PROBLEM)
    reports: list[Mapping[str, object]] = []
    with progress.listening(reports.append):
        import_pddl(tmp_path / "d.pddl", tmp_path / "five.pddl", tmp_path / "out")
    assert {"stage": "writing", "file": "five.yaml", "resources": 6} in reports


def test_loading_grounding_and_writing_in_words() -> None:
    assert describe({"stage": "loading", "step": "reading", "file": "c.yaml", "resources": 3000,
                     "seconds": 1.25}) == "loading 1.2s: reading c.yaml, 3,000 documents read"  # fmt: skip
    checking = {"stage": "loading", "step": "checking", "file": "c.yaml", "resources": 17000}
    assert describe({**checking, "of": 41229, "seconds": 16.4}) == (
        "loading 16.4s: checking the resources of c.yaml, 17,000 of 41,229 checked"
    )
    assert describe({"stage": "loading", "step": "across", "resources": 41230, "seconds": 20}) == (
        "loading 20.0s: checking the references and conditions of 41,230 resources"
    )
    grounding_words = describe({"stage": "grounding", "problem": "p40.pddl", "actions": 25000})
    assert grounding_words == "planning 0.0s: reading and grounding p40.pddl, 25,000 actions so far"
    assert describe({"stage": "preparing", "capabilities": 41229, "seconds": 30}) == (
        "planning 30.0s: preparing 41,229 capabilities for the planner"
    )
    assert describe({"stage": "writing", "file": "p40.yaml", "resources": 41230}) == (
        "planning 0.0s: writing 41,230 resources to p40.yaml"
    )


def test_ido_validate_says_how_loading_goes_on_a_terminal_and_only_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, often: None
) -> None:
    """Standard error is taken for a terminal and the thresholds made zero: each report is
    a line there, and the verdict is on standard output as before. A catalog of 41,000
    capabilities had loaded for a minute with nothing said."""
    monkeypatch.chdir(capabilities(tmp_path, 5))
    monkeypatch.setattr(planning_words, "AFTER", 0.0)
    monkeypatch.setattr(planning_words, "GAP", 0.0)
    monkeypatch.setattr(planning_words, "BEAT", 3600.0)  # the reports only
    result = CliRunner().invoke(cli.app, ["validate"])
    assert result.exit_code == 0 and result.stderr == "", result.output
    monkeypatch.setattr(deciding, "_is_terminal", lambda stream: True)
    result = CliRunner().invoke(cli.app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 6 resources (1 intent, 5 capabilities")
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("loading ") for line in lines)
    assert any(": reading capabilities/lights.yaml, 4 documents read" in line for line in lines)
    assert any(
        "checking the resources of capabilities/lights.yaml, 2 of 5" in line for line in lines
    )
    assert lines[-1].endswith(": checking the references and conditions of 6 resources")
    result = CliRunner().invoke(cli.app, ["plan", "all-on", "--planner", "search", "-f", "json"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("loading ")  # then the decision, which no longer says so
    preparing = next(i for i, line in enumerate(lines) if "preparing 5 capabilities" in line)
    assert all(not line.startswith("loading ") for line in lines[preparing:])
