"""Objects a problem cannot tell apart (`ido.planner.symmetry`), and the search's paths
dropped by them: fewer expansions, the same optimal cost."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ido.decision import History
from ido.errors import PlanningError
from ido.observe import boolean_facts, snapshot
from ido.pddl import pddl_catalog
from ido.planner import astar, symmetry
from ido.planner.astar import AStarSearch
from ido.planner.grounding import ground
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.solving import Question
from ido.planner.symmetry import reorder
from ido.planner.types import SEARCH_STATES, Task
from ido.planning_task import build_task

GRIPPER = """\
(define (domain gripper) (:requirements :strips :action-costs)
  (:predicates (room ?r) (ball ?b) (gripper ?g) (at-robby ?r) (at ?b ?r) (free ?g)
               (carry ?o ?g))
  (:functions (total-cost) (weight ?b))
  (:action move :parameters (?from ?to)
    :precondition (and (room ?from) (room ?to) (at-robby ?from))
    :effect (and (at-robby ?to) (not (at-robby ?from)) (increase (total-cost) 1)))
  (:action pick :parameters (?b ?r ?g)
    :precondition (and (ball ?b) (room ?r) (gripper ?g) (at ?b ?r) (at-robby ?r) (free ?g))
    :effect (and (carry ?b ?g) (not (at ?b ?r)) (not (free ?g))
                 (increase (total-cost) (weight ?b))))
  (:action drop :parameters (?b ?r ?g)
    :precondition (and (ball ?b) (room ?r) (gripper ?g) (carry ?b ?g) (at-robby ?r))
    :effect (and (at ?b ?r) (free ?g) (not (carry ?b ?g)) (increase (total-cost) 1))))
"""


def gripper(
    folder: Path,
    balls: int,
    start: list[str] | None = None,
    goal: list[str] | None = None,
    weights: list[int] | None = None,
) -> Task:
    """Gripper with `balls` balls, each starting in `start` (default rooma), wanted in `goal`
    (default roomb; "" for no goal) and weighing `weights` (what picking it costs)."""
    names = [f"ball{i + 1}" for i in range(balls)]
    start = start or ["rooma"] * balls
    goal = goal or ["roomb"] * balls
    weights = weights or [1] * balls
    init = " ".join(
        f"(ball {b}) (at {b} {r}) (= (weight {b}) {w})"
        for b, r, w in zip(names, start, weights, strict=True)
    )
    wanted = " ".join(f"(at {b} {r})" for b, r in zip(names, goal, strict=True) if r)
    problem = (
        f"(define (problem g{balls}) (:domain gripper)\n"
        f"  (:objects rooma roomb left right {' '.join(names)})\n"
        f"  (:init (room rooma) (room roomb) (gripper left) (gripper right) (at-robby rooma)\n"
        f"         (free left) (free right) (= (total-cost) 0) {init})\n"
        f"  (:goal (and {wanted})) (:metric minimize (total-cost)))\n"
    )
    (folder / "domain.pddl").write_text(GRIPPER)
    (folder / "problem.pddl").write_text(problem)
    catalog, name, _ = pddl_catalog(folder / "domain.pddl", folder / "problem.pddl")
    intent = catalog.intents[name]
    state = snapshot(intent, [], {}, boolean_facts(catalog))
    return build_task(intent, catalog, state, History())[0]


def cost(t: Task) -> tuple[float, int] | None:
    """The optimal plan's cost and steps by the search, with paths dropped by reorderings
    or not (the search as it was before them)."""
    g = ground(t)
    found = AStarSearch(Question(t, g, g.horizon)).run(SEARCH_STATES, SEARCH_STATES * 200)
    if found is None or found.plan is None:
        return None
    plan = found.plan
    assert check_plan(t, plan) == []
    return round(sum(step.cost for step in plan.steps), 6), len(plan.steps)


def test_gripper_balls_and_grippers_are_found_interchangeable_and_rooms_not(
    tmp_path: Path,
) -> None:
    t = gripper(tmp_path, 4, goal=["roomb", "roomb", "roomb", "rooma"])
    g = ground(t)
    search = AStarSearch(Question(t, g, g.horizon))
    found = reorder(g, search.actions, search.weight)
    assert found is not None
    # ball4 is wanted elsewhere: balls 1-3 alike, and the two grippers
    assert sorted(len(objects) for objects in found.classes) == [2, 3]
    at = {f.path: i for i, f in enumerate(g.fluents)}
    packing = g.packing

    def state(**carried: str) -> int:
        """The start with each named ball carried by the gripper named."""
        s = packing.start
        facts = [(f"at.{b}.rooma", False) for b in carried]
        facts += [(f"carry.{b}.{hand}", True) for b, hand in carried.items()]
        facts += [(f"free.{hand}", False) for hand in carried.values()]
        for path, holds in facts:
            f = at[path]
            value = g.fluents[f].values.index(holds)
            s = s & ~packing.field(f) | 1 << packing.bit(f, value)
        return s

    key = found.key
    assert key(state(ball1="left")) == key(state(ball2="left")) == key(state(ball3="right"))
    assert key(state(ball1="left")) != key(state(ball4="left"))  # ball4 is not like them
    assert key(state(ball1="left", ball2="right")) == key(state(ball3="left", ball1="right"))


def test_a_gripper_problem_is_settled_within_a_budget_it_used_to_exhaust(
    tmp_path: Path,
) -> None:
    """Ten balls took 67,558 expansions; dropping paths to reorderings of states already
    reached as cheaply settles it within 5,000, with the optimal 29 steps."""
    t = gripper(tmp_path, 10)
    result = SearchPlanner(max_states=5_000).plan(t)
    assert result.plan is not None and result.proven_optimal
    assert len(result.plan.steps) == 29
    assert check_plan(t, result.plan) == []


def test_without_the_reorderings_the_same_budget_is_exhausted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test above's budget is not enough for the search without them."""
    monkeypatch.setattr(astar, "reorder", lambda *_: None)
    with pytest.raises(PlanningError, match="search expanded 5,000 states"):
        SearchPlanner(max_states=5_000).plan(gripper(tmp_path, 10))


