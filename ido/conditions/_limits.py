"""What CEL compiles but ido refuses at load time: literals CEL cannot convert, and
conditions that iterate over more than a bounded amount of what they write."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from cel_expr_python import cel

from ido.conditions._messages import _CONVERSIONS, ConditionError, _where, line_column
from ido.conditions._reading import (
    _MACRO_BINDING,
    VARIABLES,
    _bindings,
    _blank_literals,
    _literal_spans,
)
from ido.conditions._tree import nodes, offset


@cache
def _env() -> Any:
    dyn_map = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
    return cel.NewEnv(variables=dict.fromkeys(VARIABLES, dyn_map))


_CONVERTED = re.compile(r"(?<![\w.])(duration|timestamp)\s*\(\s*$")
_CLOSES = re.compile(r"\s*\)")
"""What closes a call right after its argument (matched where the literal ends, without a
copy of the rest of the condition for each literal)."""


def _check_literals(source: str) -> None:
    """Refuse a `duration('…')` or `timestamp('…')` whose text CEL cannot convert: it fails
    every time the condition is evaluated (`duration('2d')` made a deny rule deny all),
    so it is told at load time, where it stands in the expression."""
    if "duration" not in source and "timestamp" not in source:
        return  # (most conditions: no second pass of the literal scanner)
    spans = _literal_spans(source)
    code = _blank_literals(source, spans=spans)
    for start, end in spans:
        called = _CONVERTED.search(code, max(0, start - 40), start)
        if called is None or _CLOSES.match(code, end) is None:
            continue
        function, literal = called.group(1), source[start:end]
        value = _env().compile(f"{function}({literal})").eval(data={})
        if value.type().name().lower() != "error":
            continue
        line, column = line_column(source, start)
        raise ConditionError(
            f"CEL: {function}({literal}) cannot be converted: {_CONVERSIONS[function]}"
            f" ({_where(line, column)})",
            column,
            line,
        )


@cache
def _matching() -> Any:
    return cel.NewEnv(variables={"pattern": cel.Type.STRING}).compile("''.matches(pattern)")


def _check_patterns(source: str, checked: Any) -> None:
    """Refuse a `matches('…')` whose pattern, written in the condition, does not compile:
    it fails every time the condition is evaluated (`matches('[')` made a deny rule deny
    all). CEL itself tries it, so the pattern is held to the engine it runs (RE2: no
    look-around or back-references). `checked`: the condition's tree (`_tree.tree`)."""
    if "matches" not in source:
        return
    for node in nodes(checked.expr) if checked is not None else []:
        if node.WhichOneof("kind") != "call_expr" or node.call_expr.function != "matches":
            continue
        pattern = node.call_expr.args[-1] if node.call_expr.args else None
        if pattern is None or pattern.const_expr.WhichOneof("kind") != "string_value":
            continue
        value = _matching().eval(data={"pattern": pattern.const_expr.string_value})
        if value.type().name().lower() != "error":
            continue
        at = offset(checked, pattern)
        line, column = line_column(source, at)
        why = str(value.value()).split("invalid regular expression: ", 1)[-1]
        raise ConditionError(
            f"CEL: matches({_quoted(pattern.const_expr.string_value)}) cannot compile its "
            f"pattern: {why} ({_where(line, column)}); {_RE2}",
            column,
            line,
        )


_RE2 = "CEL's patterns are RE2's: no look-around (`(?=`, `(?!`) and no back-references (`\\1`)"


def _quoted(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57] + "...")


ITERATED_SIZE = 1_000
"""The most characters (comments and spaces aside) of a condition that iterates."""
ITERATED_ELEMENTS = 100
"""The most list elements and map entries a condition that iterates may write, in all."""
ITERATED_DEPTH = 2
"""The most comprehensions a condition may nest one in another."""
_ITERATING = ", ".join(("all", "exists", "exists_one", "map", "filter"))


def _iteration_problem(source: str) -> str | None:
    """Why a condition that iterates (`all`, `exists`, `map`, …) is refused, if it is.
    CEL stops after 10,000 passes in all, but a pass may cost any amount, and
    cel-expr-python has no limit on that: what the body writes is built again on every
    pass and kept until the end (`[...9,990 numbers...].map(x, ...)` nested took 43 s).
    Bounding what the condition writes bounds the work of a pass; bounding the nesting,
    the passes that written lists alone make (four nested lists of 10 make 10,000). What
    the state holds is the catalog's own to keep reasonable."""
    if _MACRO_BINDING.search(source) is None:  # (one inside a string is told apart below)
        return None
    code = _blank_literals(source, quoted="0")
    spans = _bindings(code)
    if not spans:
        return None
    size = sum(not c.isspace() for c in code)
    elements = _elements(code)
    limit = f"a condition that iterates ({_ITERATING}) may"
    why = "CEL goes through them again on each of up to 10,000 passes"
    if elements > ITERATED_ELEMENTS:
        return (
            f"{limit} write at most {ITERATED_ELEMENTS} list elements and map entries, not "
            f"{elements:,}: {why}; put a long list in the state (`given`) and read it there"
        )
    if size > ITERATED_SIZE:
        return (
            f"{limit} be at most {ITERATED_SIZE:,} characters long (comments and spaces "
            f"aside), not {size:,}: {why}"
        )
    # (after the size: pairs of comprehensions, which a condition too long has too many of)
    depth = max(sum(s < start < e for _, s, e in spans) for _, start, _ in spans) + 1
    if depth > ITERATED_DEPTH:
        return f"{limit} nest at most {ITERATED_DEPTH} comprehensions one in another, not {depth}"
    return None


def _elements(code: str) -> int:
    """The list elements and map entries `code` (literals filled in) writes: what is
    between the commas of each `[...]` and `{...}` (an index, `a[0]`, counts as one)."""
    count = 0
    opened: list[str] = []
    filled: list[bool] = []
    for char in code:
        if char in "([{":
            if filled:
                filled[-1] = True
            opened.append(char)
            filled.append(False)
        elif char in ")]}":
            if opened:
                listed, written = opened.pop() != "(", filled.pop()
                count += listed and written
        elif char == "," and opened and opened[-1] != "(":
            count += 1
        elif not char.isspace() and filled:
            filled[-1] = True
    return count
