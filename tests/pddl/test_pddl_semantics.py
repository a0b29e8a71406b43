"""PDDL's own meaning where ido's first reading differed: what a plan costs under the
problem's metric, atoms only unusable actions would set, actions that change nothing, and
plans longer than the default step limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import PddlError
from ido.loading import load_catalog
from ido.pddl import import_pddl, load_pddl, pddl_catalog

NEGATED = """\
(define (domain negp) (:requirements :strips :negative-preconditions)
 (:predicates (p ?x) (q) (w) (g))
 (:action mkq :parameters () :precondition (w) :effect (q))
 (:action setp :parameters (?x) :precondition (q) :effect (p ?x))
 (:action fin :parameters (?x) :precondition (not (p ?x)) :effect (g)))
"""

ALARM = """\
(define (domain alarmd) (:requirements :strips :conditional-effects)
 (:predicates (q) (w) (g) (alarm))
 (:action mkq :parameters () :precondition (w) :effect (q))
 (:action arm :parameters () :precondition (q) :effect (alarm))
 (:action open :parameters () :precondition () :effect (and (g) (when (alarm) (not (g))))))
"""

FREEBIE = """\
(define (domain freebie) (:requirements :strips :action-costs) (:predicates (a) (b) (g))
 (:functions (total-cost) - number)
 (:action paid :parameters () :precondition (a) :effect (and (g) (increase (total-cost) 1)))
 (:action step1 :parameters () :precondition (a) :effect (b))
 (:action step2 :parameters () :precondition (b) :effect (g))
 (:action idle :parameters () :precondition (a) :effect (increase (total-cost) 1)))
