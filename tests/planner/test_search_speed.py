"""What makes each expansion of the search cheaper keeps its answers: the cycle collector
held off while it runs and let go after, the actions found per state remembered by what the
preconditions read, a path's steps kept as a trail, and the frontier's ties packed in one
int."""

from __future__ import annotations

import gc
import heapq
import random
import sys
import threading
import weakref
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_cpsat import NOTIFY, PACK, PAY_CHEAP, PAY_FAST, SHIP, task
from test_made_maps import made_maps_task
from test_property import LARGE_SEEDS, random_task, token_task

from ido.planner import collector, get_planner, progress
from ido.planner import successors as successors_module
from ido.planner.astar import AStarSearch, SearchGaveUp
from ido.planner.collector import held_off
from ido.planner.grounding import ground
from ido.planner.paths import COUNT_BITS, MOST_COUNT, ORDER_BITS, Label, steps, tie_break
from ido.planner.solving import Question
from ido.planner.successors import State, Successors, apply_step
from ido.planner.types import SEARCH_STATES, Task


def test_the_collector_is_held_off_while_a_search_runs_and_let_go_after() -> None:
    """Off during the search (its progress reports see it), on again after a plan and
    after a search that gave up; left off after if it was off before."""
    t = task()
    g = ground(t)
    seen: list[bool] = []
    assert gc.isenabled()
    with progress.listening(lambda _: seen.append(gc.isenabled())):
        AStarSearch(Question(t, g, g.horizon)).run(SEARCH_STATES, SEARCH_STATES * 200)
    assert seen and not any(seen)
    assert gc.isenabled()
    with pytest.raises(SearchGaveUp):
        AStarSearch(Question(t, g, g.horizon)).run(0, SEARCH_STATES * 200)
    assert gc.isenabled()
    gc.disable()
    try:
        AStarSearch(Question(t, g, g.horizon)).run(SEARCH_STATES, SEARCH_STATES * 200)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_the_last_of_several_blocks_ends() -> None:
    """Blocks on two threads overlap: the first to end leaves it off for the other."""
    inside, first_out = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with held_off():
            inside.set()
            first_out.wait(5)
            seen.append(gc.isenabled())

    worker = threading.Thread(target=other)
    with held_off():
        worker.start()
        assert inside.wait(5)
    first_out.set()
    worker.join(5)
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("backend", ["search", "cpsat"])
def test_the_collector_is_held_off_while_a_planner_grounds_and_plans(backend: str) -> None:
    """Grounding, the solves and the explanations make objects that live as long as the
    decision: no collection runs from inside grounding or a solve (the collector made to
    run at every chance, a threshold of one new object), and it is on again after."""
    t = task()
    inside: list[str] = []

    def note(phase: str, info: dict[str, object]) -> None:
        frame = sys._getframe(1)
        while phase == "start" and frame is not None:
            if frame.f_code.co_name in ("ground", "_solve", "lists"):
                inside.append(frame.f_code.co_name)
                return
            frame = frame.f_back

    def lists() -> None:  # (the same watch sees a collection in code that runs after)
        gc.collect(0)

    thresholds = gc.get_threshold()
    gc.callbacks.append(note)
    gc.set_threshold(1)
    try:
        result = get_planner(backend).plan(t)
        lists()
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(note)
    assert result.status == "planned"
    assert inside and set(inside) == {"lists"}
    assert gc.isenabled()


@pytest.mark.parametrize("seed", LARGE_SEEDS[:20])
def test_remembered_successors_are_those_worked_out(seed: int) -> None:
    """On every state of a walk from the start, the actions looked up where the preconditions
    read the state alike are those `find` works out for it, in the same order, and so are
    they once the lookups are dropped. The maps' tasks have conditions of several rows
    (`has`, `!has` of a map not made yet), whose facts the key must read too."""
    maps = [made_maps_task(seed - LARGE_SEEDS[0] + k) for k in range(0, 150, 20)]
    for t in (random_task(seed, small=False), token_task(seed), *maps):
        g = ground(t)
        actions = list(range(len(g.actions)))
        packing = g.packing
        successors = Successors(g, actions, packing)
        frontier, seen = [packing.start], {packing.start}
        while frontier:
            state = frontier.pop()
            assert successors.of(state) == successors.find(state)
            for a in successors.find(state):
                keep, put = packing.step(g.eff[a])
                after = state & keep | put
                if after not in seen:
                    seen.add(after)
                    frontier.append(after)
        successors.known = None
        assert all(successors.of(s) == successors.find(s) for s in seen)


