"""What a PDDL domain and problem say, as read (`ido.pddl.domain_file`, `problem_file`):
atoms, formulas in negation normal form, effects, actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Atom(NamedTuple):
    """`(predicate arg...)`. Named tuples, not dataclasses: grounding makes and hashes one
    per argument binding, and a tuple's are C code."""

    predicate: str
    args: tuple[str, ...]


class Literal(NamedTuple):
    atom: Atom
    positive: bool = True


class Junction(NamedTuple):
    """`(and ...)` when `every`, else `(or ...)`."""

    every: bool
    parts: tuple[Formula, ...]


class Quantified(NamedTuple):
    """`(forall (vars) body)` when `every`, else `(exists (vars) body)`."""

    every: bool
    variables: tuple[tuple[str, str], ...]  # (variable, type)
    body: Formula


Formula = Literal | Junction | Quantified
"""A precondition or goal in negation normal form: `not` applies to atoms only (read
`(not (and a b))` as `(or (not a) (not b))`, `(imply a b)` as `(or (not a) b)`)."""


class Conditional(NamedTuple):
    """`(when CONDITION EFFECT)`: the effect applies where the condition holds in the state
    before the action; `unless` is the condition's negation."""

    condition: Formula
    unless: Formula
    add: tuple[Atom, ...]
    delete: tuple[Atom, ...]


class Universal(NamedTuple):
    """`(forall (vars) EFFECT)`: the effect for every object of the variables' types."""

    variables: tuple[tuple[str, str], ...]
    add: tuple[Atom, ...]
    delete: tuple[Atom, ...]
    conditional: tuple[Conditional | Universal, ...]


@dataclass(frozen=True)
class Action:
    name: str
    parameters: tuple[tuple[str, str], ...]  # (variable, type)
    precondition: tuple[Literal, ...]
    add: tuple[Atom, ...]
    delete: tuple[Atom, ...]
    cost: tuple[Atom | float, ...] = ()
    """What it adds to `total-cost`: fixed numbers and function terms looked up in the
    problem, summed (one `increase` each, as VAL and Fast Downward add them up); none when
    it adds nothing (it costs 0 under the problem's metric)."""
    condition: Formula | None = None
    """What the precondition needs beyond `precondition`'s literals, when it is no plain
    conjunction (ADL connectives)."""
    shown: int | None = None
    """How many of `parameters` an instance's call shows: those past it are variables an
    `exists` brought in (`ido.pddl.adl`). None: all."""
    conditional: tuple[Conditional | Universal, ...] = ()
    """Conditional and universal effects, beyond `add` and `delete` (ADL)."""
    line: int = field(default=0, compare=False)
    """Where the action starts in its domain's file, for errors."""


@dataclass(frozen=True)
class Domain:
    name: str
    requirements: tuple[str, ...]
    types: dict[str, str]  # type -> parent
    constants: dict[str, str]  # object -> type
    predicates: dict[str, tuple[str, ...]]  # name -> the type of each argument
    actions: tuple[Action, ...]
    file: str = field(default="", compare=False)
    typed: tuple[tuple[str, str, int], ...] = field(default=(), compare=False)
    """The types the declarations of constants and predicates name: (type, what has it, line),
    such as ("block", "?x in (on ...)", 5)."""
    functions: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """`:functions`: name -> the type of each argument (an action's cost terms use them)."""


@dataclass(frozen=True)
class Problem:
    name: str
    domain: str
    objects: dict[str, str]
    init: frozenset[Atom]
    costs: dict[Atom, float] = field(default_factory=dict)
    goal: tuple[Literal, ...] = ()
    goal_condition: Formula | None = None
    """What the goal needs beyond `goal`'s literals, when it is no plain conjunction."""
    metric: bool = False
    """Whether it says `(:metric minimize (total-cost))`: then a plan costs what its actions
    add to `total-cost`, else one per action (as Fast Downward and VAL count it)."""
    file: str = field(default="", compare=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    """Where each section starts (":objects", ":init", ":goal"), for errors."""
    init_lines: dict[Atom, int] = field(default_factory=dict, compare=False)
    """Where each atom of `init` is written, for errors."""
    cost_lines: dict[Atom, int] = field(default_factory=dict, compare=False)
    """Where each function term `init` gives a value (`costs`) is written, for errors."""


def show(literal: Literal) -> str:
    """A literal as PDDL writes it: `(on a b)`, `(not (on a b))`."""
    text = "(" + " ".join((literal.atom.predicate, *literal.atom.args)) + ")"
    return text if literal.positive else f"(not {text})"
