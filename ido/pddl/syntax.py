"""Read PDDL domain and problem files: STRIPS with typing, negative preconditions, equality
and action costs, and ADL's connectives in preconditions and goals (`or`, `not` of any
formula, `imply`, `exists`, `forall`) and conditional and universal effects (`when`,
`forall`); `ido.pddl.adl` compiles them away. Anything else is refused with the feature
named, the file and the line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from ido.errors import PddlError, unreadable_file
from ido.pddl.check import TOTAL_COST, check_domain
from ido.pddl.parsed import (
    Action,
    Atom,
    Conditional,
    Domain,
    Formula,
    Junction,
    Literal,
    Problem,
    Quantified,
    Universal,
)

_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""What ends a line, as `str.splitlines` reads it (and `\r\n`, one break): lines are counted so."""
_LEXEME = re.compile(rf"\r\n|[{_BREAKS}]|;[^{_BREAKS}]*|\(|\)|\??[^\s()?;]+|\?")
"""A line break, a comment (`;` to the end of its line), a parenthesis or a name: a `?`
starts a variable even with no space before it (names hold no `?`), as Fast Downward and
pyperplan read `(aircraft?a)` in IPC's zenotravel. The whole file is read in one pass."""


class Node(NamedTuple):
    """A parsed s-expression: an atom (`text`) or a list (`items`), with its line. (A named
    tuple, not a frozen dataclass: a file is thousands of nodes, and a tuple is made at a
    fraction of the cost.)"""

    line: int
    text: str | None = None
    items: tuple[Node, ...] = ()

    @property
    def is_list(self) -> bool:
        return self.text is None

    def head(self) -> str:
        return (self.items[0].text or "") if self.items and not self.items[0].is_list else ""


