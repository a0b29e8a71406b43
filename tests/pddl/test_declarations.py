"""What a PDDL domain and problem declare, and how they use it: a name declared twice in
ways that disagree, or used without being declared, is refused with the file, the line
and the name, where it was read one way (and VAL, the plan's judge, another)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ido.errors import PddlError
from ido.pddl import load_pddl

DOMAIN = """\
(define (domain t) (:requirements :adl :typing)
 (:types block)
 (:predicates (p ?x - block) (q ?x - block) (r ?x - block))
 (:action set :parameters (?x - block) :precondition (q ?x) :effect (p ?x))
 (:action mk :parameters (?x - block) :precondition (q ?x) :effect (r ?x)))
"""
PROBLEM = """\
(define (problem t1) (:domain t)
 (:objects a b - block)
 (:init (q a))
 (:goal (p a)))
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, domain: str, problem: str, said: str) -> str:
    """Reading and grounding `domain` and `problem` is refused saying `said`: the message."""
    d, p = write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem)
    with pytest.raises(PddlError, match=re.escape(said)) as info:
        load_pddl(d, p)
    return str(info.value)


def test_the_base_domain_and_problem_are_read(tmp_path: Path) -> None:
    """The cases below each change one thing of a pair that reads."""
    task = load_pddl(write(tmp_path, "d.pddl", DOMAIN), write(tmp_path, "p.pddl", PROBLEM))
    assert [a.call for a in task.actions] == ["(set a)", "(mk a)"]


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("(:action mk", "(:action set", "d.pddl:5: action set is defined twice (lines 4 and 5)"),
        ("(r ?x - block))", "(r ?x - block) (p ?x ?y))",
         "d.pddl:3: predicate p is declared twice, with 1 and 2 arguments (both on line 3)"),
        ("(r ?x - block))", "(r ?x - block)\n (p ?x))",
         "d.pddl:4: predicate p is declared twice, with argument types (block) and (object) "
         "(lines 3 and 4)"),
        ("(:types block)", "(:types block)\n (:constants k - block k - object)",
         "d.pddl:3: constant k is declared twice, as block (line 3) and object (line 3)"),
        ("(:types block)", "(:types block - object block - thing)",
         "type block is declared twice, as object (line 2) and thing (line 2)"),
        ("(:types block)", "(:types block) (:functions (f ?x) (f))",
         "d.pddl:2: function f is declared twice, with 1 and 0 arguments (both on line 2)"),
        ("(:types block)", "(:types block place) (:functions (f ?x - place) (f ?y - block))",
         "d.pddl:2: function f is declared twice, with argument types (place) and (block) "
         "(both on line 2)"),
        (":parameters (?x - block) :precondition (q ?x) :effect (p ?x)",
         ":parameters (?x ?x - block) :precondition (q ?x) :effect (p ?x)",
         "d.pddl:4: ?x is declared twice in the parameters of set (both on line 4)"),
        ("(q ?x) :effect (p ?x))", "(exists (?y ?y) (q ?y)) :effect (p ?x))",
         "?y is declared twice in the variables of (exists ...)"),
    ],
)  # fmt: skip
def test_a_domain_name_declared_twice_in_ways_that_disagree_is_refused(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    """A second `set` replaced the first: ido planned with one, and the plan file's `(set a)`
    was the other to VAL, which rejected it. A second `p` took over the first's arity; one
    with other argument types was kept silently, and the problem blamed for using the first's;
    so was a function's."""
    assert old in DOMAIN
    refused(tmp_path, DOMAIN.replace(old, new, 1), PROBLEM, said)


def test_an_object_declared_twice_as_two_types_is_refused(tmp_path: Path) -> None:
    """Which type did `a` have? The second, silently."""
    problem = PROBLEM.replace("(:objects a b - block)", "(:objects a - block\n a b - object)")
    refused(tmp_path, DOMAIN, problem, "p.pddl:3: object a is declared twice, as block (line 2)")


def test_a_repeat_that_says_the_same_again_is_harmless(tmp_path: Path) -> None:
    """`a a - block` or `(p ?x)` twice say nothing new, and VAL reads them too."""
    domain = DOMAIN.replace("(r ?x - block))", "(r ?x - block) (p ?y - block))")
    problem = PROBLEM.replace("(:objects a b - block)", "(:objects a a b - block)")
    task = load_pddl(write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem))
    assert [a.call for a in task.actions] == ["(set a)", "(mk a)"]


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (":effect (p ?x))", ":effect (p ?x ?x))",
         "d.pddl:4: predicate p in the effect of set takes 1 arguments, not 2"),
        (":effect (p ?x))", ":effect (and (p ?x) (zz ?x)))",
         "d.pddl:4: predicate zz in the effect of set is not declared in the domain"),
        (":effect (p ?x))", ":effect (and (p ?x) (when (q ?x) (zz ?x))))",
         "d.pddl:4: predicate zz in the effect of set is not declared"),
        (":precondition (q ?x) :effect (p ?x)",
         ":precondition (and (q ?x) (forall (?y - blok) (q ?y))) :effect (p ?x)",
         "d.pddl:4: type blok of ?y in set is not in :types"),
        (":precondition (q ?x) :effect (p ?x)",
         ":precondition (and (q ?x) (exists (?y - blok) (q ?y))) :effect (p ?x)",
         "d.pddl:4: type blok of ?y in set is not in :types"),
        (":effect (p ?x))", ":effect (and (p ?x) (forall (?y - blok) (not (q ?y)))))",
         "d.pddl:4: type blok of ?y in set is not in :types"),
        (":precondition (q ?x) :effect (p ?x)",
         ":precondition (and (q ?x) (or (r ?zz) (r ?x))) :effect (p ?x)",
         "d.pddl:4: ?zz in (r ?zz) is not a parameter of set, nor bound by a forall or exists"),
        (":effect (p ?x))", ":effect (and (p ?x) (when (r ?zz) (not (p ?x)))))",
         "d.pddl:4: ?zz in (r ?zz) is not a parameter of set"),
        (":effect (p ?x))", ":effect (forall (?y - block) (when (r ?y) (p ?zz))))",
         "d.pddl:4: ?zz in (p ?zz) is not a parameter of set"),
        (":effect (p ?x))", ":effect (and (p ?x) (p kk)))",
         "d.pddl:4: kk in (p kk) in the effect of set is not a constant of the domain"),
        ("(:types block)", "(:types block) (:constants k - blok)",
         "d.pddl:2: type blok of constant k is not in :types"),
        ("(r ?x - block))", "(r ?x - blok))",
         "d.pddl:3: type blok of an argument of (r ...) is not in :types"),
    ],
)  # fmt: skip
def test_a_name_an_action_uses_is_declared(tmp_path: Path, old: str, new: str, said: str) -> None:
    """Each was read another way: an effect of the wrong arity or on an undeclared
    predicate set a fact nothing reads (a "no plan" that blamed the goal, or a plan VAL
    rejects); a quantifier over an undeclared type ranged over nothing; a free variable in
    an `or` or `when` became part of a fact's name; an undeclared constant an object."""
    assert old in DOMAIN
    refused(tmp_path, DOMAIN.replace(old, new, 1), PROBLEM, said)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("(:objects a b - block)", "(:objects a - blok b - block)",
         "p.pddl:2: type blok of object a is not in the domain's :types"),
        ("(:init (q a))", "(:init (q a)\n (q zzz))",
         "p.pddl:4: zzz in (q zzz) in :init is not an object of the problem or a constant"),
        ("(:init (q a))", "(:init (q a)\n (q ?x))", "p.pddl:4: ?x in (q ?x) in :init is a variable"),
        ("(:init (q a))", "(:init (q a) (zz a))",
         "p.pddl:3: predicate zz in :init is not declared in the domain"),
        ("(:init (q a))", "(:init (q a) (q a b))",
         "p.pddl:3: predicate q in :init takes 1 arguments, not 2"),
        ("(:goal (p a))", "(:goal (p zzz))",
         "p.pddl:4: zzz in (p zzz) in the goal is not an object of the problem"),
        ("(:goal (p a))", "(:goal (or (p ?zz) (p a)))",
         "p.pddl:4: ?zz in (p ?zz) in the goal is not bound by a forall or exists around it"),
        ("(:goal (p a))", "(:goal (p ?zz))", "p.pddl:4: ?zz in (p ?zz) in the goal is not bound"),
        ("(:goal (p a))", "(:goal (forall (?y - blok) (p ?y)))",
         "p.pddl:4: type blok of ?y in the goal is not in :types"),
    ],
)  # fmt: skip
def test_a_name_a_problem_uses_is_declared(tmp_path: Path, old: str, new: str, said: str) -> None:
    """An object of an undeclared type was dropped ("no plan: the goal needs (p a)"); an
    undeclared object in :init or the goal was a fact of its own; a free variable in the
    goal part of a fact's name."""
    assert old in PROBLEM
    refused(tmp_path, DOMAIN, PROBLEM.replace(old, new, 1), said)


