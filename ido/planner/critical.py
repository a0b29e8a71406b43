"""Elapsed time in the CP-SAT model: the critical path as a variable, and the check that a
plan found meets CP-SAT's bound by its own critical path.

The model bounds each step's start from below only (`elapsed_variable`), so a solution's
elapsed-time variable may sit above its plan's critical path. CP-SAT's presolve can leave it
so, and then each solution it finds is the same plan one unit faster: thousands of them,
which its deterministic clock hardly counts (a 10-action task ran 290 s of wall time inside
a 1-second deterministic limit). `Tightened` times each solution's plan exactly, keeps the
best, and stops the solve once it meets the bound: that plan is proven optimal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ido.planner.cpmodel import LinearExpr, SolutionCallback
from ido.planner.order import schedule, waits
from ido.planner.types import units

if TYPE_CHECKING:
    from ido.planner.cpmodel import IntVar, Model, Solved
    from ido.planner.cpsat._encoding import _Encoding
    from ido.planner.grounding import Grounded


def elapsed_variable(
    model: Model, encoding: _Encoding, g: Grounded, banned: frozenset[int]
) -> IntVar:
    """A variable no less than the plan's critical path, and equal to it at best.

    Every step starts once the earlier steps it interferes with have ended (as in
    `ido.planner.order`): per fact, `written[t, f]` bounds when its last write before step
    `t` ends and `used[t, f]` when its last read or write does. Only lower bounds are
    needed: a deadline or a minimised elapsed time pushes each variable down to its value
    in the optimum, though not in every solution found on the way (see `Tightened`).
    """
    prints = g.footprints
    actions = sorted(encoding.actions - banned)
    lat = {a: units(g.actions[a].latency) for a in actions}
    # No plan takes longer than its steps one after another. When a step may come back (a
    # fact changes to more than one value), that is up to `horizon` of the slowest step;
    # else up to the `horizon` slowest steps, once each.
    slowest = sorted(lat.values(), reverse=True)
    if g.monotone:
        top = sum(slowest[: encoding.horizon])
    else:
        top = encoding.horizon * (slowest[0] if slowest else 0)
    var = {key: v for key, v in encoding.steps().items() if key[1] not in banned}
    touchers: dict[int, list[int]] = {}
    writers: dict[int, list[int]] = {}
    for a in actions:
        for f in prints[a].touches():
            touchers.setdefault(f, []).append(a)
        for f in prints[a].writes:
            writers.setdefault(f, []).append(a)
    shared = sorted(writers)  # a fact nothing writes orders nothing
    written = {f: model.new_constant(0) for f in shared}
    used = dict(written)
    elapsed = model.new_int_var(0, top, "elapsed")
    previous: IntVar | None = None
    for t in range(encoding.horizon):
        here = [a for a in actions if (t, a) in var]
        if not here:
            continue
        start = model.new_int_var(0, top, f"start{t}")
        if previous is not None:
            # Steps sorted by start time are as good a sequence as any: it respects every
            # wait. Requiring that order cuts the permutations of side-by-side steps.
            model.add(start >= previous)
        previous = start
        end = start + LinearExpr.weighted_sum([var[t, a] for a in here], [lat[a] for a in here])
        model.add(elapsed >= end)
        for f in shared:
            touching = [var[t, a] for a in touchers[f] if (t, a) in var]
            if not touching:
                continue
            touch = _any(model, touching)
            model.add(start >= written[f]).only_enforce_if(touch)
            writing = [var[t, a] for a in writers[f] if (t, a) in var]
            if writing:
                write = _any(model, writing)
                model.add(start >= used[f]).only_enforce_if(write)
                after_write = model.new_int_var(0, top, f"written{t}_{f}")
                model.add(after_write >= written[f])
                model.add(after_write >= end).only_enforce_if(write)
                written[f] = after_write
            after_use = model.new_int_var(0, top, f"used{t}_{f}")
            model.add(after_use >= used[f])
            model.add(after_use >= end).only_enforce_if(touch)
            used[f] = after_use
    return elapsed


def _any(model: Model, literals: list[IntVar]) -> IntVar:
    """A literal true exactly when one of `literals` is (at most one is, one action a step)."""
    if len(literals) == 1:
        return literals[0]
    either = model.new_bool_var("")
    model.add(either == LinearExpr.sum(literals))
    return either


def critical_units(g: Grounded, actions: Sequence[int]) -> int:
    """The critical path of the plan `actions` (grounded indices, in order), in the model's
    integer units: each step's latency rounded as the model rounds it."""
    latencies = [units(g.actions[a].latency) for a in actions]
    starts = schedule(latencies, waits([g.footprints[a] for a in actions]))
    return max((round(s) + lat for s, lat in zip(starts, latencies)), default=0)


class Tightened(SolutionCallback):  # type: ignore[misc]
    """Watches a solve minimising `elapsed × weight + steps`: times each plan found exactly
    (its critical path in place of the elapsed-time variable's value), keeps the best
    (`best`, first found among equals), and stops the solve once it meets CP-SAT's bound
    (`meets`), where CP-SAT would go on lowering a loose variable one unit a solution.

    Sound: the bound is no more than the objective of any plan the model holds, and the
    model holds this plan's steps ordered by start time at its exact objective (the order
    respects every wait, and the steps keep their meaning), so no plan is better.
    Deterministic: with one worker, the same solutions come in the same order.
    """

    def __init__(
        self,
        g: Grounded,
        elapsed: IntVar,
        weight: int,
        taken: Callable[[Solved], list[int]],
        least: int = 0,
    ) -> None:
        super().__init__()
        self._least = least
        self._g = g
        self._elapsed = elapsed
        self._weight = weight
        self._taken = taken
        self.best: tuple[float, list[int]] | None = None  # (exact objective, plan)

    def on_solution_callback(self) -> None:
        plan = self._taken(self)
        loose: int = self.value(self._elapsed)
        steps = self.objective_value - loose * self._weight  # the objective's other term
        exact = critical_units(self._g, plan) * self._weight + steps
        if self.best is None or exact < self.best[0]:
            self.best = (exact, plan)
        if self.meets(self.best_objective_bound):
            self.stop_search()

    def meets(self, bound: float) -> bool:
        """Whether the best plan found meets `bound` (CP-SAT's, now or when it is done) or
        `least`, a floor known before the solve (CP-SAT's bound, a float, can come out a
        unit below it on objectives of a hundred million)."""
        floor = max(bound, self._least)
        return self.best is not None and self.best[0] <= floor + 0.5  # integers, as floats
