"""Grounding's reach: static literals narrow each parameter's objects before any binding is
tried, the bindings tried are bounded, and its errors name the file and line."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from ido.errors import PddlError
from ido.pddl import bindings, import_pddl, load_pddl

grounding = importlib.import_module("ido.pddl.ground")  # (`ido.pddl.ground` is the function)

SIX = """\
(define (domain big) (:requirements :strips :negative-preconditions)
 (:predicates (p ?x) (r ?x) (s ?x ?y))
 (:action a :parameters (?a ?b ?c ?d ?e ?f) :precondition (and (not (r ?f)))
  :effect (p ?a)))
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problem(objects: int, init: str) -> str:
    names = " ".join(f"o{i}" for i in range(objects))
    return f"(define (problem big1) (:domain big) (:objects {names}) (:init {init}) (:goal (p o1)))"


def test_a_static_literal_of_one_parameter_is_checked_once_per_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`(not (r ?f))` on the last of six parameters was checked once per binding of the
    other five: 20 objects took 95 s to find no action. It now rules `?f`'s objects out
    before any is bound, once each, and no binding is tried."""
    calls = 0
    holds = grounding._static_holds

    def counted(*args: object) -> bool:
        nonlocal calls
        calls += 1
        return holds(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(bindings, "_static_holds", counted)  # (the parameters')
    monkeypatch.setattr(grounding, "_static_holds", counted)  # (the goal's literals)
    every_r = " ".join(f"(r o{i})" for i in range(8))
    d, p = write(tmp_path, "d.pddl", SIX), write(tmp_path, "p.pddl", problem(8, every_r))
    with pytest.raises(PddlError, match=re.escape("the goal needs (p o1)")):
        load_pddl(d, p)
    assert calls < 20  # each object once, and the goal's literal (8 ** 6 = 262,144 before)


def test_grounding_that_tries_too_many_bindings_stops_naming_the_action(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where static literals cannot narrow the objects early (`(not (s ?e ?f))` over a full
    `s`), grounding stops at its budget with an error naming the action, its line, and how
    many combinations it has, instead of running silently for hours."""
    monkeypatch.setattr(bindings, "MAX_TRIED", 1000)
    domain = SIX.replace("(not (r ?f))", "(not (s ?e ?f))")
    every_s = " ".join(f"(s o{i} o{j})" for i in range(5) for j in range(5))
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem(5, every_s))
    said = (
        "d.pddl:3: grounding a tried 1,000 values for its 6 parameters (15,625 combinations "
        "of their objects) and stopped"
    )
    with pytest.raises(PddlError, match=re.escape(said)):
        load_pddl(d, p)


def test_errors_of_grounding_name_the_file_and_line(tmp_path: Path) -> None:
    """An ADL action or goal that multiplies out too far, and a cost term `:init` gives no
    value, said what but not where."""
    ors = " ".join(f"(or (r ?a) (s ?a o{i}))" for i in range(10))
    domain = SIX.replace("(and (not (r ?f)))", f"(and {ors})").replace(
        "(:predicates", "(:constants " + " ".join(f"o{i}" for i in range(10)) + ")\n (:predicates"
    )
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem(2, ""))
    with pytest.raises(PddlError, match=re.escape("d.pddl:4: the precondition of a can hold in")):
        load_pddl(d, p)
    ors = " ".join(f"(or (p o{2 * i}) (p o{2 * i + 1}))" for i in range(10))
    many = problem(20, "").replace("(:goal (p o1))", f"\n (:goal (and {ors}))")
    d, p = write(tmp_path, "d.pddl", SIX), write(tmp_path, "p.pddl", many)
    with pytest.raises(PddlError, match=re.escape("p.pddl:2: the goal can hold in more than")):
        load_pddl(d, p)
    costly = SIX.replace(":effect (p ?a)", ":effect (and (p ?a) (increase (total-cost) (f ?a)))")
    costly = costly.replace("(:predicates", "(:functions (total-cost) (f ?x)) (:predicates")
    metric = problem(2, "")[:-1] + " (:metric minimize (total-cost)))"
    d, p = write(tmp_path, "d.pddl", costly), write(tmp_path, "p.pddl", metric)
    missing = "p.pddl:1: the cost (f o0) of a is not in :init (" + str(d) + ":3)"
    with pytest.raises(PddlError, match=re.escape(missing)):  # where to add it, and who needs it
        load_pddl(d, p)


def test_an_instance_whose_precondition_contradicts_itself_needs_no_cost(tmp_path: Path) -> None:
    """`(move bank bank)` needs (is-at bank) true and false: it never applies, and the
    problem gives no `(fare bank bank)`, as VAL and a briefcase problem expect. Its cost was
    looked up all the same, and the problem refused ("the cost (fare bank bank) of move is
    not in :init")."""
    domain = """\
(define (domain walk) (:requirements :negative-preconditions :action-costs)
 (:predicates (is-at ?x)) (:functions (total-cost) (fare ?a ?b))
 (:action move :parameters (?m ?l) :precondition (and (is-at ?m) (not (is-at ?l)))
  :effect (and (is-at ?l) (not (is-at ?m)) (increase (total-cost) (fare ?m ?l)))))
"""
    problem = """\
(define (problem w1) (:domain walk) (:objects home bank)
 (:init (is-at home) (= (fare home bank) 2) (= (fare bank home) 3) (= (total-cost) 0))
 (:goal (is-at bank)) (:metric minimize (total-cost)))
"""
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
    task = load_pddl(d, p)
    assert sorted((a.call, a.cost) for a in task.actions) == [
        ("(move bank home)", 3.0),
        ("(move home bank)", 2.0),
    ]


