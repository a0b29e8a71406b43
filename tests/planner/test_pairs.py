"""Pairs of fluent values that can hold together (`ido.planner.pairs`): whatever they rule
out, no plan reaches; they rule out what reachability one fact at a time cannot; and the
search asks them once it has not settled, instead of visiting every state to say "no plan".
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ido.pddl import pddl_catalog
from ido.planner import astar
from ido.planner.astar import AStarSearch
from ido.planner.bounds import landmarks
from ido.planner.cpsat import CpSatPlanner
from ido.planner.grounding import Grounded, ground
from ido.planner.pairs import goal_conflict, goal_pairs_reachable
from ido.planner.search import SearchPlanner
from ido.planner.solving import Question, usable
from ido.planner.tables import Table
from ido.planner.types import Action, Limits, Task, Weights
from ido.state import close_world
from tests.pddl.test_adl import BRIEFCASE
from tests.pddl.test_pddl import planning_task, write
from tests.planner.test_property import random_task
from tests.planner.test_search import reachable


def _holds(table: Table, state: tuple[int, ...]) -> bool:
    return tuple(state[f] for f in table.fluents) in table.true_rows


def every_state(g: Grounded, actions: list[int]) -> list[tuple[int, ...]]:
    """Every state some sequence of `actions` reaches (`reachable` of the search's tests,
    with no cap on how many)."""
    return reachable(g, actions, most=10**9)


def reaches_goal(g: Grounded, actions: list[int]) -> bool:
    """Whether some sequence of `actions` reaches the goal."""
    return any(all(_holds(t, s) for t in g.goal) for s in every_state(g, actions))


def switches_task(seed: int) -> Task:
    """Switches that steps turn on and off, each step needing some on and some off: plenty
    of goals every one of whose facts some step reaches, but not all of them at once."""
    rng = random.Random(f"pairs:{seed}")
    facts = [f"sw.f{i}" for i in range(rng.randint(3, 7))]
    actions = []
    for k in range(rng.randint(3, 9)):
        requires = [
            f"state.{f}" if rng.random() < 0.6 else f"!state.{f}"
            for f in rng.sample(facts, rng.randint(0, 2))
        ]
        effects = {f: rng.random() < 0.6 for f in rng.sample(facts, rng.randint(1, 3))}
        actions.append(Action(f"a{k}", "p", 1.0, 0.0, 1.0, tuple(requires), tuple(effects.items())))
    goal = [
        f"state.{f}" if rng.random() < 0.7 else f"!state.{f}"
        for f in rng.sample(facts, rng.randint(2, 3))
    ]
    on = {f: True for f in facts if rng.random() < 0.3}
    return Task(
        state=close_world({"sw": {f.split(".")[1]: True for f in on}}, facts),
        goal=tuple(goal),
        actions=tuple(actions),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        max_steps=30,
    )


def _ruled_out(task: Task, rng: random.Random) -> tuple[int, int]:
    """Checks the pairs on `task` with a random few actions left out: (what the pairs ruled
    out, of that what one fact at a time did not)."""
    g = ground(replace(task, limits=Limits()))
    everything = list(range(len(g.actions)))
    ruled = sharper = 0
    for _ in range(4):
        actions = sorted(rng.sample(everything, max(0, len(everything) - rng.randint(0, 2))))
        conflict = goal_conflict(g, actions)
        assert (conflict is None) == goal_pairs_reachable(g, actions)
        if conflict is not None:
            (f, v), (h, w) = conflict
            states = every_state(g, actions)
            assert not any(s[f] == v and s[h] == w for s in states), conflict
            assert not any(all(_holds(t, s) for t in g.goal) for s in states)
            ruled += 1
            sharper += landmarks(g, actions) is not None
    return ruled, sharper


def test_what_the_pairs_rule_out_no_sequence_of_steps_reaches() -> None:
    """On 400 tasks of switches and 300 of the property tests' layered tasks (string
    values, deletes, conditions over several facts), each with a few steps left out: every
    goal the pairs call unreachable is unreachable, state by state, and the two values they
    name (`goal_conflict`) hold together in no reachable state; and often where one fact at
    a time saw no obstacle."""
    rng = random.Random(7)
    ruled = sharper = 0
    for seed in range(400):
        r, s = _ruled_out(switches_task(seed), rng)
        ruled, sharper = ruled + r, sharper + s
    for seed in range(300):
        r, s = _ruled_out(random_task(seed, small=False), rng)
        ruled, sharper = ruled + r, sharper + s
    assert ruled >= 200 and sharper >= 50, (ruled, sharper)


def test_every_goal_a_plan_reaches_passes_the_pairs() -> None:
    """The other way round, as a check on the check: where a search finds a plan, the pairs
    never rule the goal out."""
    for seed in range(300):
        task = switches_task(seed)
        g = ground(task)
        actions = list(range(len(g.actions)))
        if reaches_goal(g, actions):
            assert goal_pairs_reachable(g, actions)


def briefcase_task(tmp_path: Path, portables: int) -> Task:
    """The briefcase of the ADL tests with `portables` things at home, those of even number
    wanted at the office, and the briefcase wanted home again."""
    names = [f"x{i}" for i in range(portables)]
    problem = f"""(define (problem brief) (:domain briefcase)
  (:objects home office park - location {" ".join(names)} - portable)
  (:init (is-at home) {" ".join(f"(at {n} home)" for n in names)})
  (:goal (and (is-at home) {" ".join(f"(at {n} office)" for n in names[::2])})))
