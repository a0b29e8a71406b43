"""Planners: a narrow protocol and a registry of backends chosen by `spec.planner`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ido.errors import PlanningError
from ido.planner.types import PlanResult, Task

if TYPE_CHECKING:
    from ido.model import LlmSettings


class Planner(Protocol):
    """Takes a Task, returns a PlanResult; no clock, no randomness beyond a seed. The
    solvers do no I/O; `llm` and `hybrid` ask a model, and record every answer so that
    replay can give the same answers back."""

    name: str

    def plan(self, task: Task) -> PlanResult: ...


def _cpsat(**_: Any) -> Planner:
    from ido.planner.cpsat import CpSatPlanner  # lazy: `ido validate` must not load ortools

    return CpSatPlanner()


def _search(**_: Any) -> Planner:
    from ido.planner.search import SearchPlanner

    return SearchPlanner()


def _llm(**options: Any) -> Planner:
    from ido.planner.llm import LlmPlanner

    return LlmPlanner(**options)


def _hybrid(**options: Any) -> Planner:
    from ido.planner.llm import HybridPlanner

    return HybridPlanner(**options)


PLANNERS: dict[str, Callable[..., Planner]] = {
    "cpsat": _cpsat,
    "search": _search,
    "llm": _llm,
    "hybrid": _hybrid,
}


def get_planner(
    name: str,
    *,
    settings: LlmSettings | None = None,
    cache: Any = None,
    client: Any = None,
) -> Planner:
    """The planner registered under `name`; the model planners take the intent's `llm`
    settings, a cache of answers and (in tests and replay) a client."""
    if name not in PLANNERS:
        known = ", ".join(sorted(PLANNERS))
        raise PlanningError(
            f"planner '{name}' is not available in this version; use one of {known}"
        )
    if name in ("llm", "hybrid"):
        return PLANNERS[name](settings=settings, cache=cache, client=client)
    return PLANNERS[name]()