def test_an_instance_that_changes_nothing_needs_no_cost(tmp_path: Path) -> None:
    """`(move a a)` needs (at a), adds it and deletes it (an add wins): it changes nothing
    and is dropped, and the problem gives no `(fare a a)`. Its cost was looked up before it
    was dropped, and the problem refused ("the cost (fare a a) of move is not in :init")."""
    domain = """\
(define (domain ride) (:requirements :strips :action-costs)
 (:predicates (at ?x)) (:functions (total-cost) (fare ?from ?to))
 (:action move :parameters (?from ?to) :precondition (at ?from)
  :effect (and (at ?to) (not (at ?from)) (increase (total-cost) (fare ?from ?to)))))
"""
    problem = """\
(define (problem r1) (:domain ride) (:objects a b)
 (:init (at a) (= (fare a b) 2) (= (fare b a) 3) (= (total-cost) 0))
 (:goal (at b)) (:metric minimize (total-cost)))
"""
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
    task = load_pddl(d, p)
    assert sorted((a.call, a.cost) for a in task.actions) == [
        ("(move a b)", 2.0),
        ("(move b a)", 3.0),
    ]


def test_an_instance_that_changes_nothing_is_left_out(tmp_path: Path) -> None:
    """`(go o1)` needs (p o1) and adds it: no state it applies in changes, as the docs say
    of such instances, yet it was written as a capability. An import of nothing to do says
    so, naming the problem's file."""
    domain = """\
(define (domain noop) (:requirements :strips :negative-preconditions)
 (:predicates (p ?a) (q ?a))
 (:action go :parameters (?a) :precondition (p ?a) :effect (p ?a))
 (:action undo :parameters (?a) :precondition (not (q ?a)) :effect (not (q ?a)))
 (:action set :parameters (?a) :precondition (p ?a) :effect (and (not (q ?a)) (q ?a))))
"""
    problem = "(define (problem np) (:domain noop) (:objects o1) (:init (p o1)) (:goal (q o1)))"
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
    assert [a.call for a in load_pddl(d, p).actions] == ["(set o1)"]
    quiet = domain.replace(":effect (and (not (q ?a)) (q ?a))", ":effect (and (p ?a))")
    calm = problem.replace("(:goal (q o1))", "(:goal (p o1))")
    d, p = write(tmp_path, "d.pddl", quiet), write(tmp_path, "p.pddl", calm)
    with pytest.raises(PddlError, match=re.escape(f"{p}: no action of problem np changes")):
        import_pddl(d, p, tmp_path / "out")


CHAIN = """\
(define (domain chain) (:requirements :strips)
 (:predicates (at ?x) (link ?x ?y))
 (:action go :parameters (?from ?to) :precondition (and (at ?from) (link ?from ?to))
  :effect (and (at ?to) (not (at ?from)))))
"""


def test_only_actions_reachable_in_the_delete_relaxation_are_ground(tmp_path: Path) -> None:
    """A ring of places linked among themselves but never linked from the start is no
    part of any plan: each `go` there needs an `at` only another of them adds, and no
    plan reaches any. Grounding kept them (every atom it needed was set by some action);
    it now binds `?from` only from `at` atoms :init or a kept action makes true."""
    links = "(link a b) (link b c) (link x y) (link y z) (link z x)"
    d = write(tmp_path, "d.pddl", CHAIN)
    p = write(
        tmp_path,
        "p.pddl",
        "(define (problem ring) (:domain chain) (:objects a b c x y z)"
        f" (:init (at a) {links}) (:goal (at c)))",
    )
    calls = [action.call for action in load_pddl(d, p).actions]
    assert calls == ["(go a b)", "(go b c)"]


EITHER = """\
(define (domain either) (:requirements :strips :disjunctive-preconditions)
 (:predicates (p ?x) (r ?x) (s ?x))
 (:action a :parameters (?x) :precondition (or (r ?x) (s ?x)) :effect (p ?x)))
"""


def test_the_limit_of_ground_actions_counts_each_action_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ways of an ADL precondition may ground to the same action (`(or (r ?x) (s ?x))`
    with both true): counted once per way, six actions were refused as more than ten."""
    monkeypatch.setattr(grounding, "MAX_GROUND_ACTIONS", 10)
    objects = [f"o{i}" for i in range(1, 7)]
    facts = " ".join(f"(r {o}) (s {o})" for o in objects)
    d = write(tmp_path, "d.pddl", EITHER)
    p = write(
        tmp_path,
        "p.pddl",
        f"(define (problem both) (:domain either) (:objects {' '.join(objects)})"
        f" (:init {facts}) (:goal (and (p o1) (p o6))))",
    )
    calls = [action.call for action in load_pddl(d, p).actions]
    assert calls == [f"(a {o})" for o in objects]
    monkeypatch.setattr(grounding, "MAX_GROUND_ACTIONS", 5)
    with pytest.raises(PddlError, match=re.escape("either/both grounds to more than 5 actions")):
        load_pddl(d, p)
