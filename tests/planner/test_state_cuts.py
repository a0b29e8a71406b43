"""Each state's own LM-cut (`StateCuts`), which the search lets raise its estimate: never
above what reaching the goal really costs, from the state or after any step from it."""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import replace

import pytest
from test_lmcut import _chain_with_detours
from test_property import LARGE_SEEDS, random_task, token_task
from test_search import agree, grounded_cases, reachable, scores_the_brute_force_optimum

from ido.planner import astar
from ido.planner.astar import AStarSearch
from ido.planner.estimates import Cuts, StateCuts
from ido.planner.grounding import Grounded, ground
from ido.planner.lmcut import LmCut, _hmax, _lowered, lm_cut
from ido.planner.search import SearchPlanner
from ido.planner.solving import Question, measure
from ido.planner.successors import Successors, apply_step, compile_check
from ido.planner.types import Task

MOST = 4000
"""States a case may reach for the exact costs to be worked out over all of them."""


def _exact(
    states: list[tuple[int, ...]],
    edges: dict[tuple[int, ...], list[tuple[float, tuple[int, ...]]]],
    goals: set[tuple[int, ...]],
) -> dict[tuple[int, ...], float]:
    """The cheapest way to the goal from every state (backwards from the goal states)."""
    back: dict[tuple[int, ...], list[tuple[float, tuple[int, ...]]]] = {s: [] for s in states}
    for s, out in edges.items():
        for w, after in out:
            back[after].append((w, s))
    best = dict.fromkeys(states, math.inf)
    heap = [(0.0, s) for s in goals]
    for s in goals:
        best[s] = 0.0
    while heap:
        d, s = heapq.heappop(heap)
        if d > best[s]:
            continue
        for w, before in back[s]:
            if d + w < best[before]:
                best[before] = d + w
                heapq.heappush(heap, (d + w, before))
    return best


@pytest.mark.parametrize(("name", "t"), grounded_cases(), ids=[n for n, _ in grounded_cases()])
def test_a_states_own_cuts_never_exceed_the_cheapest_way_on(name: str, t: Task) -> None:
    """On every reachable state (all of them, found breadth first), the state's own bound is
    at most the true cheapest cost to the goal from it, and so is the bound it leaves for
    the state after each step; no bound means the goal is out of reach from the state."""
    g = ground(t)
    actions = list(range(len(g.actions)))
    weight = {a: measure(t, g.actions[a], "score") for a in actions}
    states = reachable(g, actions, MOST)
    if len(states) >= MOST:
        pytest.skip("too many states to work out every cost exactly")
    packing = g.packing
    states = [packing.pack(values) for values in states]
    goal = compile_check(packing, g.goal)
    successors = Successors(g, actions, packing)
    step = {a: packing.step(g.eff[a]) for a in actions}
    edges = {s: [(weight[a], apply_step(s, step[a])) for a in successors.of(s)] for s in states}
    exact = _exact(states, edges, {s for s in states if goal.holds(s)})
    own = StateCuts(g, actions, weight)
    bounded = 0
    for s in states:
        found = own.of(s)
        if found is None:
            assert exact[s] == math.inf
            continue
        bound, loss = found
        assert bound <= exact[s] + 1e-6
        bounded += bound > 0
        for a in successors.of(s):
            after = apply_step(s, step[a])
            assert bound - loss.get(a, 0.0) <= exact[after] + 1e-6
    if any(0 < exact[s] < math.inf for s in states):
        assert bounded  # the check above is not passed by bounds of nothing


def _relaxed(seed: int) -> tuple[list[list[int]], list[list[int]], list[float], int, list[int]]:
    rng = random.Random(seed)
    facts = rng.randint(3, 12)
    steps = rng.randint(2, 20)
    pre = [rng.sample(range(facts), rng.randint(0, 3)) for _ in range(steps)]
    eff = [rng.sample(range(facts), rng.randint(1, 3)) for _ in range(steps)]
    cost = [float(rng.choice([0, 1, 1, 2, 3, 5])) for _ in range(steps)]
    return pre, eff, cost, facts, rng.sample(range(facts), rng.randint(1, 3))


