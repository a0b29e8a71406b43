"""The names (capabilities, tags, providers, regions, intents) a condition compares with."""

from __future__ import annotations

import re

from ido.conditions._reading import _TRIPLE_QUOTES, _blank_literals, _literal_spans

_ONE = r"capability\.(?:name|provider|region)|intent\.name"
_MANY = r"capability\.tags|plan\.(?:capabilities|tags|providers|regions)|health"
# Matched within a window of the blanked text around each literal (`pos`/`endpos`, no
# slices): each literal's look is bounded, not the whole text before it.
_COMPARED_TO = re.compile(rf"(?<![\w.])({_ONE})\s*(?:==|!=)\s*$")
_LISTED_FOR = re.compile(rf"(?<![\w.])({_ONE})\s+in\s*$")  # before a list's `[`
_COMPARED_WITH = re.compile(rf"\s*(?:==|!=)\s*({_ONE})(?![\w.(])")
_LOOKED_UP_IN = re.compile(rf"\s*in\s+({_MANY})(?![\w.(])(?!\s*\[)")  # (not `health['a']`)
_HEALTH_OF = re.compile(r"(?<![\w.])(health)\s*\[\s*$")  # (`health['x']`: a capability's)
_CLOSES = re.compile(r"\s*\]")
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
    "health": "capability",
}
"""What a literal compared with each field names."""


def named_values(source: str) -> list[tuple[str, str, int]]:
    """The capability names, tags, providers and regions, and the intent names, a condition
    compares with, as written: each as (`capability`, `tag`, `provider`, `region` or
    `intent`, the literal's text, where it starts in `source`).

    Read off the text, as `_reads` reads variables: `capability.name == 'x'` (or `!=`,
    either way round; `capability.provider`, `capability.region` and `intent.name` alike),
    `capability.name in ['x', 'y']`, `'x' in capability.tags` and, of a plan, `'x' in
    plan.capabilities` (`plan.tags`, `plan.providers`, `plan.regions`); a capability's
    `health['x']` and `'x' in health`. A name built otherwise is not seen.
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
                    _HEALTH_OF.search(code, max(0, start - _WINDOW), start)
                    if _CLOSES.match(code, end)
                    else None,
                )
                if m is not None
            ),
            None,
        ) or _list_subject(code, start, lists)
        if subject is not None:
            kind = _KINDS[subject]
            found.append((kind, source[start + 1 : end - 1], start))
    return found
