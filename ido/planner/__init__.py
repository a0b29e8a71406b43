"""Planners: a narrow protocol and a registry of backends chosen by `spec.planner`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ido.errors import PlanningError
from ido.planner.types import PlanResult, Task


class Planner(Protocol):
    """Takes a Task, returns a PlanResult; no I/O, no clock, no randomness beyond a seed."""

    name: str

    def plan(self, task: Task) -> PlanResult: ...


def _cpsat() -> Planner:
    from ido.planner.cpsat import CpSatPlanner  # lazy: `ido validate` must not load ortools

    return CpSatPlanner()


def _search() -> Planner:
    from ido.planner.search import SearchPlanner

    return SearchPlanner()


PLANNERS: dict[str, Callable[[], Planner]] = {"cpsat": _cpsat, "search": _search}


def get_planner(name: str) -> Planner:
    """The planner registered under `name`."""
    if name not in PLANNERS:
        known = ", ".join(sorted(PLANNERS))
        raise PlanningError(
            f"planner '{name}' is not available in this version; use one of {known}"
        )
    return PLANNERS[name]()
