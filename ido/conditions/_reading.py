"""What a condition reads, off its text: its variables, the keys of them and the state paths,
with its literals and comments blanked out."""

from __future__ import annotations

import re

VARIABLES = ("state", "intent", "capability", "plan", "health")
_STATE_REF = re.compile(r"\bstate((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_VARIABLE_REF = re.compile(r"\b(" + "|".join(VARIABLES) + r")\b")
# A macro's call up to its first argument, the name it binds: `.exists(plan,`.
_MACRO_BINDING = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


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
