"""Condition tables: rows remembered across groundings are the rows a fresh tabulation gives."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from ido.planner.grounding import ground
from ido.planner.tables import Tabulator, fluents_of, forget_tables
from ido.planner.types import Action, Task

# Conditions that read nested parts of the state, missing parts and whole subtrees.
CONDITIONS = (
    "state.gate.g1 == true",
    "has(state.gate.g5)",
    "size(state.gate) > 1",
    "state.box.v == 1 || state.box.v == 'a'",
    "state.box == {'v': 1}",
    "has(state.deep.a.b) && state.deep.a.b > 2",
    "state.deep.a == {'b': 3}",
    "has(state.note) && state.note == 'x'",
    "state.gate.g1 == true && state.box.v == 1",
)
WRITES = (("gate.g1", True), ("box.v", 1), ("box.v", "a"), ("deep.a.b", 3), ("note", "x"))


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON-like value: scalars of every kind, and mappings or lists while shallow."""
    kind = rng.randrange(7 if depth < 2 else 5)
    if kind == 0:
        return rng.choice([True, False])
    if kind == 1:
        return rng.choice([0, 1, 2, 3])
    if kind == 2:
        return rng.choice([1.0, 3.0])
    if kind == 3:
        return rng.choice(["a", "x", ""])
    if kind == 4:
        return None
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = ("g1", "g5", "v", "a", "b", "other")
    return {k: _value(rng, depth + 1) for k in rng.sample(keys, rng.randrange(4))}


def _mutate(rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
    """The state with one part set, replaced or removed: inside what conditions read, or
    beside it."""
    changed = copy.deepcopy(state)
    top = rng.choice(("gate", "box", "deep", "note", "elsewhere"))
    if rng.random() < 0.25:
        changed.pop(top, None)
    elif rng.random() < 0.5 or not isinstance(changed.get(top), dict):
        changed[top] = _value(rng)
    else:
        changed[top][rng.choice(("g1", "g5", "v", "a", "b"))] = _value(rng, 1)
    return changed


def _task(state: dict[str, Any], rng: random.Random) -> Task:
    actions = tuple(
        Action(
            name=f"a{n}",
            provider="p",
            cost=1.0,
            latency=1.0,
            reliability=1.0,
            requires=tuple(rng.sample(CONDITIONS, rng.randrange(3))),
            effects=(write,),
        )
        for n, write in enumerate(WRITES)
    )
    return Task(state, tuple(rng.sample(CONDITIONS, 2)), actions)


@pytest.mark.parametrize("seed", range(30))
def test_rows_remembered_across_states_are_the_rows_a_fresh_tabulation_gives(seed: int) -> None:
    """A run of states, each a small change of the one before (inside or beside what the
    conditions read): grounding each with the tables remembered from the states before
    gives what grounding it afresh gives, tables, errors and all."""
    rng = random.Random(seed)
    state: dict[str, Any] = {k: _value(rng) for k in ("gate", "box", "deep", "note")}
    forget_tables()
    for _ in range(12):
        state = _mutate(rng, state)
        one = _task(state, random.Random(seed))
        warm = ground(one)
        forget_tables()
        assert ground(one) == warm


def test_a_condition_reading_a_missing_part_sees_the_state_as_it_is_now() -> None:
    """`has(state.gate.g5)` on a state whose gate lacks g5, then on one with it: the second
    is not answered from the first one's rows."""
    writer = Action(
        name="w", provider="p", cost=1, latency=1, reliability=1, effects=(("gate.g1", True),)
    )
    forget_tables()
    tables = [
        Tabulator(state, fluents_of(state, [writer])).table("has(state.gate.g5)", "goal")
        for state in ({"gate": {"g1": False}}, {"gate": {"g1": False, "g5": 1}})
    ]
    assert [(t.fluents, t.true_rows) for t in tables] == [((), ()), ((), ((),))]
