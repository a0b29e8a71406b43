"""Keys of rules' variables that are null when not set (`intent.constraints.max_cost`,
`capability.region`): `has()` of one is false when it is null, and a read of one that
fails on null (`> 1.0`, `.startsWith('eu')`) with no guard beside it is found, to warn of."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from ido.conditions._tree import children, nodes, offset, path, rebuilt, tree
from ido.conditions._types import Record

_NULL_SAFE = frozenset({"_==_", "_!=_", "dyn", "type", "_?_:_"})
"""What CEL does with a null without an error (compare it, pass it on); `x in list` too."""
_WORDS = {"_<_": "<", "_<=_": "<=", "_>_": ">", "_>=_": ">=", "_+_": "+", "_-_": "-"}
_WORDS |= {"_*_": "*", "_/_": "/", "_%_": "%", "@in": "in", "_[_]": "[]", "!_": "!"}


@cache
def nullable() -> frozenset[str]:
    """The paths of rules' variables that may be null (`?` in `ido.rule_types`)."""
    # (imported here: ido.rule_types builds on this package, from the models)
    from ido.rule_types import rule_shapes

    found: set[str] = set()
    todo = [(name, shape) for name, shape in rule_shapes()]
    while todo:
        at, shape = todo.pop()
        if isinstance(shape, Record):
            todo.extend((f"{at}.{key}", inner) for key, inner in shape.fields)
        elif isinstance(shape, str) and shape.endswith("?"):
            found.add(at)
    return frozenset(found)


def _mentions_nullable(source: str) -> bool:
    """Whether `source` may read a key that may be null (a quick look before the tree's)."""
    return any(key.rpartition(".")[2] in source for key in nullable())


def _tested(node: Any) -> str | None:
    """The path `has(...)` tests, if `node` is such a test."""
    if node.WhichOneof("kind") != "select_expr" or not node.select_expr.test_only:
        return None
    operand = path(node.select_expr.operand)
    return None if operand is None else f"{operand}.{node.select_expr.field}"


def set_meant(env: Any, expression: Any, source: str) -> Any:
    """`expression` with each `has(P)` of a key that may be null made `has(P) && P != null`:
    ido's views hold every such key, null when not set, so `has()` was always true and
    `has(intent.constraints.deadline) && duration(intent.constraints.deadline) > …` failed
    on every intent without a deadline. Unchanged if it has none."""
    if "has" not in source or not _mentions_nullable(source):
        return expression
    checked = tree(expression)
    if checked is None:
        return expression
    tests = [node for node in _free_tests(checked.expr, frozenset()) if _tested(node) in nullable()]
    if not tests:
        return expression
    ids = iter(range(max(node.id for node in nodes(checked.expr)) + 1, 1 << 62))
    for node in tests:
        test = type(node)()
        test.CopyFrom(node)
        test.id = next(ids)
        read = type(node)()
        read.CopyFrom(node)
        read.id, read.select_expr.test_only = next(ids), False
        node.call_expr.function = "_&&_"  # (in place: the node keeps its id and position)
        node.call_expr.args.append(test)
        compared = node.call_expr.args.add(id=next(ids))
        compared.call_expr.function = "_!=_"
        compared.call_expr.args.append(read)
        compared.call_expr.args.add(id=next(ids)).const_expr.null_value = 0
    try:
        return rebuilt(env, checked)
    except RuntimeError:  # (never seen: CEL refused a tree it made, with a test changed)
        return expression


def _free_tests(node: Any, bound: frozenset[str]) -> list[Any]:
    """The `has()` tests under `node` of a path that starts at a rule variable: a macro's
    variable named `intent` (`[{...}].exists(intent, has(intent.x))`) is a value the rule
    wrote, whose `has()` is CEL's own."""
    if node.WhichOneof("kind") == "comprehension_expr":
        c = node.comprehension_expr
        inner = bound | {c.iter_var, c.accu_var, c.iter_var2} - {""}
        found = _free_tests(c.iter_range, bound)
        for part in (c.accu_init, c.loop_condition, c.loop_step, c.result):
            found += _free_tests(part, inner)
        return found
    tested = _tested(node)
    if tested is not None:
        return [] if tested.split(".")[0] in bound else [node]
    return [test for child in children(node) for test in _free_tests(child, bound)]


def null_tests(expression: Any) -> frozenset[str]:
    """The keys that may be null whose `has()` `expression` tests (as `set_meant` made it:
    false when null; the ido before it said true, and a rule guarded by it read the null)."""
    checked = tree(expression)
    if checked is None:
        return frozenset()
    found = (_tested(node) for node in _free_tests(checked.expr, frozenset()))
    return frozenset(p for p in found if p is not None and p in nullable())


@dataclass(frozen=True)
class NullRead:
    """A read of a key that may be null, in a use that fails when it is, with no guard."""

    path: str
    use: str
    """The operator or function that fails on null (`>`, `startsWith`)."""
    offset: int
    """Where the read stands in the condition (0-based, in characters)."""


