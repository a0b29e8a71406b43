"""OR-Tools' CpModel as ido builds it; imported only when a CP-SAT model is built, so a
decision the exact search settles (`CpSatPlanner.search_first`) never loads OR-Tools.

This and `ido.planner.cpsat`'s `_solves` and `_encoding` are the only modules that import
OR-Tools (STYLE 4): `ido.planner.critical` takes what it needs from here."""

from __future__ import annotations

from typing import TypeAlias

from ortools.sat.python import cp_model
from ortools.sat.python.cp_model import IntVar, LinearExpr

SolutionCallback = cp_model.CpSolverSolutionCallback
Solved: TypeAlias = "cp_model.CpSolver | cp_model.CpSolverSolutionCallback"  # a solution's values

__all__ = ["IntVar", "LinearExpr", "Model", "SolutionCallback", "Solved"]


class Model(cp_model.CpModel):  # type: ignore[misc]
    """A CpModel without OR-Tools' pre-PEP 8 aliases, which ido never calls: the stock
    constructor wraps every `add_*`/`new_*` method in a camelCase one, about 0.4 ms a model,
    and a decision makes several (one per solve, by `clone`)."""

    def _add_pre_pep8_methods(self) -> None:
        return

    def clone(self) -> Model:
        copy = Model()
        copy.proto.copy_from(self.proto)
        copy.rebuild_constant_map()
        return copy