"""
FREEBIE_P = "(define (problem pf) (:domain freebie) (:init (a) (= (total-cost) 0)) (:goal (g))"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def plan(tmp_path: Path, domain: str, problem: str, *flags: str) -> tuple[int, str, list[str]]:
    """`ido plan --pddl` with each planner; the exit code, output and IPC plan of `search`,
    after checking `cpsat` says the same."""
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
    seen = []
    for planner in ("search", "cpsat"):
        out = tmp_path / f"{planner}.plan"
        out.unlink(missing_ok=True)
        done = CliRunner().invoke(
            app, ["plan", "--pddl", str(d), str(p), "--planner", planner, "--plan-out", str(out),
                  "--alternatives", "0", *flags],
        )  # fmt: skip
        steps = out.read_text().splitlines() if out.is_file() else []
        seen.append((done.exit_code, done.output, [s for s in steps if s.startswith("(")]))
    assert (seen[0][0], seen[0][2]) == (seen[1][0], seen[1][2]), seen
    return seen[0]


@pytest.mark.parametrize(
    ("domain", "problem", "steps"),
    [
        (NEGATED, "(define (problem pn) (:domain negp) (:objects a) (:init) (:goal (g)))",
         ["(fin a)"]),
        (NEGATED, "(define (problem pn) (:domain negp) (:objects a) (:init) (:goal (not (p a))))",
         []),
        (ALARM, "(define (problem pa) (:domain alarmd) (:init) (:goal (g)))", ["(open)"]),
    ],
)  # fmt: skip
def test_an_atom_only_unusable_actions_would_set_is_false_for_good(
    tmp_path: Path, domain: str, problem: str, steps: list[str]
) -> None:
    """`(p a)` is set only by `setp`, which needs `q`, which only `mkq` sets, which needs
    `w`, which nothing sets: `(not (p a))` always holds. It was kept, and with no capability
    left to write `p.a`, it read a fact that is not there: "no plan"."""
    code, out, found = plan(tmp_path, domain, problem)
    assert code == 0, out
    assert found == steps


def test_under_the_metric_an_action_that_adds_no_cost_costs_nothing(tmp_path: Path) -> None:
    code, out, found = plan(tmp_path, FREEBIE, FREEBIE_P + " (:metric minimize (total-cost)))")
    assert (code, found) == (0, ["(step1)", "(step2)"]), out
    assert "cost 0.00" in out


def test_an_action_that_increases_the_cost_twice_costs_the_sum(tmp_path: Path) -> None:
    """Two `(increase (total-cost) …)` in one effect add up, as VAL and Fast Downward count
    them: it cost the last one alone (3 where VAL says 5)."""
    twice = FREEBIE.replace(
        "(and (g) (increase (total-cost) 1))",
        "(and (g) (increase (total-cost) 2) (increase (total-cost) (fee)) (increase (total-cost) 3))",
    ).replace("(:functions (total-cost) - number)", "(:functions (total-cost) (fee) - number)")
    problem = FREEBIE_P.replace("(= (total-cost) 0)", "(= (total-cost) 0) (= (fee) 4)")
    d = write(tmp_path, "d.pddl", twice)
    p = write(tmp_path, "p.pddl", problem + " (:metric minimize (total-cost)))")
    assert {a.call: a.cost for a in load_pddl(d, p).actions}["(paid)"] == 9.0


@pytest.mark.parametrize(
    ("paid", "written"), [("1234567", "1234567"), ("2.5", "2.5"), ("0.0000003", "0.0000003")]
)
def test_the_plan_file_writes_the_cost_exactly(tmp_path: Path, paid: str, written: str) -> None:
    """The `; cost =` line was rounded to six digits: 1234567 was `1.23457e+06`."""
    domain = (
        "(define (domain paying) (:requirements :strips :action-costs) (:predicates (g))"
        " (:functions (total-cost) - number)"
        f" (:action paid :parameters () :precondition () :effect (and (g) (increase (total-cost) {paid}))))"
    )
    problem = (
        "(define (problem pp) (:domain paying) (:init) (:goal (g)) (:metric minimize (total-cost)))"
    )
    code, out, _ = plan(tmp_path, domain, problem)
    assert code == 0, out
    assert (tmp_path / "search.plan").read_text() == f"(paid)\n; cost = {written} (general cost)\n"


def test_without_a_metric_every_action_costs_one(tmp_path: Path) -> None:
    """As Fast Downward and VAL count a plan without `:metric`: its length."""
    code, out, found = plan(tmp_path, FREEBIE, FREEBIE_P + ")")
    assert (code, found) == (0, ["(paid)"]), out


def test_an_action_that_changes_nothing_is_left_out_not_refused(tmp_path: Path) -> None:
    d = write(tmp_path, "d.pddl", FREEBIE)
    p = write(tmp_path, "p.pddl", FREEBIE_P + ")")
    assert "idle" not in {a.schema for a in load_pddl(d, p).actions}  # dropped as grounded
    catalog, _, _ = pddl_catalog(d, p)
    assert sorted(catalog.capabilities) == ["paid", "step1", "step2"]


@pytest.mark.parametrize(
    ("where", "text", "said"),
    [
        ("p", FREEBIE_P + " (:metric minimize))", "only (:metric minimize (total-cost))"),
        ("d", FREEBIE.replace("(total-cost) 1)))\n (:action step1", "(total-cost) 10000000000000000)))\n (:action step1"),
         "cost 10000000000000000 is not between 0 and 1e+15"),
        ("d", FREEBIE.replace("(total-cost) 1)))\n (:action step1", "(total-cost) -2)))\n (:action step1"),
         "cost -2 is not between 0 and 1e+15"),
        *(("p", FREEBIE_P.replace("(= (total-cost) 0)", f"(= (total-cost) {number})") + ")",
           f"the value '{number}' is not a number") for number in ("nan", "1_000", "1e3", "0x10")),
        ("d", FREEBIE.replace("(total-cost) 1)))\n (:action step1", "(total-cost) 1_0)))\n (:action step1"),
         "cost '1_0' is not a number"),
    ],
)  # fmt: skip
def test_a_metric_or_cost_ido_cannot_take_is_an_error_naming_its_file(
    tmp_path: Path, where: str, text: str, said: str
) -> None:
    """`(:metric minimize)` was an IndexError, a cost of 1e308 an OverflowError. Numbers
    are PDDL's: Python's `1_000` read as 1000, `nan` and `1e3` as numbers."""
    d = write(tmp_path, "d.pddl", text if where == "d" else FREEBIE)
    p = write(tmp_path, "p.pddl", text if where == "p" else FREEBIE_P + ")")
    with pytest.raises(PddlError) as info:
        pddl_catalog(d, p)
    assert f"{where}.pddl:" in str(info.value) and said in str(info.value)


def refused(tmp_path: Path, domain: str, problem: str, said: str) -> None:
    """The domain and problem are refused with an error that says `said`."""
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
    with pytest.raises(PddlError, match=re.escape(said)):
        pddl_catalog(d, p)


def chain(nodes: int) -> tuple[str, str]:
    domain = (
        "(define (domain chain) (:requirements :strips) (:predicates (at ?a) (edge ?a ?b))"
        " (:action go :parameters (?a ?b) :precondition (and (at ?a) (edge ?a ?b))"
        " :effect (and (at ?b) (not (at ?a)))))"
    )
    objects = " ".join(f"n{i}" for i in range(nodes))
    edges = " ".join(f"(edge n{i} n{i + 1})" for i in range(nodes - 1))
    problem = (
        f"(define (problem cp) (:domain chain) (:objects {objects}) (:init (at n0) {edges})"
        f" (:goal (at n{nodes - 1})))"
    )
    return domain, problem


def test_a_plan_longer_than_the_step_limit_is_advised_in_the_commands_words(
    tmp_path: Path,
) -> None:
    """A PDDL plan has no step limit: `--pddl` allows the most ido plans (200) by default,
    `--max-steps` sets it, and "no plan" for want of steps names the flag."""
    domain, problem = chain(106)  # 105 steps
    code, out, found = plan(tmp_path, domain, problem)
    assert code == 0 and len(found) == 105, out
    code, out, found = plan(tmp_path, domain, problem, "--max-steps", "100")
    assert code == 4 and found == []
    assert (
        "no plan of at most 100 steps reaches the goal: one of 105 does; give --max-steps 105"
        in out
    )
    domain, problem = chain(203)  # 202 steps: more than ido plans
    code, out, _ = plan(tmp_path, domain, problem)
    assert code == 4 and "ido plans at most 200 steps (--max-steps 200)" in out, out


CLASH = """\
(define (domain clash) (:requirements :strips)
 (:predicates (at ?x) (g))
 (:action move-to :parameters (?x) :precondition () :effect (at ?x))
 (:action move :parameters (?a ?x) :precondition (at ?x) :effect (g)))
