"""The bindings of an action's parameters that its static preconditions allow, for
`ido.pddl.ground`: each parameter's objects narrowed first by the static literals of it
alone (`_candidates`), then bound one parameter at a time, a static literal checked, or
looked up (`_StaticIndex`), as soon as its last variable is bound; an `exists` variable no
fluent reads is searched for one value, not enumerated. `MAX_TRIED` bounds the values tried."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

from ido.errors import PddlError, located
from ido.pddl.parsed import Action, Atom, Literal


def _bindings(
    schema: Action,
    objects_of: Callable[[str], list[str]],
    index: _StaticIndex,
    fluents: frozenset[str],
    where: str,
    reached: Mapping[Literal, _StaticIndex] | None = None,
) -> Iterator[dict[str, str]]:
    """The bindings of `schema`'s parameters its static literals allow, and with `reached`
    (for each positive fluent literal, the atoms it may take: `ground`'s relaxed
    reachability), those literals too, looked up as static ones are in `index`."""
    parameters, bound, spans, places = _shape(schema, fluents, index)
    names = [v for v, _ in parameters]
    candidates, settled = _candidates(schema, parameters, objects_of, index, fluents, reached)
    if not all(candidates):
        return  # a parameter no object may take: no binding, whatever the others take
    checks: list[list[tuple[Literal, frozenset[Atom]]]] = [[] for _ in range(max(1, len(names)))]
    lookups: list[list[tuple[Literal, int, _StaticIndex]]] = [[] for _ in range(max(1, len(names)))]
    for literal, last, place in places:
        table = _table(literal, index, fluents, reached)
        if table is None or literal in settled:
            continue
        if place is None:
            checks[last].append((literal, table.atoms))
        else:
            lookups[last].append((literal, place, table))

    tried = 0

    def walk(i: int, stop: int, binding: dict[str, str]) -> Iterator[dict[str, str]]:
        nonlocal tried
        if i == stop:
            yield binding
            return
        pool = candidates[i]
        if lookups[i]:
            (lit, at, t), *more = lookups[i]
            allowed = t.values(lit, at, binding)
            for lit, at, t in more:
                allowed = allowed & t.values(lit, at, binding)
            pool = [value for value in pool if value in allowed]
        tried += len(pool)
        if tried > MAX_TRIED:
            raise _too_many(schema, names, candidates, where)
        name, tests, last = names[i], checks[i], i + 1 == stop
        for value in pool:
            binding[name] = value
            if not tests or all(_static_holds(lit, binding, atoms) for lit, atoms in tests):
                if last:  # (not one generator more per binding for the last parameter)
                    yield binding
                else:
                    yield from deeper[0](i + 1, stop, binding)
        binding.pop(name, None)

    # `walk` reaches itself through `deeper`, emptied as the bindings end: through its own
    # name, the closure was a cycle that kept each call's candidates, lookups and indexes
    # (every round's atoms) until the cycle collector ran, which then had to walk and free
    # them (1,402 objects of zenotravel p01's grounding).
    deeper = [walk]

    def witnessed(binding: dict[str, str]) -> bool:
        for start, stop in spans:
            found = next(walk(start, stop, binding), None) is not None
            for name in names[start:stop]:
                binding.pop(name, None)
            if not found:
                return False
        return True

    try:
        if not names:
            if all(_static_holds(lit, {}, atoms) for lit, atoms in checks[0]):
                yield {}
            return
        for binding in walk(0, bound, {}):
            if not spans or witnessed(binding):
                yield dict(binding)
    finally:
        deeper.clear()


Shape = tuple[
    list[tuple[str, str]], int, list[tuple[int, int]], list[tuple[Literal, int, int | None]]
]
"""How `_bindings` binds a schema: its parameters in the order bound, how many are bound
before the witnesses, the witnesses' groups (spans of that order), and for each literal
the parameter after which it is checked, and where it is looked up (None: checked)."""


def _shape(schema: Action, fluents: frozenset[str], index: _StaticIndex) -> Shape:
    """How `_bindings` binds `schema` (worked out once: a grounding binds it in rounds)."""
    found = index.shapes.get(id(schema))
    if found is not None:
        return found
    # An `exists` variable no fluent literal reads (`ido.pddl.adl`) only has to have some
    # value: those witnesses go last, in groups that share a static literal, and each
    # group is searched for one value alone, not enumerated with the others.
    witnesses = _witnesses(schema, fluents)
    members = {v for group in witnesses.values() for v, _ in group}
    parameters = [p for p in schema.parameters if p[0] not in members]
    bound = len(parameters)
    parameters += [p for group in witnesses.values() for p in group]
    spans, at = [], bound
    for group in witnesses.values():
        spans.append((at, at + len(group)))
        at += len(group)
    names = [v for v, _ in parameters]
    # Check each literal as soon as its last variable is bound; a positive one that holds
    # that variable once is looked up instead: the values it allows there.
    places: list[tuple[Literal, int, int | None]] = []
    for literal in schema.precondition:
        atom = literal.atom
        variables = [names.index(a) for a in atom.args if a in names]
        last = max(variables, default=0)
        looked_up = literal.positive and atom.predicate != "=" and bool(variables)
        once = looked_up and atom.args.count(names[last]) == 1
        places.append((literal, last, atom.args.index(names[last]) if once else None))
    shape = index.shapes[id(schema)] = (parameters, bound, spans, places)
    return shape


def _table(
    literal: Literal,
    index: _StaticIndex,
    fluents: frozenset[str],
    reached: Mapping[Literal, _StaticIndex] | None,
) -> _StaticIndex | None:
    """Where `literal` is looked up while binding: a static one in `index`, a positive
    fluent one in its `reached` (a negative one may come to hold: none), else none."""
    if literal.atom.predicate not in fluents:
        return index
    return reached[literal] if literal.positive and reached is not None else None


def _candidates(
    schema: Action,
    parameters: list[tuple[str, str]],
    objects_of: Callable[[str], list[str]],
    index: _StaticIndex,
    fluents: frozenset[str],
    reached: Mapping[Literal, _StaticIndex] | None = None,
) -> tuple[list[list[str]], set[Literal]]:
    """The objects each parameter may take, in order, before any is bound: those of its type
    that pass the static literals of it alone (which are then settled), and for a positive
    static literal of several, those its atoms hold at the parameter's place. Without this,
    `(not (r ?f))` on the last of six parameters was checked once per binding of the
    other five."""
    at = {v: i for i, (v, _) in enumerate(parameters)}
    key = (id(schema), tuple(parameters))
    if key not in index.narrowed:  # (the static part is the same in every round)
        index.narrowed[key] = _narrowed(schema, at, [objects_of(k) for _, k in parameters], index)
    static_candidates, settled = index.narrowed[key]
    if reached is None:
        return static_candidates, settled
    candidates, settled = list(static_candidates), set(settled)
    for literal in schema.precondition:
        if literal.atom.predicate in fluents and literal.positive:
            _narrow(literal, at, candidates, settled, reached[literal])
    return candidates, settled


def _narrowed(
    schema: Action, at: dict[str, int], candidates: list[list[str]], index: _StaticIndex
) -> tuple[list[list[str]], set[Literal]]:
    """`candidates` narrowed by `schema`'s static literals (`_candidates`)."""
    settled: set[Literal] = set()
    for literal in schema.precondition:
        if literal.atom.predicate not in index.fluents:
            _narrow(literal, at, candidates, settled, index)
    return candidates, settled


