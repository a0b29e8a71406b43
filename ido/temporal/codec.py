"""What every ido client and worker sends the Temporal server: payloads over `SMALLEST`
bytes compressed with zlib (`binary/zlib`), so that a run's journal, which an attempt's
input, a continued execution's input and the workflow's result each carry whole, weighs
what it compresses to against the server's 2 MB per payload, not what its JSON does.

Every connection is made with `CONVERTER` (`ido.temporal.client.connect`): a client or
worker without it cannot read a compressed payload, and the SDK says so (`Unknown payload
encoding binary/zlib`) rather than read it wrong. A plain payload (an older ido's, or a
small one) is read as it is."""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

ENCODING = b"binary/zlib"
SMALLEST = 1024
"""Payloads smaller than this go plain: zlib would save little, at a cost on every write."""


class ZlibCodec(PayloadCodec):
    """A payload over `SMALLEST` bytes, whole (its metadata too), as zlib's output when
    that is smaller; any other payload as it is."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [_packed(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [_unpacked(p) for p in payloads]


def _packed(payload: Payload) -> Payload:
    whole = payload.SerializeToString()
    if len(whole) < SMALLEST:
        return payload
    data = zlib.compress(whole)
    if len(data) >= len(whole):
        return payload
    return Payload(metadata={"encoding": ENCODING}, data=data)


def _unpacked(payload: Payload) -> Payload:
    if payload.metadata.get("encoding") != ENCODING:
        return payload
    return Payload.FromString(zlib.decompress(payload.data))


CONVERTER = dataclasses.replace(DataConverter.default, payload_codec=ZlibCodec())
"""The data converter of every ido connection: the SDK's own (JSON), and `ZlibCodec`."""


def packed_size(value: Any) -> int:
    """How many bytes `value` weighs as the codec sends it (its JSON compressed alone)."""
    return len(zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode()))
