"""Ground a PDDL domain and problem: every action instance reachable in the delete
relaxation (its static facts hold, and :init or another instance kept makes each fact it
needs true) that may change a state (not one that contradicts itself or changes nothing).

A predicate no action adds or deletes is *static*: its truth is fixed by the problem's
`:init`, so it becomes a filter on parameter bindings instead of a fact of the state.
Bindings are enumerated one parameter at a time (objects of the parameter's type or a
subtype) and a static literal or `=` test is checked as soon as its variables are bound;
a positive static literal is looked up instead, giving the values its last variable may
take (`ido.pddl.bindings`). Positive fluent literals are looked up alike in the atoms
reached so far, in rounds until no new atom is reached (`_reachable`), so an action is
bound only from facts that may hold, not over every object of its parameters' types. An
ADL precondition is grounded as the STRIPS actions it compiles to (`ido.pddl.adl`), and a
goal that can hold in several ways keeps each way (`options`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import PurePath

from ido.errors import PddlError, UnsolvableError, located
from ido.pddl.adl import expand_action, expand_goal
from ido.pddl.bindings import _bind, _bindings, _static_holds, _StaticIndex
from ido.pddl.check import check_problem, subtypes
from ido.pddl.parsed import Action, Atom, Domain, Literal, Problem, Universal, show
from ido.planner import progress

MAX_GROUND_ACTIONS = 200_000
REPORT_EVERY = 5_000
"""Ground actions between two reports of how far grounding has got (`progress`)."""

MAX_COMPILED = 20_000
"""Instances of one ADL action's compiled ways, at most (before duplicates are dropped)."""


@dataclass(frozen=True)
class GroundAction:
    """One action instance: `(name arg...)`, its fluent preconditions and effects."""

    schema: str
    args: tuple[str, ...]
    precondition: tuple[Literal, ...]
    add: tuple[Atom, ...]
    delete: tuple[Atom, ...]
    cost: float

    @cached_property
    def call(self) -> str:
        """The instance as IPC plan files write it: `(pick-up a)` (worked out once: an import
        reads it several times an action)."""
        return "(" + " ".join((self.schema, *self.args)) + ")"


@dataclass(frozen=True)
class GroundTask:
    domain: str
    problem: str
    fluents: frozenset[str]  # predicates that some action changes
    init: frozenset[Atom]  # fluent atoms true at the start
    goal: tuple[Literal, ...]
    actions: tuple[GroundAction, ...]
    options: tuple[tuple[Literal, ...], ...] = ()
    """When the goal can hold in several ways (ADL): each way, and `goal` is empty."""
    files: str = field(default="", compare=False)
    """The domain's and the problem's files, for errors of writing them as ido resources
    (`d.pddl, p.pddl`): two PDDL names that would meet may come from either."""
    goal_at: str = field(default="", compare=False)
    """Where the problem's goal is written (`p.pddl:4`), for errors about it."""


def ground(domain: Domain, problem: Problem) -> GroundTask:
    """Every action instance reachable in the delete relaxation from the problem's `:init`,
    but for those that never help a plan: a precondition that needs an atom both true and
    false, an instance that changes nothing."""
    if problem.domain and problem.domain != domain.name:
        raise PddlError(
            f"{problem.file}:{problem.lines.get(':domain', 1)}: problem {problem.name} is for "
            f"domain {problem.domain}, not {domain.name}"
        )
    below = subtypes(domain)
    check_problem(domain, problem, below)
    objects = {**domain.constants, **problem.objects}
    pools: dict[str, list[str]] = {}

    def objects_of(kind: str) -> list[str]:
        if kind not in pools:
            pools[kind] = sorted(o for o, t in objects.items() if t in below.get(kind, {kind}))
        return pools[kind]

    fluents = frozenset(a.predicate for act in domain.actions for a in _changes(act))
    static = frozenset(a for a in problem.init if a.predicate not in fluents)
    index = _StaticIndex(static, fluents)  # one for every schema

    def truth(atom: Atom) -> bool | None:
        """A ground atom's truth for good (static, `=`); None when it may change."""
        if any(a.startswith("?") for a in atom.args):
            return None
        if atom.predicate == "=":
            return atom.args[0] == atom.args[1]
        return None if atom.predicate in fluents else atom in static

    at_goal = f"{problem.file}:{problem.lines.get(':goal', 1)}"  # (and where "no plan" is)
    options = expand_goal(problem.goal, problem.goal_condition, objects_of, truth, at_goal)
    if not options:
        raise UnsolvableError(
            "the goal can never hold: its static facts and equalities rule it out", at_goal
        )
    init = frozenset(a for a in problem.init if a.predicate in fluents)
    variants = [
        expand_action(schema, objects_of, truth, f"{domain.file}:{schema.line}")
        for schema in domain.actions
    ]
    usable = _reachable(domain, variants, objects_of, index, fluents, init, problem)
    # Only actions whose fluent needs :init or an action kept makes true are kept (the
    # delete relaxation): an atom outside `known` is false for good, so a literal that
    # needs it false always holds.
    known = set(init).union(*(a.add for a in usable))
    actions = [_with_live(a, known) for a in usable]
    ways = [_goal(option, fluents, static, init, known) for option in options]
    possible = [way for way in ways if way is not None]
    if not possible:
        if len(options) == 1:  # name the literal no action can make true
            _goal(options[0], fluents, static, init, known, at=at_goal)
        raise UnsolvableError(
            f"the goal can hold in {len(options)} ways, and no action makes any true", at_goal
        )
    if () in possible:  # one way holds from the start
        possible = [()]
    goal = possible[0] if len(possible) == 1 else ()
    several = tuple(possible) if len(possible) > 1 else ()
    files = f"{domain.file}, {problem.file}"
    return GroundTask(
        domain.name, problem.name, fluents, init, goal, tuple(actions), several, files, at_goal
    )


