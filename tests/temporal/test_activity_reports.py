"""The report the activity `pursue` gives of a run as its journal stands (`_blocked`: a
run found ended, or still waiting), with no server: the journal's writes go to a list."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.temporal.forwarding import ForwardingJournal, Op
from ido.testing import StepClock

pytest.importorskip("temporalio", reason="temporalio is not installed (pip install .[dev])")

from ido.temporal.activity import _blocked  # (after the skip: it imports temporalio)


@pytest.mark.parametrize(
    ("max_cost", "outcome", "no_plan"), [("0.1", "failed", True), ("5.0", "achieved", False)]
)
def test_a_run_found_ended_is_reported_with_whether_it_found_no_plan(
    project: Path, max_cost: str, outcome: str, no_plan: bool
) -> None:
    """As the report of a run that ends in the attempt says (`RunReport.found_no_plan`):
    `ido run --temporal` exits 4 for a run that found no plan from it."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("max_cost: 5.0", f"max_cost: {max_cost}"))
    sent: list[Op] = []
    journal = ForwardingJournal(sent.append)
    catalog = load_catalog(["capabilities", "policies", "intents"])
    runtime = LocalRuntime(
        catalog, journal, base=project, clock=StepClock(), new_id=lambda _: "r-t"
    )
    ran = runtime.run(catalog.intents["ship-order"])
    assert (ran.outcome, ran.found_no_plan) == (outcome, no_plan)
    report = _blocked(journal, "r-t")
    assert (report["outcome"], report["found_no_plan"]) == (outcome, no_plan)
