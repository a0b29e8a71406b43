"""Check that a PDDL domain and problem use only what they declare: every predicate and
function with its arity, every type, every object or constant (of the type its place
takes), and every variable bound where it is used (and of the type its place takes).

Read otherwise, a name used but not declared is a fact no action touches or an object of
no type: the problem then has "no plan", or a plan VAL rejects. Errors name the file, the
line (of the action, or the problem's section or atom) and the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ido.errors import PddlError
from ido.pddl.parsed import (
    Action,
    Atom,
    Conditional,
    Domain,
    Formula,
    Literal,
    Problem,
    Quantified,
    Universal,
    show,
)


def check_domain(domain: Domain) -> None:
    """Raise PddlError for a name a domain uses and does not declare."""
    types, below = declared_types(domain), subtypes(domain)
    for kind, what, line in domain.typed:
        if kind not in types:
            raise PddlError(f"{domain.file}:{line}: type {kind} of {what} is not in :types")
    for action in domain.actions:
        at = f"{domain.file}:{action.line}"
        _Uses(domain, domain.constants, at, action.name, below).action(action, types)


def check_problem(domain: Domain, problem: Problem, below: dict[str, set[str]]) -> None:
    """Raise PddlError for a name a problem uses and neither it nor its domain declares
    (`below`: the domain's `subtypes`, which grounding uses too)."""
    types = declared_types(domain)
    at = f"{problem.file}:{problem.lines.get(':objects', 1)}"
    for name, kind in problem.objects.items():
        if kind not in types:
            raise PddlError(f"{at}: type {kind} of object {name} is not in the domain's :types")
        constant = domain.constants.get(name, kind)
        if constant != kind:
            raise PddlError(
                f"{at}: object {name} is of type {kind}, and a constant of the domain of type "
                f"{constant}"
            )
    objects = {**domain.constants, **problem.objects}
    start = problem.lines.get(":init", 1)
    # (in the file's order: the first wrong atom is named, not the first of a set's order)
    for atom in sorted(problem.init, key=lambda atom: (problem.init_lines.get(atom, start), atom)):
        line = problem.init_lines.get(atom, start)
        uses = _Uses(domain, objects, f"{problem.file}:{line}", None, below)
        uses.atom(atom, {}, ":init")
    for function, line in problem.cost_lines.items():
        uses = _Uses(domain, objects, f"{problem.file}:{line}", None, below)
        uses.function(function, {}, ":init")
    if problem.metric:
        at = f"{problem.file}:{problem.lines.get(':metric', 1)}"
        _Uses(domain, objects, at, None, below).function(TOTAL_COST, {}, "the metric")
    goal = _Uses(domain, objects, f"{problem.file}:{problem.lines.get(':goal', 1)}", None, below)
    for literal in problem.goal:
        goal.atom(literal.atom, {}, "the goal")
    if problem.goal_condition is not None:
        goal.formula(problem.goal_condition, {}, "the goal", types)


TOTAL_COST = Atom("total-cost", ())


def subtypes(domain: Domain) -> dict[str, set[str]]:
    """Each type with every type below it (itself included)."""
    below: dict[str, set[str]] = {"object": {"object"}}
    for name in domain.types:
        below.setdefault(name, set()).add(name)
    for name in domain.types:
        parent = domain.types[name]
        seen = {name}
        while parent not in seen:
            below.setdefault(parent, {parent}).add(name)
            seen.add(parent)
            parent = domain.types.get(parent, "object")
        below["object"].add(name)
    return below


def is_a(kind: str, wanted: str, below: Mapping[str, set[str]]) -> bool:
    """Whether an object of type `kind` is one of type `wanted`: the same type, or one below
    it in `:types` (`below`, from `subtypes`; every type is below `object`)."""
    return wanted == "object" or kind in below.get(wanted, {wanted})


def declared_types(domain: Domain) -> set[str]:
    """`object`, the types of `:types` and the parents they name."""
    return {"object", *domain.types, *domain.types.values()}


class _Uses:
    """Checks the atoms and quantifiers of one action, `:init` or goal (`owner` None)."""

    def __init__(
        self,
        domain: Domain,
        objects: Mapping[str, str],
        at: str,
        owner: str | None,
        below: Mapping[str, set[str]],
    ):
        self.predicates, self.objects, self.at, self.owner = domain.predicates, objects, at, owner
        self.functions = domain.functions
        self.below = below

    def fail(self, message: str) -> PddlError:
        return PddlError(f"{self.at}: {message}")

    def action(self, action: Action, types: set[str]) -> None:
        parameters = dict(action.parameters)
        self.typed(action.parameters, types)
        where = f"the precondition of {action.name}"
        for literal in action.precondition:
            self.atom(literal.atom, parameters, where)
        if action.condition is not None:
            self.formula(action.condition, parameters, where, types)
        self.effect(action.add, action.delete, action.conditional, parameters, types)
        where = f"the cost of {self.owner}"
        if action.cost:  # VAL crashes on an undeclared total-cost, saying nothing
            self.function(TOTAL_COST, parameters, where)
        for term in (t for t in action.cost if isinstance(t, Atom)):
            self.function(term, parameters, where)

    def function(self, term: Atom, parameters: Mapping[str, str], where: str) -> None:
        """A function term (an action's cost term, `total-cost`, or one `:init` gives a
        value), checked as an atom is: a cost term was looked up in `:init` as written, and
        the problem blamed for not giving its value."""
        kinds = self._declared("function", self.functions, term, where, ":functions")
        self._args(term, kinds, parameters, where)

    def effect(
        self,
        add: Iterable[Atom],
        delete: Iterable[Atom],
        parts: Iterable[Conditional | Universal],
        bound: Mapping[str, str],
        types: set[str],
    ) -> None:
        where = f"the effect of {self.owner}"
        for atom in (*add, *delete):
            self.atom(atom, bound, where)
        for part in parts:
            if isinstance(part, Conditional):
                self.formula(part.condition, bound, where, types)
                self.effect(part.add, part.delete, (), bound, types)
            else:
                self.typed(part.variables, types)
                inner = {**bound, **dict(part.variables)}
                self.effect(part.add, part.delete, part.conditional, inner, types)

    def formula(
        self, formula: Formula, bound: Mapping[str, str], where: str, types: set[str]
    ) -> None:
        if isinstance(formula, Literal):
            self.atom(formula.atom, bound, where)
        elif isinstance(formula, Quantified):
            self.typed(formula.variables, types)
            inner = {**bound, **dict(formula.variables)}
            self.formula(formula.body, inner, where, types)
        else:
            for part in formula.parts:
                self.formula(part, bound, where, types)

    def typed(self, variables: Iterable[tuple[str, str]], types: set[str]) -> None:
        for variable, kind in variables:
            if kind not in types:
                owner = f" in {self.owner}" if self.owner else " in the goal"
                raise self.fail(f"type {kind} of {variable}{owner} is not in :types")

    def atom(self, atom: Atom, bound: Mapping[str, str], where: str) -> None:
        if atom.predicate != "=":
            kinds = self._declared("predicate", self.predicates, atom, where, "the domain")
        elif len(atom.args) != 2:
            raise self.fail(f"(= ...) in {where} takes two terms")
        else:
            kinds = ("object", "object")
        self._args(atom, kinds, bound, where)

    def _declared(
        self, what: str, table: Mapping[str, tuple[str, ...]], atom: Atom, where: str, in_: str
    ) -> tuple[str, ...]:
        """The argument types of `atom`'s predicate or function (`what`), declared in
        `table` (`in_`) with as many arguments as `atom` gives."""
        kinds = table.get(atom.predicate)
        if kinds is None and atom == TOTAL_COST:
            raise self.fail(
                f"function total-cost in {where} is not declared in :functions: "
                "add (:functions (total-cost) - number) to the domain"
            )
        if kinds is None:
            raise self.fail(f"{what} {atom.predicate} in {where} is not declared in {in_}")
        if len(kinds) != len(atom.args):
            raise self.fail(
                f"{what} {atom.predicate} in {where} takes {len(kinds)} arguments, "
                f"not {len(atom.args)}"
            )
        return kinds

    def _args(
        self, atom: Atom, kinds: tuple[str, ...], bound: Mapping[str, str], where: str
    ) -> None:
        """Each argument of `atom` in `where`: a variable `bound` there or a name known,
        of the type `kinds` gives its place."""
        for place, (arg, kind) in enumerate(zip(atom.args, kinds, strict=True), 1):
            if arg.startswith("?"):
                if arg not in bound:
                    raise self.fail(f"{arg} in {show(Literal(atom))} {self._unbound(where)}")
                known = bound[arg]
            elif (found := self.objects.get(arg)) is None:
                raise self.fail(f"{arg} in {show(Literal(atom))} in {where} {self._unknown()}")
            else:
                known = found
            if not is_a(known, kind, self.below):  # VAL: "Type problem in domain"
                raise self.fail(
                    f"{arg} in {show(Literal(atom))} in {where} is of type {known}, "
                    f"and argument {place} of {atom.predicate} takes type {kind}"
                )

    def _unbound(self, where: str) -> str:
        if where == ":init":
            return "in :init is a variable: :init lists ground atoms"
        if self.owner is None:
            return f"in {where} is not bound by a forall or exists around it"
        return f"is not a parameter of {self.owner}, nor bound by a forall or exists around it"

    def _unknown(self) -> str:
        if self.owner is None:
            return "is not an object of the problem or a constant of the domain"
        return "is not a constant of the domain"