def test_an_object_that_is_a_constant_of_another_type_is_refused(tmp_path: Path) -> None:
    """The object's type replaced the constant's; a repeat of the same type is harmless."""
    domain = DOMAIN.replace("(:types block)", "(:types block ball) (:constants a - ball)")
    said = "p.pddl:2: object a is of type block, and a constant of the domain of type ball"
    refused(tmp_path, domain, PROBLEM, said)
    same = DOMAIN.replace("(:types block)", "(:types block) (:constants a - block)")
    task = load_pddl(write(tmp_path, "d.pddl", same), write(tmp_path, "p.pddl", PROBLEM))
    assert [a.call for a in task.actions] == ["(set a)", "(mk a)"]


TYPED = """\
(define (domain tlog) (:requirements :typing)
 (:types truck package place - object airport - place)
 (:predicates (at ?t - truck ?l - place) (holds ?x ?p - object))
 (:action drive :parameters (?t - truck ?a ?b - place)
  :precondition (at ?t ?a) :effect (and (not (at ?t ?a)) (at ?t ?b))))
"""
TYPED_PROBLEM = """\
(define (problem p1) (:domain tlog)
 (:objects truck1 - truck obj5 - package l1 - place a1 - airport)
 (:init
  (at truck1 a1)
  (holds obj5 l1))
 (:goal (at truck1 l1)))
"""


