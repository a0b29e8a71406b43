"""CEL's messages made readable: where in the condition, and what the slip most likely was."""

from __future__ import annotations

import re

from ido.conditions._reading import VARIABLES
from ido.text import did_you_mean


class ConditionError(ValueError):
    """A condition failed to compile; the message is CEL's, made readable."""

    def __init__(self, message: str, column: int | None, line: int | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.line = line
        """The line of the expression (1 for its first) CEL points at, if it said."""


DURATION_UNITS = "h, m, s, ms, us or ns"
"""The units a CEL duration is written in; days and weeks are not among them."""
_CONVERSIONS = {
    "duration": f"a duration is numbers each with a unit, {DURATION_UNITS} (`48h`, `1h30m`, "
    "`1.5s`); there is no unit of days or weeks (`2d` is `48h`)",
    "timestamp": "a timestamp is RFC 3339, with its time and zone (`2026-12-06T10:00:00Z`)",
}


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
        message += f"; conditions may use {', '.join(VARIABLES)}{_reference_hint(message)}"
    line, column = int(match.group(1)), int(match.group(2))
    lines = source.split("\n")
    before = lines[line - 1][: max(0, column - 1)] if 1 <= line <= len(lines) else ""
    message = _syntax_words(message, before)
    message += _unit_hint(message, before)
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


def _reference_hint(message: str) -> str:
    """What an unknown name most likely was: a variable mistyped (`sate.order.paid`), or
    text written without its quotes (`state.order.region == eu`)."""
    named = re.match(r"undeclared reference to '([^']+)'", message)
    if named is None or named.group(1) == "not":
        return ""
    name = named.group(1)
    literal = _LITERALS.get(name.lower())
    if literal is not None:  # compared with the text 'True', true never equals it
        return f"; CEL writes {literal}"
    if name.lower() in _YAML_BOOLS:
        return f"; a bool is written true or false; text in quotes, '{name}'"
    meant = did_you_mean(name.split(".")[0], VARIABLES)
    if meant is not None:
        return f"; {meant}"
    return "" if "." in name else f"; text is written in quotes, '{name}'"


_LITERALS = {
    "true": "true (lower case)",
    "false": "false (lower case)",
    "none": "null",
    "nil": "null",
    "null": "null",
    "undefined": "null",
}
"""Names other languages (Python, YAML, JavaScript) write CEL's literals with, and how CEL
writes them."""
_YAML_BOOLS = frozenset({"yes", "no", "on", "off"})  # YAML 1.1's: a bool, or text, meant


_UNIT_AFTER_NUMBER = re.compile(r"(?:extraneous|mismatched) input '(ms|s|m|h|d)'")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_COMPARED = re.compile(r"([\w.]+(?:\([^()]*\))?)\s*(?:[<>]=?|[=!]=)\s*\d+(?:\.\d+)?\s*$")
_IN_SECONDS = ("capability.latency", "capability.timeout")


def _unit_hint(message: str, before: str) -> str:
    """How to write a duration a condition wrote as ido's fields do (`capability.latency >
    30s`): CEL reads a number, then a name `s` it did not expect. Compared with a number of
    seconds (`capability.latency`), the number; with a `duration(…)`, a duration: each way
    is refused on the other side."""
    unit = _UNIT_AFTER_NUMBER.search(message)
    number = re.search(r"(\d+(?:\.\d+)?)\s*$", before)
    if unit is None or number is None:
        return ""
    compared = _COMPARED.search(before)
    operand = "" if compared is None else compared.group(1)
    written = f"{number.group(1)}{unit.group(1)}"
    seconds = float(number.group(1)) * _SECONDS[unit.group(1)]
    # (CEL's durations take no days: a day is written in hours)
    as_text = f"{seconds / 3600:g}h" if unit.group(1) == "d" else written
    if operand.startswith("duration("):
        return f": CEL writes no unit after a number; compare durations, duration('{as_text}')"
    as_number = (
        f": CEL writes no unit after a number; {written} in seconds is {seconds!r}, as "
        "capability.latency and capability.timeout are"
    )
    if operand in _IN_SECONDS:
        return as_number
    return f"{as_number}, or compare durations, duration('{as_text}')"


def line_column(source: str, at: int) -> tuple[int, int]:
    """The line and column (1-based) of offset `at` (0-based, in characters) of `source`."""
    return source.count("\n", 0, at) + 1, at - (source.rfind("\n", 0, at) + 1) + 1


def _where(line: int, column: int) -> str:
    """Where in a condition an error stands, as its messages say it (1-based)."""
    return f"column {column}" if line == 1 else f"line {line} of the expression, column {column}"


def _conversion_hint(error: str) -> str:
    """An evaluation error, with how a duration or timestamp is written when CEL could not
    convert one read from the state (`duration(state.window)` of `2d`): CEL says only
    "String to Duration conversion failed"; or that a value read is null."""
    for function, how in _CONVERSIONS.items():
        if f"String to {function.capitalize()} conversion failed" in error:
            return f"{error}: {how}"
    if "(null_type" in error or "null_type)" in error:  # (`_>_(null_type, double)`)
        return f"{error}: a value it read is null (a key not set): guard it with has(…)"
    return error


_STATUS = re.compile(r"\b(?:NOT_FOUND|INVALID_ARGUMENT): ")
"""The status code CEL puts before a reason, which says nothing to a reader."""


def _short(text: str) -> str:
    return _STATUS.sub("", text.split("\n", maxsplit=1)[0]).strip()