SUPPORTED = {
    *(":strips", ":typing", ":negative-preconditions", ":equality", ":action-costs"),
    *(":disjunctive-preconditions", ":existential-preconditions", ":universal-preconditions"),
    *(":quantified-preconditions", ":conditional-effects", ":adl"),
}


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: Node, message: str) -> PddlError:
        return PddlError(f"{self.file}:{node.line}: {message}")

    def parse(self, text: str) -> Node:
        """The file's forms. A parenthesis missing or one too many is told where a section
        (`(:action`, `(:init`) shows it, not where the file ends: `(define` on line 1
        is the '(' never closed whichever ')' is missing."""
        stack: list[list[Node]] = [[]]
        lines: list[int] = []
        line = 1
        ended = 0  # where the first form of the file ended
        swallowed: tuple[int, str, int] | None = None  # a section read inside another form
        for lexeme in _LEXEME.findall(text):
            if lexeme == "(":
                stack.append([])
                lines.append(line)
            elif lexeme == ")":
                if len(stack) == 1:
                    raise PddlError(f"{self.file}:{line}: ')' without a matching '('")
                items = stack.pop()
                stack[-1].append(Node(lines.pop(), None, tuple(items)))
                ended = ended or (line if len(stack) == 1 else 0)
            elif lexeme[0] in _BREAKS:  # (`\r\n` too)
                line += 1
            elif lexeme[0] != ";":  # a name; a comment is skipped
                if lexeme[0] == ":" and not stack[-1]:  # a section's head
                    if len(stack) == 2 and ended:
                        raise PddlError(
                            f"{self.file}:{ended}: the (define ...) form ends on this line, "
                            f"and ({lexeme.lower()} ...) on line {line} comes after it: a "
                            "')' too many on this line or before"
                        )
                    if len(stack) > 3 and swallowed is None:
                        swallowed = (line, lexeme.lower(), lines[-2])
                stack[-1].append(Node(line, lexeme.lower()))
        if len(stack) > 1 and swallowed is not None:
            at, section, inside = swallowed
            raise PddlError(
                f"{self.file}:{inside}: a ')' is missing: ({section} ...) on line {at} is read "
                f"inside the form that starts on line {inside}"
            )
        if len(stack) > 1:
            raise PddlError(f"{self.file}:{lines[-1]}: '(' is never closed")
        top = [n for n in stack[0] if n.is_list]
        if len(top) != 1 or top[0].head() != "define":
            raise PddlError(f"{self.file}:1: expected one (define ...) form")
        return top[0]

    def section(self, define: Node, keyword: str) -> Node | None:
        return next((n for n in define.items if n.is_list and n.head() == keyword), None)

    def name_of(self, define: Node, kind: str) -> str:
        named = define.items[1] if len(define.items) > 1 else define
        if not named.is_list or named.head() != kind or len(named.items) != 2:
            raise self.fail(named, f"expected ({kind} NAME)")
        return named.items[1].text or ""

    def typed_list(
        self, items: tuple[Node, ...], what: str, default: str = "object"
    ) -> dict[str, str]:
        """`a b - t c - u d` -> {a: t, b: t, c: u, d: object}, in order. A variable given
        twice is refused (`what`: where, "the parameters of move"), as is a name (`what`:
        what it is, "object") given two types."""
        given = self.typed(items, default)
        out = {node.text or "": kind for node, kind in given}
        if len(out) < len(given):  # a name came twice
            self._repeated(given, what)
        return out

    def typed(self, items: Sequence[Node], default: str = "object") -> list[tuple[Node, str]]:
        """`a b - t c` -> [(a, t), (b, t), (c, object)]: each name of a typed list, in
        order and repeats kept, with its type (`default` where none is given)."""
        given: list[tuple[Node, str]] = []
        pending: list[Node] = []
        i = 0
        while i < len(items):
            node = items[i]
            if node.is_list:
                raise self.fail(
                    node, "a list where a name was expected (either types are not supported)"
                )
            if node.text == "-":
                if i + 1 < len(items) and items[i + 1].head() == "either":
                    raise self.fail(node, "either types are not supported")
                if i + 1 >= len(items) or items[i + 1].is_list:
                    raise self.fail(node, "'-' must be followed by a type name")
                given += [(n, items[i + 1].text or default) for n in pending]
                pending = []
                i += 2
                continue
            pending.append(node)
            i += 1
        return given + [(n, default) for n in pending]

    def _repeated(self, given: list[tuple[Node, str]], what: str) -> None:
        """Raise for the first name of a typed list (`typed`) given twice, when that says
        something other than once would (a variable, or another type); a plain repeat is
        harmless."""
        first: dict[str, tuple[Node, str]] = {}
        for node, kind in given:
            name = node.text or ""
            if name not in first:
                first[name] = (node, kind)
                continue
            was, was_kind = first[name]
            if name.startswith("?"):
                where = _lines(was.line, node.line)
                raise self.fail(node, f"{name} is declared twice in {what} ({where})")
            if kind != was_kind:
                raise self.fail(
                    node,
                    f"{what} {name} is declared twice, as {was_kind} (line {was.line}) and "
                    f"{kind} (line {node.line})",
                )

    def atom(self, node: Node) -> Atom:
        if not node.is_list or not node.items or node.items[0].is_list:
            raise self.fail(node, "expected an atom like (on ?x ?y)")
        args = []
        for arg in node.items[1:]:
            if arg.is_list:
                raise self.fail(arg, _unsupported_inside(node, arg))
            args.append(arg.text or "")
        return Atom(node.head(), tuple(args))

    def literals(self, node: Node, where: str) -> tuple[Literal, ...]:
        """A conjunction of (possibly negated) atoms (what a conditional effect does);
        other connectives are refused."""
        if node.is_list and not node.items:
            return ()
        if node.head() == "and":
            return tuple(lit for item in node.items[1:] for lit in self.literals(item, where))
        if node.head() == "not":
            if len(node.items) != 2:
                raise self.fail(node, "(not ...) takes exactly one atom")
            return (Literal(self.atom(node.items[1]), positive=False),)
        if node.head() in ("or", "imply", "exists", "forall", "when"):
            raise self.fail(
                node, f"'{node.head()}' in {where} is not supported (it takes literals only)"
            )
        return (Literal(self.atom(node), positive=True),)

    def condition(self, node: Node, where: str) -> tuple[tuple[Literal, ...], Formula | None]:
        """A precondition or goal: its literals when it is a conjunction of them, else no
        literals and the whole formula."""
        formula = self.formula(node, where)
        literals = _conjunction(formula)
        return (literals, None) if literals is not None else ((), formula)

    def formula(self, node: Node, where: str, positive: bool = True) -> Formula:
        """`node` as a formula in negation normal form, negated unless `positive`."""
        if node.is_list and not node.items:
            return Junction(positive, ())  # true; negated, false
        head, items = node.head(), node.items
        if head in ("and", "or"):
            every = (head == "and") == positive
            return Junction(every, tuple(self.formula(i, where, positive) for i in items[1:]))
        if head == "not":
            if len(items) != 2:
                raise self.fail(node, "(not ...) takes exactly one formula")
            return self.formula(items[1], where, not positive)
        if head == "imply":  # (or (not a) b); negated, (and a (not b))
            if len(items) != 3:
                raise self.fail(node, "(imply A B) takes exactly two formulas")
            parts = (
                self.formula(items[1], where, not positive),
                self.formula(items[2], where, positive),
            )
            return Junction(not positive, parts)
        if head in ("exists", "forall"):
            if len(items) != 3 or not items[1].is_list:
                raise self.fail(node, f"expected ({head} (?x - type ...) FORMULA)")
            variables = tuple(
                self.typed_list(items[1].items, f"the variables of ({head} ...)").items()
            )
            if not all(v.startswith("?") for v, _ in variables):
                raise self.fail(items[1], f"{head} binds variables, which start with '?'")
            body = self.formula(items[2], where, positive)
            return Quantified((head == "forall") == positive, variables, body)
        if head == "when":
            raise self.fail(node, f"'when' in {where} is not supported (conditional effects)")
        return Literal(self.atom(node), positive)


