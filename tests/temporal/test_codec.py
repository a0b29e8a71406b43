"""The codec every ido connection uses: payloads over 1 kB compressed, read back whole;
small ones, and an older ido's plain ones, as they are."""

from __future__ import annotations

import asyncio
from typing import Any

from ido.temporal.codec import CONVERTER, ENCODING, SMALLEST
from ido.temporal.workflow import IdoRun


def _round_trip(value: Any) -> tuple[Any, Any]:
    """`value` as sent (its payload) and as read back."""
    sent = asyncio.run(CONVERTER.encode([value]))[0]
    return sent, asyncio.run(CONVERTER.decode([sent], [dict]))[0]


def test_a_large_payload_goes_compressed_and_comes_back_whole() -> None:
    journal = {
        "ops": [
            ["append", ["r", "observed", "t", {"row": i, "sku": f"s{i}"}]] for i in range(3_000)
        ]
    }
    sent, back = _round_trip(journal)
    assert sent.metadata["encoding"] == ENCODING
    plain = CONVERTER.payload_converter.to_payloads([journal])[0]
    assert sent.ByteSize() * 5 < plain.ByteSize()
    assert back == journal


def test_a_small_payload_and_an_older_idos_plain_one_are_read_as_they_are() -> None:
    small = {"attempt": 1, "at": 0, "op": ["append", ["r", "note", "t", {}]]}
    sent, back = _round_trip(small)
    assert sent.ByteSize() < SMALLEST and sent.metadata["encoding"] == b"json/plain"
    assert back == small
    big = {"text": "y" * 10_000}  # as an ido before the codec sent it: plain
    plain = CONVERTER.payload_converter.to_payloads([big])[0]
    assert asyncio.run(CONVERTER.decode([plain], [dict]))[0] == big


def test_the_workflow_weighs_a_journal_about_as_the_codec_sends_it() -> None:
    """Within a few per cent, for the limit it holds the journal to (`MOST_BYTES`)."""
    ops = [["append", ["r", "observed", "t", {"rows": [f"sku-{i}-{n}" for n in range(500)]}]]
           for i in range(40)]  # fmt: skip
    sent, _ = _round_trip({"ops": ops})
    weight = IdoRun({"carried": {"ops": ops}}).weight
    assert abs(weight - sent.ByteSize()) < sent.ByteSize() * 0.05, (weight, sent.ByteSize())
