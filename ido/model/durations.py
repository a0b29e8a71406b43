"""Durations as users write them (`800ms`, `30s`, `2h`), held as float seconds."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

# How durations read is shared with `ido runs` and `ido explain`, which do not load the
# models; they are this module's too (`__all__`), where the rest of ido reads them.
from ido.run_words import durations_against, format_duration, format_wait, written_duration

__all__ = [
    "DURATION_PATTERN",
    "MOST_DAYS",
    "MOST_SECONDS",
    "Duration",
    "as_recorded",
    "dump_duration",
    "durations_against",
    "format_duration",
    "format_wait",
    "parse_duration",
    "reading_recorded",
    "written_duration",
]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_PATTERN = r"^\d+(\.\d+)?(ms|s|m|h|d)$"
_RE = re.compile(DURATION_PATTERN, re.ASCII)
"""ASCII digits only, as the JSON schema's pattern reads it: Python's digit class took `٣٠s` as
30 seconds, a file that loads and that an editor's schema check refuses."""

MOST_DAYS = 36_500
MOST_SECONDS = MOST_DAYS * 86400.0
"""The longest duration a user may write, 100 years: nothing waits longer, and a scenario's
virtual clock that a timeout of `99999999999d` moved past the year 9999 crashed the journal's
timestamps."""


_RECORDED: ContextVar[bool] = ContextVar("recorded", default=False)


@contextmanager
def as_recorded() -> Iterator[None]:
    """Durations read inside are a recorded run's: those written before `MOST_DAYS` bounded
    them are read as they were, so that the run still resumes and replays."""
    token = _RECORDED.set(True)
    try:
        yield
    finally:
        _RECORDED.reset(token)


def reading_recorded() -> bool:
    """Inside `as_recorded`: a bound set since a run was recorded does not refuse it."""
    return _RECORDED.get()


def parse_duration(value: Any) -> float:
    """Return seconds for a duration string such as `800ms`, `30s`, `1.5h` or `2d`."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"a duration is a string with a unit, like '800ms', '30s', '2h' (got {value!r})"
        )
    text = value  # as written: " 2s" and "2s\n" are no durations to the schema either
    match = _RE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"'{value}' is not a duration; write a number and a unit ms, s, m, h or d, "
            "like '800ms', '30s', '2h'"
        )
    unit = match.group(2)
    seconds = float(text[: -len(unit)]) * _UNITS[unit]
    if not math.isfinite(seconds) or (seconds > MOST_SECONDS and not reading_recorded()):
        raise ValueError(f"'{value}' is too long a duration: at most {MOST_DAYS}d (100 years)")
    return seconds


def dump_duration(seconds: float) -> str:
    """`written_duration`, unless that rounds (`1.2345s` reads `1.234s`, `0.4ms` reads `0ms`):
    then all its digits, so that what is dumped (a run's recorded intent) reads back the
    same, and a replay decides with the same values. Not `format_duration`: its `0s` for
    `0ms` changed the digests of what was recorded."""
    shown = written_duration(seconds)
    with as_recorded():  # (what a recorded intent held, past today's bound too)
        if parse_duration(shown) == seconds:
            return shown
    return format(Decimal(repr(seconds)), "f") + "s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(dump_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["800ms", "30s"]}),
]