@pytest.mark.parametrize("seed", range(300))
def test_hmax_lowered_in_place_is_hmax_worked_out_afresh(seed: int) -> None:
    """After some steps get cheaper, the values worked out again only where they may fall
    (`_lowered`) are those of a whole new h^max, and every step still points at one of its
    dearest needs."""
    pre, eff, cost, facts, _ = _relaxed(seed)
    rng = random.Random(seed)
    start = facts
    needs = [sorted(set(p)) or [start] for p in pre]
    used_by: list[list[int]] = [[] for _ in range(facts + 1)]
    for a, p in enumerate(needs):
        for fact in p:
            used_by[fact].append(a)
    left = list(cost)
    value, dearest = _hmax(needs, eff, left, used_by, facts + 1, start)
    for _ in range(5):
        cheaper = {a for a in range(len(pre)) if dearest[a] >= 0 and rng.random() < 0.3}
        for a in cheaper:
            left[a] = max(0.0, left[a] - rng.choice([0.5, 1.0, 2.0]))
        _lowered(cheaper, needs, eff, left, used_by, value, dearest)
        fresh, _ = _hmax(needs, eff, left, used_by, facts + 1, start)
        assert value == pytest.approx(fresh)
        for a in range(len(pre)):
            if dearest[a] >= 0:
                assert value[dearest[a]] == max(value[f] for f in needs[a])


def _lowered_by_max(
    cut: set[int],
    needs: list[list[int]],
    writes: list[list[int]],
    cost: list[float],
    used_by: list[list[int]],
    value: list[float],
    dearest: list[int],
) -> None:
    """`_lowered` as it read before its loop was written out: each step pointed at
    `max(needs, key=value)`, the first of its dearest needs."""
    heap: list[tuple[float, int]] = []
    get = value.__getitem__
    for a in cut:
        top = dearest[a] = max(needs[a], key=get)
        for w in writes[a]:
            if value[top] + cost[a] < value[w]:
                value[w] = value[top] + cost[a]
                heapq.heappush(heap, (value[w], w))
    while heap:
        h, fact = heapq.heappop(heap)
        if h > value[fact]:
            continue
        for a in used_by[fact]:
            if dearest[a] != fact:
                continue
            top = dearest[a] = max(needs[a], key=get)
            for w in writes[a]:
                if value[top] + cost[a] < value[w]:
                    value[w] = value[top] + cost[a]
                    heapq.heappush(heap, (value[w], w))


@pytest.mark.parametrize("seed", range(300))
def test_hmax_lowered_in_place_points_steps_where_max_would(seed: int) -> None:
    """`_lowered` finds each step's dearest need with a loop of its own where it asked
    `max`: among equally dear needs it still points the step at the first, so every value
    and every step's dearest need after each lowering are those `max` gave (costs of 0 and
    1 among them, so that needs often tie)."""
    pre, eff, _, facts, _ = _relaxed(seed)
    rng = random.Random(seed)
    start = facts
    needs = [sorted(set(p)) or [start] for p in pre]
    used_by: list[list[int]] = [[] for _ in range(facts + 1)]
    for a, p in enumerate(needs):
        for fact in p:
            used_by[fact].append(a)
    left = [float(rng.choice([0, 1, 1, 2])) for _ in pre]
    value, dearest = _hmax(needs, eff, left, used_by, facts + 1, start)
    by_max, pointed = list(value), list(dearest)
    for _ in range(5):
        cheaper = {a for a in range(len(pre)) if dearest[a] >= 0 and rng.random() < 0.4}
        for a in cheaper:
            left[a] = max(0.0, left[a] - 1.0)
        _lowered(cheaper, needs, eff, left, used_by, value, dearest)
        _lowered_by_max(cheaper, needs, eff, left, used_by, by_max, pointed)
        assert (value, dearest) == (by_max, pointed)


def _relaxed_best(
    pre: list[list[int]], eff: list[list[int]], cost: list[float], goal: list[int]
) -> float:
    """The cheapest relaxed plan, by trying every set of steps (few steps only)."""
    best = math.inf
    for chosen in range(1 << len(pre)):
        held: set[int] = set()
        grew = True
        while grew:
            grew = False
            for a in range(len(pre)):
                if chosen >> a & 1 and set(pre[a]) <= held and not set(eff[a]) <= held:
                    held |= set(eff[a])
                    grew = True
        if set(goal) <= held:
            best = min(best, sum(cost[a] for a in range(len(pre)) if chosen >> a & 1))
    return best


@pytest.mark.parametrize("seed", range(150))
def test_lm_cut_is_at_most_the_cheapest_relaxed_plan(seed: int) -> None:
    """The cuts' costs add up to no more than the cheapest plan of the relaxed task (found
    by trying every set of steps), and there are none exactly when it has no plan."""
    pre, eff, cost, facts, goal = _relaxed(seed)
    pre, eff, cost = pre[:10], eff[:10], cost[:10]
    cuts = lm_cut(pre, eff, cost, facts, [], goal)
    best = _relaxed_best(pre, eff, cost, goal)
    assert (cuts is None) == (best == math.inf)
    if cuts is not None:
        assert sum(paid for paid, _ in cuts) <= best + 1e-9