def unguarded(expression: Any, source: str) -> list[NullRead]:
    """The reads of keys that may be null in `expression` (compiled from `source`) that
    fail when the key is null and that no guard beside them (`P != null && …`, `has(P) &&
    …`, `P == null || …`, `P != null ? … : …`) keeps from it. CEL's `&&` is false if either
    side is, whatever the other, so a guard on either side will do."""
    if not _mentions_nullable(source):
        return []
    checked = tree(expression)
    if checked is None:
        return []
    found: list[tuple[str, str, Any]] = []
    _walk(checked.expr, frozenset(), frozenset(), found)
    return [NullRead(read, use, offset(checked, _root(node))) for read, use, node in found]


def _root(node: Any) -> Any:
    """The variable the path `node` reads starts at."""
    while children(node):
        node = children(node)[0]
    return node


def _walk(
    node: Any, guarded: frozenset[str], bound: frozenset[str], found: list[tuple[str, str, Any]]
) -> None:
    """Find the unguarded reads under `node` (`guarded`: the paths known not null there;
    `bound`: names a comprehension binds, which are not the variables)."""
    kind = node.WhichOneof("kind")
    if kind == "comprehension_expr":
        c = node.comprehension_expr
        _walk(c.iter_range, guarded, bound, found)
        inner = bound | {c.iter_var, c.accu_var, c.iter_var2} - {""}
        for part in (c.accu_init, c.loop_condition, c.loop_step, c.result):
            _walk(part, guarded, inner, found)
        return
    if kind != "call_expr":
        for child in children(node):
            _walk(child, guarded, bound, found)
        return
    function = node.call_expr.function
    if function in ("_&&_", "_||_"):
        sides = _operands(node, function)
        says = [_not_null_if(side, function == "_&&_") for side in sides]
        times = Counter(p for said in says for p in said)  # (a long chain: not n² looks)
        for side, said in zip(sides, says, strict=True):
            known = {p for p, n in times.items() if n > (p in said)}  # (said by another)
            _walk(side, guarded | known, bound, found)
        return
    if function == "_?_:_":
        condition, then, otherwise = node.call_expr.args
        _walk(condition, guarded, bound, found)
        _walk(then, guarded | _not_null_if(condition, True), bound, found)
        _walk(otherwise, guarded | _not_null_if(condition, False), bound, found)
        return
    for i, child in enumerate(children(node)):
        read = path(child)
        safe = function in _NULL_SAFE or (function == "@in" and i == 0)
        if read in nullable() and read not in guarded and read.split(".")[0] not in bound:
            if not safe:
                found.append((read, _WORDS.get(function, function), child))
            continue
        _walk(child, guarded, bound, found)


def _operands(node: Any, function: str) -> list[Any]:
    """The operands of a chain of `&&` (or of `||`), however CEL nested it."""
    if node.WhichOneof("kind") == "call_expr" and node.call_expr.function == function:
        return [side for arg in node.call_expr.args for side in _operands(arg, function)]
    return [node]


def _not_null_if(node: Any, value: bool) -> set[str]:
    """The paths that are not null when `node` evaluates to `value`."""
    tested = _tested(node)
    if tested is not None:
        return {tested} if value else set()
    if node.WhichOneof("kind") != "call_expr":
        return set()
    function, args = node.call_expr.function, list(node.call_expr.args)
    if function == "!_":
        return _not_null_if(args[0], not value)
    if function in ("_==_", "_!=_") and value == (function == "_!=_") and _null_in(args):
        return {p for p in map(path, args) if p in nullable()}
    if function == "_==_" and value and any(map(_value, args)):  # (`P == 'eu'`)
        return {p for p in map(path, args) if p in nullable()}
    if function == "@in" and value and args[1].WhichOneof("kind") == "list_expr":
        listed = args[1].list_expr.elements  # (`P in ['eu', 'uk']`; not `[null, 'eu']`)
        read = path(args[0])
        return {read} if read in nullable() and all(map(_value, listed)) else set()
    if function in ("_&&_", "_||_"):
        parts = [_not_null_if(a, value) for a in _operands(node, function)]
        every = (function == "_&&_") == value  # (all hold, or all fail: each says its own)
        return set().union(*parts) if every else set.intersection(*parts)
    return set()


def _value(node: Any) -> bool:
    """Whether `node` is a constant other than null (`'eu'`, `1.0`)."""
    return node.WhichOneof("kind") == "const_expr" and node.const_expr.WhichOneof("kind") not in (
        None,
        "null_value",
    )


def _null_in(args: list[Any]) -> bool:
    return any(
        a.WhichOneof("kind") == "const_expr" and a.const_expr.WhichOneof("kind") == "null_value"
        for a in args
    )
