"""How the model planners' requests are made and answered: the `Client` that asks a model,
the `Cache` of answers already paid for, the digest that names a request, and `Recorded`,
the client and cache of a replay, which answers every request from the journal and asks no
model. (litellm itself: `llm_client`.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ido.model import LlmSettings

from .llm_client import Reply


class Client(Protocol):
    def complete(
        self,
        settings: LlmSettings,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> Reply: ...


class Cache(Protocol):
    """Answers to requests already made, by request digest (the journal keeps them)."""

    def get(self, key: str) -> Mapping[str, Any] | None: ...
    def put(self, key: str, reply: Mapping[str, Any]) -> None: ...


UNRECORDED = "replay: this request was not made when the run was recorded"
"""The error of a replay's request the run never made: no model is asked."""


def failed_call(reply: Reply) -> str:
    """Why a decision fell back after a call that gave no answer: a replay's request the run
    never made was asked of nothing, and "model call failed" read as if a model had been."""
    if reply.error == UNRECORDED:
        return "not asked: a replay asks no model, and the run never made this request"
    if not reply.asked:  # (no call was made: "model call failed" read as if one had been)
        return f"not asked: {reply.error}"
    return f"model call failed: {reply.error}"


class Recorded:
    """The client and the cache of a replay: every request gets the reply the run recorded
    for it, occurrence by occurrence, from the cache where the run had it from the cache
    (replay never asks a model)."""

    def __init__(self, calls: Sequence[Mapping[str, Any]], exact: bool = False) -> None:
        self.exact = exact
        """An exact replay: the run's own inputs, so a request may be looked up as a run
        recorded before the prompt named approvals made it (`_as_asked`)."""
        self.pending: dict[str, list[Mapping[str, Any]]] = {}
        for call in calls:
            self.pending.setdefault(call["request"], []).append(call)
        self.where: Mapping[str, Any] = {}

    def get(self, key: str) -> Mapping[str, Any] | None:
        queue = self.pending.get(key) or []
        if queue and queue[0].get("cached"):
            reply: Mapping[str, Any] = queue.pop(0)["reply"]
            return reply
        return None

    def put(self, key: str, reply: Mapping[str, Any]) -> None:
        return

    def has(self, key: str) -> bool:
        """Whether the run made the request `key` (a reply to it is left to give)."""
        return bool(self.pending.get(key))

    def complete(
        self,
        settings: LlmSettings,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> Reply:
        queue = self.pending.get(request_digest(model, messages, tools, self.where)) or []
        if not queue:
            return Reply(error=UNRECORDED)
        return Reply.from_json(queue.pop(0)["reply"])


def request_digest(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]],
    where: Mapping[str, Any] | None = None,
) -> str:
    """What identifies a request: the model, where it is served and how it is sampled
    (`where`: api_base, temperature), the messages and the tools."""
    text = json.dumps(
        {"model": model, "where": where or {}, "messages": messages, "tools": tools},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def recorded_calls(decisions: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every model call recorded in these decisions, in order."""
    return [
        call
        for decision in decisions
        for call in (decision.get("result", {}).get("solver", {}).get("llm") or {}).get("calls", [])
    ]


def _default_client(asks: bool) -> Client:
    """litellm's client, with litellm imported now when a model will be asked (`asks`):
    before the run's clock starts, not in the first decision (`llm_client.warm`)."""
    from ido.planner.llm_client import LitellmClient, warm

    if asks:
        warm()
    return LitellmClient()