"""
    loaded, name, _ = pddl_catalog(
        write(tmp_path, "d.pddl", BRIEFCASE), write(tmp_path, "p.pddl", problem)
    )
    return planning_task(loaded, name)


def test_the_search_proves_no_plan_by_the_pairs_not_by_every_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the step that takes x0 out of the briefcase, nothing gets it to the office
    with the briefcase home again. Visiting every state says so after 384 expansions; the
    pairs say so when asked (here after 50), where one fact at a time sees no obstacle."""
    monkeypatch.setattr(astar, "PAIRS_AFTER", 50)
    task = briefcase_task(tmp_path, 4)
    g = ground(task)
    without = frozenset({"take-out-x0"})
    assert landmarks(g, usable(g, without)) is not None
    asked = AStarSearch(Question(task, g, task.max_steps, "score", without))
    assert asked.run(10**6, 10**9) is None
    assert asked.expanded == 50
    monkeypatch.setattr(astar, "PAIRS_AFTER", -1)  # never asked
    every = AStarSearch(Question(task, g, task.max_steps, "score", without))
    assert every.run(10**6, 10**9) is None
    assert every.expanded == 384


def test_the_pairs_are_asked_once_and_only_by_a_search_still_going(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked at `PAIRS_AFTER` expansions: once by a search that gets there, even when it
    gives up and goes on in parts; never by one that settles sooner."""
    calls: list[int] = []
    real = astar.goal_pairs_reachable

    def counted(g: Grounded, actions: list[int]) -> bool:
        calls.append(len(actions))
        return real(g, actions)

    monkeypatch.setattr(astar, "goal_pairs_reachable", counted)
    monkeypatch.setattr(astar, "PAIRS_AFTER", 5)
    task = briefcase_task(tmp_path, 2)
    g = ground(task)
    whole = AStarSearch(Question(task, g, task.max_steps))
    best = whole.run(10**6, 10**9)
    assert best is not None and whole.expanded > 5
    assert len(calls) == 1
    parts = AStarSearch(Question(task, g, task.max_steps))
    budget = 1
    while True:
        try:
            found = parts.run(budget, 10**9)
            break
        except astar.SearchGaveUp:
            budget += 1
    assert found == best
    assert len(calls) == 2
    monkeypatch.setattr(astar, "PAIRS_AFTER", whole.expanded + 1)
    assert AStarSearch(Question(task, g, task.max_steps)).run(10**6, 10**9)
    assert len(calls) == 2


class ModelCounting(CpSatPlanner):
    """Counts the solves that went to CP-SAT's model (`_deepen`), the alternatives' apart."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models = {"plan": 0, "alternatives": 0}
        self.stage = "plan"

    def prepare_alternatives(self, task: Task, grounded: Grounded, names: list[str]) -> None:
        super().prepare_alternatives(task, grounded, names)
        self.stage = "alternatives"

    def _deepen(self, *args: Any, **kwargs: Any) -> Any:
        self.models[self.stage] += 1
        return super()._deepen(*args, **kwargs)


def test_when_the_search_settled_the_plan_the_alternatives_search_first(tmp_path: Path) -> None:
    """The search gets 5 expansions first and CP-SAT next to no time, so the plan's solve
    goes to the model, which proves nothing, and the search then settles it. The
    alternatives are the same task less a step: the search settles them from the start,
    and the model is not built again. They are those the search planner finds."""
    task = replace(briefcase_task(tmp_path, 2), time_limit=0.001, alternatives=3)
    planner = ModelCounting(search_first=5, threads=1)
    result = planner.plan(task)
    assert planner.models == {"plan": 1, "alternatives": 0}
    reference = SearchPlanner().plan(task)
    assert result.plan == reference.plan
    assert [a.score_delta for a in result.alternatives] == [
        a.score_delta for a in reference.alternatives
    ]
    assert result.alternatives


def test_when_the_model_settled_the_plan_the_alternatives_go_to_it_too(tmp_path: Path) -> None:
    """With its usual time, the model proves the plan's solve, and each alternative that
    the search's 5 first expansions do not settle goes to the model as before."""
    task = replace(briefcase_task(tmp_path, 2), alternatives=3, time_limit=1.0)
    planner = ModelCounting(search_first=5, threads=1)
    planner.plan(task)
    assert planner.models["plan"] == 1 and planner.models["alternatives"] >= 1