def _lines(first: int, second: int) -> str:
    """Where a name was declared twice: "lines 3 and 7", or "both on line 3"."""
    return f"both on line {first}" if first == second else f"lines {first} and {second}"


def _conjunction(formula: Formula) -> tuple[Literal, ...] | None:
    """The literals of a formula made of `and`s of literals alone, else None."""
    if isinstance(formula, Literal):
        return (formula,)
    if isinstance(formula, Junction) and formula.every:
        out: list[Literal] = []
        for part in formula.parts:
            literals = _conjunction(part)
            if literals is None:
                return None
            out.extend(literals)
        return tuple(out)
    return None


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


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
"""A number as PDDL writes it (a minus too, to be refused as below 0 rather than unread)."""

MOST_ARGUMENTS = 29
"""The most arguments a predicate may take: its fact is `state.p.a1…an`, a path CEL parses
to 32 deep at most (in a negation, one more)."""

MOST_COST = 1e15
"""The largest action cost read: a plan's cost is summed in millionths, which must stay
well inside a float's range (PDDL's costs are small whole numbers)."""


def _unsupported_inside(node: Node, inner: Node) -> str:
    """What an atom holding a list (`(head … (inner …))`) is, said as the feature it is.
    `(at 10 (p))` (a timed initial literal) and `(at start (p))`, `(over all (p))` (a
    durative action's condition) were "nested terms (functions)", of a predicate `at`
    most domains have."""
    head, items = node.head(), node.items
    if len(items) == 3 and not items[1].is_list and items[2] is inner:
        when = items[1].text or ""
        if head == "at" and _NUMBER.fullmatch(when):
            return f"timed initial literals (at {when} …) are not supported"
        if (head, when) in (("at", "start"), ("at", "end"), ("over", "all")):
            return f"({head} {when} …) belongs to durative actions, which are not supported"
    if inner.head() == "either":
        return "either types are not supported"
    if head in ("increase", "decrease", "assign", "scale-up", "scale-down"):
        return (
            f"the numeric effect ({head} …) is not supported here: ido reads only "
            "(increase (total-cost) N) at an action's top level"
        )
    if head in (">", "<", ">=", "<=", "="):
        return f"numeric comparisons ({head} …) are not supported"
    if head == "not":
        return "a negated atom is not allowed here (:init lists the atoms that hold)"
    if head == "preference":
        return "preferences (PDDL3) are not supported"
    if head in _PDDL3:
        return f"({head} …) is a PDDL3 constraint, which is not supported"
    return "nested terms (functions) are not supported in atoms"


_PDDL3 = {
    *("always", "sometime", "within", "at-most-once", "sometime-after", "sometime-before"),
    *("always-within", "hold-during", "hold-after"),
}
"""PDDL3's modal operators, which hold formulas where an atom holds names."""


