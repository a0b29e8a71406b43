"""ADL compiled to STRIPS: one action per way a precondition can hold and per set of
conditional effects that applies.

A formula in negation normal form (`parsed.Formula`) is brought to disjunctive normal
form: `forall` becomes the conjunction of its body over every object of the variables'
types (the problem's objects are known by then), `exists` in a precondition becomes a new
parameter of the action (bound like the others, and left out of the call a plan shows;
in a goal, which has no parameters, the disjunction over the objects), and `and` of `or`s
is multiplied out. Each disjunct is a plain conjunction of literals: one STRIPS action
each, all showing the same call. Conditional effects (`forall` effects unfolded over the
objects first) multiply that by each set of them that may apply: the set's conditions and
the others' negations join the precondition, and the set's effects the action's. The
compilation is exact; its only cost is size, capped at `MAX_DISJUNCTS` per action or goal
with an error that says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import product
from typing import TypeVar

from ido.errors import PddlError, located
from ido.pddl.parsed import (
    Action,
    Atom,
    Conditional,
    Formula,
    Junction,
    Literal,
    Quantified,
    Universal,
)

T = TypeVar("T")

MAX_DISJUNCTS = 512
"""Ways a precondition or goal may hold, at most, once multiplied out."""
MAX_COPIES = 100_000
"""Combinations of objects one quantifier may range over, at most."""

Objects = Callable[[str], list[str]]
"""The objects of a type (its subtypes' included)."""
Disjunct = tuple[tuple[Literal, ...], tuple[tuple[str, str], ...]]
"""A conjunction of literals, and the variables an `exists` brought in (with their types)."""


def expand_action(schema: Action, objects: Objects, truth: Truth, at: str) -> list[Action]:
    """`schema` as STRIPS actions: one per way its precondition can hold, and with
    conditional effects, per set of them that applies (each one's condition, or its
    negation, joins the precondition). A STRIPS schema is itself.

    `=` between a parameter and a quantified variable is known only once the parameter
    has a value: when the ways are too many, the schema is expanded once per value of the
    parameters `=` reads, each pinned by a `(= ?p value)` literal, where those settle.
    Errors begin with `at`, where the schema is written."""
    if schema.condition is None and not schema.conditional:
        return [schema]
    try:
        return _expanded(schema, objects, truth, at)
    except _TooMany:
        pinned = _equated(schema)
        if not pinned:
            raise
    kinds = dict(schema.parameters)
    out: list[Action] = []
    for values in product(*(objects(kinds[v]) for v in pinned)):
        names = dict(zip(pinned, values, strict=True))
        fixed = replace(
            schema,
            precondition=schema.precondition
            + tuple(Literal(Atom("=", (v, value))) for v, value in names.items()),
            condition=None if schema.condition is None else _substitute(schema.condition, names),
            conditional=tuple(_substituted(part, names) for part in schema.conditional),
        )
        out.extend(_expanded(fixed, objects, truth, at))
    return out


def _equated(schema: Action) -> list[str]:
    """The parameters of `schema` that an `=` in its condition or conditional effects
    reads, in order."""
    found: set[str] = set()

    def visit(formula: Formula) -> None:
        if isinstance(formula, Literal):
            if formula.atom.predicate == "=":
                found.update(formula.atom.args)
        elif isinstance(formula, Junction):
            for part in formula.parts:
                visit(part)
        else:
            visit(formula.body)

    def visit_effect(part: Conditional | Universal) -> None:
        if isinstance(part, Conditional):
            visit(part.condition)
        else:
            for inner in part.conditional:
                visit_effect(inner)

    if schema.condition is not None:
        visit(schema.condition)
    for part in schema.conditional:
        visit_effect(part)
    return [v for v, _ in schema.parameters if v in found]


def _expanded(schema: Action, objects: Objects, truth: Truth, at: str) -> list[Action]:
    add, delete, whens = _unfolded(schema.conditional, objects, schema.add, schema.delete, at)
    where = f"the precondition of {schema.name}"
    if 2 ** len(whens) > MAX_DISJUNCTS:
        raise PddlError(
            located(
                at,
                f"{schema.name} has {len(whens)} conditional effects once its 'forall's are "
                f"unfolded, {2 ** len(whens):,} sets that may apply; ido compiles each set "
                f"to actions of its own and reads at most {MAX_DISJUNCTS}",
            )
        )
    pre = schema.condition or Junction(True, ())
    out: list[Action] = []
    expansion = _Expansion(objects, truth, where, hidden=True, at=at)
    for applies in product((True, False), repeat=len(whens)):
        parts = (w.condition if on else w.unless for w, on in zip(whens, applies, strict=True))
        chosen = [w for w, on in zip(whens, applies, strict=True) if on]
        more_add = add + tuple(a for w in chosen for a in w.add)
        more_delete = delete + tuple(a for w in chosen for a in w.delete)
        for literals, extra in expansion.ways(Junction(True, (pre, *parts))):
            out.append(
                replace(
                    schema,
                    parameters=schema.parameters + extra,
                    precondition=schema.precondition + literals,
                    add=more_add,
                    delete=more_delete,
                    condition=None,
                    conditional=(),
                    shown=len(schema.parameters),
                )
            )
            _capped(out, where, at)
    return out


def _unfolded(
    parts: tuple[Conditional | Universal, ...],
    objects: Objects,
    add: tuple[Atom, ...],
    delete: tuple[Atom, ...],
    at: str,
) -> tuple[tuple[Atom, ...], tuple[Atom, ...], list[Conditional]]:
    """Conditional and universal effects with every `forall` unfolded over its objects:
    what they add and delete whatever holds, and the conditional effects left."""
    whens: list[Conditional] = []
    for part in parts:
        if isinstance(part, Conditional):
            whens.append(part)
            continue
        names = [v for v, _ in part.variables]
        pools = [objects(kind) for _, kind in part.variables]
        if math.prod(map(len, pools)) > MAX_COPIES:
            raise PddlError(
                located(
                    at,
                    f"a 'forall' effect ranges over {math.prod(map(len, pools)):,} "
                    f"combinations of objects; ido expands at most {MAX_COPIES:,}",
                )
            )
        for combo in product(*pools):
            binding = dict(zip(names, combo, strict=True))
            add += tuple(_bound(a, binding) for a in part.add)
            delete += tuple(_bound(a, binding) for a in part.delete)
            inner = tuple(_substituted(p, binding) for p in part.conditional)
            add, delete, more = _unfolded(inner, objects, add, delete, at)
            whens.extend(more)
    return add, delete, whens


def _substituted(
    part: Conditional | Universal, names: Mapping[str, str]
) -> Conditional | Universal:
    if isinstance(part, Conditional):
        return Conditional(
            _substitute(part.condition, names),
            _substitute(part.unless, names),
            tuple(_bound(a, names) for a in part.add),
            tuple(_bound(a, names) for a in part.delete),
        )
    inner = {k: v for k, v in names.items() if k not in dict(part.variables)}  # shadowed
    return Universal(
        part.variables,
        tuple(_bound(a, inner) for a in part.add),
        tuple(_bound(a, inner) for a in part.delete),
        tuple(_substituted(p, inner) for p in part.conditional),
    )


def _bound(atom: Atom, names: Mapping[str, str]) -> Atom:
    return Atom(atom.predicate, tuple(names.get(a, a) for a in atom.args))


def expand_goal(
    literals: tuple[Literal, ...],
    condition: Formula | None,
    objects: Objects,
    truth: Truth,
    at: str,
) -> list[tuple[Literal, ...]]:
    """The ways a goal can hold, each a conjunction of ground literals: `exists` is the
    disjunction over the objects. Empty when it cannot hold at all. Errors begin with
    `at`, where the goal is written."""
    if condition is None:
        return [literals]
    ways = _Expansion(objects, truth, "the goal", hidden=False, at=at).ways(condition)
    return [tuple(dict.fromkeys(literals + conjunction)) for conjunction, _ in ways]


TRUE: Disjunct = ((), ())
"""The way that needs nothing."""

Truth = Callable[[Atom], "bool | None"]
"""What a ground atom's truth is for good (static facts, `=`), or None: it may change, or
it is not ground."""


class _Expansion:
    """Brings formulas to disjunctive normal form for one action or goal. `exists` becomes
    new parameters (`hidden`), or in a goal, which has none, the disjunction over the
    objects; literals whose truth is known for good are settled on the way."""

    def __init__(self, objects: Objects, truth: Truth, where: str, hidden: bool, at: str) -> None:
        self.objects, self.truth, self.where, self.hidden = objects, truth, where, hidden
        self.at = at
        self.count = 0

    def ways(self, formula: Formula) -> list[Disjunct]:
        if isinstance(formula, Literal):
            known = self.truth(formula.atom)
            if known is None:
                return [((formula,), ())]
            return [TRUE] if known == formula.positive else []
        if isinstance(formula, Junction):
            parts = tuple(dict.fromkeys(formula.parts))  # (copies a `forall` made alike)
            return self._all(parts) if formula.every else self._any(parts)
        names = [v for v, _ in formula.variables]
        if formula.every or not self.hidden:  # over the objects: all of them, or any
            pools = [self.objects(kind) for _, kind in formula.variables]
            combinations = math.prod(map(len, pools))
            if combinations > MAX_COPIES:
                raise PddlError(
                    located(
                        self.at,
                        f"a quantifier in {self.where} ranges over {combinations:,} "
                        f"combinations of objects; ido expands at most {MAX_COPIES:,}",
                    )
                )
            bodies = tuple(
                _substitute(formula.body, dict(zip(names, c, strict=True))) for c in product(*pools)
            )
            return self.ways(Junction(formula.every, bodies))
        renamed = {}
        for v in names:  # a space cannot occur in a PDDL name: no clash
            self.count += 1
            renamed[v] = f"{v} {self.count}"
        extra = tuple((renamed[v], kind) for v, kind in formula.variables)
        body = _substitute(formula.body, renamed)
        return [(lits, extra + more) for lits, more in self.ways(body)]

    def _any(self, parts: tuple[Formula, ...]) -> list[Disjunct]:
        out: list[Disjunct] = []
        for part in parts:
            for way in self.ways(part):
                if way == TRUE:
                    return [TRUE]  # one way needs nothing: so does the whole
                out.append(way)
        return _capped(list(dict.fromkeys(out)), self.where, self.at)

    def _all(self, parts: tuple[Formula, ...]) -> list[Disjunct]:
        literals: list[Literal] = []  # plain literals in one go, not part by part
        rest: list[Formula] = []
        for part in parts:
            if isinstance(part, Literal):
                ways = self.ways(part)
                if not ways:
                    return []
                literals.extend(ways[0][0])
            else:
                rest.append(part)
        base = tuple(dict.fromkeys(literals))
        if not _consistent(base, ()):
            return []
        conjunctions: list[Disjunct] = [(base, ())]
        for part in rest:
            ways = self.ways(part)
            conjunctions = _capped(
                [
                    (a + tuple(lit for lit in b if lit not in a), x + y)
                    for a, x in conjunctions
                    for b, y in ways
                    if _consistent(a, b)
                ],
                self.where,
                self.at,
            )
            if not conjunctions:
                return []
        return conjunctions


def _consistent(literals: tuple[Literal, ...], more: tuple[Literal, ...]) -> bool:
    """False when `literals` and `more` together need an atom both true and false."""
    signs: dict[Atom, bool] = {}
    return all(signs.setdefault(lit.atom, lit.positive) == lit.positive for lit in literals + more)


class _TooMany(PddlError):
    """More ways than `MAX_DISJUNCTS`."""


def _capped(ways: list[T], where: str, at: str) -> list[T]:
    if len(ways) > MAX_DISJUNCTS:
        raise _TooMany(
            located(
                at,
                f"{where} can hold in more than {MAX_DISJUNCTS} ways once its 'or', 'imply', "
                f"'exists' and 'forall' are multiplied out; ido reads at most {MAX_DISJUNCTS}",
            )
        )
    return ways


def _substitute(formula: Formula, names: Mapping[str, str]) -> Formula:
    """`formula` with the variables of `names` replaced (by objects or fresh variables)."""
    if isinstance(formula, Literal):
        return Literal(_bound(formula.atom, names), formula.positive)
    if isinstance(formula, Junction):
        return Junction(formula.every, tuple(_substitute(p, names) for p in formula.parts))
    inner = {k: v for k, v in names.items() if k not in dict(formula.variables)}  # shadowed
    return Quantified(formula.every, formula.variables, _substitute(formula.body, inner))