def test_the_actions_found_are_those_whose_preconditions_hold_in_index_order() -> None:
    """`find` tests each action's mask as it gathers it (`masked`: the actions `keyed`
    files under each bit, each beside its mask): on every state of a walk from the start it
    finds the actions whose preconditions hold, tested one by one, in index order, with
    actions that need nothing and conditions of several rows among them."""
    tasks = [random_task(seed, small=False) for seed in LARGE_SEEDS[:10]]
    tasks += [token_task(seed) for seed in LARGE_SEEDS[:10]]
    tasks += [made_maps_task(k) for k in range(0, 150, 10)]
    always = rowed = 0
    for t in tasks:
        g = ground(t)
        actions = list(range(len(g.actions)))
        successors = Successors(g, actions, g.packing)
        assert successors.masked.keys() == successors.keyed.keys()
        for bit, filed in successors.keyed.items():
            assert successors.masked[bit] == [(a, successors.masks[a]) for a in filed]
        always += len(successors.always)
        rowed += len(successors.rowed)
        frontier, seen = [g.packing.start], {g.packing.start}
        while frontier:
            state = frontier.pop()
            found = successors.find(state)
            assert found == [a for a in actions if successors.tests[a].holds(state)]
            for a in found:
                after = apply_step(state, g.packing.step(g.eff[a]))
                if after not in seen:
                    seen.add(after)
                    frontier.append(after)
    assert always and rowed  # both kinds were asked about


def test_states_alike_on_what_preconditions_read_share_a_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bit no precondition reads does not tell two states apart; the lookups stop after
    `KNOWN_CHECK` when fewer than half of them were found there."""
    monkeypatch.setattr(successors_module, "KNOWN_CHECK", 8)  # as if 2,000, on a small task
    g = ground(task())
    actions = list(range(len(g.actions)))
    successors = Successors(g, actions, g.packing)
    start = g.packing.start
    unread = next(b for b in range(g.packing.size + 64) if not successors.read >> b & 1)
    first = successors.of(start)
    assert successors.of(start | 1 << unread) is first
    assert successors.known is not None
    assert successors.asked == 2
    read = [b for b in range(g.packing.size) if successors.read >> b & 1]
    assert 2 ** len(read) > 8
    for i in range(8 - 2):  # each read unlike any other: nothing found twice
        successors.of(sum(1 << b for k, b in enumerate(read) if (i + 1) >> k & 1))
    assert successors.known is None
    assert successors.of(start | 1 << unread) == first  # worked out again, the same


def test_a_trail_gives_the_steps_in_order() -> None:
    assert steps(()) == []
    assert steps((((), 3), 1)) == [3, 1]
    assert steps(((((), 0), 0), 2)) == [0, 0, 2]


def test_searches_that_keep_overlapping_do_not_keep_the_collector_off_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where searches on several threads overlap without end (a worker's runs), the count
    of blocks never drops to none: the cycles left meanwhile are collected once the
    collector has been held off `HOLD_MOST` seconds (by the watching thread)."""
    monkeypatch.setattr(collector, "HOLD_MOST", 0.0)  # as if held off that long already
    # Again as soon as one ends: in a process of thousands of tests a collection
    # takes long, and the next would wait it out 50 times (`COLLECTING_MOST`).
    monkeypatch.setattr(collector, "COLLECTING_MOST", 1.0)

    class Cyclic:
        pass

    inside, first_out = threading.Event(), threading.Event()

    def other() -> None:
        with held_off():
            inside.set()
            first_out.wait(5)

    worker = threading.Thread(target=other)
    worker.start()
    assert inside.wait(5)
    try:
        with held_off():
            garbage = Cyclic()
            garbage.me = garbage  # type: ignore[attr-defined]
            gone = weakref.ref(garbage)
            del garbage
        assert collected_soon(gone)  # the other block still running
        assert not gc.isenabled()  # and still held off for the other
    finally:
        first_out.set()
        worker.join(5)
    assert gc.isenabled()


def collected_soon(gone: weakref.ref[object]) -> bool:
    """Whether the object is collected within some seconds (a wait, not a timing: it
    returns as soon as it is)."""
    waited = threading.Event()
    for _ in range(500):
        if gone() is None:
            return True
        waited.wait(0.01)
    return gone() is None


