"""Keys of rules' variables that are null when not set (`intent.constraints.max_cost`,
`capability.region`): `has()` of one is false when it is null, and a read of one that
fails on null (`> 1.0`, `.startsWith('eu')`) with no guard beside it is found, to warn of."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
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


def mentions_nullable(source: str) -> bool:
    """Whether `source` may read a key that may be null (a quick look before the tree's)."""
    return any(key.rpartition(".")[2] in source for key in nullable())


Bound = Mapping[str, tuple[str, ...]]
"""The names comprehensions bind where a node stands, each with the paths of rule
variables it may stand for (`[intent.constraints].exists(c, …)`: `c` is
`intent.constraints`; `[intent.constraints, intent.llm]`: either), or none for any other
value (a list the rule wrote, an index)."""
_FREE: Bound = {}


def _tested(node: Any, bound: Bound = _FREE) -> str | None:
    """The path `has(...)` tests, if `node` is such a test and the path starts at a rule
    variable (`_resolved`)."""
    if node.WhichOneof("kind") != "select_expr" or not node.select_expr.test_only:
        return None
    operand = path(node.select_expr.operand)
    return None if operand is None else _resolved(f"{operand}.{node.select_expr.field}", bound)


def _resolved(read: str | None, bound: Bound) -> str | None:
    """`read` as a path from a rule variable: one starting at a comprehension's name, from
    a path that name stands for (of those it may, the first whose key may be null: a read
    that is null for one of them fails there); None if it stands for no rule variable."""
    if read is None:
        return None
    ways = _resolved_all(read, bound)
    return next((way for way in ways if way in nullable()), ways[0] if ways else None)


def _inside(c: Any, bound: Bound) -> Bound:
    """The names bound inside the comprehension `c`: its variable stands for the paths of
    the list it goes through (`[intent.constraints]`; a literal beside them, `{'max_cost':
    1.0}`, stands for none), so that `has(c.max_cost)` and `c.max_cost > 1.0` are ido's
    view's, as written outside, for each element that is the view."""
    found: dict[str, None] = {}  # (in order, each once)
    if c.iter_range.WhichOneof("kind") == "list_expr":
        for e in c.iter_range.list_expr.elements:
            read = path(e)
            if read is not None:
                found |= dict.fromkeys(_resolved_all(read, bound))
    inner = dict(bound)
    for name in (c.accu_var, c.iter_var, c.iter_var2):
        if name:
            inner[name] = ()
    # (with two variables, the first is the index and the second the element)
    inner[c.iter_var2 or c.iter_var] = tuple(found)
    return inner


def _resolved_all(read: str, bound: Bound) -> list[str]:
    """Every path `read` may be (its first name may be a comprehension's, `_inside`)."""
    head, dot, rest = read.partition(".")
    if head not in bound:
        return [read]
    return [f"{stands_for}{dot}{rest}" for stands_for in bound[head]]


def set_meant(env: Any, expression: Any, source: str, checked: Any) -> tuple[Any, Any]:
    """`expression` with each `has(P)` of a key that may be null made `has(P) && P != null`:
    ido's views hold every such key, null when not set, so `has()` was always true and
    `has(intent.constraints.deadline) && duration(intent.constraints.deadline) > …` failed
    on every intent without a deadline. Unchanged if it has none. `checked`: its tree, if
    decoded already (else None); returned with the expression, the tree of what is returned
    (None if not decoded), which the checks of its reads share."""
    if "has" not in source or not mentions_nullable(source):
        return expression, checked
    checked = tree(expression) if checked is None else checked
    if checked is None:
        return expression, None
    tests = [node for node, tested in _free_tests(checked.expr, _FREE) if tested in nullable()]
    if not tests:
        return expression, checked
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
        return rebuilt(env, checked), checked
    except RuntimeError:  # (never seen: CEL refused a tree it made, with a test changed)
        return expression, None


def _free_tests(node: Any, bound: Bound) -> list[tuple[Any, str]]:
    """The `has()` tests under `node` of a path that starts at a rule variable, each with
    that path: a macro's variable named `intent` (`[{...}].exists(intent,
    has(intent.x))`) is a value the rule wrote, whose `has()` is CEL's own; one that goes
    through `[intent.constraints]` stands for ido's view (`_inside`)."""
    if node.WhichOneof("kind") == "comprehension_expr":
        c = node.comprehension_expr
        inner = _inside(c, bound)
        found = _free_tests(c.iter_range, bound)
        for part in (c.accu_init, c.loop_condition, c.loop_step, c.result):
            found += _free_tests(part, inner)
        return found
    if node.WhichOneof("kind") == "select_expr" and node.select_expr.test_only:
        tested = _tested(node, bound)
        return [] if tested is None else [(node, tested)]
    return [test for child in children(node) for test in _free_tests(child, bound)]


def null_tests(checked: Any) -> frozenset[str]:
    """The keys that may be null whose `has()` the condition of the tree `checked` tests
    (as `set_meant` made it: false when null; the ido before it said true, and a rule
    guarded by it read the null)."""
    if checked is None:
        return frozenset()
    found = (tested for _, tested in _free_tests(checked.expr, _FREE))
    return frozenset(p for p in found if p in nullable())


@dataclass(frozen=True)
class NullRead:
    """A read of a key that may be null, in a use that fails when it is, with no guard."""

    path: str
    use: str
    """The operator or function that fails on null (`>`, `startsWith`)."""
    offset: int
    """Where the read stands in the condition (0-based, in characters)."""


def unguarded(checked: Any) -> list[NullRead]:
    """The reads of keys that may be null in the condition of the tree `checked` that fail
    when the key is null and that no guard beside them (`P != null && …`, `has(P) && …`,
    `P == null || …`, `has(P) ? … : …`, `has(P) == true && …`) keeps from it. CEL's `&&`
    is false if either side is, whatever the other, so a guard on either side will do."""
    if checked is None:
        return []
    found: list[tuple[str, str, Any]] = []
    _walk(checked.expr, frozenset(), _FREE, found)
    return [NullRead(read, use, offset(checked, _root(node))) for read, use, node in found]


_IN = re.compile(r"(?<![\w.])in(?!\w)")


@dataclass(frozen=True)
class KeyListed:
    """`'max_cost' in intent.constraints`, of a key that may be null: always true, as ido's
    views hold every such key (null when not set); `has()` says whether it is set."""

    path: str
    """The key's path (`intent.constraints.max_cost`)."""
    offset: int
    """Where the test stands in the condition (0-based, in characters): its key."""


def keys_listed(checked: Any, source: str) -> list[KeyListed]:
    """Each `'k' in P` (P a map of ido's views) of a key `P.k` that may be null, in the
    condition of the tree `checked` (compiled from `source`): CEL's `in` of a map says
    whether the key is there, and it always is."""
    if checked is None or _IN.search(source) is None:
        return []
    found: list[KeyListed] = []
    todo: list[tuple[Any, Bound]] = [(checked.expr, _FREE)]
    while todo:
        node, bound = todo.pop()
        if node.WhichOneof("kind") == "comprehension_expr":
            c = node.comprehension_expr
            inner = _inside(c, bound)
            todo.append((c.iter_range, bound))
            todo.extend((part, inner) for part in (c.loop_condition, c.loop_step, c.result))
            continue
        if node.WhichOneof("kind") == "call_expr" and node.call_expr.function == "@in":
            key, within = node.call_expr.args
            listed = path(within)
            if listed is not None and key.const_expr.WhichOneof("kind") == "string_value":
                read = _resolved(f"{listed}.{key.const_expr.string_value}", bound)
                if read in nullable():
                    found.append(KeyListed(read, offset(checked, key)))
        todo.extend((child, bound) for child in children(node))
    return sorted(found, key=lambda k: k.offset)


def _root(node: Any) -> Any:
    """The variable the path `node` reads starts at."""
    while children(node):
        node = children(node)[0]
    return node


def _walk(
    node: Any,
    guarded: frozenset[str],
    bound: Bound,
    found: list[tuple[str, str, Any]],
    use: str | None = None,
) -> None:
    """Find the unguarded reads under `node` (`guarded`: the paths known not null there;
    `bound`: names a comprehension binds, `_inside`; `use`: what fails on `node`'s value
    if it is null, when a `? :` or `dyn()` passes it on to that use)."""
    read = _resolved(path(node), bound) if use is not None else None
    if read in nullable():
        if read not in guarded:
            found.append((read, use or "", node))
        return
    kind = node.WhichOneof("kind")
    if kind == "comprehension_expr":
        c = node.comprehension_expr
        _walk(c.iter_range, guarded, bound, found)
        inner = _inside(c, bound)
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
        says = [_not_null_if(side, function == "_&&_", bound) for side in sides]
        times = Counter(p for said in says for p in said)  # (a long chain: not n² looks)
        for side, said in zip(sides, says, strict=True):
            known = {p for p, n in times.items() if n > (p in said)}  # (said by another)
            _walk(side, guarded | known, bound, found)
        return
    if function == "_?_:_":  # (a branch's value is the whole's: `use` goes on to it)
        condition, then, otherwise = node.call_expr.args
        _walk(condition, guarded, bound, found)
        _walk(then, guarded | _not_null_if(condition, True, bound), bound, found, use)
        _walk(otherwise, guarded | _not_null_if(condition, False, bound), bound, found, use)
        return
    if function == "dyn" and use is not None and len(node.call_expr.args) == 1:
        _walk(node.call_expr.args[0], guarded, bound, found, use)
        return
    for i, child in enumerate(children(node)):
        read = _resolved(path(child), bound)
        safe = function in _NULL_SAFE or (function == "@in" and i == 0)
        if read in nullable() and read not in guarded:
            if not safe:
                found.append((read, _WORDS.get(function, function), child))
            continue
        passes = not safe and _passes_on(child)  # (`(x ? P : 1.0) > …` fails on P's null)
        _walk(child, guarded, bound, found, _WORDS.get(function, function) if passes else None)


def _passes_on(node: Any) -> bool:
    """Whether `node` hands on a value it is given, null or not (`? :`, `dyn()`)."""
    return node.WhichOneof("kind") == "call_expr" and node.call_expr.function in ("_?_:_", "dyn")


def _operands(node: Any, function: str) -> list[Any]:
    """The operands of a chain of `&&` (or of `||`), however CEL nested it."""
    if node.WhichOneof("kind") == "call_expr" and node.call_expr.function == function:
        return [side for arg in node.call_expr.args for side in _operands(arg, function)]
    return [node]


def _not_null_if(node: Any, value: bool, bound: Bound) -> set[str]:
    """The paths that are not null when `node` evaluates to `value` (and not to an error)."""
    tested = _tested(node, bound)
    if tested is not None:
        return {tested} if value else set()
    if node.WhichOneof("kind") != "call_expr":
        return set()
    function, args = node.call_expr.function, list(node.call_expr.args)
    if function == "!_":
        return _not_null_if(args[0], not value, bound)
    flag = _flag(args) if function in ("_==_", "_!=_") else None
    if flag is not None:  # (`has(P) == true`, `false != has(P)`: what the other side is)
        other, said = flag
        found = _not_null_if(other, (said == value) == (function == "_==_"), bound)
        read = _resolved(path(other), bound)  # (`P == true`: P is true, so not null)
        equal = value == (function == "_==_")
        return found | {read} if equal and read in nullable() else found
    reads = [_resolved(path(a), bound) for a in args]
    if function in ("_==_", "_!=_") and value == (function == "_!=_") and _null_in(args):
        return {p for p in reads if p in nullable()}
    if function == "_==_" and value and any(map(_value, args)):  # (`P == 'eu'`)
        return {p for p in reads if p in nullable()}
    if function == "@in" and value and args[1].WhichOneof("kind") == "list_expr":
        listed = args[1].list_expr.elements  # (`P in ['eu', 'uk']`; not `[null, 'eu']`)
        return {reads[0]} if reads[0] in nullable() and all(map(_value, listed)) else set()
    if function in ("_&&_", "_||_"):
        parts = [_not_null_if(a, value, bound) for a in _operands(node, function)]
        every = (function == "_&&_") == value  # (all hold, or all fail: each says its own)
        return set().union(*parts) if every else set.intersection(*parts)
    if function == "_?_:_":  # (the condition and the branch taken, either way it can go)
        condition, then, otherwise = args
        ways = [
            _not_null_if(condition, taken, bound) | _not_null_if(branch, value, bound)
            for taken, branch in ((True, then), (False, otherwise))
            if _bool(branch) is not (not value)  # (a `false` branch is never true)
        ]
        return set.intersection(*ways) if ways else set()
    return set()


def _flag(args: list[Any]) -> tuple[Any, bool] | None:
    """The other side and the bool of a comparison with `true` or `false`, if it is one."""
    for i, arg in enumerate(args):
        said = _bool(arg)
        if said is not None:
            return args[1 - i], said
    return None


def _bool(node: Any) -> bool | None:
    """The value of `node` if it is `true` or `false`."""
    if (
        node.WhichOneof("kind") != "const_expr"
        or node.const_expr.WhichOneof("kind") != "bool_value"
    ):
        return None
    return bool(node.const_expr.bool_value)


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