def test_an_object_of_the_wrong_type_in_init_is_refused(tmp_path: Path) -> None:
    """`(at truck1 obj5)` with obj5 a package was a fact no action reads, so the problem
    had "no plan" where VAL reports a type error; an object of a subtype (an airport is a
    place) or any object where a predicate's argument is untyped is right."""
    task = load_pddl(write(tmp_path, "d.pddl", TYPED), write(tmp_path, "p.pddl", TYPED_PROBLEM))
    assert "(drive truck1 a1 l1)" in [a.call for a in task.actions]
    wrong = TYPED_PROBLEM.replace("(at truck1 a1)", "(at truck1 obj5)")
    said = (
        "p.pddl:4: obj5 in (at truck1 obj5) in :init is of type package, "
        "and argument 2 of at takes type place"
    )
    refused(tmp_path, TYPED, wrong, said)
    goal = TYPED_PROBLEM.replace("(:goal (at truck1 l1))", "(:goal (at obj5 l1))")
    refused(tmp_path, TYPED, goal, "p.pddl:6: obj5 in (at obj5 l1) in the goal is of type package")


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("(at ?t ?a) :effect", "(at ?t ?t) :effect",
         "d.pddl:4: ?t in (at ?t ?t) in the precondition of drive is of type truck, "
         "and argument 2 of at takes type place"),
        ("(at ?t ?b)))", "(at ?t ?b) (at ?b ?a)))",
         "d.pddl:4: ?b in (at ?b ?a) in the effect of drive is of type place, "
         "and argument 1 of at takes type truck"),
        ("(at ?t ?b)))", "(at ?t ?b) (forall (?x - object) (at ?t ?x))))",
         "d.pddl:4: ?x in (at ?t ?x) in the effect of drive is of type object, "
         "and argument 2 of at takes type place"),
    ],
)  # fmt: skip
def test_a_variable_of_the_wrong_type_for_its_place_is_refused(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    """`(at ?t ?t)` with ?t a truck was a fact nothing sets: "no plan", and no word of the
    typo, where VAL reports a type problem in the domain; a variable of a supertype (any
    object where a place is wanted) is no better. One of a subtype, or of any type where a
    predicate's argument is untyped, is right: `(holds ?t ?a)` reads."""
    assert old in TYPED
    refused(tmp_path, TYPED.replace(old, new, 1), TYPED_PROBLEM, said)
    fits = TYPED.replace("(at ?t ?b)))", "(at ?t ?b) (holds ?t ?a)))")
    task = load_pddl(write(tmp_path, "d.pddl", fits), write(tmp_path, "p.pddl", TYPED_PROBLEM))
    assert "(drive truck1 a1 l1)" in [a.call for a in task.actions]


COSTLY = DOMAIN.replace(
    "(:types block)", "(:types block ball)\n (:functions (total-cost) (w ?x - block))"
).replace(":effect (p ?x))", ":effect (and (p ?x) (increase (total-cost) (w ?x))))")


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("(w ?x))))", "(ww ?x))))",
         "d.pddl:5: function ww in the cost of set is not declared in :functions"),
        ("(w ?x))))", "(w ?x ?x))))",
         "d.pddl:5: function w in the cost of set takes 1 arguments, not 2"),
        ("(w ?x))))", "(w k))))",
         "d.pddl:5: k in (w k) in the cost of set is not a constant of the domain"),
        ("(w ?x - block)", "(w ?x - ball)",
         "d.pddl:5: ?x in (w ?x) in the cost of set is of type block, and argument 1 of w "
         "takes type ball"),
        ("(w ?x - block)", "(w ?x - bal)",
         "d.pddl:3: type bal of an argument of (w ...) is not in :types"),
    ],
)  # fmt: skip
def test_a_function_an_action_s_cost_uses_is_declared(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    """A cost term was looked up in `:init` as written: a misspelt function, or one given
    arguments of the wrong type, was blamed on the problem ("the cost (ww a) of set is not
    in :init"), where the domain is wrong and VAL says so."""
    assert old in COSTLY
    refused(tmp_path, COSTLY.replace(old, new, 1), PROBLEM, said)
    priced = PROBLEM.replace("(:init (q a))", "(:init (q a) (= (w a) 2) (= (w b) 3))")
    task = load_pddl(write(tmp_path, "d.pddl", COSTLY), write(tmp_path, "p.pddl", priced))
    assert [a.call for a in task.actions] == ["(set a)", "(mk a)"]


@pytest.mark.parametrize(
    ("domain", "problem", "said"),
    [
        (COSTLY.replace("(:functions (total-cost) (w ?x - block))", "(:functions (w ?x - block))"),
         PROBLEM.replace("(:init (q a))", "(:init (q a) (= (w a) 2))"),
         "d.pddl:5: function total-cost in the cost of set is not declared in :functions: "
         "add (:functions (total-cost) - number) to the domain"),
        (DOMAIN, PROBLEM[:-2] + "\n (:metric minimize (total-cost)))",
         "p.pddl:5: function total-cost in the metric is not declared in :functions"),
        (DOMAIN, PROBLEM.replace("(:init (q a))", "(:init (q a)\n (= (total-cost) 0))"),
         "p.pddl:4: function total-cost in :init is not declared in :functions"),
        (COSTLY, PROBLEM.replace("(:init (q a))", "(:init (q a)\n (= (wt a) 2))"),
         "p.pddl:4: function wt in :init is not declared in :functions"),
        (COSTLY, PROBLEM.replace("(:init (q a))", "(:init (q a) (= (w a b) 2))"),
         "p.pddl:3: function w in :init takes 1 arguments, not 2"),
        (COSTLY, PROBLEM.replace("(:init (q a))", "(:init (q a) (= (w c) 2))"),
         "p.pddl:3: c in (w c) in :init is not an object of the problem or a constant"),
    ],
)  # fmt: skip
def test_total_cost_and_the_functions_init_gives_values_are_declared(
    tmp_path: Path, domain: str, problem: str, said: str
) -> None:
    """A `total-cost` the domain never declares was read as declared (the plan's cost said 0
    under a metric, where VAL fails: "undefined expression", or crashes without a word), and
    a misspelt function in `:init` was passed over, to be blamed later on the cost term that
    needs it."""
    refused(tmp_path, domain, problem, said)


def test_of_several_wrong_atoms_in_init_the_first_in_the_file_is_named(tmp_path: Path) -> None:
    """Which wrong `:init` atom the error named changed from run to run (the atoms were read
    as a set, in the order of string hashes): it is the first in the file, every run."""
    import os
    import subprocess
    import sys

    wrong = "".join(f"\n (q zz{i})" for i in range(8))
    d = write(tmp_path, "d.pddl", DOMAIN)
    p = write(tmp_path, "p.pddl", PROBLEM.replace("(:init (q a))", f"(:init (q a){wrong})"))
    script = (
        "from pathlib import Path\nfrom ido.pddl import load_pddl\ntry:\n"
        f"    load_pddl(Path({str(d)!r}), Path({str(p)!r}))\nexcept Exception as e:\n    print(e)\n"
    )
    said = set()
    for seed in range(6):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        said.add(out.stdout.strip())
    (one,) = said
    assert one.endswith(
        "p.pddl:4: zz0 in (q zz0) in :init is not an object of the problem or a constant of the domain"
    )
