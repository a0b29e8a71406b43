"""PDDL's syntax: a file read into s-expressions (`Node`) in one pass, and those read as
names, typed lists, atoms and formulas (`_Reader`), for `ido.pddl.domain_file` and
`ido.pddl.problem_file`. What ido does not read is refused with the feature named, the file
and the line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ido.errors import PddlError, unreadable_file
from ido.pddl.parsed import Atom, Formula, Junction, Literal, Quantified

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


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
"""A number as PDDL writes it (a minus too, to be refused as below 0 rather than unread)."""

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


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # (not UTF-8: at its line and column)
        raise PddlError(str(unreadable_file(str(path), exc))) from None