"""


def test_calls_whose_names_would_meet_are_told_apart(tmp_path: Path) -> None:
    """`(move-to x)` and `(move to x)` both named `move-to-x`, and two long calls cut at 120
    characters alike met too: both were refused. The second is now told apart by a digest
    of its call; the plan shows the calls."""
    problem = "(define (problem cl) (:domain clash) (:objects to x) (:init) (:goal (g)))"
    code, out, found = plan(tmp_path, CLASH, problem)
    assert code == 0 and found == ["(move-to to)", "(move to to)"], out
    place = "distribution-center-hamburg-harbour-"
    objects = f"refrigerated-truck-northern-region-01 {place}east {place}west {place}north"
    long = (
        "(define (domain far) (:requirements :strips) (:predicates (at ?t ?p) (g ?p))"
        " (:action drive :parameters (?t ?from ?to) :precondition (at ?t ?from)"
        " :effect (and (at ?t ?to) (not (at ?t ?from)) (g ?to))))"
    )
    problem = (
        f"(define (problem fp) (:domain far) (:objects {objects})"
        f" (:init (at refrigerated-truck-northern-region-01 {place}east))"
        f" (:goal (and (g {place}west) (g {place}north))))"
    )
    code, out, found = plan(tmp_path, long, problem)
    assert code == 0 and len(found) == 2, out
    catalog, _, _ = pddl_catalog(tmp_path / "d.pddl", tmp_path / "p.pddl")
    assert all(len(name) <= 120 for name in catalog.capabilities)


def test_a_problem_may_be_named_as_one_of_its_ground_actions(tmp_path: Path) -> None:
    """An intent and a capability of one name are two kinds of resource, as in any catalog:
    the problem `move-to-x` was refused ("would both become 'move-to-x'")."""
    problem = "(define (problem move-to-x) (:domain clash) (:objects x) (:init) (:goal (g)))"
    code, out, found = plan(tmp_path, CLASH, problem)
    assert code == 0 and found == ["(move-to x)", "(move x x)"], out
    done = import_pddl(tmp_path / "d.pddl", tmp_path / "p.pddl", tmp_path / "out")
    catalog = load_catalog([tmp_path / "out"], base=tmp_path)
    assert done.intent_name == "move-to-x" and "move-to-x" in catalog.capabilities
    assert list(catalog.intents) == ["move-to-x"]


def test_a_problem_grounding_shows_unsolvable_is_no_plan_not_an_error(tmp_path: Path) -> None:
    """Exit 4, as for any "no plan", where it was 2 (a usage or load error); the error
    names the goal's file and line, as every error of reading PDDL does."""
    problem = "(define (problem pn) (:domain negp) (:objects a) (:init) (:goal (w)))"
    code, out, found = plan(tmp_path, NEGATED, problem)
    assert (code, found) == (4, []), out
    assert "p.pddl:1: no plan: the goal needs (w), which no action can make true" in out
    # As JSON, the decision any "no plan" gives, where it printed only the error
    code, out, _ = plan(tmp_path, NEGATED, problem, "--format", "json")
    result = json.loads(out)["result"]
    assert code == 4 and result["status"] == "infeasible" and result["plan"] is None
    assert result["reason"] == "the goal needs (w), which no action can make true"


