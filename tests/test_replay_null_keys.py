"""A run recorded by the ido before `has()` of a key that is null said false (it said
true, and a rule guarded by it failed on the null): its exact replay diverges under the
very policy it had, and says that this is why."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

BEFORE = Path(__file__).parent / "journal" / "has_null_before.sql"
"""`ido run ship-order` of the `project` fixture with `US_ONLY` for its residency rule, as
the ido before that change journaled it (`sqlite3 ido.db .dump`): the rule failed on
`ship`, which has no region, so it denied it, and no plan was left."""
PII = "'pii' in capability.tags && state.order.region == 'eu' && capability.region != 'eu'"
US_ONLY = "has(capability.region) && capability.region.startsWith('us')"


def _recorded_before(project: Path) -> None:
    policy = (project / "policies/residency.yaml").read_text()
    (project / "policies/residency.yaml").write_text(policy.replace(PII, US_ONLY))
    (project / ".ido").mkdir()
    with sqlite3.connect(project / ".ido/ido.db") as db:
        db.executescript(BEFORE.read_text())


def test_an_exact_replay_of_a_run_before_has_of_null_was_false_says_why_it_diverges(
    project: Path,
) -> None:
    """It said only that `ship` was now not rejected, under a policy that had not
    changed: as if the replay were wrong."""
    _recorded_before(project)
    result = CliRunner().invoke(app, ["replay", "last"])
    assert result.exit_code == 1, result.output
    assert "diverged at decision 1" in result.output
    assert "policies edited since" not in result.output
    assert (
        "rule residency/pii-stays-in-eu judges ship otherwise under the policy the run had: "
        "it reads has(capability.region), which this ido takes as false when the key is null "
        "(not set); the ido that recorded the run took it as true, and the rule went on to "
        "read the null"
    ) in result.output, result.output


def test_a_rule_edited_since_is_not_explained_so(project: Path) -> None:
    _recorded_before(project)
    policy = (project / "policies/residency.yaml").read_text()
    (project / "policies/residency.yaml").write_text(policy.replace("'us'", "'uk'"))
    result = CliRunner().invoke(app, ["replay", "last"])
    assert "policies edited since the run: residency" in result.output, result.output
    assert "which this ido takes as false" not in result.output
