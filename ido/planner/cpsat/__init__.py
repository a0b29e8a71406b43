"""The CP-SAT planner: a layered finite-domain encoding solved by OR-Tools, deterministically.

`_planner` holds `CpSatPlanner`, which settles a solve without a model when it can
(`_budgets`: why it gave up when CP-SAT and the search both ran out); `_solves` its solves
on the model; `_encoding` the model of a horizon; `_shortcuts` the plans and checks worked
out without one. Importing the package does not load OR-Tools.
"""

from ido.planner.cpsat._budgets import BudgetsSpent, NumbersTooLarge, RoundingUnsettled
from ido.planner.cpsat._planner import SMALL, CpSatPlanner
from ido.planner.cpsat._solves import wall_limit

__all__ = [
    "SMALL",
    "BudgetsSpent",
    "CpSatPlanner",
    "NumbersTooLarge",
    "RoundingUnsettled",
    "wall_limit",
]
