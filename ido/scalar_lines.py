"""The line of a file a character of a YAML scalar's value comes from, when the scalar is
written quoted, folded (`>`) or plain over several lines: YAML folds its line breaks
into spaces, so the value's lines are not the file's (a literal block's, `|`, are)."""

from __future__ import annotations

_BREAKS = frozenset("\n\r\x85\u2028\u2029")
"""What libyaml counts as a line break (`\\r\\n` once), as its marks count lines."""
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v"}
_ESCAPES |= {"f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\"}
_ESCAPES |= {"N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_HEX = {"x": 2, "u": 4, "U": 8}


def line_in(raw: str, first: int, value: str, at: int) -> int | None:
    """The file's line (1-based) of character `at` of `value`, the scalar written as `raw`
    (its quotes or `>` header included) from line `first`; None if `raw` does not read as
    `value` here (a style not looked into: the field's line is told then).

    Folding changes only the spaces and line breaks between the characters, so the value's
    characters that are not spaces, in order, are the text's (escapes read, `''` as `'`):
    the one at `at` (or the next after it) is on the line its own stands on."""
    units = _units(raw, first)
    shown = [c for c in value if not c.isspace()]
    if units is None or [c for c, _ in units] != shown or not units:
        return None
    before = sum(not c.isspace() for c in value[:at])
    return units[min(before, len(units) - 1)][1]


def _units(raw: str, line: int) -> list[tuple[str, int]] | None:
    """Each character of the value `raw` writes that is not a space, with its line."""
    quote = raw[:1]
    i, size = 0, len(raw)
    if quote in ("'", '"'):
        i = 1
    elif quote == ">":  # (its header, indicators and comment, end at the line's end)
        while i < size and raw[i] not in _BREAKS:
            i += 1
    found: list[tuple[str, int]] = []
    while i < size:
        char = raw[i]
        if char in _BREAKS:
            line += not (char == "\r" and raw.startswith("\n", i + 1))
            i += 1
            continue
        if char == quote == "'":
            if not raw.startswith("''", i):
                return found  # (its closing quote)
            i += 1
        elif char == quote == '"':
            return found
        elif char == "\\" and quote == '"':
            escaped = raw[i + 1 : i + 2]
            if escaped in _BREAKS:  # (an escaped line break: the text goes on, no space)
                i += 1
                continue
            if escaped in _HEX:
                digits = raw[i + 2 : i + 2 + _HEX[escaped]]
                try:
                    char = chr(int(digits, 16))
                except (ValueError, OverflowError):
                    return None
                i += _HEX[escaped]
            elif escaped in _ESCAPES:
                char = _ESCAPES[escaped]
            else:
                return None
            i += 1
        if not char.isspace():
            found.append((char, line))
        i += 1
    return None if quote in ("'", '"') else found
