"""The one pattern a run's masking reads every text with (`ido.secrets._overlapping`)."""

from __future__ import annotations

import random
import re
import string

from ido.secrets import _cover, _overlapping, forms


def _first_characters(pattern: str) -> list[str]:
    """The first character of each alternative at the top of `pattern`."""
    depth, starts = 0, [0]
    for i, ch in enumerate(pattern):
        depth += ch in "(" and pattern[i - 1 : i] != "\\"
        depth -= ch in ")" and pattern[i - 1 : i] != "\\"
        if ch == "|" and depth == 0 and pattern[i - 1 : i] != "\\":
            starts.append(i + 1)
    return [pattern[s + (pattern[s] == "\\")] for s in starts]


def test_forms_that_begin_alike_are_tried_once_at_each_place() -> None:
    # The hex of every secret begins with 3..7, and what base64 makes of it inside a
    # longer text with any letter: tried one after another, a 10 MB output of digits took
    # 60 times as long to mask (0.05 s, 2.9 s with 10 secrets; docs/benchmarks.md).
    every = sorted(
        {f for s in ("s3cr3t-token-one", "s3cr3t-token-two", "another-pass") for f in forms(s)},
        key=lambda f: (-len(f), f),
    )
    firsts = _first_characters(_overlapping(tuple(f for f in every if len(f) >= 8)).pattern)
    assert len(firsts) == len(set(firsts))


def test_the_pattern_masks_what_one_alternative_per_form_masked() -> None:
    alphabet = "ab0:_"
    rng = random.Random(7)
    for _ in range(300):
        words = {"".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(6)}
        every = tuple(sorted(words, key=lambda f: (-len(f), f)))
        plain = re.compile("|".join(map(re.escape, every)))
        text = "".join(rng.choices(alphabet + string.ascii_letters[:3], k=40))
        assert _cover(_overlapping(every), text) == _cover(plain, text), (every, text)
