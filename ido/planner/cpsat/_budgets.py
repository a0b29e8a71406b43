"""Why `CpSatPlanner` gave up when CP-SAT and the search that was to settle or replace it
both ran out: what each spent, and how to give them more."""

from __future__ import annotations

from ido.errors import OutOfBudget

GIVE_MORE = (
    "a larger `limits.solve_time` or `limits.search_states` in the intent (or `ido plan "
    "--solve-time`, `--search-states`) gives them more room"
)
"""How CP-SAT and the search, both out of budget, are given more, said after what they spent."""


class BudgetsSpent(OutOfBudget):
    """CP-SAT ran out of time without a plan and the search out of states; `spent` says
    what each spent, `advice` what that suggests of the problem and how to give more."""

    def __init__(
        self,
        spent: str,
        advice: str = f"the catalog may be too large to plan within these limits: {GIVE_MORE}",
    ) -> None:
        super().__init__(spent, advice)


class RoundingUnsettled(OutOfBudget):
    """CP-SAT's plan breaks a limit by less than its rounding, and the search that was to
    settle the solve exactly ran out; `spent` is the search's."""

    def __init__(
        self,
        spent: str,
        advice: str = (
            "a larger `limits.search_states` in the intent (or `ido plan --search-states N`) "
            "lets it go further, or a limit set a little further from the plans' totals"
        ),
    ) -> None:
        super().__init__(spent, advice)

    def _said(self, spent: str, advice: str) -> str:
        return (
            "the plan CP-SAT found breaks a limit by less than its rounding, and the search "
            f"that was to settle it gave up (it {spent}); {advice}"
        )


class NumbersTooLarge(OutOfBudget):
    """A number is too large for CP-SAT's model, and the search that planned instead ran
    out; `spent` is the search's."""

    def __init__(
        self,
        spent: str,
        advice: str = (
            "smaller numbers in the catalog or policies, or a larger `limits.search_states` "
            "(`ido plan --search-states N`), let it plan"
        ),
    ) -> None:
        super().__init__(spent, advice)

    def _said(self, spent: str, advice: str) -> str:
        return (
            "a cost, latency, risk or weight is too large for CP-SAT's model (its sums are "
            f"64-bit integers of millionths), and the search gave up (it {spent}); {advice}"
        )
