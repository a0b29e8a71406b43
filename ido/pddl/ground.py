"""Ground a PDDL domain and problem: every action instance whose static facts hold and
that may change a state (not one that contradicts itself or changes nothing).

A predicate no action adds or deletes is *static*: its truth is fixed by the problem's
`:init`, so it becomes a filter on parameter bindings instead of a fact of the state.
Bindings are enumerated one parameter at a time (objects of the parameter's type or a
subtype) and a static literal or `=` test is checked as soon as its variables are bound;
a positive static literal is looked up instead, giving the values its last variable may
take (`ido.pddl.bindings`). An ADL precondition is grounded as the STRIPS actions it
compiles to (`ido.pddl.adl`), and a goal that can hold in several ways keeps each way
(`options`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import PurePath

from ido.errors import PddlError, UnsolvableError, located
from ido.pddl.adl import Truth, expand_action, expand_goal
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
    """Every action instance whose static preconditions hold in the problem's `:init`,
    but for those that never help a plan: a precondition that needs an atom both true and
    false, an instance that changes nothing, one that needs an atom no instance kept sets."""
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
    index = _StaticIndex(static)  # one for every schema

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
    found: list[GroundAction] = []
    named = PurePath(problem.file).name  # (as `ido plan --pddl` names it)
    for schema in domain.actions:
        at = f"{domain.file}:{schema.line}"  # (where errors about it begin)
        for action in _instances(schema, objects_of, truth, static, index, fluents, problem, at):
            found.append(action)
            if len(found) % REPORT_EVERY == 0:  # (a large problem grounds for seconds)
                progress.report(stage="grounding", problem=named, actions=len(found))
            if len(found) > MAX_GROUND_ACTIONS:
                break
        if len(found) > MAX_GROUND_ACTIONS:
            raise PddlError(
                located(
                    problem.file,
                    f"{domain.name}/{problem.name} grounds to more than "
                    f"{MAX_GROUND_ACTIONS:,} actions; ido does not plan at that size",
                )
            )
    init = frozenset(a for a in problem.init if a.predicate in fluents)
    # An atom no action touches and :init does not hold is false for good: an action that
    # needs it is dropped, and a literal that needs it false always holds. Dropping an
    # action may leave more atoms untouched: until none is left.
    usable, known = found, set(init).union(*((*a.add, *a.delete) for a in found))
    while True:
        kept = [a for a in usable if all(x.atom in known for x in a.precondition if x.positive)]
        touched = set(init).union(*((*a.add, *a.delete) for a in kept))
        if len(kept) == len(usable) and touched == known:
            break
        usable, known = kept, touched
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


def _instances(
    schema: Action,
    objects_of: Callable[[str], list[str]],
    truth: Truth,
    static: frozenset[Atom],
    index: _StaticIndex,
    fluents: frozenset[str],
    problem: Problem,
    at: str,
) -> Iterator[GroundAction]:
    """The instances of one action that change something, its ADL compiled away. Errors
    begin with `at`, where the action is written."""
    seen: set[GroundAction] = set()  # (the ways of an ADL precondition may ground alike)
    compiled_count = 0
    for variant in expand_action(schema, objects_of, truth, at):
        pre = tuple(lit for lit in variant.precondition if lit.atom.predicate in fluents)
        for binding in _bindings(variant, objects_of, static, index, fluents, at):
            action = _instantiate(variant, pre, binding, problem, at)
            if action is None:
                continue  # it never helps a plan
            if schema.condition is not None or schema.conditional:
                compiled_count += 1
                if compiled_count > MAX_COMPILED:
                    raise PddlError(
                        located(
                            at,
                            f"{schema.name} grounds to more than {MAX_COMPILED:,} actions "
                            "once its ADL precondition and effects are compiled (each "
                            "'exists' and each conditional effect multiplies them); ido "
                            "stops there",
                        )
                    )
                if action in seen:
                    continue
                seen.add(action)
            yield action


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
