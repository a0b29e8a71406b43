"""A* over grounded states in plain Python: the search planner's search (`ido.planner.search`).

States are bitsets: one int each, a bit per value of the grounded problem's fluents, set
where the fluent has it (`ido.planner.bits`), so a step is two operations on an int and a
state costs about a bit per value. From the start, the unexpanded path with the least
metric plus estimate comes first; among equals, the one with the fewest steps plus the
steps it still needs at least (so of the cheapest plans, the shortest is found), then the
longest so far (it is nearest the goal: with an estimate that is often exact, the search
walks on toward the goal rather than widening every shorter path first), then the order
found. A path whose sums break a limit is dropped, and so is one that another path to the
same state beats on the metric, steps and every limited sum. The metric is counted in
whole millionths, as CP-SAT counts it (a sum step by step; elapsed time, the critical
path, rounded once per path, where CP-SAT rounds each step's latency: the same for
latencies of six decimals). Edge weights are never negative and limits only grow along a
path, so with an admissible estimate the first path to reach the goal is optimal. The
estimate is the larger of two lower bounds: each goal value still missing costs at least
the cheapest share of a step that writes it (and one more step at least the cheapest
step), and the LM-cut landmarks of the start (`Cuts`) that no path found to the state has
hit. The second depends on the paths found, so the estimate is not consistent; a better
path to a state seen before is expanded again, which keeps the answer optimal. By elapsed
time (the latency metric), the estimate is instead the earliest the goal can hold from the
path's state and clocks (`ido.planner.earliest`), and the two bounds count steps, for the
tie-break; under a deadline, a path that cannot reach the goal by it is dropped. The
actions that may apply in a state are looked up (`ido.planner.successors`), not tested one
by one. A search still going after `PAIRS_AFTER` expansions asks once whether the goal's
values can hold together at all (`ido.planner.pairs`), which proves most "no plan" answers
without visiting every state. A search still going after `OWN_CUTS_AFTER` expansions asks
once a search of the same question with a third bound (`own_cuts`): the LM-cut of each
state itself (`StateCuts`), worked out when the state is first popped, not when found
(lazy A*). When it is above the bound the state was queued with, the path is queued again
with it instead of expanded; and each step from an expanded state leaves the state after
it the state's cuts without that step. Both are lower bounds on the cheapest way on from
the state, whatever the path to it (every way on from the state hits each of its cuts, and
a step pays at most its weight over them), so the estimate stays admissible and the first
path popped at the goal optimal, as above; a path whose bound was raised is popped later
or never. Where the start's cuts are weak (driverlog p05: 13 of 18), this search expands
600 states where the first expands 137,000; where they are not (driverlog p02, depot,
gripper), each state's LM-cut (0.1-1 ms) costs more than the expansions it saves: hence
asked only late, and given up when still behind the first after `OWN_CUTS_CHECK`
expansions (or `OWN_CUTS_MOST` LM-cuts or `OWN_CUTS_WORK` of their work, if sooner), or
past `OWN_CUTS_AHEAD` LM-cuts, after which the first search goes on as if it had not asked.
A search without clocks still going after `SETS_AFTER` expansions starts again from the
start following from each state only the actions of a strong stubborn set
(`ido.planner.stubborn`; before, every action, so a plan settled sooner lists its
independent steps as it always did): any plan from the state reordered to begin with one
keeps its metric, steps and sums, so an optimal plan, and the shortest of those, is still
found. The search thrown away is not charged to the budgets, and what it asked once
(`PAIRS_AFTER`, `REORDER_AFTER`) is not asked again. `PRUNE_CHECK` expansions after the
start again it stops working the sets out unless they left out `PRUNE_LEAST` of the
actions that applied.
A plain search still going after `REORDER_AFTER` expansions drops a path where one at
least as cheap and as short reaches a reordering of its state's interchangeable objects
(`ido.planner.symmetry`): the cheapest way on from the two costs the same. Asked only
for a plan below some metric (`under`, as the alternatives ask once their list is full),
a path whose metric plus estimate reaches it is kept (to drop the paths it beats) but not
followed: no path through it can end below. Every path on the way to a
plan below `under` has metric plus estimate below it too, so none is popped after one that
reaches it: the search is the whole search's first part, with the same answer when there is
one below, and None as soon as the frontier reaches `under` when there is not.
No solver: slow on large catalogs, obviously right on small ones.
"""