def test_an_unknown_planner_is_a_usage_error_before_grounding(tmp_path: Path) -> None:
    """`--planner bogus` is a bad flag (exit 2) even on a problem grounding shows has no
    plan, where the JSON decision named `"planner": "bogus"` and exited 1."""
    problem = "(define (problem pn) (:domain negp) (:objects a) (:init) (:goal (w)))"
    d, p = write(tmp_path, "d.pddl", NEGATED), write(tmp_path, "p.pddl", problem)
    argv = ["plan", "--pddl", str(d), str(p), "--format", "json", "--planner", "bogus"]
    done = CliRunner().invoke(app, argv)
    assert done.exit_code == 2, done.output
    assert "'bogus' is not one of cpsat, hybrid, llm, search" in done.output


@pytest.mark.parametrize(
    ("domain_part", "init", "said"),
    [
        ("(:predicates (p ?x - (either a b)) (g))", "", "either types are not supported"),
        ("(:predicates (g)) (:action w :parameters (?x - (either a b)) :precondition ()"
         " :effect (g))", "", "d.pddl:1: either types are not supported"),
        ("(:predicates (g))", "", "p.pddl:1: either types are not supported"),
        ("(:predicates (p) (c) (g)) (:action w :parameters () :precondition ()"
         " :effect (and (g) (when (c) (increase (total-cost) 1))))",
         "", "the numeric effect (increase …) is not supported here"),
        ("(:predicates (p) (g)) (:action w :parameters () :precondition ()"
         " :effect (and (g) (decrease (total-cost) 1)))", "", "the numeric effect (decrease …)"),
        ("(:predicates (p) (g)) (:action w :parameters () :precondition (> (total-cost) 1)"
         " :effect (g))", "", "numeric comparisons (> …) are not supported"),
        ("(:predicates (p) (g))", "(not (p))", "a negated atom is not allowed here"),
        ("(:predicates (p) (g))", "(at 10 (p))",
         "timed initial literals (at 10 …) are not supported"),
        ("(:predicates (p) (g)) (:action w :parameters () :precondition (at start (p))"
         " :effect (g))", "", "d.pddl:1: (at start …) belongs to durative actions"),
        ("(:predicates (p) (g)) (:action w :parameters () :precondition (over all (p))"
         " :effect (g))", "", "d.pddl:1: (over all …) belongs to durative actions"),
    ],
)  # fmt: skip
def test_a_feature_ido_does_not_read_is_named_as_itself(
    tmp_path: Path, domain_part: str, init: str, said: str
) -> None:
    """Each said "nested terms (functions) are not supported in atoms" (`either` in
    `:parameters` or `:objects`: "'-' must be followed by a type name")."""
    domain = (
        "(define (domain d) (:requirements :strips :typing :action-costs) (:types a b)"
        f" (:functions (total-cost)) {domain_part})"
    )
    objects = "(:objects o - (either a b))" if said.startswith("p.pddl") else ""
    problem = f"(define (problem q) (:domain d) {objects} (:init {init}) (:goal (g)))"
    refused(tmp_path, domain, problem, said)


