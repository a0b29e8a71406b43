"""The planning task a snapshot gives (`ido.planning_task.build_task`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.decision import History
from ido.loading import load_documents
from ido.model.intent_spec import Limits
from ido.planner.types import Task
from ido.planning_task import build_task

CAPABILITY = {
    "apiVersion": "ido/v1",
    "kind": "Capability",
    "metadata": {"name": "pay"},
    "spec": {"provider": "stripe", "effects": {"order.paid": True}},
}


def intent(limits: dict[str, int]) -> dict[str, object]:
    return {
        "apiVersion": "ido/v1",
        "kind": "Intent",
        "metadata": {"name": "pay-order"},
        "spec": {"goal": ["state.order.paid"], "limits": limits},
    }


@pytest.mark.parametrize(("limits", "wanted"), [({"alternatives": 0}, 0), ({}, 3)])
def test_the_alternatives_are_the_intent_s_unless_told(limits: dict[str, int], wanted: int) -> None:
    """build_task's own default of 3 overrode `limits.alternatives: 0`, set to spare the
    alternatives' time, for every caller that did not pass it."""
    catalog = load_documents([CAPABILITY, intent(limits)], Path("catalog.yaml"))
    chosen = catalog.intents["pay-order"]
    task, *_ = build_task(chosen, catalog, {"order": {"paid": False}}, History())
    assert task.alternatives == wanted
    told, *_ = build_task(chosen, catalog, {"order": {"paid": False}}, History(), 5)
    assert told.alternatives == 5


def test_a_task_s_default_alternatives_are_an_intent_s() -> None:
    """The default was written three times (the model, build_task and Task)."""
    assert Task(state={}, goal=(), actions=()).alternatives == Limits().alternatives