@pytest.mark.parametrize("seed", range(12))
def test_dropping_paths_by_reorderings_keeps_the_optimal_cost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Balls in either room, wanted in either or nowhere, of weights 1-3: some alike, some
    not. From the first expansion on, the search drops paths by reorderings, and its plan
    costs what the search without them finds (the same steps too: the shortest cheapest)."""
    rng = random.Random(seed)
    balls = rng.randint(3, 5)
    start = [rng.choice(["rooma", "roomb"]) for _ in range(balls)]
    goal = [rng.choice(["rooma", "roomb", "roomb", ""]) for _ in range(balls)]
    weights = [rng.choice([1, 1, 2, 3]) for _ in range(balls)]
    if not any(goal):
        goal[0] = "roomb"
    t = gripper(tmp_path, balls, start, goal, weights)
    monkeypatch.setattr(astar, "REORDER_AFTER", 0)
    pruned = cost(t)
    monkeypatch.setattr(astar, "reorder", lambda *_: None)
    assert pruned == cost(t)


def test_looking_stops_at_its_work_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `MOST_WORK` actions compared, no more exchanges are tried: with room for the
    first ball's exchanges only, the balls found alike are the first two."""
    t = gripper(tmp_path, 4)
    g = ground(t)
    search = AStarSearch(Question(t, g, g.horizon))
    monkeypatch.setattr(symmetry, "MOST_WORK", 1)
    found = reorder(g, search.actions, search.weight)
    assert found is not None and [len(objects) for objects in found.classes] == [2]
    monkeypatch.setattr(symmetry, "MOST_WORK", 0)
    assert reorder(g, search.actions, search.weight) is None


def wide_task(objects: int, width: int) -> Task:
    """`objects` alike facts `x.o<i>`, each wanted and each made by its own capability that
    needs any one of `width` facts `y.w<j>` (a condition of 2**width - 1 rows), each made
    by its own capability, to hold."""
    from ido.planner.types import Action, Limits, Weights
    from ido.state import close_world

    wide = " || ".join(f"state.y.w{j}" for j in range(width))
    made = [
        Action(f"make-{i}", "p", 1.0, 1.0, 1.0, requires=(wide,), effects=((f"x.o{i}", True),))
        for i in range(objects)
    ]
    opening = [  # each its own price: the `y.w<j>` are not alike
        Action(f"open-{j}", "p", 1.0 + j, 1.0, 1.0, effects=((f"y.w{j}", True),))
        for j in range(width)
    ]
    facts = [f"x.o{i}" for i in range(objects)] + [f"y.w{j}" for j in range(width)]
    return Task(
        state=close_world({}, facts),
        goal=tuple(f"state.x.o{i}" for i in range(objects)),
        actions=(*made, *opening),
        weights=Weights(cost=1.0),
        limits=Limits(),
        max_steps=10,
    )


def test_the_work_budget_counts_the_rows_of_the_conditions_compared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Comparing an action costs as much as its conditions have rows (a condition over ten
    facts has up to 1,023): a budget in actions alone let a catalog of 600 capabilities
    with such conditions spend 77 s looking, at the search's 1,000th expansion. The first
    exchange's two actions compare 2 x 255 rows, past a budget of 100: no more are tried."""
    t = wide_task(3, 8)
    g = ground(t)
    search = AStarSearch(Question(t, g, g.horizon))
    everything = reorder(g, search.actions, search.weight)
    assert everything is not None and [len(objects) for objects in everything.classes] == [3]
    monkeypatch.setattr(symmetry, "MOST_WORK", 100)
    found = reorder(g, search.actions, search.weight)
    assert found is not None and [len(objects) for objects in found.classes] == [2]


def test_the_search_of_states_own_cuts_does_not_look_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search of states' own LM-cuts takes the first search's interchangeable objects
    from its start; it used to look for them again at its own `REORDER_AFTER`th expansion
    (on a catalog of wide conditions, seconds spent twice)."""
    looks: list[object] = []

    def looking(*args: object) -> symmetry.Reorder | None:
        found = reorder(*args)  # type: ignore[arg-type]
        looks.append(found)
        return found

    monkeypatch.setattr(astar, "reorder", looking)
    monkeypatch.setattr(astar, "REORDER_AFTER", 0)
    monkeypatch.setattr(astar, "OWN_CUTS_AFTER", 1)
    t = gripper(tmp_path, 4)
    g = ground(t)
    search = AStarSearch(Question(t, g, g.horizon))
    assert search.run(SEARCH_STATES, SEARCH_STATES * 200) is not None
    assert len(looks) == 1 and looks[0] is not None