from __future__ import annotations

import heapq
import itertools
import math

from ido.errors import OutOfBudget
from ido.planner import progress
from ido.planner.collector import held_off
from ido.planner.earliest import Earliest, at_once, ready_from
from ido.planner.estimates import Cuts, Remaining, StateCuts, at_whole, steps_left
from ido.planner.grounding import over_limit
from ido.planner.order import atom_count
from ido.planner.pairs import goal_pairs_reachable
from ido.planner.paths import (
    COUNT_BITS,
    MOST_COUNT,
    ORDER_BITS,
    Label,
    Reached,
    bounds_of,
    steps,
    tick,
    tie_break,
)
from ido.planner.solving import Question, Solution, measure, step_of, usable
from ido.planner.stubborn import Stubborn
from ido.planner.successors import (
    State,
    Successors,
    compile_check,
)
from ido.planner.symmetry import Reorder, reorder
from ido.planner.types import Plan, units
from ido.text import counted

PAIRS_AFTER = 1_000
"""Expansions after which a search that has not settled asks whether the goal's values
can hold together at all (`ido.planner.pairs`): a few milliseconds, where proving that no
plan exists by visiting every state can take seconds or minutes. Searches that settle
sooner never pay for it."""

SETS_AFTER = 1_000
"""Expansions after which a search without clocks that has not settled starts again, from
the start, following strong stubborn sets' actions alone (`_with_sets`). A search that
settles sooner (every orchestration catalog's here) follows every action, and lists a
plan's independent steps in the order it did before the sets: with them, three steps side
by side came out `do-a + do-b + do-ab` where runs had recorded `do-a + do-ab + do-b`, and
an exact replay said their first decision had changed. Started again rather than going on
with sets from there: the paths from the states reached before are not reduced, and
rovers p05 then gave up at 200,000 expansions where from the start it settles in about
12,000. The expansions thrown away are not charged to the search's budgets (`_with_sets`):
one that starts again and then settles in N settles within a budget of N (a budget of at
most `SETS_AFTER` runs out before the start again: the sets are never followed)."""

PRUNE_CHECK = 100
PRUNE_LEAST = 0.32
"""Expansions with the sets (counted from the start again after `SETS_AFTER`, so the
1,101st of the two searches') after which the search stops computing strong stubborn sets
(`ido.planner.stubborn`) unless they had left out at least this share of the actions that
applied: where few actions are independent (blocks, depot, logistics, zenotravel: 0-4 %)
the sets hold nearly every action and cost more than the paths they save (zenotravel p06:
0.12 s of CPU became 0.25 s with the check at 1,000), where rovers' and satellite's leave
out 37-50 %. The share in the first 100 is within a point of that in the first 1,000.
A third, not a fifth: the sets started from the value whose writers add fewest to them
leave out 26-30 % in logistics, which then expands 7-11 % fewer states for 1.5-1.8× the
CPU (logistics 5-0: 0.37 s against 0.19 s with the sets turned off at the check); rovers
and satellite keep theirs (49-61 %), zenotravel p07's 22 % neither pays nor costs."""

REORDER_AFTER = 1_000
"""Expansions after which a search of plain paths (no limits, no clocks) looks for objects
it cannot tell apart (`ido.planner.symmetry`, 1-20 ms on the IPC problems) and from then
on drops a path where one as cheap and as short reaches a reordering of its state: gripper
prob05 settles in hundreds of expansions where it took 375,000. Searches that settle
sooner never pay for looking; paths found before are not dropped, which is sound (a path
is only ever dropped for another found)."""

OWN_CUTS_AFTER = 10_000
"""Expansions after which a search that has not settled asks a search of its own question
that works out the LM-cut of each state it pops (`StateCuts`, 0.1-0.3 ms each in Python,
the price of 3-10 expansions) whether it settles it sooner. Where the start's cuts lead
well, the first settles before, as fast as before: every IPC problem pyperplan plans but
driverlog p02, p04 and p05, logistics 5-0 and gripper prob03. Driverlog p05, where the
start's cuts are 13 of 18 and 137,000 expansions take about 6 s, is settled by the second
in 610 expansions and 1,686 LM-cuts (0.5 s; 276 and 718 with the first's interchangeable
objects, `REORDER_AFTER`), after these 10,000 (0.4 s). The others,
which the first settles in 11,000-40,000 expansions, pay for the second's first
`OWN_CUTS_CHECK` expansions (273-485 LM-cuts, 0.05-0.1 s) for nothing: asked after 50,000
expansions, as until December 2026, p05 took 3.4 s and they nothing more."""