@pytest.mark.parametrize(
    ("action", "said"),
    [
        (":parameters (?x - tt) :precondition () :effect (g)", "type tt of ?x in act is not in"),
        (":parameters (?x) :precondition (p ?y) :effect (g)", "?y in (p ?y) is not a parameter"),
        (":parameters (?x) :precondition () :effect (p ?z)", "?z in (p ?z) is not a parameter"),
        (":parameters (x) :precondition () :effect (g)", "parameter x of act needs a '?'"),
        (":parameters () :precondition :effect (g)", ":precondition of act has no value"),
        (":parameters () :effect (g) :precondition", ":precondition of act has no value"),
        (":parameters () :effect (g) :effect (p a)", "act has :effect twice"),
        (":parameters () :precondition (p a) (g) :effect (g)",
         ":precondition of act takes one formula; wrap several in (and ...)"),
        (":parameters () :precondition () :effect (g) (p a)",
         ":effect of act takes one formula; wrap several in (and ...)"),
        (":parameters (?x) (?y) :effect (g)", ":parameters of act takes one list"),
    ],
)  # fmt: skip
def test_a_malformed_action_is_refused_not_read_another_way(
    tmp_path: Path, action: str, said: str
) -> None:
    """Each was taken silently: a dangling `:precondition` dropped the precondition, an
    undeclared variable became part of a fact's name, an unknown type grounded nothing. A
    second formula after a part was "action part None is not supported"."""
    domain = (
        "(define (domain d) (:requirements :strips :typing) (:types a)"
        f" (:predicates (p ?x) (g)) (:action act {action}))"
    )
    problem = "(define (problem q) (:domain d) (:objects a) (:init) (:goal (g)))"
    refused(tmp_path, domain, problem, said)


