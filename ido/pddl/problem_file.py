"""Read a PDDL problem file: its objects, `:init` (atoms, and action costs with `=`), goal
(a formula, ADL's connectives included) and metric. Anything else is refused with the
feature named, the file and the line."""

from __future__ import annotations

from pathlib import Path

from ido.errors import PddlError
from ido.pddl.check import TOTAL_COST
from ido.pddl.parsed import Atom, Formula, Literal, Problem
from ido.pddl.syntax import Node, _amount, _lines, _Reader, _text


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