def _amount(reader: _Reader, node: Node, what: str) -> float:
    """A cost as written: a number from 0 to `MOST_COST`, in PDDL's digits (`12`, `0.5`; not
    Python's `1_000`, `1e3`, `nan` or `inf`)."""
    if not _NUMBER.fullmatch(node.text or ""):
        raise reader.fail(node, f"{what} {node.text!r} is not a number")
    value = float(node.text or "")
    if not 0 <= value <= MOST_COST:  # also nan
        raise reader.fail(node, f"{what} {node.text} is not between 0 and {MOST_COST:g}")
    return value


def read_problem(path: Path) -> Problem:
    """Parse a PDDL problem file; raises PddlError naming the file, line and feature."""
    try:
        return _read_problem(path)
    except RecursionError:
        raise PddlError(f"{path}: formulas nested too deeply to read") from None


def _read_problem(path: Path) -> Problem:
    reader = _Reader(str(path))
    define = reader.parse(_text(path))
    name = reader.name_of(define, "problem")
    domain = ""
    objects: dict[str, str] = {}
    init: dict[Atom, int] = {}  # each atom, with the line it is first written on
    lines: dict[str, int] = {}  # each section's
    costs: dict[Atom, float] = {}
    cost_lines: dict[Atom, int] = {}  # where each is written
    goal: tuple[Literal, ...] = ()
    goal_condition: Formula | None = None
    metric = False
    for node in define.items[2:]:
        keyword = node.head()
        if keyword and keyword in lines:
            hint = " (and ...) instead" if keyword == ":goal" else ""
            where = _lines(lines[keyword], node.line)
            raise reader.fail(node, f"a second {keyword} ({where}): give one{hint}")
        lines[keyword] = node.line
        if keyword == ":domain":
            if len(node.items) != 2 or node.items[1].is_list:
                raise reader.fail(node, "(:domain NAME) names the problem's domain")
            domain = node.items[1].text or ""
        elif keyword == ":requirements":
            continue
        elif keyword == ":objects":
            objects = reader.typed_list(node.items[1:], "object")
        elif keyword == ":init":
            for item in node.items[1:]:
                if item.head() == "=":
                    value = _number(reader, item)  # (first: a malformed `=` is said as one)
                    function = reader.atom(item.items[1])
                    costs[function] = value
                    cost_lines.setdefault(function, item.line)
                    if function == TOTAL_COST:
                        _cost_from_zero(reader, item, value)
                else:
                    init.setdefault(reader.atom(item), item.line)
        elif keyword == ":goal" and len(node.items) > 2:
            raise reader.fail(
                node.items[2], "(:goal ...) takes one formula; wrap several in (and ...)"
            )
        elif keyword == ":goal" and len(node.items) > 1:
            goal, goal_condition = reader.condition(node.items[1], "the goal")
        elif keyword == ":goal":
            raise reader.fail(node, "(:goal) is empty: give a formula, (and) for none")
        elif keyword == ":metric":
            items = node.items
            if len(items) != 3 or items[1].text != "minimize" or items[2].head() != "total-cost":
                raise reader.fail(node, "only (:metric minimize (total-cost)) is supported")
            metric = True
        else:
            raise reader.fail(node, f"problem section {keyword or '(...)'} is not supported")
    if ":goal" not in lines:
        raise reader.fail(define, "the problem has no (:goal ...)")
    return Problem(
        *(name, domain, objects, frozenset(init), costs, goal, goal_condition, metric),
        file=str(path),
        lines=lines,
        init_lines=init,
        cost_lines=cost_lines,
    )


def _cost_from_zero(reader: _Reader, node: Node, start: float) -> None:
    """Refuse a `total-cost` that starts above 0 (`start`, as `node` gives it): ido counts a
    plan's cost from 0 (as IPC requires), so it would report 2 where VAL says 7."""
    if start:
        raise reader.fail(
            node,
            f"(total-cost) starts at {node.items[2].text}; ido counts a plan's cost from 0, "
            "as IPC requires: give (= (total-cost) 0)",
        )


def _number(reader: _Reader, node: Node) -> float:
    if len(node.items) != 3 or node.items[2].is_list:
        raise reader.fail(node, "expected (= (FUNCTION ARGS...) NUMBER)")
    return _amount(reader, node.items[2], "the value")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # (not UTF-8: at its line and column)
        raise PddlError(str(unreadable_file(str(path), exc))) from None