OWN_CUTS_CHECK = 150
"""Expansions after which the search of states' own LM-cuts goes on only if the bound it
has proven is above the one the first search had proven when it asked: both are A*, each
has every path below its bound behind it, and one still behind the other there is not
worth its LM-cuts. Driverlog p05's is at 17 after 150 expansions (474 LM-cuts) where the
first's was 15, and it settles at 18; p04's is at 14 against 14, p02's at 15 against 15,
and those of logistics 5-0, gripper prob03 and prob04 and depot p03 and p07 are not above
either; none of them settles before the first: they lose 150 expansions' LM-cuts (0.05-0.3
s), not `OWN_CUTS_MOST`."""

OWN_CUTS_MOST = 2_000
OWN_CUTS_WORK = 4_500_000
"""States' own LM-cuts, and their work (`StateCuts.spent`), by which that search is checked
if it has not expanded `OWN_CUTS_CHECK` states yet: where each LM-cut is dear (satellite
p06: 86 expansions make 4.5 million), the check comes there instead. Depot p03 and p07
and gripper prob04 are not settled by 4,000 LM-cuts (nor by 6 million); they, and most
others, are given up at the check, behind the first search."""

OWN_CUTS_AHEAD = 20_000
OWN_CUTS_AHEAD_WORK = 80_000_000
"""States' own LM-cuts, and their work, allowed a search of them that is ahead of the first
at its check; past them it gives up and the first goes on as if it had not asked. Driverlog
p05 needs 1,686 and 3.6 million (0.5 s); satellite p06, whose first search gives up after
200,000 expansions, 10,023 and 55 million (2.5 s). Every problem seen ahead at the check
was settled by this search; these caps bound what one that is not would cost (5-15 s)."""

GIVE_MORE = (
    "a larger `limits.search_states` in the intent (or `ido plan --search-states N`) lets it "
    "go further, or the cpsat planner may settle it (`planner: cpsat` in the intent, or `ido "
    "plan --planner cpsat`)"
)
"""How a search that gave up is given more, said after what it spent."""


class SearchGaveUp(OutOfBudget):
    """The search reached its budget (expansions or paths checked) without settling the
    question; `spent` says which, and `paused` is the search to go on with, when it can."""

    def __init__(
        self, spent: str, paused: AStarSearch | None = None, advice: str = GIVE_MORE
    ) -> None:
        super().__init__(spent, advice)
        self.paused = paused
        """The search, to go on with a larger budget; None when it stopped mid-expansion."""

    def _said(self, spent: str, advice: str) -> str:
        return f"search {spent} without finishing; {advice}"