def _narrow(
    literal: Literal,
    at: dict[str, int],
    candidates: list[list[str]],
    settled: set[Literal],
    table: _StaticIndex,
) -> None:
    """Narrow `candidates` in place by `literal`, whose atoms are `table`'s."""
    atom = literal.atom
    variables = {a for a in atom.args if a in at}
    if len(variables) == 1:
        (variable,) = variables
        i = at[variable]
        if literal.positive and atom.args == (variable,):  # (clear ?x): a set's lookup
            held = table.held(atom.predicate, 0)
            candidates[i] = [v for v in candidates[i] if v in held]
        else:
            candidates[i] = [
                v for v in candidates[i] if _static_holds(literal, {variable: v}, table.atoms)
            ]
        settled.add(literal)
    elif variables and literal.positive and atom.predicate != "=":
        for place, arg in enumerate(atom.args):
            if arg in at:
                held = table.held(atom.predicate, place)
                candidates[at[arg]] = [v for v in candidates[at[arg]] if v in held]


Narrowed = tuple[list[list[str]], set[Literal]]
"""The objects each parameter may take, and the literals that settles."""

MAX_TRIED = 5_000_000
"""Values tried for the parameters of one action, at most, in one pass of a round of
grounding (each round binds an action from the atoms reached so far): some five seconds.
The IPC problems in ../shared try at most 167,000 (satellite's `turn_to`)."""


