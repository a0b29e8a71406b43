"""ADL preconditions and goals compiled to STRIPS: one action per way the formula can hold.

A formula in negation normal form (`syntax.Formula`) is brought to disjunctive normal
form: `forall` becomes the conjunction of its body over every object of the variables'
types (the problem's objects are known by then), `exists` in a precondition becomes a new
parameter of the action (bound like the others, and left out of the call a plan shows;
in a goal, which has no parameters, the disjunction over the objects), and `and` of `or`s
is multiplied out. Each disjunct is a plain conjunction of literals: one STRIPS action
each, all showing the same call. The compilation is exact; its only cost is size, capped
at `MAX_DISJUNCTS` per action or goal with an error that says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import product

from ido.errors import PddlError
from ido.pddl.syntax import Action, Atom, Formula, Junction, Literal, Quantified

MAX_DISJUNCTS = 512
"""Ways a precondition or goal may hold, at most, once multiplied out."""

Objects = Callable[[str], list[str]]
"""The objects of a type (its subtypes' included)."""
Disjunct = tuple[tuple[Literal, ...], tuple[tuple[str, str], ...]]
"""A conjunction of literals, and the variables an `exists` brought in (with their types)."""


def variants(schema: Action, objects: Objects) -> list[Action]:
    """`schema` as STRIPS actions: one per way its precondition can hold. A STRIPS
    schema is itself."""
    if schema.condition is None:
        return [schema]
    where = f"the precondition of {schema.name}"
    shown = len(schema.parameters)
    return [
        replace(
            schema,
            parameters=schema.parameters + extra,
            precondition=schema.precondition + literals,
            condition=None,
            shown=shown,
        )
        for literals, extra in _dnf(schema.condition, objects, _Fresh(), where, True)
    ]


def goal_options(
    literals: tuple[Literal, ...], condition: Formula | None, objects: Objects
) -> list[tuple[Literal, ...]]:
    """The ways a goal can hold, each a conjunction of ground literals: `exists` is the
    disjunction over the objects."""
    if condition is None:
        return [literals]
    ways = _dnf(condition, objects, _Fresh(), "the goal", False)
    return [literals + conjunction for conjunction, _ in ways]


class _Fresh:
    """New variable names for each `exists`: a space cannot occur in a PDDL name."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, variable: str) -> str:
        self.count += 1
        return f"{variable} {self.count}"


def _dnf(
    formula: Formula, objects: Objects, fresh: _Fresh, where: str, params: bool
) -> list[Disjunct]:
    if isinstance(formula, Literal):
        return [((formula,), ())]
    if isinstance(formula, Junction):
        if not formula.every:
            out = [d for part in formula.parts for d in _dnf(part, objects, fresh, where, params)]
            return _capped(out, where)
        conjunctions: list[Disjunct] = [((), ())]
        for part in formula.parts:
            ways = _dnf(part, objects, fresh, where, params)
            conjunctions = _capped(
                [(a + b, x + y) for a, x in conjunctions for b, y in ways if _consistent(a + b)],
                where,
            )
        return conjunctions
    names = [v for v, _ in formula.variables]
    if formula.every or not params:  # over the objects: all of them, or (a goal) any
        combos = product(*(objects(kind) for _, kind in formula.variables))
        bodies = tuple(_substitute(formula.body, dict(zip(names, c, strict=True))) for c in combos)
        return _dnf(Junction(formula.every, bodies), objects, fresh, where, params)
    renamed = {v: fresh(v) for v in names}
    extra = tuple((renamed[v], kind) for v, kind in formula.variables)
    body = _substitute(formula.body, renamed)
    return [(lits, extra + more) for lits, more in _dnf(body, objects, fresh, where, params)]


def _consistent(literals: tuple[Literal, ...]) -> bool:
    """False when the conjunction needs an atom both true and false."""
    signs: dict[Atom, bool] = {}
    return all(signs.setdefault(lit.atom, lit.positive) == lit.positive for lit in literals)


def _capped(ways: list[Disjunct], where: str) -> list[Disjunct]:
    if len(ways) > MAX_DISJUNCTS:
        raise PddlError(
            f"{where} can hold in more than {MAX_DISJUNCTS} ways once its 'or', 'imply', "
            f"'exists' and 'forall' are multiplied out; ido reads at most {MAX_DISJUNCTS}"
        )
    return ways


def _substitute(formula: Formula, names: Mapping[str, str]) -> Formula:
    """`formula` with the variables of `names` replaced (by objects or fresh variables)."""
    if isinstance(formula, Literal):
        atom = formula.atom
        return Literal(
            Atom(atom.predicate, tuple(names.get(a, a) for a in atom.args)), formula.positive
        )
    if isinstance(formula, Junction):
        return Junction(formula.every, tuple(_substitute(p, names) for p in formula.parts))
    inner = {k: v for k, v in names.items() if k not in dict(formula.variables)}  # shadowed
    return Quantified(formula.every, formula.variables, _substitute(formula.body, inner))
