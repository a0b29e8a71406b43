"""Text shown to people that came from elsewhere (a provider's error, a model's words, a
rule's message): what a terminal would act on, written out so that it cannot; lists of
names that may run to hundreds, cut short; and things counted."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence


def printable(text: str) -> str:
    """`text` with what a terminal would act on written as Python escapes: control
    characters (escape sequences, line breaks, …) and the marks that reorder text shown
    after them. An error message is one line that shows what it says, never a sequence
    that retitles the window or clears the screen where it is printed; other characters,
    a no-break space or an emoji's joiner, stay as they are."""
    if text.isprintable():
        return text
    return "".join(repr(c)[1:-1] if acts(c) else c for c in text)


_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def acts(character: str) -> bool:
    """Whether a terminal acts on `character` (a control character, a mark that reorders
    what follows) instead of showing it."""
    return unicodedata.category(character) == "Cc" or character in _REORDERING


def visible(name: str) -> str:
    """`name` with every character that shows nothing written as a Python escape
    (`ship\\u200b`): a name a model or a file gave, where a zero-width space or a
    direction mark makes one name look like another. Unlike `printable`, for names only:
    in prose, an emoji's joiner or a no-break space is as meant."""
    return "".join(repr(c)[1:-1] if _unseen(c) else c for c in name)


def _unseen(character: str) -> bool:
    """Whether `character` shows nothing: a control or format character (zero-width,
    direction marks), a line or paragraph separator, a space other than the plain one."""
    kind = unicodedata.category(character)
    return kind in ("Cc", "Cf", "Zl", "Zp") or (kind == "Zs" and character != " ")


def some(names: Sequence[str], shown: int, counted: bool = False) -> str:
    """`names` joined by commas, the first `shown` of them, and the rest counted (`a, b
    and 3 more`) or, not `counted`, marked (`a, b, …`)."""
    if len(names) <= shown:
        return ", ".join(names)
    first = ", ".join(names[:shown])
    return f"{first} and {len(names) - shown} more" if counted else f"{first}, …"


def listed(items: Iterable[str]) -> str:
    """Items in words: `a`, `a and b`, `a, b and c` (people who approved, steps cut short)."""
    said = list(items)
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"


def counted(count: float, one: str, many: str | None = None) -> str:
    """`count` things in words, the noun agreeing: 1 state, 200,000 states, 2.5 seconds,
    2 policies (`many`, where adding an s will not do)."""
    number = f"{count:,}" if isinstance(count, int) else f"{count:,g}"
    return f"{number} {one if count == 1 else many or one + 's'}"


WHOLE = 0.0005
"""How near a faded count is to a whole number to be said whole: it reads so to the
thousandth (an outcome a moment ago has faded to 0.9999992, which is 1 as anyone counts)."""


def faded_count(value: float) -> str:
    """A count that may have faded (health outcomes weighed by age): whole when it is to
    the thousandth (`WHOLE`), else with as many decimals as keep it from reading whole:
    `1.996`, not `2` (it was whole within 0.05, and 1.996 read `2`), `1,999.96`, `0.5`."""
    whole = round(value)
    if abs(value - whole) < WHOLE:
        return f"{whole:,}"
    for places in range(1, 10):
        text = f"{value:,.{places}f}"
        if float(text.replace(",", "")) != whole:
            return text
    return f"{value:,.9f}"


def did_you_mean(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """`did you mean 'x'?`, `x` the one of `known` closest to `word` (a typo's likely
    meaning), or None when none is close (`cutoff`: how alike, 0 to 1): each message puts
    it where its wording wants."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=cutoff)
    return f"did you mean '{close[0]}'?" if close else None


def verdict_problem(by: str, comment: str | None, rejected: bool) -> tuple[str, str] | None:
    """What is wrong with who gives a verdict and why, as (field, what to do), if anything:
    no one named, a rejection without its reason (the run fails saying why), a comment that
    says nothing, text that is not one line (a line break would forge lines in approvals
    and reports). `ido approve`/`ido reject` and a scenario's `approvals` check the same."""
    if not by.strip():
        return "by", "must name who decides"
    if rejected and (comment is None or not comment.strip()):
        return "comment", "must say why: a rejection needs its reason"
    if comment is not None and not comment.strip():
        return "comment", "must say something (or leave it out)"
    for field, text in (("by", by), ("comment", comment or "")):
        if not text.isprintable():
            return field, f"must be one line of printable text, not {text!r}"
    return None


def money(value: float) -> str:
    """An amount spent, to the cent, but to four places where the cents would hide some
    (a blocked run whose model calls cost 0.0014 read `cost 0.00`), its thousands set
    apart (`12,345.50`: an auditor read `12345.50` as one number too many or too few).
    For people only: a value an intent is to be given (`raise max_cost to 12345.50`) is
    written as YAML reads it."""
    return f"{value:,.4f}" if 0 < value < 0.005 else f"{value:,.2f}"


def shortened(text: str, size: int) -> str:
    """`text`, cut to `size` characters with "…" as its last when it is longer."""
    return text if len(text) <= size else text[: size - 1] + "…"


def failure(exc: BaseException) -> str:
    """An exception as a reason: `RuntimeError: the carrier is down`, or `RuntimeError`
    alone when it says nothing more (not `RuntimeError: `, an empty reason after it).

    Never raises: an exception whose `__str__` raises is told by its type and what that
    raised (escaping a binding's worker, it left the step to time out, as if the call might
    have gone through)."""
    try:
        said = str(exc)
    except Exception as broken:
        said = f"(its message could not be read: str() raised {type(broken).__name__})"
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


ECHOED = 200
"""The most characters of a condition (or other text the user wrote) an error quotes."""


def echoed(text: str) -> str:
    """`text` quoted in an error message, cut to `ECHOED` characters: the error says where
    it stands (file, line, field), and a condition of 160 KB quoted whole buried the
    reason under it."""
    return repr(shortened(text, ECHOED))
