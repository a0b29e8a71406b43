"""How a run's figures read: its durations and waits, and its outcome. Apart from the
models (`ido.model.durations` holds the same words with pydantic's types) so that
`ido runs`, which people type often, shows its table without loading them."""

from __future__ import annotations

from decimal import Decimal


def outcome_word(outcome: str | None, running: bool) -> str:
    """A run's outcome in words: one that has not ended is running (a process carries it
    on) or interrupted (left for `ido resume`)."""
    return outcome or ("running" if running else "interrupted")


def format_duration(seconds: float) -> str:
    """Render seconds the way a user would write them (`1.2s`, `800ms`, `2h`), to the
    millisecond (a virtual clock just past a 30-minute wait read `1800s`); nothing as
    `0s`, as an intent writes `deadline: 0s`, and a moment under half a millisecond as
    `<1ms` (both read `0ms`, a unit no one writes nothing in)."""
    shown = written_duration(seconds)
    if shown.lstrip("-") != "0ms":
        return shown
    return "<1ms" if seconds > 0 else "0s"


def written_duration(seconds: float) -> str:
    """`format_duration` as ido wrote durations into what it hashes and stores: a recorded
    intent's and catalog's (their digests) and a model's prompt (the key of its recorded
    reply), where nothing reads `0ms`. Changed, an older run's digests and recorded model
    replies no longer matched: it resumed and replayed otherwise."""
    seconds = round(seconds, 3)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def durations_against(seconds: float, limit: float) -> tuple[str, str]:
    """`seconds` and the `limit` it is set against, as `format_duration` shows them, unless
    that rounds two different values to the same millisecond: then each that is not whole
    milliseconds with six significant digits, or as many more as tell them apart, the
    larger reading larger
    (`4.0004s` over deadline `4s`, not `4s` over deadline `4s`; mid-run, a deadline is the
    time left, rarely whole milliseconds)."""
    if seconds == limit or round(seconds, 3) != round(limit, 3):
        return format_duration(seconds), format_duration(limit)
    for digits in range(6, 18):  # both with as many digits: the one over reads over
        (text, read), (limit_text, limit_read) = _shown(seconds, digits), _shown(limit, digits)
        if (read > limit_read) == (seconds > limit) and read != limit_read:
            break
    return text, limit_text


def _shown(seconds: float, digits: int) -> tuple[str, float]:
    """`format_duration` if it is exact, else `digits` significant digits in plain notation
    (`0.00001s`, never `1e-05s`); with the value the text reads as."""
    if round(seconds, 3) == seconds:
        return format_duration(seconds), seconds
    text = f"{seconds:.{digits}g}"
    return format(Decimal(text), "f") + "s", float(text)


def format_wait(seconds: float) -> str:
    """Render a wait people measure in minutes or days (`4m12s`, `1d3h`): from a minute up,
    to the second, in the units a person would say it in (`252.345s` read as a number to
    work out); under a minute, as `format_duration`."""
    if seconds < 60:
        return format_duration(seconds)
    left = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