Key = tuple[int, int, tuple[str, ...]]
"""Where an instance comes in the type product's order: its schema, ADL way, values."""


def _reachable(
    domain: Domain,
    variants: list[list[Action]],
    objects_of: Callable[[str], list[str]],
    index: _StaticIndex,
    fluents: frozenset[str],
    init: frozenset[Atom],
    problem: Problem,
) -> list[GroundAction]:
    """The instances reachable in the delete relaxation, in the type product's order:
    rounds that bind each action's parameters from the atoms reached so far (its positive
    fluent literals looked up as static ones are), until a round reaches no new atom. An
    instance that changes nothing, or contradicts itself, is tried once and dropped."""
    reached: set[Atom] = set()
    new, tried = set(init), set()
    found: list[tuple[Key, GroundAction]] = []
    distinct: set[tuple[int, GroundAction]] = set()  # (what `MAX_GROUND_ACTIONS` counts)
    compiled = [0] * len(variants)
    named = PurePath(problem.file).name  # (as `ido plan --pddl` names it)
    needs = [[_needs(way, fluents) for way in ways] for ways in variants]
    # What each round reads of a schema and its ways, worked out once: where errors about
    # it begin, and each way's fluent precondition (a round per level of the relaxed plan
    # built them again, a cost small problems, which ground in few actions, felt).
    ats = [f"{domain.file}:{schema.line}" for schema in domain.actions]
    pres = [
        [tuple(lit for lit in way.precondition if lit.atom.predicate in fluents) for way in ways]
        for ways in variants
    ]
    first, full = True, _StaticIndex(frozenset())
    having: set[str] = set()  # the predicates of the atoms reached
    while first or new:
        # Semi-naively: each literal j in turn takes only atoms new this round, those
        # before it only older ones, those after it any; so no binding is made twice.
        old, delta = full, _StaticIndex(frozenset(new))
        reached |= new
        full, new = _StaticIndex(frozenset(reached)), set()
        had, grown = set(having), {atom.predicate for atom in delta.atoms}
        having |= grown
        for number, (schema, ways) in enumerate(zip(domain.actions, variants, strict=True)):
            at = ats[number]
            for way, variant in enumerate(ways):
                pos = needs[number][way]
                passes: list[dict[Literal, _StaticIndex]] = [{}] if first and not pos else []
                for j, literal in enumerate(pos):
                    # (none when a literal before j has no older atom to take)
                    if literal.atom.predicate in grown and all(
                        before.atom.predicate in had for before in pos[:j]
                    ):
                        passes.append(
                            {**dict.fromkeys(pos[:j], old), literal: delta}
                            | dict.fromkeys(pos[j + 1 :], full)
                        )
                pre = pres[number][way]
                for tables in passes:
                    for binding in _bindings(variant, objects_of, index, fluents, at, tables):
                        key = (number, way, tuple(binding.values()))
                        if key in tried:
                            continue
                        tried.add(key)
                        action = _instantiate(variant, pre, binding, problem, at)
                        if action is None:
                            continue  # it never helps a plan
                        if schema.condition is not None or schema.conditional:
                            compiled[number] += 1
                            if compiled[number] > MAX_COMPILED:
                                raise _too_compiled(schema, at)
                        found.append((key, action))
                        distinct.add((number, action))  # (an ADL action's ways may ground alike)
                        new.update(a for a in action.add if a not in reached)
                        if len(found) % REPORT_EVERY == 0:  # (a large problem grounds long)
                            progress.report(stage="grounding", problem=named, actions=len(found))
                        if len(distinct) > MAX_GROUND_ACTIONS:
                            raise _too_large(domain, problem)
        first = False
    found.sort(key=lambda pair: pair[0])
    out: list[GroundAction] = []
    seen: set[tuple[int, GroundAction]] = set()  # (an ADL action's ways may ground alike)
    for (number, _, _), action in found:
        if (number, action) not in seen:
            seen.add((number, action))
            out.append(action)
    return out


def _needs(action: Action, fluents: frozenset[str]) -> list[Literal]:
    """The positive fluent literals of `action`'s precondition, each once, in order."""
    return list(
        dict.fromkeys(
            lit for lit in action.precondition if lit.positive and lit.atom.predicate in fluents
        )
    )


