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
        ("(:types block)", "(:types block)\n (:constants k - block k - object)",
         "d.pddl:3: constant k is declared twice, as block (line 3) and object (line 3)"),
        ("(:types block)", "(:types block - object block - thing)",
         "type block is declared twice, as object (line 2) and thing (line 2)"),
        ("(:types block)", "(:types block) (:functions (f ?x) (f))",
         "d.pddl:2: function f is declared twice, with 1 and 0 arguments (both on line 2)"),
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
    was the other to VAL, which rejected it. A second `p` took over the first's arity."""
    assert old in DOMAIN
    refused(tmp_path, DOMAIN.replace(old, new, 1), PROBLEM, said)


def test_an_object_declared_twice_as_two_types_is_refused(tmp_path: Path) -> None:
    """Which type did `a` have? The second, silently."""
    problem = PROBLEM.replace("(:objects a b - block)", "(:objects a - block\n a b - object)")
    refused(tmp_path, DOMAIN, problem, "p.pddl:3: object a is declared twice, as block (line 2)")


def test_a_repeat_that_says_the_same_again_is_harmless(tmp_path: Path) -> None:
    """`a a - block` or `(p ?x)` twice say nothing new, and VAL reads them too."""
    domain = DOMAIN.replace("(r ?x - block))", "(r ?x - block) (p ?y))")
    problem = PROBLEM.replace("(:objects a b - block)", "(:objects a a b - block)")
    task = load_pddl(write(tmp_path, "d.pddl", domain), write(tmp_path, "p.pddl", problem))
    assert [a.call for a in task.actions] == ["(set a)", "(mk a)"]