def _relaxed_reach(
    pre: list[list[int]], eff: list[list[int]], steps: set[int], init: list[int]
) -> set[int]:
    """The facts the relaxed task reaches from `init` with `steps` alone."""
    held = set(init)
    grew = True
    while grew:
        grew = False
        for a in steps:
            if set(pre[a]) <= held and not set(eff[a]) <= held:
                held |= set(eff[a])
                grew = True
    return held


@pytest.mark.parametrize("seed", range(300))
def test_every_cut_is_a_relaxed_landmark_from_any_state(seed: int) -> None:
    """Each cut, worked out afresh or with h^max lowered in place, from a random state: the
    goal is out of reach, relaxed, without its steps; it pays more than nothing, and no
    step pays more than its cost over the cuts it is in."""
    pre, eff, cost, facts, goal = _relaxed(seed)
    rng = random.Random(seed)
    prepared = LmCut(pre, eff, cost, facts, goal)
    for _ in range(3):
        init = rng.sample(range(facts), rng.randint(0, 2))
        for cuts in (lm_cut(pre, eff, cost, facts, init, goal), prepared.cuts(init)):
            reached = set(goal) <= _relaxed_reach(pre, eff, set(range(len(pre))), init)
            assert (cuts is None) == (not reached)
            for paid, steps in cuts or ():
                assert paid > 0
                kept = set(range(len(pre))) - set(steps)
                assert not set(goal) <= _relaxed_reach(pre, eff, kept, init), (paid, steps)
            for a in range(len(pre)):
                shares = sum(paid for paid, steps in cuts or () if a in steps)
                assert shares <= cost[a] + 1e-9


@pytest.mark.parametrize("seed", range(300))
def test_the_start_is_never_among_the_writers_the_cut_walks(seed: int) -> None:
    """Asked about state after state, a prepared LM-cut lists only the task's steps and the
    goal's as writers (`written_by`), and finds the cuts it finds with the start's step
    among the writers of the state's values, afresh or lowered in place: the state's values
    cost nothing, the goal zone's more, so the cut's walk never meets them."""
    pre, eff, cost, facts, goal = _relaxed(seed)
    rng = random.Random(seed)
    prepared = LmCut(pre, eff, cost, facts, goal)
    writers = [list(w) for w in prepared.written_by]
    assert all(a < len(pre) or a == len(pre) + 1 for w in writers for a in w)
    for _ in range(5):
        init = rng.sample(range(facts), rng.randint(0, facts))
        for afresh in (False, True):
            reference = LmCut(pre, eff, cost, facts, goal)
            for fact in init:
                reference.written_by[fact].append(reference.n)  # the start writes them
            assert prepared.cuts(init, afresh) == reference.cuts(init, afresh)
            assert prepared.written_by == writers


@pytest.fixture
def own_cuts_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searches that ask for states' own LM-cuts at once (at the first pop), not after
    `OWN_CUTS_AFTER` expansions, which no small task reaches."""
    monkeypatch.setattr(astar, "OWN_CUTS_AFTER", 0)


@pytest.mark.usefixtures("own_cuts_first")
@pytest.mark.parametrize("seed", range(0, 200, 5))
def test_with_own_cuts_the_search_scores_the_brute_force_optimum(seed: int) -> None:
    """The same optimum as trying every sequence of steps."""
    scores_the_brute_force_optimum(seed)


@pytest.mark.usefixtures("own_cuts_first")
@pytest.mark.parametrize("seed", LARGE_SEEDS)
def test_with_own_cuts_search_and_cpsat_agree_on_larger_random_problems(seed: int) -> None:
    """The same outcome as CP-SAT, valid plans, the same optimum and as few steps."""
    agree(random_task(seed, small=False))


@pytest.mark.usefixtures("own_cuts_first")
@pytest.mark.parametrize("seed", range(20))
def test_with_own_cuts_search_and_cpsat_agree_on_token_problems(seed: int) -> None:
    agree(token_task(seed))


def test_own_cuts_alone_keep_the_search_on_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the start's cuts costing nothing, a search asking for states' own LM-cuts at
    once still walks the chain to the goal (where without them the budget runs out, see
    `test_without_the_cuts_the_same_search_would_give_up`), and the asking search answers."""

    def no_cuts(self: Cuts, g: Grounded, actions: list[int], weight: dict[int, float]) -> None:
        self.reachable, self.costs, self.whole_left = True, [], {}
        self.mark = dict.fromkeys(actions, 0)

    monkeypatch.setattr(Cuts, "__init__", no_cuts)
    monkeypatch.setattr(astar, "OWN_CUTS_AFTER", 0)
    found = SearchPlanner(max_states=6).plan(_chain_with_detours(12))
    assert found.status == "planned" and found.plan is not None
    assert found.plan.capabilities == ("c0", "c1", "c2", "c3", "c4")