@pytest.mark.parametrize(
    ("problem", "said"),
    [
        ("(define (problem q) (:domain) (:init) (:goal (g)))", "(:domain NAME) names"),
        ("(define (problem q) (:domain d) (:init) (:goal (g)) (:goal (p a)))", "a second :goal"),
        ("(define (problem q) (:domain d) (:objects a)\n (:init) (:objects b) (:goal (g)))",
         "p.pddl:2: a second :objects (lines 1 and 2): give one"),
        ("(define (problem q) (:domain d) (:init (p a)) (:init) (:goal (g)))",
         "p.pddl:1: a second :init (both on line 1): give one"),
        ("(define (problem q) (:domain d) (:objects a) (:init)\n (:goal (g)\n (p a)))",
         "p.pddl:3: (:goal ...) takes one formula; wrap several in (and ...)"),
        ("(define (problem q) (:domain d) (:objects a) (:init) (:goal (and (g)) (p a)))",
         "p.pddl:1: (:goal ...) takes one formula"),
        ("(define (problem q) (:domain d)\n (:objects a) (:init (p a)))",
         "p.pddl:1: the problem has no (:goal ...)"),
        ("(define (problem q) (:domain d) (:objects a) (:init (p a))\n (:goal))",
         "p.pddl:2: (:goal) is empty: give a formula, (and) for none"),
        ("(define (problem q) (:domain d) (:objects a) (:init)\n"
         " (:goal (and (g) (preference p1 (p a)))))",
         "p.pddl:2: preferences (PDDL3) are not supported"),
        ("(define (problem q) (:domain d) (:objects a) (:init) (:goal (always (p a))))",
         "p.pddl:1: (always …) is a PDDL3 constraint, which is not supported"),
    ],
)  # fmt: skip
def test_a_malformed_problem_is_refused_not_read_another_way(
    tmp_path: Path, problem: str, said: str
) -> None:
    """A second goal was ignored, and a domain without a name matched any domain. A second
    `:objects` replaced the first, and a second `:init` added to it. A second formula in
    `:goal` was dropped: the plan reached the first alone. A problem with no goal was
    "satisfied", and a preference was "nested terms (functions) are not supported"."""
    domain = (
        "(define (domain d) (:requirements :strips) (:predicates (p ?x) (g))"
        " (:action act :parameters () :precondition () :effect (g)))"
    )
    refused(tmp_path, domain, problem, said)


@pytest.mark.parametrize(
    "section", ["(:requirements :strips)", "(:types a)", "(:constants c)", "(:predicates (g))",
                "(:functions (total-cost))"],
)  # fmt: skip
def test_a_domain_section_given_twice_is_refused(tmp_path: Path, section: str) -> None:
    """The second replaced the first (`:types`, `:constants`, `:predicates`) or was read too."""
    domain = (
        "(define (domain d) (:requirements :strips :typing :action-costs) (:types a) (:constants c)"
        f" (:predicates (p ?x) (g)) (:functions (total-cost))\n {section}"
        " (:action act :parameters () :precondition () :effect (g)))"
    )
    problem = "(define (problem q) (:domain d) (:init) (:goal (g)))"
    keyword = section[1:].split(maxsplit=1)[0].rstrip(")")
    refused(tmp_path, domain, problem, f"d.pddl:2: a second {keyword} (lines 1 and 2): give one")


def test_a_nameless_action_and_a_predicate_too_wide_for_a_fact_are_named(tmp_path: Path) -> None:
    """They said "action part None is not supported" and CEL's "Exceeded max recursion
    depth of 32 when parsing"."""
    problem = "(define (problem q) (:domain d) (:objects o) (:init) (:goal (g)))"
    nameless = (
        "(define (domain d) (:requirements :strips) (:predicates (g))"
        " (:action :parameters () :precondition () :effect (g)))"
    )
    wide = " ".join(f"?a{i}" for i in range(30))
    too_wide = (
        f"(define (domain d) (:requirements :strips) (:predicates (g) (p {wide}))"
        " (:action act :parameters () :precondition () :effect (g)))"
    )
    for domain, said in (
        (nameless, "(:action NAME ...) needs a name"),
        (too_wide, "(p ...) takes 30 arguments; ido's facts take at most 29"),
    ):
        d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
        with pytest.raises(PddlError, match=re.escape(said)):
            pddl_catalog(d, p)


BLOCKS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "pddl" / "blocks"


