"""What an exact replay says of the catalog and of the rejections when a decision diverges:
only what changed, read from what the run recorded of its catalog."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from ido.catalog_record import declaration_digest
from ido.cli import app
from ido.loading import load_catalog

runner = CliRunner()
NO_STRIPE = (
    "    - id: no-stripe\n      effect: deny\n"
    "      when: \"capability.provider == 'stripe'\"\n      message: Stripe is off.\n"
)

NO_CHEAPPAY = (
    "    - id: no-cheappay\n      effect: deny\n"
    "      when: \"capability.provider == 'cheappay'\"\n      message: Contract ended.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def add_rule(project: Path, rule: str, policy: str = "residency") -> None:
    path = project / "policies" / f"{policy}.yaml"
    path.write_text(path.read_text() + rule)


def test_a_rule_that_brings_a_capability_into_play_names_no_capability_added(
    example: Path,
) -> None:
    """The new rule denies refund-stripe-eu too, which no decision of the run had named:
    the replay said "the catalog has changed since the run: capabilities added:
    refund-stripe-eu", though the catalog was untouched. The run records its catalog now,
    so nothing is said of it."""
    assert ido("run", "fulfil-order")[0] == 0
    add_rule(example, NO_STRIPE, "eu-data-residency")
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "refund-stripe-eu: not rejected in the recording; now denied by" in out, out
    assert "catalog" not in out and "added" not in out, out


def test_the_recorded_catalog_names_a_change_no_decision_shows(project: Path) -> None:
    """pay-us is denied, so no plan step ever showed its cost: a changed cost is named from
    what the run recorded; a description, words for people, is no change."""
    assert ido("run", "ship-order")[0] == 0
    catalog = project / "capabilities" / "catalog.yaml"
    text = catalog.read_text().replace("cost: 0.10", "cost: 0.12")  # pay-us
    text = text.replace(
        "metadata: {name: ship}\nspec:\n",
        "metadata: {name: ship}\nspec:\n  description: Ships it.\n",
    )
    catalog.write_text(text)
    add_rule(project, NO_CHEAPPAY)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "the catalog has changed since the run: capabilities changed: pay-us\n" in out, out


def test_a_run_that_kept_no_catalog_says_what_its_decisions_tell_and_claims_no_addition(
    example: Path,
) -> None:
    """A run recorded before runs kept their catalog: a capability its decisions never
    named may have been there all along, and is said to be either."""
    code, out = ido("run", "fulfil-order")
    assert code == 0, out
    with sqlite3.connect(example / ".ido" / "ido.db") as db:  # as an older ido wrote it
        changed = db.execute(
            "UPDATE events SET data = json_remove(data, '$.catalog_digest') "
            "WHERE kind = 'run_started'"
        ).rowcount
    assert changed == 1
    add_rule(example, NO_STRIPE, "eu-data-residency")
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "capabilities added" not in out, out
    assert (
        "the run kept no copy of its catalog; named now, by no decision of the run: "
        "refund-stripe-eu (added since, or not in play then)\n"
    ) in out, out


def test_a_capability_rejected_again_for_one_more_reason_says_the_new_one_first(
    project: Path,
) -> None:
    """pay-us, denied by residency before, is now denied by a second rule too: the line
    read "denied by …: … EU only. in the recording; now denied by …: … EU only. (also
    denied by residency/no-uspay)", the old reason twice and "in the recording" as if part
    of the rule's message."""
    assert ido("run", "ship-order")[0] == 0
    add_rule(project, NO_CHEAPPAY.replace("cheappay", "uspay"))
    add_rule(project, NO_CHEAPPAY)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert (
        "  rejected: pay-us: now also denied by residency/no-uspay; recorded: denied by "
        "residency/pii-stays-in-eu: PII of EU customers is processed in the EU only.\n"
    ) in out, out


def test_a_declaration_digest_leaves_out_the_description_and_fields_at_their_defaults(
    project: Path,
) -> None:
    """A field ido adds later, left at its default, must not make every capability of an
    older run read as changed; nor does a description."""
    ship = load_catalog([project / "capabilities"]).capabilities["ship"]
    same = ship.model_copy(update={"spec": ship.spec.model_copy(update={"description": "x"})})
    assert declaration_digest(same) == declaration_digest(ship)
    cheaper = ship.model_copy(update={"spec": ship.spec.model_copy(update={"cost": 0.4})})
    assert declaration_digest(cheaper) != declaration_digest(ship)
    explicit = ship.model_copy(update={"spec": ship.spec.model_copy(update={"tags": []})})
    assert declaration_digest(explicit) == declaration_digest(ship)