class AStarSearch:
    """One A* search of one question (see the module's docstring), which can be run in
    parts: `run` goes on from where the last part stopped, up to budgets that count from
    the start (the start again with the sets, past `SETS_AFTER`: the object is then that
    search, `_with_sets`)."""

    def __init__(
        self,
        asked: Question,
        own_cuts: bool = False,
        asker: AStarSearch | None = None,
        with_sets: bool = False,
    ) -> None:
        """`own_cuts`: work out each popped state's own LM-cut (`StateCuts`), except by
        latency; by default the search asks for a search that does once it has expanded
        `OWN_CUTS_AFTER`. `asker`: the search of the same question asking this one, whose
        stubborn sets it takes on (none where that one found they did not pay).
        `with_sets`: follow stubborn sets from the start (untimed); by default a search
        starts again with them after `SETS_AFTER` expansions."""
        self.asked = asked
        task, g, metric, without, under = (
            asked.task, asked.g, asked.metric, asked.without, asked.under
        )  # fmt: skip
        actions = [
            a for a in sorted(usable(g, without)) if over_limit(g.actions[a], task.limits) is None
        ]
        self.actions = actions
        packing = g.packing
        self.successors = Successors(g, actions, packing)
        self.goal = goal = compile_check(packing, g.goal)
        self.packed = {a: packing.step(g.eff[a]) for a in actions}  # (keep, put) of each
        self.bit = packing.bit  # where a fact is in a state, for `Earliest`
        # Whole millionths, as CP-SAT counts them (`units`): a tie within float noise is a
        # tie, and goes to the shorter plan in both backends.
        self.weight = weight = {
            a: float(units(measure(task, g.actions[a], metric))) for a in actions
        }
        self.sums = {
            a: (g.actions[a].cost, g.actions[a].latency, g.actions[a].risk) for a in actions
        }
        self.bounds = bounds = bounds_of(task)
        self.limited = limited = tuple(i for i, bound in enumerate(bounds) if bound < math.inf)
        # Elapsed time is the critical path, which depends on what each step waits for, not
        # on a sum: a timed search carries per-fact clocks in its labels.
        self.by_latency = by_latency = metric == "latency"  # the metric is the critical path
        self.timed = timed = 1 in limited or by_latency
        self.plain = not limited and not timed  # paths differ in metric and steps alone
        # Plain, past `REORDER_AFTER`: a path is dropped where one as cheap and as short
        # reaches a reordering of its state's interchangeable objects
        # (`ido.planner.symmetry`): per stand-in, the best path's metric, steps and state.
        self.reorder: Reorder | None = None
        self.reordered = False  # looked for interchangeable objects already (`REORDER_AFTER`)
        self.paired = False  # asked whether the goal's values hold together (`PAIRS_AFTER`)
        self.seen: dict[State, tuple[float, int, State]] = {}
        self.prints = prints = g.footprints
        # By latency, steps may run side by side and the metric's bound is the earliest
        # end (below); the bounds on what is left to pay count steps, for the tie-break.
        paying = dict.fromkeys(actions, 1.0) if by_latency else weight
        self.remaining = remaining = Remaining(
            g, actions, paying, min(paying.values(), default=0.0)
        )
        self.cuts = cuts = Cuts(g, actions, paying)
        # By latency the bounds only break ties: no state's own LM-cut is worth its price
        # (and its steps, set against the frontier's seconds, would not bound them).
        self.fresh = StateCuts(g, actions, paying) if own_cuts and not by_latency else None
        # Timed: no path ends before the earliest its goal can hold from its state and
        # clocks (`ido.planner.earliest`); by latency the bound, under a deadline a cut.
        self.earliest: Earliest | None = None
        self._alone: dict[State, float | None] = {}  # per state: its goal's earliest end
        self.waits_on: dict[int, tuple[int, ...]] = {}
        if timed:
            self.earliest = Earliest(g, actions, {a: g.actions[a].latency for a in actions})
            n = atom_count(prints)  # per step, the clocks it waits for: writes, then uses
            self.waits_on = {
                a: (*prints[a].touches(), *(n + f for f in prints[a].writes)) for a in actions
            }
        # Ties on metric plus estimate: fewest steps at the end (what is left to pay, over
        # the dearest step, is a floor on the steps left), then the longest path so far.
        self.dearest = dearest = max(paying.values(), default=0.0)
        self.floored = floored = dearest > 0  # else the floor is 0 steps
        # Where steps may pay nothing (PDDL's actions that add no cost), the metric ties
        # across whole plateaus, and so does its floor on steps: there, the goal values
        # missing, over the most one step writes, are a floor too (`most_goals`).
        self.free = min(paying.values(), default=1.0) == 0
        self.most_goals = max((len(t) for t in remaining.touched.values()), default=1) or 1
        # Untimed, the search follows a strong stubborn set's actions alone (a plan's steps
        # reordered keep its metric, steps and sums; not its critical path).
        self.stubborn: Stubborn | None = None
        self.sets_later = False  # to start again with the sets after `SETS_AFTER`
        # Started again with the sets (`_with_sets`): the expansions and paths checked of the
        # search thrown away, counted on from but not charged to the budgets.
        self.restarted_at = self.compared_before = 0
        if asker is not None:
            self.stubborn = asker.stubborn
        elif not timed and (with_sets or SETS_AFTER <= 0):
            self.stubborn = Stubborn(g, actions, g.goal)
        elif not timed:
            self.sets_later = True
        self.offered = self.pruned = 0  # actions that applied, and those left out
        self.order = itertools.count()
        self.expanded = self.compared = 0
        self.own_cuts = 0  # states' own LM-cuts worked out
        self.most_cuts, self.most_work = OWN_CUTS_MOST, OWN_CUTS_WORK  # then it gives up
        # Metric plus estimate, then the ties packed in one int (`tie_break`): the order of
        # a tuple of all four, compared in fewer steps.
        self.frontier: list[tuple[float, int, State, Label]] = []
        self.states: dict[State, Reached] = {}
        if not cuts.reachable:
            return  # not even without deletes: no plan
        start: State = packing.start
        first = Label(
            0.0, 0, (0.0, 0.0, 0.0), (), (0.0,) * (2 * atom_count(prints)) if timed else ()
        )
        reached = goal.holds(start)
        missing = remaining.missing(start)
        base = at_whole(remaining.bound(missing, reached))
        # A sum of whole millionths (or, by latency, steps): `at_whole` is monotone, so the
        # larger of the two raised is the larger raised.
        estimate = max(base, cuts.left_whole(0))
        if estimate == math.inf:
            return  # a goal value no usable action writes
        ahead = estimate
        if by_latency:  # the estimate is the earliest end, which is also the deadline's test
            end = self._earliest(start, first.clock)
            if end is None or end > bounds[1] + 1e-9:
                return  # no plan reaches the goal (by the deadline)
            ahead = float(units(end))
        elif timed and not self._in_time(start, first.clock, 0.0):
            return  # no plan reaches the goal by the deadline
        if ahead >= under:
            return  # no plan scores below `under`
        self.states[start] = Reached(0, missing, base, reached, [first])  # no cut hit yet
        at_least = steps_left(estimate, dearest, floored)
        self.frontier.append((ahead, tie_break(at_least, 0, next(self.order)), start, first))

    def run(
        self, max_states: int, max_compared: int, most: int | None = None, report: bool = True
    ) -> Solution | None:
        """The answer (see `_run`), with Python's cycle collector held off meanwhile
        (`ido.planner.collector`: the search's objects form no cycles)."""
        with held_off():
            return self._run(max_states, max_compared, most, report)

    def _run(
        self, max_states: int, max_compared: int, most: int | None, report: bool
    ) -> Solution | None:
        """The answer: the best plan, proven, or None for no plan (below `under`, when the
        search was asked for one); `SearchGaveUp` past
        `max_states` expansions or `max_compared` paths checked against, counted from the
        start (from the start again, for a search that started again with the sets: the
        search thrown away is not charged, `_with_sets`). Given up on expansions, the
        search can go on (`SearchGaveUp.paused`).
        Progress reports count against `most` (by default `max_states`); `report=False`:
        none (a search asked within another)."""
        asked = self.asked
        task, g, limit, under = asked.task, asked.g, asked.length, asked.under
        successors, goal, weight, sums = self.successors, self.goal, self.weight, self.sums
        bounds, limited, timed, plain = self.bounds, self.limited, self.timed, self.plain
        prints, remaining, cuts = self.prints, self.remaining, self.cuts
        by_latency, order, waits_on = self.by_latency, self.order, self.waits_on
        dearest, floored = self.dearest, self.floored
        free, at_once = self.free, self.most_goals
        frontier, states, fresh = self.frontier, self.states, self.fresh
        packed, mark = self.packed, cuts.mark
        seen, stubborn = self.seen, self.stubborn
        key = None if self.reorder is None else self.reorder.key
        aim, aim_rows, touched = goal.mask, goal.rows, remaining.touched
        bound_of, left_of = remaining.whole_bound, cuts.whole_left
        expanded, compared = self.expanded, self.compared
        count_bits, most_count, order_bits = COUNT_BITS, MOST_COUNT, ORDER_BITS
        push, make_label = heapq.heappush, tuple.__new__
        # As it starts (or goes on), then every EVERY expansions: a listener that says the
        # latest report again while a decision is quiet then names the right stage.
        most = (max_states if most is None else most) + self.restarted_at
        thrown, thrown_compared = self.restarted_at, self.compared_before
        max_states, max_compared = max_states + thrown, max_compared + thrown_compared
        if report:
            progress.report(stage="search", expanded=expanded, most=most)
        try:
            while frontier:
                entry = heapq.heappop(frontier)
                *_, state, label = entry
                here = states[state]
                if label not in here.kept:
                    continue  # a better path to this state came later
                if here.goal:
                    done = tuple(step_of(task, g.actions[a]) for a in steps(label.path))
                    return Solution(Plan(done), True, limit)
                if fresh is not None:
                    if here.loss is None:  # first popped: its own LM-cut, once
                        if self.own_cuts >= self.most_cuts or fresh.spent >= self.most_work:
                            heapq.heappush(frontier, entry)  # its bound stands; going on: next
                            raise SearchGaveUp(
                                f"worked out {self.own_cuts:,} states' LM-cuts", self
                            )
                        self.own_cuts += 1
                        found = fresh.of(state)
                        if found is None:  # no way on from it at all
                            here.base = math.inf
                            continue
                        here.raw, here.loss = found
                        here.own = max(here.own, at_whole(here.raw))
                    if label.metric + here.own > entry[0]:  # a better bound: in line again
                        ahead = max(entry[0] - label.metric, here.own)
                        if label.metric + ahead < under:
                            heapq.heappush(frontier, self._entry(label, ahead, here.missing, state))
                        continue
                if expanded >= max_states:
                    heapq.heappush(frontier, entry)  # not expanded: going on starts with it
                    raise SearchGaveUp(f"expanded {counted(expanded - thrown, 'state')}", self)
                if expanded == PAIRS_AFTER and not self.paired:
                    self.paired = True
                    if not goal_pairs_reachable(g, self.actions):
                        frontier.clear()  # no two goal values hold together: no plan
                        return None
                if expanded == REORDER_AFTER and plain and fresh is None and not self.reordered:
                    self.reordered = True
                    self.reorder = reorder(g, self.actions, weight)
                    key = None if self.reorder is None else self.reorder.key
                if expanded == SETS_AFTER and self.sets_later:
                    self.expanded, self.compared = expanded, compared
                    try:
                        return self._with_sets(max_states, max_compared, most, report)
                    finally:  # (counting both searches')
                        expanded, compared = self.expanded, self.compared
                if expanded == OWN_CUTS_AFTER and fresh is None and not by_latency:
                    self.expanded, self.compared = expanded, compared
                    settled, answer = self._with_own_cuts(max_states, max_compared, entry[0])
                    if settled:
                        return answer
                expanded += 1
                if report and not expanded % progress.EVERY:
                    progress.report(stage="search", expanded=expanded, most=most)
                # The sets' check, after `PRUNE_CHECK` expansions, before the step limit can
                # skip this one: sets not worth their work here are no longer worked out.
                checked = expanded == thrown + PRUNE_CHECK + 1 and stubborn is not None
                if checked and self.pruned < PRUNE_LEAST * self.offered:
                    stubborn = self.stubborn = None
                if label.steps >= limit:
                    continue
                was = here.hit
                raw, loss = here.raw, here.loss
                applying = successors.of(state)
                if stubborn is not None:
                    kept = stubborn.applicable(state, applying)
                    if kept is not None:
                        self.offered += len(applying)
                        self.pruned += len(applying) - len(kept)
                        applying = kept
                for a in applying:
                    keep, put = packed[a]  # `apply_step`, inline: it is the innermost loop
                    after = state & keep | put
                    there = states.get(after)
                    if there is None:  # (`Check.holds` and `Remaining.after`, inline)
                        reached = after & aim == aim and (not aim_rows or goal.holds(after))
                        missing = remaining.after(here.missing, a) if touched[a] else here.missing
                        known = 0.0 if reached else bound_of.get(missing)
                        base = remaining.bound_whole(missing) if known is None else known
                        there = Reached(was | mark[a], missing, base, reached, [])
                        states[after] = there
                    else:  # one more path to it: the cuts hit are those every path hit
                        there.hit &= was | mark[a]
                    clock = label.clock
                    totaled = label.sums  # only limits and clocks read the sums
                    if limited or timed:
                        totals = [x + y for x, y in zip(label.sums, sums[a])]
                        if timed:
                            clock, end = tick(
                                label.clock, prints[a], waits_on[a], g.actions[a].latency
                            )
                            totals[1] = max(label.sums[1], end)
                        if any(total > bound + 1e-9 for total, bound in zip(totals, bounds)):
                            continue
                        totaled = (totals[0], totals[1], totals[2])
                    cost = float(units(totaled[1])) if by_latency else label.metric + weight[a]
                    count = label.steps + 1
                    others = there.kept
                    compared += len(others)
                    if compared > max_compared:  # mid-expansion: no going on from here
                        raise SearchGaveUp(
                            f"checked new paths against {max_compared - thrown_compared:,} kept "
                            f"paths to the same states, its budget, in "
                            f"{counted(expanded - thrown, 'expansion')}"
                        )
                    # `beats` on the metric and the steps alone, before a label is made (most
                    # states keep one path or none: no generator for those)
                    if plain and others:
                        if len(others) == 1:
                            if others[0].metric <= cost and others[0].steps <= count:
                                continue
                        elif any(old.metric <= cost and old.steps <= count for old in others):
                            continue
                    if key is not None:  # a reordering of `after` reached as cheaply
                        stand_in = key(after)
                        best = seen.get(stand_in)
                        if best and best[0] <= cost and best[1] <= count and best[2] != after:
                            continue
                    # Both bounds are whole already (`at_whole`), and so is the larger.
                    left = there.base
                    if not there.goal:
                        hit = there.hit
                        cut = left_of.get(hit)
                        if cut is None:
                            cut = cuts.left_whole(hit)
                        left = max(left, cut)
                        if loss is not None:  # what the state's own cuts leave (`StateCuts`)
                            there.own = max(there.own, at_whole(raw - loss.get(a, 0.0)))
                            left = max(left, there.own)
                    if left == math.inf:
                        continue  # a goal value no usable action writes
                    # (`Label`'s own constructor is a Python function: a call frame per path)
                    new = make_label(Label, (cost, count, totaled, (label.path, a), clock))
                    if not plain and any(old.beats(new, limited) for old in others):
                        continue
                    ahead = left  # what the metric adds at least from here
                    if by_latency:  # the earliest end: the estimate and the deadline's test
                        soonest = self._earliest(after, clock)
                        if soonest is None or soonest > bounds[1] + 1e-9:
                            continue  # no way on reaches the goal (by the deadline)
                        ahead = max(0.0, units(soonest) - cost)
                    elif timed and not self._in_time(after, clock, totaled[1]):
                        continue  # no way on reaches the goal by the deadline
                    if others:
                        others[:] = [old for old in others if not new.beats(old, limited)]
                    others.append(new)
                    if key is not None and (
                        best is None or cost < best[0] or (cost == best[0] and count < best[1])
                    ):
                        seen[stand_in] = (cost, count, after)
                    if new.metric + ahead >= under:
                        continue  # kept, to drop the paths it beats, but not followed
                    at_least = count - (left // -dearest) if floored else count  # `steps_left`
                    if free:
                        at_least = max(at_least, count - (-there.missing.bit_count() // at_once))
                    ties = (int(at_least) << count_bits | most_count - count) << order_bits
                    push(
                        frontier, (new.metric + ahead, ties | next(order), after, new)
                    )  # `tie_break`
            return None
        finally:
            self.expanded, self.compared = expanded, compared

    def _with_sets(
        self, max_states: int, max_compared: int, most: int | None, report: bool
    ) -> Solution | None:
        """The answer of a search of the same question following stubborn sets from the
        start (`SETS_AFTER`), dropping paths by the interchangeable objects this one found
        and not asking again what it asked (`PAIRS_AFTER`). It counts on from this one's
        expansions (the progress goes on), but its budgets count from its own start: what
        this one spent is thrown away, and a search that settled within a budget with the
        sets from the start settles within it still. This search becomes that one: they
        share their attributes, so a later `run` of either goes on with the sets, and every
        count a caller reads (`expanded`, `frontier`, `pruned`...) is the new one's."""
        again = AStarSearch(self.asked, with_sets=True)
        again.reorder, again.reordered = self.reorder, self.reordered
        again.paired = self.paired
        again.expanded, again.compared = self.expanded, self.compared
        again.restarted_at, again.compared_before = self.expanded, self.compared
        # The abandoned search's paths are let go now, not when `run` returns: the frame of
        # this one's `run` holds its frontier, states and reorderings seen until then
        # (rovers p20: 26,555 states and 25,872 entries, through the whole search again).
        self.frontier.clear()
        self.states.clear()
        self.seen.clear()
        self.__dict__ = again.__dict__
        return again.run(max_states, max_compared, most, report)

    def _with_own_cuts(
        self, max_states: int, max_compared: int, reached: float
    ) -> tuple[bool, Solution | None]:
        """Whether a search of the same question with each state's own LM-cut (from the
        start: it pays most near it) settles it within the budgets left, and its answer
        if so. It is the same A*, with another admissible
        estimate: the same optimum, or None alike. After `OWN_CUTS_CHECK` expansions it
        goes on only if the bound it has proven (the least metric plus estimate in line)
        is above `reached`, the one this search has proven: a search still behind it
        there is given up, and one ahead is allowed `OWN_CUTS_AHEAD` LM-cuts. The check
        comes sooner where the LM-cuts are dear: at `OWN_CUTS_MOST` of them or
        `OWN_CUTS_WORK` of their work."""
        own = AStarSearch(self.asked, own_cuts=True, asker=self)
        own.reorder = self.reorder  # looked for already: dropping paths by it from the start
        own.paired = self.paired  # asked already, and the goal's values may hold together
        states, compared = max_states - self.expanded, max_compared - self.compared
        try:
            if states > OWN_CUTS_CHECK:
                try:
                    return True, own.run(OWN_CUTS_CHECK, compared, report=False)
                except SearchGaveUp as stopped:
                    if stopped.paused is None or own.frontier[0][0] <= reached:
                        return False, None  # still behind this search (or out of paths)
                own.most_cuts, own.most_work = OWN_CUTS_AHEAD, OWN_CUTS_AHEAD_WORK
            return True, own.run(states, compared, report=False)
        except SearchGaveUp:
            return False, None  # this search goes on as if it had not been asked

    def _entry(
        self, label: Label, ahead: float, missing: int, state: State
    ) -> tuple[float, int, State, Label]:
        """The frontier's entry for `label` to `state` with `ahead` still to pay at least
        (whole units), `missing` goal values missed: what `run` pushes inline."""
        count = label.steps
        at_least = count - (ahead // -self.dearest) if self.floored else count
        if self.free:
            at_least = max(at_least, count - (-missing.bit_count() // self.most_goals))
        return (label.metric + ahead, tie_break(at_least, count, next(self.order)), state, label)

    def _in_time(self, state: State, clock: tuple[float, ...], elapsed: float) -> bool:
        """Whether a path to `state` with `clock`, `elapsed` seconds long so far, may still
        reach the goal by the deadline, for a metric other than elapsed time (which works
        out the path's earliest end in any case). First from the state alone (each step
        free to start at once, remembered per state): no step waits past `elapsed`, so the
        path's own earliest end is no later than `elapsed` plus that, and only when this
        misses the deadline do the path's clocks need a look (most paths, most of whose
        deadlines never bind, are then settled by a lookup)."""
        if state in self._alone:
            alone = self._alone[state]
        else:
            earliest = self.earliest
            assert earliest is not None  # made for every timed search, the only ones asking
            bit = self.bit
            alone = self._alone[state] = earliest.end(
                lambda fact: state >> bit(*fact) & 1 == 1, at_once
            )
        if alone is None:
            return False
        deadline = self.bounds[1] + 1e-9
        if elapsed + alone <= deadline:
            return True
        soonest = self._earliest(state, clock)
        return soonest is not None and soonest <= deadline

    def _earliest(self, state: State, clock: tuple[float, ...]) -> float | None:
        """The earliest the goal can hold on a path to `state` with `clock`."""
        waits_on, earliest = self.waits_on, self.earliest
        assert earliest is not None  # made for every timed search, the only ones asking
        bit = self.bit
        return earliest.end(
            lambda fact: state >> bit(*fact) & 1 == 1,
            lambda a: ready_from(clock, waits_on[a]),
        )
