"""CEL conditions: compiled once at load time, evaluated without ever raising."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cel_expr_python import cel

from ido.state import excerpt, reach_into

VARIABLES = ("state", "intent", "capability", "plan", "health")
_STATE_REF = re.compile(r"\bstate((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_VARIABLE_REF = re.compile(r"\b(" + "|".join(VARIABLES) + r")\b")
# A macro's call up to its first argument, the name it binds: `.exists(plan,`.
_MACRO_BINDING = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


class ConditionError(ValueError):
    """A condition failed to compile; the message is CEL's, made readable."""

    def __init__(self, message: str, column: int | None, line: int | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.line = line
        """The line of the expression (1 for its first) CEL points at, if it said."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating a condition: held or not, and the error if evaluation failed."""

    holds: bool
    error: str | None = None


_TRUE, _FALSE = Verdict(True), Verdict(False)


_BOOL = cel.Type.BOOL
_SCALARS = (cel.Type.STRING, cel.Type.INT, cel.Type.UINT, cel.Type.DOUBLE)


@cache
def _env() -> Any:
    dyn_map = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
    return cel.NewEnv(variables=dict.fromkeys(VARIABLES, dyn_map))


# One fact's path or its negation, of at most 16 names after `state` and 1,000 characters:
# CEL's parser stops at a depth of 32 (31 names, 30 negated) and at 100,000 characters.
_FACT = re.compile(r"!?state(?:\.[A-Za-z_][A-Za-z0-9_]*){1,16}")
_FACT_LENGTH = 1_000
# Words CEL's lexer reads as literals or operators, never as a field's name.
_NOT_NAMES = frozenset({"in", "true", "false", "null"})


_STATE_ONLY = frozenset({"state"})


def _just_a_fact(source: str) -> bool:
    """Whether `source` is one fact's path or its negation, `state.a.b` or `!state.a.b`,
    that CEL always compiles (to dyn, or to bool): it is compiled when first evaluated.
    The planner reads such conditions without CEL, and catalogs imported from PDDL hold
    thousands (about 20 µs each to compile)."""
    return (
        len(source) <= _FACT_LENGTH
        and _FACT.fullmatch(source) is not None
        and _NOT_NAMES.isdisjoint(source.lstrip("!").split("."))
    )


def _compiled(source: str) -> Any:
    try:
        expr = _env().compile(source)
    except RuntimeError as exc:
        raise _readable(str(exc), source) from None
    result = expr.return_type().name()
    if result not in ("bool", "dyn", "BOOL", "DYN"):
        raise ConditionError(f"condition must be a bool, but it is of type {result.lower()}", None)
    too_costly = _iteration_problem(source)
    if too_costly is not None:
        raise ConditionError(too_costly, None)
    _check_literals(source)
    return expr


DURATION_UNITS = "h, m, s, ms, us or ns"
"""The units a CEL duration is written in; days and weeks are not among them."""
_CONVERSIONS = {
    "duration": f"a duration is numbers each with a unit, {DURATION_UNITS} (`48h`, `1h30m`, "
    "`1.5s`); there is no unit of days or weeks (`2d` is `48h`)",
    "timestamp": "a timestamp is RFC 3339, with its time and zone (`2026-12-06T10:00:00Z`)",
}
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
        line = source.count("\n", 0, start) + 1
        column = start - (source.rfind("\n", 0, start) + 1) + 1
        raise ConditionError(
            f"CEL: {function}({literal}) cannot be converted: {_CONVERSIONS[function]}"
            f" ({_where(line, column)})",
            column,
            line,
        )


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


class Condition:
    """A compiled CEL expression of type bool (or dyn, checked when evaluated). A fact's
    path or its negation is compiled when first evaluated (`_just_a_fact`)."""

    __slots__ = ("_expr", "keys", "source", "state_paths", "variables")

    def __init__(self, source: str) -> None:
        self.source = source
        self.state_paths: tuple[str, ...] | None
        self.variables: frozenset[str]
        self.keys: tuple[Key, ...]
        if _just_a_fact(source):  # (no literal, no macro, one path: what it reads is known)
            self._expr: Any = None
            self.state_paths = (source.lstrip("!").removeprefix("state."),)
            self.variables, self.keys = _STATE_ONLY, ()
            return
        self._expr = _compiled(source)
        code = _blank_literals(source)  # (what each reads is read without its literals)
        self.state_paths = _state_paths(code)
        self.variables, self.keys = _reads(code)

    def evaluate(self, variables: Mapping[str, Any], excerpt: bool = False) -> Verdict:
        """Evaluate against the given variables; a CEL error yields `holds=False` with the error.
        `excerpt`: `state` holds what the condition reads already (the planner's tables
        build it so), and is not cut down to it again."""
        # Only the variables it reads (`_reads` errs towards more): CEL converts each.
        data = {name: variables.get(name, {}) for name in self.variables}
        if self.state_paths is not None and "state" in data and not excerpt:
            data["state"] = _projected(data["state"], self.state_paths)
        if self._expr is None:
            self._expr = _compiled(self.source)
        try:
            value = self._expr.eval(data=data)
        except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
            return Verdict(False, f"cannot evaluate: {exc}")
        kind = value.type()
        if kind == _BOOL:
            return _TRUE if value.value() else _FALSE
        name = kind.name().lower()
        if name == "error":
            return Verdict(False, _conversion_hint(_short(str(value.value()))))
        if kind not in _SCALARS:
            # cel-expr-python 0.1.3 drops a reference to None each time it converts a null
            # (a few thousand conversions abort the interpreter): a null, or a list or map
            # that may hold one, is described, never converted.
            return Verdict(False, f"evaluated to a {name}, not a bool")
        return Verdict(False, f"evaluated to {value.value()!r} ({name}), not a bool")

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"


@cache
def compile_condition(source: str) -> Condition:
    """Compile (and cache) a condition; raises ConditionError with CEL's reason."""
    return Condition(source)


def all_hold(sources: Iterable[str], state: Any) -> bool:
    """Whether every condition of `sources` (a goal) holds in `state`."""
    return all(compile_condition(source).evaluate({"state": state}).holds for source in sources)


def _projected(state: Any, paths: tuple[str, ...]) -> Any:
    """The part of `state` that `paths` read, shaped as in `state`: a fact the condition
    does not read, which CEL may not be able to convert (a date, an integer past 64 bits),
    must not change its verdict, and a large state is not converted whole for one number.
    Each path is followed as far as the state goes; where it stops (a missing key, a value
    that is no mapping), what is there is kept, so the condition fails as it would have.
    (The planner's tables cut their rows' states down alike, from each path's reach worked
    out once, and say so: `excerpt=True`.)"""
    if not isinstance(state, Mapping):
        return state
    return excerpt(paths, [reach_into(state, path) for path in paths])


def _state_paths(code: str) -> tuple[str, ...] | None:
    """Dotted state paths the expression reads, or None when it reads `state` as a whole.
    `code`: the expression with its literals blanked (`_blank_literals`)."""
    paths: set[str] = set()
    for match in _STATE_REF.finditer(code):
        if code[: match.start()].rstrip().endswith("."):
            continue  # `x.state` is a field of something else
        tail = match.group(1)
        if code[match.end() :].lstrip().startswith("("):
            tail = tail.rpartition(".")[0]  # `state.name.startsWith(...)` calls a method
        if not tail:
            return None
        paths.add(tail[1:])
    return tuple(sorted(paths))


Key = tuple[str, str, int]
"""A key of `capability`, `plan` or `intent` read by name (`capability.provider`): the
variable, the key, and where the variable starts in the condition."""
_KEYED = frozenset({"capability", "plan", "intent"})
_KEY = re.compile(r"\s*\.\s*([A-Za-z_]\w*)")


def _reads(code: str) -> tuple[frozenset[str], tuple[Key, ...]]:
    """The variables (`state`, `plan`, ...) the expression reads, and the keys it reads of
    those whose keys are known in advance (`Key`): not a field of something else (`x.plan`,
    `x. plan`), nor a macro's own name for an element (`tags.exists(plan, plan == 'a')`
    reads no plan). A misspelt key (`capability.provder`) failed every evaluation: known,
    it is told at load time. `code`: the expression with its literals blanked
    (`_blank_literals`)."""
    bound = _bindings(code)
    variables: set[str] = set()
    keys: list[Key] = []
    for match in _VARIABLE_REF.finditer(code):
        name, at = match.group(1), match.start()
        if code[:at].rstrip().endswith("."):
            continue
        if any(name == own and start <= at < end for own, start, end in bound):
            continue
        variables.add(name)
        key = _KEY.match(code, match.end()) if name in _KEYED else None
        if key is not None:
            keys.append((name, key.group(1), at))
    return frozenset(variables), tuple(keys)


def _bindings(code: str) -> list[tuple[str, int, int]]:
    """Each name a macro (`all`, `exists`, `exists_one`, `map`, `filter`) binds, with the
    span of its arguments, where that name means the element and shadows a variable."""
    spans = []
    for match in _MACRO_BINDING.finditer(code):
        depth, end = 0, len(code)
        for i in range(code.index("(", match.start()), len(code)):
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            if depth == 0:
                end = i
                break
        spans.append((match.group(1), match.start(), end))
    return spans


_TRIPLE_QUOTES = ("'''", '"""')


def _blank_literals(
    source: str, quoted: str = " ", spans: list[tuple[int, int]] | None = None
) -> str:
    """`source` with each character of its string and bytes literals turned into `quoted`
    and of its `//` comments into spaces (a literal is no name). `spans`: its
    `_literal_spans`, when the caller has them."""
    out = list(source)
    for start, end in _literal_spans(source) if spans is None else spans:
        fill = " " if source.startswith("//", start) else quoted
        out[start:end] = fill * (end - start)
    return "".join(out)


def _literal_spans(source: str) -> list[tuple[int, int]]:
    """Where the string and bytes literals and `//` comments of `source` are (start, end).

    Follows CEL's lexer: single, double and triple quotes, and a backslash always takes
    the next character with it (raw strings too: the lexer matches them the same way).
    """
    spans = []
    i, size = 0, len(source)
    while i < size:
        char = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = size if end < 0 else end
        elif char in "'\"":
            quote = source[i : i + 3] if source[i : i + 3] in _TRIPLE_QUOTES else char
            end = i + len(quote)
            while end < size and not source.startswith(quote, end):
                end += 2 if source[end] == "\\" else 1
            end = min(size, end + len(quote))
        else:
            i += 1
            continue
        spans.append((i, end))
        i = end
    return spans


_ONE = r"capability\.(?:name|provider|region)|intent\.name"
_MANY = r"capability\.tags|plan\.(?:capabilities|tags|providers|regions)"
# Matched within a window of the blanked text around each literal (`pos`/`endpos`, no
# slices): each literal's look is bounded, not the whole text before it.
_COMPARED_TO = re.compile(rf"(?<![\w.])({_ONE})\s*(?:==|!=)\s*$")
_LISTED_FOR = re.compile(rf"(?<![\w.])({_ONE})\s+in\s*$")  # before a list's `[`
_COMPARED_WITH = re.compile(rf"\s*(?:==|!=)\s*({_ONE})(?![\w.(])")
_LOOKED_UP_IN = re.compile(rf"\s*in\s+({_MANY})(?![\w.(])")
_WINDOW = 200
"""Characters before a literal (or before its list's `[`) a subject is looked for in."""


def _list_subject(code: str, start: int, lists: dict[int, tuple[str | None, int]]) -> str | None:
    """The subject of the list the literal at `start` stands in (`capability.name in ['a',
    …]`), if it stands in one: the nearest `[` before it, not closed before it. Each list
    is read once (`lists`: per `[`, its subject and where it closes): a list of 8,000
    names was read again for each of them (5 s for one condition)."""
    opened = code.rfind("[", 0, start)
    if opened < 0:
        return None
    if opened not in lists:
        m = _LISTED_FOR.search(code, max(0, opened - _WINDOW), opened)
        lists[opened] = (None if m is None else m.group(1), code.find("]", opened))
    subject, closed = lists[opened]
    return None if 0 <= closed < start else subject


_KINDS = {
    "capability.name": "capability",
    "plan.capabilities": "capability",
    "capability.tags": "tag",
    "plan.tags": "tag",
    "capability.provider": "provider",
    "plan.providers": "provider",
    "capability.region": "region",
    "plan.regions": "region",
    "intent.name": "intent",
}
"""What a literal compared with each field names."""


def named_values(source: str) -> list[tuple[str, str, int]]:
    """The capability names, tags, providers and regions, and the intent names, a condition
    compares with, as written: each as (`capability`, `tag`, `provider`, `region` or
    `intent`, the literal's text, where it starts in `source`).

    Read off the text, as `_reads` reads variables: `capability.name == 'x'` (or `!=`,
    either way round; `capability.provider`, `capability.region` and `intent.name` alike),
    `capability.name in ['x', 'y']`, `'x' in capability.tags` and, of a plan, `'x' in
    plan.capabilities` (`plan.tags`, `plan.providers`, `plan.regions`). A name built
    otherwise is not seen.
    """
    spans = _literal_spans(source)
    code = _blank_literals(source, spans=spans)
    found = []
    lists: dict[int, tuple[str | None, int]] = {}
    for start, end in spans:
        quote = source[start]
        if quote not in "'\"" or source[start : start + 3] in _TRIPLE_QUOTES:
            continue  # a comment, or a literal no name is written as
        if "b" in source[max(0, start - 2) : start].lower() or "\\" in source[start:end]:
            continue  # bytes, or a name with escapes in it
        subject = next(
            (
                m.group(1)
                for m in (
                    _COMPARED_TO.search(code, max(0, start - _WINDOW), start),
                    _COMPARED_WITH.match(code, end),
                    _LOOKED_UP_IN.match(code, end),
                )
                if m is not None
            ),
            None,
        ) or _list_subject(code, start, lists)
        if subject is not None:
            kind = _KINDS[subject]
            found.append((kind, source[start + 1 : end - 1], start))
    return found


_CEL_LOCATION = re.compile(r"<input>:(\d+):(\d+): (.*)")
_CEL_SIZE = re.compile(r"exceeds codepoint limit\. input size: (\d+), limit: (\d+)")


def _readable(raw: str, source: str) -> ConditionError:
    text = raw.removeprefix("INVALID_ARGUMENT: ")
    # CANCELLED: Expression recursion limit …; or, from CEL's parser for a chain of
    # operators, "ERROR: <input>:-1:-1: Exceeded max recursion depth of 32 when parsing."
    if "recursion limit exceeded" in text or "Exceeded max recursion depth" in text:
        return ConditionError(
            "CEL: the expression nests deeper than the 32 levels CEL reads (a chain of "
            "operators nests one level per operator: `a + b + c` is two)",
            None,
        )
    too_long = _CEL_SIZE.search(text)
    if too_long is not None:
        size, limit = (int(n) for n in too_long.groups())
        return ConditionError(
            f"CEL: the expression is {size:,} characters long; CEL reads at most {limit:,}", None
        )
    match = _CEL_LOCATION.search(text)
    if match is None:
        return ConditionError(_short(text), None)
    message = match.group(3).split("\n")[0].strip()
    message = message.replace(" (in container '')", "")
    if message.startswith("undeclared reference"):
        message += f"; conditions may use {', '.join(VARIABLES)}"
    line, column = int(match.group(1)), int(match.group(2))
    lines = source.split("\n")
    before = lines[line - 1][: max(0, column - 1)] if 1 <= line <= len(lines) else ""
    message = _syntax_words(message, before)
    return ConditionError(f"CEL: {message} ({_where(line, column)})", column, line)


_EXPECTING_VALUE = re.compile(r"expecting \{'\[', .*IDENTIFIER\}")
_WORDS = {"and": "&&", "or": "||", "not": "!"}


_NOT_BEFORE = re.compile(r"(?<![\w.])not\s*$")
"""`not` just before where CEL's parser stopped: it reads `not state.x` as a name, `not`,
followed by another it did not expect (`mismatched input 'state'`), and `not(state.x)` as
a call of a function `not`."""


def _syntax_words(message: str, before: str = "") -> str:
    """CEL's parser's message with what a newcomer's slip most likely was: `=` for `==`, a
    quote not closed, `and` for `&&`, `not` for `!`; its list of the tokens it expected
    (`{'[', '{', …, IDENTIFIER}`) said as what it means, a value. `before`: the
    condition's text before where the parser stopped, on its line."""
    message = _EXPECTING_VALUE.sub("expecting a value", message)
    if "token recognition error at: '=" in message:
        return f"{message}: compare with ==, and write >= and <= with = last"
    if re.search(r"token recognition error at: '['\"]", message):
        return f"{message}: a string's quote is not closed"
    word = re.search(r"mismatched input '(and|or|not)'", message)
    if word is not None:
        return f"{message}: CEL writes {word.group(1)} as {_WORDS[word.group(1)]}"
    if _NOT_BEFORE.search(before) and (
        message.startswith("Syntax error: mismatched input")
        or message.startswith("undeclared reference to 'not'")
    ):
        return f"{message}: CEL writes not as !"
    return message


def _where(line: int, column: int) -> str:
    """Where in a condition an error stands, as its messages say it (1-based)."""
    return f"column {column}" if line == 1 else f"line {line} of the expression, column {column}"


def _conversion_hint(error: str) -> str:
    """An evaluation error, with how a duration or timestamp is written when CEL could not
    convert one read from the state (`duration(state.window)` of `2d`): CEL says only
    "String to Duration conversion failed"."""
    for function, how in _CONVERSIONS.items():
        if f"String to {function.capitalize()} conversion failed" in error:
            return f"{error}: {how}"
    return error


_STATUS = re.compile(r"\b(?:NOT_FOUND|INVALID_ARGUMENT): ")
"""The status code CEL puts before a reason, which says nothing to a reader."""


def _short(text: str) -> str:
    return _STATUS.sub("", text.split("\n", maxsplit=1)[0]).strip()
