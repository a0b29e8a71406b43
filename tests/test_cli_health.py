"""`ido health forget`: a mended provider's capability is planned as it declares again."""

from __future__ import annotations

import re
import time
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.health import Evidence
from ido.journal import SqliteJournal

runner = CliRunner()


def chosen(project: Path) -> str:
    """The payment step `ido plan ship-order` chooses."""
    result = runner.invoke(app, ["plan", "ship-order"])
    assert result.exit_code == 0, result.output
    return re.findall(r"^    \d\. (pay-[\w-]+) ", result.stdout, re.MULTILINE)[0]


def test_forgetting_a_mended_capability_plans_it_as_declared_again(project: Path) -> None:
    """An outage's failures beside as many successes before it held the belief at 0.5 for
    hours after the provider was mended, every run planned around it; forgotten, the
    next plan takes it again, and what was learnt of the others stays."""
    journal = project / ".ido" / "ido.db"
    now = time.time()
    with SqliteJournal(journal) as store:
        store.save_health(
            {
                "pay-cheap-eu": Evidence(2000.0, 2000.0, 0.8, now),
                "ship": Evidence(9.0, 1.0, 1.0, now),
            }
        )
    assert chosen(project) == "pay-pricey-eu"
    result = runner.invoke(app, ["health", "forget", "pay-cheap-eu"])
    assert result.exit_code == 0, result.output
    said = r"forgot pay-cheap-eu: 1,9\d\d(\.\d+)? failures and 1,9\d\d(\.\d+)? successes, the last "
    assert re.match(said, result.stdout), result.stdout  # as they count now, faded
    assert chosen(project) == "pay-cheap-eu"
    with SqliteJournal(journal) as store:
        assert set(store.health()) == {"ship"}


def test_a_capability_nothing_was_learnt_of_is_an_error_naming_those_learnt(
    project: Path,
) -> None:
    """A typo forgot nothing and said nothing: it names the one likely meant."""
    assert runner.invoke(app, ["health", "forget", "ship"]).exit_code == 2  # no journal yet
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        store.save_health({"pay-cheap-eu": Evidence(1.0, 3.0, None, time.time())})
    result = runner.invoke(app, ["health", "forget", "pay-cheap-e"])
    assert result.exit_code == 2
    assert "nothing learnt of pay-cheap-e in .ido/ido.db; did you mean 'pay-cheap-eu'?" in (
        result.stderr
    )
    result = runner.invoke(app, ["health", "forget", "ship"])
    assert "nothing learnt of ship in .ido/ido.db (learnt of: pay-cheap-eu)" in result.stderr