@pytest.mark.skipif(not BLOCKS.is_dir(), reason="../shared/benchmarks/pddl is not here")
def test_where_every_action_is_free_the_goals_missing_still_guide_the_search(
    tmp_path: Path,
) -> None:
    """Blocks-8-0 under a metric no action adds to: every plan costs 0, and the search
    ordered the whole plateau by steps alone, breadth-first, to its budget. The goal
    values missing are a floor on the steps left too; with it, an 18-step plan (the
    unit-cost optimum's length) comes within 50,000 states."""
    problem = (BLOCKS / "probBLOCKS-8-0.pddl").read_text().rstrip()
    problem = problem[:-1] + " (:metric minimize (total-cost)))\n"
    domain = (BLOCKS / "domain.pddl").read_text()
    domain = domain.replace("(:predicates", "(:functions (total-cost))\n  (:predicates", 1)
    code, out, found = plan(tmp_path, domain, problem, "--search-states", "50000")
    assert code == 0 and len(found) == 18 and "cost 0.00" in out, out


@pytest.mark.parametrize(
    ("goal", "code"), [("(and (g) (not (g)))", 4), ("(p a)", 4), ("(nothing)", 2)]
)
def test_no_plan_leaves_no_plan_file(tmp_path: Path, goal: str, code: int) -> None:
    """An earlier `--plan-out` file stayed when there was no plan (exit 4) or an error (exit
    2), and a script then validated the earlier problem's plan."""
    problem = f"(define (problem pn) (:domain negp) (:objects a) (:init) (:goal {goal}))"
    d, p = write(tmp_path, "d.pddl", NEGATED), write(tmp_path, "p.pddl", problem)
    out = write(tmp_path, "x.plan", "(fin a)\n; cost = 1 (general cost)\n")
    done = CliRunner().invoke(app, ["plan", "--pddl", str(d), str(p), "--plan-out", str(out)])
    assert done.exit_code == code and not out.exists(), done.output


def test_a_total_cost_that_starts_above_zero_is_refused(tmp_path: Path) -> None:
    """It was ignored: ido wrote `; cost = 1` where VAL, counting from 5, says 6."""
    problem = FREEBIE_P.replace("(= (total-cost) 0)", "\n (= (total-cost) 5)")
    refused(tmp_path, FREEBIE, problem + " (:metric minimize (total-cost)))",
            "p.pddl:2: (total-cost) starts at 5; ido counts a plan's cost from 0")  # fmt: skip
    assert pddl_catalog(
        write(tmp_path, "d.pddl", FREEBIE), write(tmp_path, "p.pddl", FREEBIE_P + ")")
    )


def test_a_plan_file_that_is_an_input_is_refused_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: `--plan-out` removed its file before reading anything, so naming
    the problem (or an intent's YAML) as the plan file lost it. A link to a plan file is
    kept, its file emptied (it was replaced by a file of its own, the linked one stale)."""
    problem = "(define (problem pn) (:domain negp) (:objects a) (:init) (:goal (nothing)))"
    d, p = write(tmp_path, "d.pddl", NEGATED), write(tmp_path, "p.pddl", problem)
    done = CliRunner().invoke(app, ["plan", "--pddl", str(d), str(p), "--plan-out", str(p)])
    assert done.exit_code == 2 and "this plan is made from" in done.output, done.output
    assert f"{p} is a file this plan is made from" in done.output  # not "p.pddl is p.pddl"
    assert p.read_text() == problem
    (tmp_path / "intents").mkdir()
    intent = write(tmp_path / "intents", "i.yaml", "kind: Intent\n")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["plan", "i", "--plan-out", "intents/i.yaml"])
    assert done.exit_code == 2 and "this plan is made from" in done.output, done.output
    assert intent.read_text() == "kind: Intent\n"
    target = write(tmp_path, "old.plan", "(fin a)\n")
    (tmp_path / "link.plan").symlink_to(target)
    done = CliRunner().invoke(app, ["plan", "--pddl", str(d), str(p), "--plan-out", "link.plan"])
    assert done.exit_code == 2, done.output
    assert (tmp_path / "link.plan").is_symlink() and target.read_text() == ""