def _too_large(domain: Domain, problem: Problem) -> PddlError:
    return PddlError(
        located(
            problem.file,
            f"{domain.name}/{problem.name} grounds to more than "
            f"{MAX_GROUND_ACTIONS:,} actions; ido does not plan at that size",
        )
    )


def _too_compiled(schema: Action, at: str) -> PddlError:
    return PddlError(
        located(
            at,
            f"{schema.name} grounds to more than {MAX_COMPILED:,} actions once its ADL "
            "precondition and effects are compiled (each 'exists' and each conditional "
            "effect multiplies them); ido stops there",
        )
    )


def _goal(
    literals: tuple[Literal, ...],
    fluents: frozenset[str],
    static: frozenset[Atom],
    init: frozenset[Atom],
    known: set[Atom],
    at: str | None = None,
) -> tuple[Literal, ...] | None:
    """The literals of one way the goal can hold that actions may still change; None when
    one of them is fixed the wrong way (given where the goal is written, `at`: raise,
    naming it)."""
    for literal in literals:
        fixed = literal.atom.predicate not in fluents or literal.atom not in known
        truth = _static_holds(Literal(literal.atom), {}, static) or literal.atom in init
        if fixed and truth != literal.positive:
            if at is not None:
                raise UnsolvableError(
                    f"the goal needs {show(literal)}, which no action can make true", at
                )
            return None
    return _live(tuple(lit for lit in literals if lit.atom.predicate in fluents), known)


def _changes(action: Action) -> Iterator[Atom]:
    """The atoms `action` may add or delete, conditional and universal effects' included."""
    yield from action.add
    yield from action.delete
    parts = list(action.conditional)
    while parts:
        part = parts.pop()
        yield from part.add
        yield from part.delete
        if isinstance(part, Universal):
            parts.extend(part.conditional)


def _with_live(action: GroundAction, known: set[Atom]) -> GroundAction:
    """`action` without the negative preconditions that always hold (`_live`)."""
    live = _live(action.precondition, known)
    return action if len(live) == len(action.precondition) else replace(action, precondition=live)


def _live(literals: tuple[Literal, ...], known: set[Atom]) -> tuple[Literal, ...]:
    return tuple(lit for lit in literals if lit.positive or lit.atom in known)


def _instantiate(
    schema: Action,
    fluent_pre: tuple[Literal, ...],
    binding: dict[str, str],
    problem: Problem,
    at: str,
) -> GroundAction | None:
    """The instance of `schema` for `binding`, `fluent_pre` being its precondition's fluent
    literals; None when it never helps a plan: its precondition needs an atom both true and
    false (`(is-at ?m) (not (is-at ?l))` with ?m = ?l), or it changes nothing
    (`_changes_nothing`). Its cost is looked up only after, so a problem need not give the
    cost of an instance that is dropped (`(fare bank bank)`)."""
    # Inline, not `_bind`: this runs for every binding of every action (tens of thousands
    # of atoms on a large problem), and a call per atom was a third of grounding's time.
    get = binding.get
    pre = tuple(
        [
            _new(Literal, (_new(Atom, (p, tuple(map(get, args, args)))), positive))
            for (p, args), positive in fluent_pre
        ]
    )
    needed = {lit.atom for lit in pre if lit.positive}
    if len(needed) < len(pre) and any(not lit.positive and lit.atom in needed for lit in pre):
        return None
    add = tuple(
        dict.fromkeys([_new(Atom, (p, tuple(map(get, args, args)))) for p, args in schema.add])
    )
    delete = tuple(
        dict.fromkeys([_new(Atom, (p, tuple(map(get, args, args)))) for p, args in schema.delete])
    )
    if _changes_nothing(pre, needed, add, delete):
        return None  # (Fast Downward drops such actions too)
    cost = 0.0 if problem.metric else 1.0  # no metric: plan length
    for term in schema.cost if problem.metric else ():
        if isinstance(term, Atom):
            value = problem.costs.get(_bind(term, binding))
            if value is None:
                shown = show(Literal(_bind(term, binding)))
                at_init = f"{problem.file}:{problem.lines.get(':init', 1)}"
                raise PddlError(
                    located(at_init, f"the cost {shown} of {schema.name} is not in :init ({at})")
                )
            cost += value
        else:
            cost += term
    args = tuple(binding[v] for v, _ in schema.parameters[: schema.shown])
    return GroundAction(schema.name, args, pre, add, delete, cost)


def _changes_nothing(
    pre: tuple[Literal, ...], needed: set[Atom], add: tuple[Atom, ...], delete: tuple[Atom, ...]
) -> bool:
    """Whether every state the instance applies in is left as it was: what it adds, its
    precondition `pre` needs true (`needed`), and what it deletes (and does not add again:
    an add wins), false. `(go o1)` that needs and adds (p o1) is no step of any plan.
    Run on every instance: most add an atom not needed, and are told apart at once."""
    if not needed.issuperset(add):
        return False
    if not delete:
        return True
    barred = {lit.atom for lit in pre if not lit.positive}
    return all(a in barred or a in add for a in delete)


_new = tuple.__new__
"""How `_instantiate` makes its atoms and literals: as their named tuples' own `__new__`
does, without its call."""
