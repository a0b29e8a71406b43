"""Read a PDDL domain file: STRIPS with typing, negative preconditions, equality and
action costs, and ADL's connectives in preconditions (`or`, `not` of any formula, `imply`,
`exists`, `forall`) and conditional and universal effects (`when`, `forall`);
`ido.pddl.adl` compiles them away. Anything else is refused with the feature named, the
file and the line."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from ido.errors import PddlError
from ido.pddl.check import check_domain
from ido.pddl.parsed import Action, Atom, Conditional, Domain, Formula, Literal, Universal
from ido.pddl.syntax import Node, _amount, _lines, _Reader, _text

SUPPORTED = {
    *(":strips", ":typing", ":negative-preconditions", ":equality", ":action-costs"),
    *(":disjunctive-preconditions", ":existential-preconditions", ":universal-preconditions"),
    *(":quantified-preconditions", ":conditional-effects", ":adl"),
}


def read_domain(path: Path) -> Domain:
    """Parse a PDDL domain file; raises PddlError naming the file, line and feature."""
    try:
        return _read_domain(path)
    except RecursionError:
        raise PddlError(f"{path}: formulas nested too deeply to read") from None


def _read_domain(path: Path) -> Domain:
    reader = _Reader(str(path))
    define = reader.parse(_text(path))
    name = reader.name_of(define, "domain")
    requirements: tuple[str, ...] = ()
    types: dict[str, str] = {}
    constants: dict[str, str] = {}
    predicates: dict[str, tuple[str, ...]] = {}
    functions: dict[str, tuple[str, ...]] = {}
    defined: dict[str, int] = {}  # and each action
    typed: list[tuple[str, str, int]] = []  # the types declarations name (`Domain.typed`)
    actions: list[Action] = []
    sections: dict[str, int] = {}  # each section but :action, with its line
    for node in define.items[2:]:
        keyword = node.head()
        if keyword and keyword in sections:
            where = _lines(sections[keyword], node.line)
            raise reader.fail(node, f"a second {keyword} ({where}): give one")
        if keyword != ":action":
            sections[keyword] = node.line
        if keyword == ":requirements":
            requirements = tuple(n.text or "" for n in node.items[1:])
            for requirement in requirements:
                if f":{requirement}" in SUPPORTED:  # `typing`: read as a name of its own
                    raise reader.fail(
                        node, f"requirement {requirement} needs its colon: write :{requirement}"
                    )
                if requirement not in SUPPORTED:
                    raise reader.fail(node, f"requirement {requirement} is not supported")
        elif keyword == ":types":
            types = reader.typed_list(node.items[1:], "type")
        elif keyword == ":constants":
            constants = reader.typed_list(node.items[1:], "constant")
            typed += [(kind, f"constant {c}", node.line) for c, kind in constants.items()]
        elif keyword == ":predicates":
            predicates = _declarations(reader, node, "predicate", typed)
        elif keyword == ":functions":
            functions = _declarations(reader, node, "function", typed)  # cost terms
        elif keyword == ":action":
            action = _action(reader, node)
            if action.name in defined:
                where = _lines(defined[action.name], node.line)
                raise reader.fail(node, f"action {action.name} is defined twice ({where})")
            defined[action.name] = node.line
            actions.append(action)
        else:
            raise reader.fail(node, f"domain section {keyword or '(...)'} is not supported")
    domain = Domain(
        name,
        requirements,
        types,
        constants,
        predicates,
        tuple(actions),
        str(path),
        tuple(typed),
        functions,
    )
    check_domain(domain)
    return domain


def _declarations(
    reader: _Reader, node: Node, what: str, typed: list[tuple[str, str, int]]
) -> dict[str, tuple[str, ...]]:
    """Each predicate or function (`what`) of a `:predicates` or `:functions` section with
    the type of each argument (the types they name go to `typed`, to be checked against
    `:types`); refuse one declared twice with other arguments (which one counts? the
    problem was blamed for it)."""
    declared: dict[str, tuple[str, ...]] = {}
    lines: dict[str, int] = {}
    for item in node.items[1:]:
        if what == "function" and not (item.is_list and item.items):
            continue  # `- number`
        name = reader.atom(item).predicate
        names = [n for n in item.items[1:] if not n.is_list]
        # Names, not distinct ones, count: `(in ?obj ?obj)` takes two arguments.
        arguments = tuple(kind for _, kind in reader.typed(names))
        kinds = [after.text or "" for n, after in pairwise(names) if n.text == "-"]
        typed += [(kind, f"an argument of ({name} ...)", item.line) for kind in kinds]
        was = declared.setdefault(name, arguments)
        if was != arguments:
            differ = (
                f"{len(was)} and {len(arguments)} arguments"
                if len(was) != len(arguments)
                else f"argument types ({' '.join(was)}) and ({' '.join(arguments)})"
            )
            raise reader.fail(
                item,
                f"{what} {name} is declared twice, with {differ} "
                f"({_lines(lines[name], item.line)})",
            )
        lines.setdefault(name, item.line)
        if what == "predicate" and len(arguments) > MOST_ARGUMENTS:
            raise reader.fail(
                item,
                f"({name} ...) takes {len(arguments)} arguments; ido's facts take at "
                f"most {MOST_ARGUMENTS} (a fact is a path that CEL reads to 32 deep)",
            )
    return declared


def _action(reader: _Reader, node: Node) -> Action:
    if len(node.items) < 2 or node.items[1].is_list or (node.items[1].text or ":")[0] == ":":
        raise reader.fail(node, "(:action NAME ...) needs a name")
    name = node.items[1].text or ""
    parts: dict[str, Node] = {}
    items = node.items[2:]
    for at in range(0, len(items), 2):
        key = items[at]
        if key.is_list and at:  # a second value after a part's one: it was read as a part
            raise reader.fail(key, _one_value(items[at - 2].text or "", name))
        if key.text not in (":parameters", ":precondition", ":effect"):
            raise reader.fail(key, f"action part {key.text or '(...)'} is not supported")
        if key.text in parts:
            raise reader.fail(key, f"{name} has {key.text} twice")
        value = items[at + 1] if at + 1 < len(items) else None
        if value is None or (not value.is_list and (value.text or "").startswith(":")):
            raise reader.fail(key, f"{key.text} of {name} has no value")
        parts[key.text or ""] = value
    parameters = (
        reader.typed_list(parts[":parameters"].items, f"the parameters of {name}")
        if ":parameters" in parts
        else {}
    )
    for variable in parameters:
        if not variable.startswith("?"):
            raise reader.fail(parts[":parameters"], f"parameter {variable} of {name} needs a '?'")
    pre = parts.get(":precondition")
    precondition: tuple[Literal, ...] = ()
    condition: Formula | None = None
    if pre:
        precondition, condition = reader.condition(pre, f"the precondition of {name}")
    effect = parts.get(":effect")
    read = _Effects(reader, f"the effect of {name}")
    if effect is not None:
        read.effect(effect, top=True)
    return Action(
        name,
        tuple(parameters.items()),
        precondition,
        tuple(read.add),
        tuple(read.delete),
        tuple(read.cost),
        condition,
        conditional=tuple(read.conditional),
        line=node.line,
    )


def _one_value(part: str, action: str) -> str:
    """Why a second list after an action's part is refused, and what to write instead."""
    if part == ":parameters":
        return f":parameters of {action} takes one list: (?x ?y - type ...)"
    return f"{part} of {action} takes one formula; wrap several in (and ...)"