def test_one_long_hold_does_not_keep_the_collector_off_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A single block that lasts (a CP-SAT decision with a long `solve_time`, planned while
    a worker's other threads run actions) does not end for a while: the cycles other code
    leaves meanwhile are collected each `HOLD_MOST` seconds all the same, and the
    collector stays held off for the block."""
    monkeypatch.setattr(collector, "HOLD_MOST", 0.0)  # as if held off that long already
    # Again as soon as one ends: in a process of thousands of tests a collection
    # takes long, and the next would wait it out 50 times (`COLLECTING_MOST`).
    monkeypatch.setattr(collector, "COLLECTING_MOST", 1.0)

    class Cyclic:
        pass

    with held_off():
        garbage = Cyclic()
        garbage.me = garbage  # type: ignore[attr-defined]
        gone = weakref.ref(garbage)
        del garbage
        assert collected_soon(gone)
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_frontier_tie_break_orders_as_the_fields_it_packs() -> None:
    """Fewest steps at the end first (whole, as a float or an int), then the longest path
    so far, then the first found: as the tuple (at_least, -count, order) orders, near the
    ends of the fields' ranges too."""
    rng = random.Random(3)
    edges = [0, 1, (1 << COUNT_BITS) - 1]
    ties = [
        (
            float(rng.choice([0, 1, 2, 7, 10**9])) if rng.random() < 0.5 else rng.randint(0, 9),
            rng.choice([*edges, rng.randint(0, 40)]),
            rng.choice([0, 1, (1 << ORDER_BITS) - 1, rng.randint(0, 10**6)]),
        )
        for _ in range(2_000)
    ]
    ties = [(max(at_least, count), count, order) for at_least, count, order in ties]
    by_fields = sorted(ties, key=lambda t: (t[0], -t[1], t[2]))
    assert sorted(ties, key=lambda t: tie_break(*t)) == by_fields
    assert tie_break(3.0, 2, 5) == tie_break(3, 2, 5)


WHOLE = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-(2**53), 2**53).map(float),
    st.sampled_from([0.0, -0.0, 1.0, 2.0**53, 2.0**60, 1e300, -1e300]),
)
COUNTS = st.one_of(st.integers(0, MOST_COUNT), st.sampled_from([0, 1, MOST_COUNT - 1, MOST_COUNT]))
ORDERS = st.one_of(
    st.integers(0, (1 << ORDER_BITS) - 1), st.sampled_from([0, 1, (1 << ORDER_BITS) - 1])
)


@given(st.tuples(WHOLE, COUNTS, ORDERS), st.tuples(WHOLE, COUNTS, ORDERS))
def test_two_packed_ties_compare_as_their_fields_do(
    one: tuple[float, int, int], other: tuple[float, int, int]
) -> None:
    """Any two ties, a whole number of steps at the end (an int or a float, negative, past
    2**53 or 1e300), a count and an order anywhere in their widths: the packed ints are
    less, equal or greater as the tuples (at_least, -count, order) are."""
    a, b = tie_break(*one), tie_break(*other)
    fields = [(at_least, -count, order) for at_least, count, order in (one, other)]
    assert (a < b, a == b, a > b) == (
        fields[0] < fields[1],
        fields[0] == fields[1],
        fields[0] > fields[1],
    )


def free_task() -> Task:
    """The shop with steps that pay nothing: the metric ties across plateaus (`free`)."""
    return task([PAY_CHEAP, PAY_FAST, *(replace(a, cost=0.0) for a in (PACK, SHIP, NOTIFY))])


def pushed_entries(
    monkeypatch: pytest.MonkeyPatch, search: AStarSearch
) -> list[tuple[int, tuple[float, int, State, Label]]]:
    """What `search.run` pushes on its frontier (and the frontier's id: one started again
    with the sets is another), recorded as heapq is called."""
    pushed: list[tuple[int, tuple[float, int, State, Label]]] = []
    push = heapq.heappush

    def recorded(heap: list[Any], entry: Any) -> None:
        if isinstance(entry[-1], Label):  # (the LM-cuts' heaps are not the frontier)
            pushed.append((id(heap), entry))
        push(heap, entry)

    with monkeypatch.context() as patched:
        patched.setattr(heapq, "heappush", recorded)
        search.run(SEARCH_STATES, SEARCH_STATES * 200)
    return pushed


@pytest.mark.parametrize("own_cuts", [False, True])
@pytest.mark.parametrize("made", ["shop", "free", "random", "token"])
def test_every_pushed_entry_carries_the_tie_break_of_its_path(
    monkeypatch: pytest.MonkeyPatch, made: str, own_cuts: bool
) -> None:
    """`run` packs the ties inline (and `_entry` for a state whose own LM-cut raised its
    bound): every entry pushed is `tie_break` of its path's steps left at least (what is
    left to pay over the dearest step, and where steps are free the goal values missing
    over the most one step writes), its steps and an order that grows push by push, on
    plain, limited and timed searches; and its path is a whole `Label`."""
    made_tasks = {
        "shop": [task()],
        "free": [free_task()],
        "random": [random_task(seed, small=False) for seed in LARGE_SEEDS[:20]],
        "token": [token_task(LARGE_SEEDS[3])],
    }
    checked = 0
    for t in made_tasks[made]:
        g = ground(t)
        search = AStarSearch(Question(t, g, g.horizon), own_cuts=own_cuts)
        assert not search.by_latency
        assert search.free or made != "free"
        orders: dict[int, list[int]] = {}
        for heap, (f, ties, state, label) in pushed_entries(monkeypatch, search):
            # made by `tuple.__new__`, not `Label(...)`: every field given, none defaulted
            assert type(label) is Label and len(label) == len(Label._fields)
            count = label.steps
            left = f - label.metric
            at_least = count - (left // -search.dearest) if search.floored else count
            if search.free:
                missing = search.remaining.missing(state)
                at_least = max(at_least, count - (-missing.bit_count() // search.most_goals))
            order = ties & ((1 << ORDER_BITS) - 1)
            assert ties == tie_break(at_least, count, order)
            orders.setdefault(heap, []).append(order)
            checked += 1
        assert all(found == sorted(set(found)) for found in orders.values())
    assert checked
