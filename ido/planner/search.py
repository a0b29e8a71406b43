"""The search planner: optimal plans by A* over grounded states in plain Python
(`ido.planner.astar`), the reference for CP-SAT and its fallback, with its budgets."""

from __future__ import annotations

from ido.planner.astar import AStarSearch
from ido.planner.solving import Question, Solution, SolvingPlanner
from ido.planner.types import Plan, Task

COMPARED_PER_STATE = 200
"""Paths a new path may be checked against, per expansion allowed, before the search gives
up: each new path to a state is checked against every path kept to it (`compared` counts
those kept paths, an upper bound on the comparisons made). Under limits, one state can be
reached by thousands of paths that are each best on some sum, and checking against them,
not expanding, is then where the time goes: on a 1,000-capability catalog with a cost
limit, a deadline and a least success probability, 200 expansions took 3.4 s. The default
bound, 40 million, was reached in 5-22 s on such catalogs. Plain problems stay far below
it: driverlog p02 of the IPC set meets 0.3 million in its 51,000 expansions."""


class SearchPlanner(SolvingPlanner):
    """Optimal plans by A* search; gives up with a clear error past `max_states` expansions
    or `max_compared` paths checked against (see `COMPARED_PER_STATE`), whichever first.
    Unset, `max_states` is the task's (`limits.search_states`)."""

    name = "search"

    def __init__(self, *, max_states: int | None = None, max_compared: int | None = None) -> None:
        self.max_states = max_states
        self.max_compared = max_compared

    def budgets(self, task: Task) -> tuple[int, int]:
        """The expansions and the paths checked against that a solve of `task` may use."""
        states = task.search_states if self.max_states is None else self.max_states
        compared = states * COMPARED_PER_STATE if self.max_compared is None else self.max_compared
        return states, compared

    def parameters(self, task: Task) -> dict[str, object]:
        states, compared = self.budgets(task)
        return {"backend": "astar", "max_states": states, "max_compared": compared}

    def settle(
        self, asked: Question, paused: AStarSearch | None = None, most: int | None = None
    ) -> Solution | None:
        """The exact answer on a grounded task, for a backend that could not settle it;
        `paused`, a search of this same question that gave up on its expansions
        (`SearchGaveUp.paused`), goes on where it stopped instead of starting over. The
        budgets count from the start either way, so the answer is the same. With `under`
        (see `SolvingPlanner.solve`), the answer is exact below it: the best plan when one
        scores below, else None. `most`: the expansions the progress lines count against,
        when this search is the first part of one with a larger budget (`cpsat`'s search
        that goes first); by default its own budget."""
        if paused is None:
            paused = AStarSearch(asked)
        elif not paused.asked.same(asked):
            raise ValueError("a paused search goes on with its own question only")
        return paused.run(*self.budgets(asked.task), most)

    def _solve(self, asked: Question, near: Plan | None = None) -> Solution | None:
        return self.settle(asked)