class _Effects:
    """What an effect does: atoms it adds and deletes, conditional and universal parts
    (ADL), and the cost it adds (at the top level only)."""

    def __init__(self, reader: _Reader, where: str) -> None:
        self.reader, self.where = reader, where
        self.add: list[Atom] = []
        self.delete: list[Atom] = []
        self.conditional: list[Conditional | Universal] = []
        self.cost: list[Atom | float] = []

    def effect(self, node: Node, top: bool) -> None:
        head, reader = node.head(), self.reader
        if node.is_list and not node.items:
            return
        if head == "and":
            for item in node.items[1:]:
                self.effect(item, top)
        elif head == "increase" and top:
            self.cost.append(_cost(reader, node))
        elif head == "increase":
            raise reader.fail(node, f"a cost inside 'when' or 'forall' in {self.where}")
        elif head == "when":
            if len(node.items) != 3:
                raise reader.fail(node, "(when CONDITION EFFECT) takes a condition and an effect")
            condition, then = node.items[1], node.items[2]
            literals = reader.literals(then, f"the conditional effect in {self.where}")
            self.conditional.append(
                Conditional(
                    reader.formula(condition, self.where),
                    reader.formula(condition, self.where, positive=False),
                    tuple(lit.atom for lit in literals if lit.positive),
                    tuple(lit.atom for lit in literals if not lit.positive),
                )
            )
        elif head == "forall":
            if len(node.items) != 3 or not node.items[1].is_list:
                raise reader.fail(node, "expected (forall (?x - type ...) EFFECT)")
            variables = tuple(
                reader.typed_list(node.items[1].items, "the variables of (forall ...)").items()
            )
            if not all(v.startswith("?") for v, _ in variables):
                raise reader.fail(node.items[1], "forall binds variables, which start with '?'")
            inner = _Effects(reader, self.where)
            inner.effect(node.items[2], top=False)
            self.conditional.append(
                Universal(
                    variables, tuple(inner.add), tuple(inner.delete), tuple(inner.conditional)
                )
            )
        else:
            for lit in reader.literals(node, self.where):
                (self.add if lit.positive else self.delete).append(lit.atom)


def _cost(reader: _Reader, node: Node) -> Atom | float:
    if len(node.items) != 3 or node.items[1].head() != "total-cost":
        raise reader.fail(
            node, "only (increase (total-cost) ...) is supported among numeric effects"
        )
    amount = node.items[2]
    if amount.is_list:
        return reader.atom(amount)
    return _amount(reader, amount, "cost")


MOST_ARGUMENTS = 29
"""The most arguments a predicate may take: its fact is `state.p.a1…an`, a path CEL parses
to 32 deep at most (in a negation, one more)."""
