"""LM-cut's landmarks, and the search bound made of them."""

from __future__ import annotations

import pytest
from test_search import grounded_cases, reachable

from ido.planner.astar import SearchGaveUp
from ido.planner.estimates import Cuts, StateCuts
from ido.planner.grounding import Grounded, ground
from ido.planner.lmcut import lm_cut
from ido.planner.search import SearchPlanner
from ido.planner.solving import measure
from ido.planner.successors import compile_check
from ido.planner.types import Action, Task, Weights


def test_a_chain_is_one_cut_per_step() -> None:
    """p (cost 1) then q (cost 2): every plan contains both steps, 3 in all."""
    cuts = lm_cut(pre=[[], [0]], eff=[[0], [1]], cost=[1.0, 2.0], facts=2, init=[], goal=[1])
    assert cuts is not None
    assert sorted(cuts) == [(1.0, (0,)), (2.0, (1,))]


def test_two_ways_to_the_goal_are_one_cut_at_the_cheaper_cost() -> None:
    cuts = lm_cut(pre=[[], []], eff=[[0], [0]], cost=[3.0, 5.0], facts=1, init=[], goal=[0])
    assert cuts == [(3.0, (0, 1))]


def test_a_step_in_two_cuts_pays_each_a_part() -> None:
    """Goal {a, b}: `x` (cost 3) writes both, `ya` and `yb` (cost 2 each) one each. The
    first cut is {x, yb} at 2 (or {x, ya}: a tie), which leaves x 1; the second is the
    other pair at 1. Together 3, the optimal cost, and x pays exactly its 3."""
    cuts = lm_cut(
        pre=[[], [], []],
        eff=[[0, 1], [0], [1]],
        cost=[3.0, 2.0, 2.0],
        facts=2,
        init=[],
        goal=[0, 1],
    )
    assert cuts is not None
    assert sorted(cuts) in ([(1.0, (0, 1)), (2.0, (0, 2))], [(1.0, (0, 2)), (2.0, (0, 1))])


def test_an_unreachable_goal_has_no_cuts_and_a_held_one_needs_none() -> None:
    assert lm_cut(pre=[[1]], eff=[[0]], cost=[1.0], facts=2, init=[], goal=[0]) is None
    assert lm_cut(pre=[[]], eff=[[0]], cost=[1.0], facts=1, init=[0], goal=[0]) == []
    assert lm_cut(pre=[[]], eff=[[0]], cost=[1.0], facts=1, init=[], goal=[]) == []


def test_zero_cost_steps_are_never_in_a_cut() -> None:
    """A free step in front of a paid one: the cut is the paid one alone."""
    cuts = lm_cut(pre=[[], [0]], eff=[[0], [1]], cost=[0.0, 4.0], facts=2, init=[], goal=[1])
    assert cuts == [(4.0, (1,))]


@pytest.mark.parametrize(("name", "t"), grounded_cases(), ids=[n for n, _ in grounded_cases()])
def test_every_cut_is_a_landmark_and_no_step_pays_more_than_its_weight(name: str, t: Task) -> None:
    """Without the steps of any one cut the goal is out of reach (checked over the first
    3,000 reachable states, breadth first), and a step's costs over the cuts it is in sum to at most its weight:
    together, the cuts a plan has not hit cost no more than the rest of it."""
    g = ground(t)
    actions = list(range(len(g.actions)))
    weight = {a: measure(t, g.actions[a], "score") for a in actions}
    cuts = Cuts(g, actions, weight)
    goal = compile_check(g.packing, g.goal)
    pack = g.packing.pack
    if any(goal.holds(pack(s)) for s in reachable(g, actions)):
        assert cuts.reachable  # out of reach without deletes is out of reach with them
    for i, paid in enumerate(cuts.costs):
        assert paid > 0
        kept = [a for a in actions if not cuts.mark[a] >> i & 1]
        assert not any(goal.holds(pack(s)) for s in reachable(g, kept)), f"cut {i} is no landmark"
    for a in actions:
        shares = sum(paid for i, paid in enumerate(cuts.costs) if cuts.mark[a] >> i & 1)
        assert shares <= weight[a] + 1e-9


def _chain_with_detours(detours: int) -> Task:
    """Five steps in a row (cost 1 each) reach the goal. Each detour is a step that sets a
    fact of its own (cost 1) and a step that needs it and reaches the goal at once (cost
    100): relevant to the goal, so grounding keeps them, but never part of a cheap plan."""

    def step(name: str, cost: float, needs: str | None, writes: str) -> Action:
        requires = () if needs is None else (f"state.job.{needs}",)
        return Action(
            name, "p", cost, 0.0, 1.0, requires=requires, effects=((f"job.{writes}", True),)
        )

    chain = [step(f"c{i}", 1.0, f"c{i - 1}" if i else None, f"c{i}") for i in range(5)]
    side = [step(f"d{i}", 1.0, None, f"d{i}") for i in range(detours)]
    jump = [step(f"j{i}", 100.0, f"d{i}", "c4") for i in range(detours)]
    facts = {f"c{i}": False for i in range(5)} | {f"d{i}": False for i in range(detours)}
    return Task(
        state={"job": facts},
        goal=("state.job.c4",),
        actions=(*chain, *side, *jump),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        alternatives=0,
    )


def test_the_cuts_keep_the_search_on_the_chain() -> None:
    """With one goal value missing, the goal-value bound alone says one more step; the cuts
    say five, so no detour's path is ever cheap enough to expand: the search settles in a
    the five expansions along the chain, where the detours' first steps alone make 2**12
    states."""
    t = _chain_with_detours(12)
    found = SearchPlanner(max_states=5).plan(t)
    assert found.status == "planned" and found.plan is not None
    assert found.plan.capabilities == ("c0", "c1", "c2", "c3", "c4")


def test_without_the_cuts_the_same_search_would_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above is not settled by something else: with the cuts (the start's and each
    state's own) costing nothing, the same budget runs out."""

    def no_cuts(self: Cuts, g: Grounded, actions: list[int], weight: dict[int, float]) -> None:
        self.reachable, self.costs, self.whole_left = True, [], {}
        self.mark = dict.fromkeys(actions, 0)

    def no_own_cuts(self: StateCuts, state: int) -> tuple[float, dict[int, float]]:
        return 0.0, {}

    monkeypatch.setattr(Cuts, "__init__", no_cuts)
    monkeypatch.setattr(StateCuts, "of", no_own_cuts)
    with pytest.raises(SearchGaveUp):
        SearchPlanner(max_states=5).plan(_chain_with_detours(12))


def test_costs_too_small_to_count_end_the_loop() -> None:
    """A free step, then two costing 6e-10 each: together more than the 1e-9 that counts as
    nothing, each less. Such costs are nothing from the start (they once made a cut that
    paid nothing, forever); a real cost after them is still found. Run on a thread, so a
    return of the endless loop fails the test instead of hanging it."""
    import threading

    found: list[object] = []

    def run() -> None:
        pre, eff = [[], [0], [1]], [[0], [1], [2]]
        found.append(lm_cut(pre, eff, [0.0, 6e-10, 6e-10], 3, [], [2]))
        found.append(lm_cut(pre, eff, [0.0, 6e-10, 2.0], 3, [], [2]))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "lm_cut did not return"
    assert found == [[], [(2.0, (2,))]]