def _too_many(
    schema: Action, names: list[str], candidates: list[list[str]], where: str
) -> PddlError:
    combinations = math.prod(len(pool) for pool in candidates)
    return PddlError(
        located(
            where,
            f"grounding {schema.name} tried {MAX_TRIED:,} values for its {len(names)} "
            f"parameters ({combinations:,} combinations of their objects) and stopped: its "
            "static preconditions rule out too few of them early (a precondition that tells "
            "which objects a parameter may take, such as a type or a static fact of it "
            "alone, does)",
        )
    )


def _witnesses(schema: Action, fluents: frozenset[str]) -> dict[str, list[tuple[str, str]]]:
    """The `exists` variables of `schema` no fluent literal reads, grouped by the static
    literals they share (keyed by a member), in the order they come."""
    if schema.shown is None:
        return {}
    read = {
        a for lit in schema.precondition if lit.atom.predicate in fluents for a in lit.atom.args
    }
    hidden = {v: kind for v, kind in schema.parameters[schema.shown :] if v not in read}
    group = {v: v for v in hidden}  # union-find over the witnesses

    def root(v: str) -> str:
        while group[v] != v:
            v = group[v]
        return v

    for literal in schema.precondition:
        shared = [a for a in literal.atom.args if a in hidden]
        for other in shared[1:]:
            group[root(other)] = root(shared[0])
    out: dict[str, list[tuple[str, str]]] = {}
    for v, kind in hidden.items():
        out.setdefault(root(v), []).append((v, kind))
    return out


class _StaticIndex:
    """Static atoms by predicate and one argument position: for the other arguments'
    values, the values that position holds in some atom. Built per position on first use."""

    def __init__(self, static: frozenset[Atom], fluents: frozenset[str] = frozenset()) -> None:
        self.atoms, self.fluents = static, fluents
        self.narrowed: dict[tuple[int, tuple[tuple[str, str], ...]], Narrowed] = {}
        """Each schema's candidates narrowed by its static literals (`_candidates`)."""
        self.shapes: dict[int, Shape] = {}
        """How each schema is bound (`_shape`), by the schema's id."""
        self._atoms: dict[str, list[tuple[str, ...]]] = {}
        for atom in static:
            self._atoms.setdefault(atom.predicate, []).append(atom.args)
        self._by: dict[tuple[str, int], dict[tuple[str, ...], set[str]]] = {}
        self._held: dict[tuple[str, int], set[str]] = {}

    def held(self, predicate: str, at: int) -> set[str]:
        """The values argument `at` of `predicate` holds in some static atom."""
        out = self._held.get((predicate, at))
        if out is None:
            out = self._held[predicate, at] = {a[at] for a in self._atoms.get(predicate, ())}
        return out

    def values(self, literal: Literal, at: int, binding: dict[str, str]) -> set[str]:
        """The values of argument `at` with which `literal` holds, the others bound."""
        predicate = literal.atom.predicate
        table = self._by.get((predicate, at))
        if table is None:
            table = self._by[predicate, at] = {}
            for args in self._atoms.get(predicate, ()):
                table.setdefault((*args[:at], *args[at + 1 :]), set()).add(args[at])
        args = literal.atom.args
        key = tuple(binding.get(a, a) for n, a in enumerate(args) if n != at)
        return table.get(key, set())


def _static_holds(literal: Literal, binding: dict[str, str], static: frozenset[Atom]) -> bool:
    atom = _bind(literal.atom, binding)
    truth = atom.args[0] == atom.args[1] if atom.predicate == "=" else atom in static
    return truth == literal.positive


def _bind(atom: Atom, binding: dict[str, str]) -> Atom:
    return Atom(atom.predicate, tuple(map(binding.get, atom.args, atom.args)))  # var or constant