def test_a_search_whose_own_cuts_run_out_goes_on_as_if_it_had_not_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Allowed one own LM-cut, even ahead, the search that asks for them gives up (it does not settle
    the question), and the first search then expands, checks and answers exactly as one
    that never asks."""
    t = replace(random_task(1018, small=False), alternatives=0)
    g = ground(t)
    monkeypatch.setattr(astar, "OWN_CUTS_MOST", 1)
    monkeypatch.setattr(astar, "OWN_CUTS_AHEAD", 1)
    monkeypatch.setattr(astar, "OWN_CUTS_AFTER", 10**9)
    alone = AStarSearch(Question(t, g, t.max_steps))
    alone_found = alone.run(100_000, 10**8)
    monkeypatch.setattr(astar, "OWN_CUTS_AFTER", 0)
    assert AStarSearch(Question(t, g, t.max_steps))._with_own_cuts(100_000, 10**8, 0.0) == (
        False,
        None,
    )
    asked = AStarSearch(Question(t, g, t.max_steps))
    asked_found = asked.run(100_000, 10**8)
    assert alone_found is not None and asked_found is not None
    assert asked_found.plan.capabilities == alone_found.plan.capabilities
    assert (asked.expanded, asked.compared) == (alone.expanded, alone.compared) != (0, 0)


def test_a_search_of_own_cuts_still_behind_the_first_at_its_check_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After `OWN_CUTS_CHECK` expansions the search of states' own LM-cuts goes on only if
    the bound it has proven is above the first search's: on the five-step chain, behind a
    first search that has proven more than any plan costs, it is given up there, though it
    would settle the question; ahead of one that has proven nothing, it settles it."""
    t = _chain_with_detours(12)
    g = ground(t)
    monkeypatch.setattr(astar, "OWN_CUTS_CHECK", 2)
    first = AStarSearch(Question(t, g, t.max_steps))
    assert first._with_own_cuts(100_000, 10**8, math.inf) == (False, None)
    settled, found = first._with_own_cuts(100_000, 10**8, 0.0)
    assert settled and found is not None
    assert found.plan.capabilities == ("c0", "c1", "c2", "c3", "c4")


@pytest.mark.parametrize("seed", LARGE_SEEDS[:10])
def test_by_latency_a_search_asked_for_own_cuts_works_none_out(seed: int) -> None:
    """By elapsed time the frontier counts seconds and the cuts count steps (for the
    tie-break): a state's own LM-cut would set steps against seconds, so none is worked
    out, and the search answers as one not asked for them."""
    t = replace(random_task(seed, small=False), alternatives=0)
    g = ground(t)
    own = AStarSearch(Question(t, g, t.max_steps, "latency"), own_cuts=True)
    plain = AStarSearch(Question(t, g, t.max_steps, "latency"))
    found, alone = own.run(100_000, 10**8), plain.run(100_000, 10**8)
    assert own.own_cuts == 0
    assert (found is None) == (alone is None)
    if found is not None and alone is not None:
        assert found.plan.capabilities == alone.plan.capabilities


def test_a_search_of_own_cuts_ahead_where_its_cuts_are_dear_is_given_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where LM-cuts are dear (satellite p06), `OWN_CUTS_WORK` was reached before the check
    and the search of them given up, though it was ahead of the first and would settle
    the question: it is checked there instead, and, ahead, goes on with `OWN_CUTS_AHEAD`.
    On the five-step chain, out of LM-cuts after one: ahead, it settles the question;
    behind, it is given up."""
    t = _chain_with_detours(12)
    g = ground(t)
    monkeypatch.setattr(astar, "OWN_CUTS_MOST", 1)
    first = AStarSearch(Question(t, g, t.max_steps))
    assert first._with_own_cuts(100_000, 10**8, math.inf) == (False, None)
    settled, found = first._with_own_cuts(100_000, 10**8, 0.0)
    assert settled and found is not None
    assert found.plan.capabilities == ("c0", "c1", "c2", "c3", "c4")
