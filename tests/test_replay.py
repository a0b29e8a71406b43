"""Exact replay: every recorded decision re-decided from its recorded inputs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import JournalError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.replay.exact import replay_exact
from ido.scenario.runner import load_scenarios, run_scenario

ROOT = Path(__file__).resolve().parents[1]
CATALOG = [ROOT / d for d in ("intents", "capabilities", "policies")]
runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_run_with_a_failure_and_a_replan_replays_identically(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last")
    assert code == 0, out
    assert "identical: 2 decision(s)" in out


def test_a_run_whose_intent_has_sub_millisecond_durations_replays_identically(
    project: Path,
) -> None:
    """The recorded intent keeps every digit of a duration: a solve time of 1.2345 s is
    1.2345 s again in the replay (it was recorded as 1.234 s, and the replay diverged)."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {solve_time: 1.2345s, backoff: 0.4ms}\n")
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last")
    assert code == 0, out
    assert "identical: 1 decision(s)" in out


def test_a_later_run_that_starts_from_learnt_beliefs_replays_identically(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 2 plans with what run 1 learnt; its replay uses the beliefs recorded at its start."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    ido("run", "ship-order")
    monkeypatch.delenv("FAKESVC_FAIL")
    ido("run", "ship-order")
    code, out = ido("replay", "last")
    assert code == 0, out


def end_cheappay(project: Path) -> None:
    """Edit the residency policy after a run: cheappay's contract ended (denied)."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: no-cheappay\n      effect: deny\n"
        + "      when: \"capability.provider == 'cheappay'\"\n      message: Contract ended.\n"
    )


def test_a_changed_policy_shows_the_first_divergence_side_by_side(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ido("run", "ship-order")[0] == 0
    end_cheappay(project)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "diverged at decision 1 of run" in out
    assert "result.plan" in out
    assert "recorded: pay-cheap-eu → ship" in out
    assert "replayed: pay-pricey-eu → ship" in out
    assert "the catalog has changed" not in out  # a policy changed, not a capability
    assert "policies edited since the run: residency\n" in out  # by its recorded digest


def test_an_enforced_policy_left_as_it_was_is_not_named_edited(project: Path) -> None:
    """A policy enforced on every intent, unchanged since the run, is not named edited:
    the replay compared its digest with the policy as it applies it (enforced: false, as
    each decision lists it), and named every enforced policy edited at every divergence."""
    (project / "policies" / "house.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: house}\nspec:\n"
        "  enforced: true\n  rules:\n    - id: no-oci\n      effect: deny\n"
        "      when: \"capability.provider == 'oci'\"\n      message: No OCI.\n"
    )
    assert ido("run", "ship-order")[0] == 0
    end_cheappay(project)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "policies edited since the run: residency\n" in out


def test_a_policy_edited_since_is_named_though_every_decision_chose_the_same(
    project: Path,
) -> None:
    """An auditor asks whether a run was made under the policies as they stand: a policy
    edited since in a way this run does not feel (a rule added for another provider) was
    not named, and the replay read "identical" as if nothing had changed."""
    assert ido("run", "ship-order")[0] == 0
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: no-acme\n      effect: deny\n"
        + "      when: \"capability.provider == 'acme'\"\n      message: Contract ended.\n"
    )
    code, out = ido("replay", "last")
    assert code == 0, out
    assert out.startswith("identical: 1 decision(s)"), out
    assert "policies edited since the run: residency (the decisions were made under " in out


def test_an_exact_replay_names_no_policy_the_run_kept_no_digest_of(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run recorded before decisions kept their policies' digests tells no edited policy
    (rather than every one): it still diverges, with the rest of what it says."""
    assert ido("run", "ship-order")[0] == 0
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        journal._db.execute(  # as an older ido wrote it
            "UPDATE events SET data = json_remove(data, '$.policy_digests') WHERE run_id = ?",
            (row.id,),
        )
        journal._db.commit()
    end_cheappay(project)
    code, out = ido("replay", "last")
    assert code == 1 and "replayed: pay-pricey-eu → ship" in out, out
    assert "policies edited" not in out


def new_capability(name: str) -> str:
    return (
        f"---\napiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n"
        "  provider: newpay\n  region: eu\n  tags: [payments, pii]\n"
        '  requires: ["!state.order.paid"]\n  effects: {order.paid: true}\n  cost: 0.90\n'
        '  run: {python: "fakesvc.impl:call"}\n'
    )


def test_an_exact_replay_that_diverges_on_a_changed_catalog_says_how_it_changed(
    project: Path,
) -> None:
    """It said only "fields that differ: result.rejections", with no hint that capabilities
    had been added, removed and changed since the run: the journal's decisions tell which."""
    assert ido("run", "ship-order")[0] == 0
    catalog = project / "capabilities" / "catalog.yaml"
    text = catalog.read_text().replace("cost: 0.30", "cost: 0.35")  # pay-cheap-eu
    text = text.replace("metadata: {name: pay-us}", "metadata: {name: pay-us-2}")
    catalog.write_text(text + new_capability("pay-new-eu"))
    code, out = ido("replay", "last")
    assert code == 1, out
    assert (
        "the catalog has changed since the run: capabilities added: pay-new-eu, pay-us-2; "
        "removed: pay-us; changed: pay-cheap-eu"
    ) in out


def test_a_long_list_of_catalog_changes_is_cut(project: Path) -> None:
    """Five names of each kind of change at most, and `, …` for the rest."""
    assert ido("run", "ship-order")[0] == 0
    catalog = project / "capabilities" / "catalog.yaml"
    names = [f"pay-new-{n}" for n in range(7)]
    catalog.write_text(catalog.read_text() + "".join(new_capability(n) for n in names))
    code, out = ido("replay", "last")
    assert code == 1, out
    assert f"capabilities added: {', '.join(names[:5])}, …\n" in out


def test_a_resumed_run_replays_identically(project: Path) -> None:
    """Replay crosses a resume: the beliefs stored at the resume are its starting point."""
    from tests.runtime.test_resume import ido as ido_process
    from tests.runtime.test_resume import make_project

    shop = make_project(project / "shop")
    ido_process(shop, "run", "deliver", IDO_CRASH_AFTER_EVENTS="5")
    assert ido_process(shop, "resume", "last").returncode == 0
    replayed = ido_process(shop, "replay", "last")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "identical" in replayed.stdout


def test_a_counterfactual_of_a_resumed_run_leaves_out_the_decision_made_on_resuming(
    project: Path,
) -> None:
    """Decisions were paired by position: the recorded "resumed after an interruption"
    one, which the uninterrupted replay never makes, showed as a change, and so did every
    decision after it. (Killed once both first steps ended: killed with charge in flight,
    which the resume finds not done, the replay replans after that call too, and the
    decision is paired: `tests/test_replay_cut.py`.)"""
    from tests.runtime.test_resume import ido as ido_process
    from tests.runtime.test_resume import make_project

    shop = make_project(project / "shop")
    ido_process(shop, "run", "deliver", IDO_CRASH_AFTER_EVENTS="7")
    assert ido_process(shop, "resume", "last").returncode == 0
    replayed = ido_process(shop, "replay", "last", "--catalog", "capabilities")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "changes" not in replayed.stdout and "decision 1: same choice" in replayed.stdout
    assert (
        "(1 recorded decision(s) made on resuming, going on with the plan before them, left out"
        in (replayed.stdout)
    )


@pytest.mark.parametrize("file", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_replays_identically(file: Path) -> None:
    """Outages, silent failures, a policy switched on mid-run, compensation: all re-decided."""
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    events = result.journal.events(result.report.run_id)
    replay = replay_exact(result.report.run_id, events, catalog)
    assert replay.divergence is None, replay.divergence
    assert replay.worded == (), replay.worded  # the same ido words them the same, too
    assert replay.decisions == sum(1 for e in events if e.kind == "decided")


def test_a_journal_without_decision_inputs_cannot_be_replayed_exactly(project: Path) -> None:
    ido("run", "ship-order")
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        run_id = store.resolve("last")
        events = store.events(run_id)
    for event in events:
        event.data.pop("now", None)
    with pytest.raises(JournalError, match="did not keep every input of a decision"):
        replay_exact(run_id, events, load_catalog(["capabilities", "policies", "intents"]))


def test_replaying_an_unknown_run_is_a_clear_error(project: Path) -> None:
    ido("run", "ship-order")
    code, out = ido("replay", "r-nope")
    assert code == 2
    assert "run 'r-nope' not found" in out


def test_an_exact_replay_without_a_capability_the_run_used_says_where_to_run_it(
    project: Path,
) -> None:
    """The advice was "(--catalog)", which makes the replay a counterfactual one."""
    ido("run", "ship-order")
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("name: ship}", "name: ship-now}"))
    code, out = ido("replay", "last")
    assert code == 2, out
    assert "used ship, not in this catalog" in out
    assert (
        "run it in the folder that holds that catalog (--journal naming this journal; --exact"
        in out
    )
    assert "or see what changes without them with a counterfactual replay (--catalog PATH)" in out


def test_an_exact_replay_without_an_enforced_policy_names_the_decision_not_the_intent(
    project: Path,
) -> None:
    """It said "intent ship-order is governed by policy 'enforced-one' … (or pass
    --catalog)": the intent never names it, and --catalog makes the replay another kind."""
    (project / "policies" / "enforced-one.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: enforced-one}\nspec:\n"
        "  enforced: true\n  rules:\n    - {id: meh, effect: avoid, weight: 0.1, "
        "when: \"capability.provider == 'carrier'\", message: meh}\n"
    )
    assert ido("run", "ship-order")[0] == 0
    (project / "policies" / "enforced-one.yaml").unlink()
    code, out = ido("replay", "last")
    assert code == 2, out
    assert "decision 1 of run r" in out and "made under policy 'enforced-one'" in out
    assert "counterfactual replay (--policies DIR)" in out and "governed" not in out


# --- counterfactual ----------------------------------------------------------------------

DENY_PRICEY = (
    "    - id: no-priceypay\n      effect: deny\n"
    "      when: \"capability.provider == 'priceypay'\"\n      message: Contract ended.\n"
)


def strict_policies(project: Path) -> Path:
    folder = project / "strict"
    folder.mkdir()
    text = (project / "policies" / "residency.yaml").read_text()
    (folder / "residency.yaml").write_text(text + DENY_PRICEY)
    return folder


def test_a_counterfactual_policy_changes_the_replan_and_the_outcome(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cheappay failed and the run fell back on priceypay; had priceypay been denied, the
    replan finds no plan, and the replay says which decision changes and how it ends."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    monkeypatch.delenv("FAKESVC_FAIL")
    calls_before = (project / "calls.log").read_text()
    code, out = ido("replay", "last", "--policies", str(strict_policies(project)))
    assert code == 0, out
    assert "decision 1: same choice" in out
    assert "decision 2 changes:" in out
    assert "recorded: step 1 pay-cheap-eu failed" in out and "→ pay-pricey-eu → ship" in out
    assert (
        "now: step 1 pay-cheap-eu failed: RuntimeError: cheappay is down → no plan with success"
        in out
    )
    assert "outcome: achieved → failed" in out
    assert "cost: 1.60 → 0.30" in out
    assert "unknown outcomes" not in out
    assert (project / "calls.log").read_text() == calls_before  # nothing was called for real


def test_a_counterfactual_with_the_same_inputs_changes_nothing(project: Path) -> None:
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert code == 0, out
    assert "changes" not in out
    assert "outcome: achieved → achieved" in out


def test_a_counterfactual_of_a_run_its_deadline_cut_short_fails_as_it_did(project: Path) -> None:
    """Its call stopped at the deadline, the run failed; replayed with the same inputs it
    "achieved": the cut call was taken for one never made, assumed to succeed."""
    (project / "fakesvc" / "slow.py").write_text(
        "import time\n\n\ndef call(ctx):\n    time.sleep(2)\n"
    )
    (project / "capabilities" / "slow-step.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: slow-step}\nspec:\n"
        "  provider: p\n  effects: {job.done: true}\n  latency: 100ms\n"
        "  run: {python: 'fakesvc.slow:call'}\n"
    )
    (project / "intents" / "job.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: job}\nspec:\n"
        "  goal: ['state.job.done']\n  constraints: {deadline: 300ms}\n"
    )
    code, out = ido("run", "job")
    assert code == 1 and "stopped at the deadline" in out, out
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert "outcome: failed → failed" in out, out
    assert "assumed to succeed" not in out


GATE = (
    "    - id: big-spend\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
)


@pytest.mark.parametrize(("verdict", "outcome"), [("approve", "achieved"), ("reject", "failed")])
def test_a_counterfactual_gives_the_verdicts_the_recording_gave(
    project: Path, verdict: str, outcome: str
) -> None:
    """The replay stopped at the approval the recorded run waited for ("achieved →
    blocked", decision 2 "no such decision"); it now gives the recorded verdict and
    resumes, as the run did."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + GATE)
    assert ido("run", "ship-order")[0] == 3
    assert ido(verdict, "last", "--by", "alice", "--comment", "checked")[0] == 0
    assert ido("resume", "last")[1].count(outcome) >= 1
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert code == 0, out
    assert "changes" not in out and "decision 1: same choice" in out, out
    # Approved, both decided again on resuming, going on with the plan: not compared, and
    # not said to be left out, as both did so; rejected, the run failed without deciding.
    assert "decision 2" not in out and "left out" not in out, out
    assert f"outcome: {outcome} → {outcome}" in out


def test_a_counterfactual_starts_from_the_beliefs_the_run_started_with(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 2 paid with priceypay after run 1 saw cheappay fail; its counterfactual replay,
    nothing changed, planned from the declared reliabilities and "changed" to cheappay."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    ido("run", "ship-order")
    monkeypatch.delenv("FAKESVC_FAIL")
    code, out = ido("run", "ship-order")
    assert "decision 1 (run started): pay-pricey-eu → ship" in out, out
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert code == 0 and "decision 1: same choice" in out and "changes" not in out, out


def test_a_counterfactual_resumes_with_the_beliefs_the_recorded_resume_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the run waited for approval, other runs saw cheappay fail; resumed, it paid
    with priceypay. Its counterfactual resumed with the beliefs of the run's start, and
    paid with cheappay: a change with nothing changed."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  rules:\n" + GATE)
    (project / "intents" / "pay-only.yaml").write_text(
        intent.read_text()
        .replace("name: ship-order", "name: pay-only")
        .replace(', "state.order.shipped"]', "]")
        .split("  rules:")[0]
    )
    assert ido("run", "ship-order")[0] == 3
    gated = ido("runs", "--format", "json")[1]
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    ido("run", "pay-only")
    ido("run", "pay-only")
    monkeypatch.delenv("FAKESVC_FAIL")
    run_id = json.loads(gated)[0]["id"]
    assert ido("approve", run_id, "--by", "alice")[0] == 0
    code, out = ido("resume", run_id)  # another plan now: asked again
    assert code == 3 and "decision 2 (resumed after waiting for approval): pay-pricey-eu" in out
    assert ido("approve", run_id, "--by", "alice")[0] == 0
    assert ido("resume", run_id)[0] == 0
    code, out = ido("replay", run_id, "--catalog", "capabilities")
    assert code == 0 and "changes" not in out and "decision 2: same choice" in out, out


def test_calls_the_recording_never_made_are_named_as_unknown(project: Path) -> None:
    """Denying cheappay up front sends the new run to priceypay, which the recording never
    called: its outcome is unknown, assumed as declared, and the replay says so."""
    folder = project / "strict"
    folder.mkdir()
    text = (project / "policies" / "residency.yaml").read_text()
    (folder / "residency.yaml").write_text(text + DENY_PRICEY.replace("priceypay", "cheappay"))
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last", "--policies", str(folder))
    assert code == 0, out
    assert "decision 1 changes:" in out
    assert "unknown outcomes: the recording never called pay-pricey-eu" in out
    # Its 500ms is no recorded duration: the time line said only "the recorded calls'
    # durations", as though the replay's time were all recorded.
    assert (
        "(the recorded calls' durations, and the latencies taken for calls the recording "
        "never made, on a virtual clock)"
    ) in out, out
    code, out = ido("replay", "last", "--policies", "policies")
    assert "(the recorded calls' durations, on a virtual clock)" in out, out


def test_a_call_the_recording_never_made_takes_the_latency_learnt_of_it(project: Path) -> None:
    """priceypay is declared at 500ms but its calls took 3s: a replay that sends the run
    there times its call at the latency the planner had learnt (from the history the run
    started with), not the declared one, and says which it used."""
    import re
    import time

    from ido.health import Evidence

    with SqliteJournal(project / ".ido" / "ido.db") as store:
        store.save_health({"pay-pricey-eu": Evidence(5.0, 0.0, 3.0, time.time())})
    folder = project / "strict"
    folder.mkdir()
    text = (project / "policies" / "residency.yaml").read_text()
    (folder / "residency.yaml").write_text(text + DENY_PRICEY.replace("priceypay", "cheappay"))
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last", "--policies", str(folder))
    assert code == 0, out
    # (4 declared calls at 0.5s and 5 learnt at 3s, averaged: 1.89s)
    said = re.search(r"never called pay-pricey-eu, timed at its learnt latency (\S+);", out)
    assert said is not None, out
    assert said.group(1).startswith("1.88"), out
    # the replay's time is that call's and the recorded ship's (milliseconds)
    replayed = re.search(r"\(wall\) → ([\d.]+)s \(", out)
    assert replayed is not None and 1.88 < float(replayed.group(1)) < 2.5, out


def test_a_counterfactual_intent_file(project: Path) -> None:
    """The same world under a tighter budget: the recorded plan no longer fits."""
    assert ido("run", "ship-order")[0] == 0
    (project / "what-if").mkdir()
    tight = project / "what-if" / "ship-order.yaml"
    tight.write_text(
        (project / "intents" / "ship-order.yaml")
        .read_text()
        .replace("max_cost: 5.0", "max_cost: 0.5")
    )
    code, out = ido("replay", "last", "--intent", str(tight))
    assert code == 0, out
    assert "outcome: achieved → failed (no plan within max_cost 0.50" in out
    code, out = ido("replay", "last", "--intent", str(tight.parent))  # "no such intent file"
    assert code == 2 and "what-if is a folder; --intent names one intent file" in out, out
    # Another intent altogether was replayed against the recording, without a word.
    other = project / "what-if" / "other.yaml"
    other.write_text(tight.read_text().replace("name: ship-order", "name: other"))
    code, out = ido("replay", "last", "--intent", str(other))
    assert code == 2 and "pursued intent ship-order; --intent gives other" in out, out


def test_a_replay_reads_policies_kept_in_intents_beside_the_intent(project: Path) -> None:
    """The loader takes any kind from any folder: a policy in an intent's file is found."""
    policy = project / "policies" / "residency.yaml"
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "---\n" + policy.read_text())
    policy.unlink()
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last")
    assert code == 0 and "identical: " in out, out


def test_a_counterfactual_without_a_policy_the_runs_intent_names_says_so(
    project: Path,
) -> None:
    """The intent's file is gone since (or elsewhere): the recorded intent names the policy."""
    assert ido("run", "ship-order")[0] == 0
    (project / "intents" / "ship-order.yaml").unlink()
    (project / "none").mkdir()
    policy = (project / "policies" / "residency.yaml").read_text()
    (project / "none" / "other.yaml").write_text(
        policy.replace("{name: residency}", "{name: other}")
    )
    code, out = ido("replay", "last", "--policies", str(project / "none"))
    assert code == 2, out
    assert "intent ship-order is governed by policy 'residency', which the replay's" in out
    assert "Traceback" not in out


# --- scenario runs kept in a journal -----------------------------------------------------


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(ROOT)
    return tmp_path / "scenarios.db"


def test_a_kept_scenario_run_replays_exactly_and_never_teaches_real_beliefs(
    in_root: Path,
) -> None:
    code, out = ido(
        "scenario", "run", "-q", "scenarios/stripe-outage.yaml", "--journal", str(in_root)
    )
    assert code == 0, out
    code, out = ido("replay", "last", "--journal", str(in_root))
    assert code == 0, out
    assert "identical: 2 decision(s)" in out
    with SqliteJournal(in_root) as store:
        assert store.health() == {}  # a simulated outage is not evidence about Stripe


def without_adyen(tmp_path: Path) -> Path:
    """The shipped policies, with a rule that denies Adyen."""
    strict = tmp_path / "strict"
    strict.mkdir()
    for policy in (ROOT / "policies").glob("*.yaml"):
        (strict / policy.name).write_text(policy.read_text())
    (strict / "eu-data-residency.yaml").write_text(
        (strict / "eu-data-residency.yaml").read_text()
        + "    - id: no-adyen\n      effect: deny\n"
        + "      when: \"capability.provider == 'adyen'\"\n      message: Contract ended.\n"
    )
    return strict


def test_a_counterfactual_of_a_scenario_run_draws_unrecorded_calls_from_its_world(
    in_root: Path, tmp_path: Path
) -> None:
    """With Adyen denied, the replan tries other calls: the scenario's model answers them
    (Stripe is still down), so no outcome is unknown."""
    ido("scenario", "run", "-q", "scenarios/stripe-outage.yaml", "--journal", str(in_root))
    strict = without_adyen(tmp_path)
    code, out = ido("replay", "last", "--journal", str(in_root), "--policies", str(strict))
    assert code == 0, out
    assert "decision 2 changes:" in out
    assert "outcome: achieved → failed" in out
    assert "unknown outcomes" not in out


ONCE = """\
apiVersion: ido/v1
kind: Scenario
metadata: {name: once}
spec:
  intent:
    given: {order: {id: "1", amount: 40.0, region: eu}}
    goal: ["state.order.paid", "state.order.shipped", "state.customer.notified"]
    constraints: {max_cost: 5.0}
    objective: {cost: 1.0, risk: 20.0}
    policies: [eu-data-residency]
  faults:
    - {capability: charge-stripe-eu, fail_next: 1}
  expect: {outcome: achieved}
"""


LATE = """\
apiVersion: ido/v1
kind: Scenario
metadata: {name: late}
spec:
  intent:
    given: {order: {id: '9', region: eu}}
    goal: ['state.order.paid']
    policies: [eu-data-residency]
    rules:
      - {id: ask, effect: require_approval, when: 'true', message: ask, expires: 30m}
  approvals: [{rule: 'intent:late/ask', after: 45m}]
  expect: {outcome: failed, reason: expired unanswered}
"""


def test_a_counterfactual_of_a_scenario_run_resumes_when_the_recording_did(in_root: Path) -> None:
    """The finance approval came 20 minutes on: the replay gave it again and waited as
    long, in the minutes `ido runs` shows the run's time in ("time: 20m4s → 20m4s")."""
    ido("scenario", "run", "-q", "scenarios/large-order-approved.yaml", "--journal", str(in_root))
    code, out = ido("replay", "last", "--journal", str(in_root), "--policies", "policies")
    assert code == 0, out
    assert "outcome: achieved → achieved" in out
    assert "time: 20m4s (virtual) → 20m4s (the recorded calls' durations, and the waits" in out


def test_a_counterfactual_of_a_run_whose_wait_ran_out_fails_as_it_did(
    in_root: Path, tmp_path: Path
) -> None:
    """Nobody answered within the request's 30 minutes and the run failed; its replay,
    having no verdict to give, stayed blocked ("failed → blocked", "time: 30m → 0ms")."""
    (tmp_path / "late.yaml").write_text(LATE)
    ido("scenario", "run", "-q", str(tmp_path / "late.yaml"), "--journal", str(in_root))
    code, out = ido("replay", "last", "--journal", str(in_root), "--policies", "policies")
    assert code == 0, out
    assert "outcome: failed → failed (the approval of charge-stripe-eu" in out, out
    assert "time: 30m (virtual) → 30m" in out, out


def test_a_counterfactual_without_a_policy_a_scenario_fault_switches_on_says_so(
    in_root: Path, tmp_path: Path
) -> None:
    """The replay "failed" with a catalog error, printed as the what-if's outcome (exit 0),
    where a policy the intent names missing is refused up front."""
    ido("scenario", "run", "-q", "scenarios/payments-frozen.yaml", "--journal", str(in_root))
    lacking = without_adyen(tmp_path)
    (lacking / "payments-freeze.yaml").unlink()
    code, out = ido("replay", "last", "--journal", str(in_root), "--policies", str(lacking))
    assert code == 2, out
    assert "whose faults switch on policy 'payments-freeze', which the replay's" in out


def test_a_counterfactual_intent_naming_another_planner_plans_with_it(project: Path) -> None:
    """The replay planned with the planner the run had, whatever `--intent` named: a search
    given two states, which fails for real, came out "same choice, achieved"."""
    assert ido("run", "ship-order")[0] == 0
    (project / "what-if").mkdir()
    narrow = project / "what-if" / "ship-order.yaml"
    narrow.write_text(
        (project / "intents" / "ship-order.yaml")
        .read_text()
        .replace("spec:\n", "spec:\n  planner: search\n  limits: {search_states: 1}\n", 1)
    )
    code, out = ido("replay", "last", "--intent", str(narrow))
    assert code == 0, out
    assert "outcome: achieved → failed" in out and "search expanded 1 state" in out, out


def test_a_counterfactual_of_a_scenario_run_does_not_fail_a_scripted_failure_twice(
    in_root: Path, tmp_path: Path
) -> None:
    """Stripe fails once (`fail_next: 1`) and the run pays with Adyen. With Adyen denied,
    the replan pays with Stripe again, a call past the recording: the world failed it a
    second time, as if the recorded failure had not used up the scripted one."""
    (tmp_path / "once.yaml").write_text(ONCE)
    assert (
        ido("scenario", "run", "-q", str(tmp_path / "once.yaml"), "--journal", str(in_root))[0] == 0
    )
    strict = without_adyen(tmp_path)
    code, out = ido("replay", "last", "--journal", str(in_root), "--policies", str(strict))
    assert code == 0, out
    assert "now: step 2 charge-stripe-eu failed" in out and "→ charge-stripe-eu →" in out, out
    assert "step 3 charge-stripe-eu failed" not in out and "decision 3" not in out, out
    assert "outcome: achieved → achieved" in out
    assert "time: 6.3s (virtual) → " in out  # both virtual: it said the recorded was "wall"


def test_a_scenario_run_cannot_be_resumed_for_real(in_root: Path) -> None:
    """Resuming would call real bindings for a simulated run: refused."""
    from ido.runtime.local import LocalRuntime

    ido("scenario", "run", "-q", "scenarios/stripe-outage.yaml", "--journal", str(in_root))
    with SqliteJournal(in_root) as store:
        run_id = store.resolve("last")
        # as if the process had died: the run has no end
        store._db.execute("UPDATE runs SET outcome=NULL WHERE id=?", (run_id,))
        runtime = LocalRuntime(load_catalog(CATALOG), store, base=ROOT)
        with pytest.raises(
            Exception, match="ran in the simulated world of scenario 'stripe-outage'"
        ):
            runtime.resume(run_id)


def test_two_no_plans_for_different_reasons_are_a_change() -> None:
    """Both sides "no plan" counted as the same choice, whatever stood in the way; what
    stands in the way is compared, not the words."""
    from ido.scenario.counterfactual import Changed, Counterfactual

    def no_plan(reason: str, blocking: list[str]) -> dict[str, object]:
        result = {"status": "infeasible", "reason": reason, "blocking": blocking}
        return {"trigger": "run started", "result": result}

    pairs = (
        Changed(1, no_plan("freeze/all", ["freeze/all"]), no_plan("max_cost", ["max_cost"])),
        Changed(  # the same in the way: the words differ in what is left of the deadline
            2,
            no_plan("no plan within deadline 27.6s", ["deadline"]),
            no_plan("no plan within deadline 29.9s", ["deadline"]),
        ),
    )
    replay = Counterfactual("failed", "failed", None, 0.0, 0.0, 0.0, 0.0, pairs, ())
    assert [d.number for d in replay.changed] == [1]


def test_a_run_on_a_catalog_given_with_catalog_replays_exactly_with_exact(
    project: Path,
) -> None:
    """`--catalog` alone makes a replay a counterfactual, and without it the capabilities
    of a catalog kept elsewhere are not there: such a run had no exact replay at all."""
    (project / "elsewhere").mkdir()
    (project / "capabilities").rename(project / "elsewhere" / "capabilities")
    assert ido("run", "ship-order", "--catalog", "elsewhere")[0] == 0
    code, out = ido("replay", "last")
    assert code == 2 and "--exact --catalog PATH" in out, out
    code, out = ido("replay", "last", "--exact", "--catalog", "elsewhere")
    assert code == 0 and out.startswith("identical: 1 decision(s)"), out
    code, out = ido("replay", "last", "--exact", "--policies", "policies")
    assert code == 2 and "give one or the other" in out, out


HOLD = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: prep}
spec:
  provider: wh
  effects: {x.prep: true}
  cost: 0.1
  run: {shell: ["python3", "prep.py"]}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: prep-by-hand}
spec:
  provider: desk
  effects: {x.prep: true}
  cost: 0.5
  run: {shell: ["true"]}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pay-a}
spec:
  provider: pa
  requires: ["state.x.prep", "!state.x.hold"]
  effects: {x.paid: true}
  cost: 1.0
  run: {shell: ["true"]}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pay-b}
spec:
  provider: pb
  requires: ["state.x.prep"]
  effects: {x.paid: true}
  cost: 2.0
  run: {shell: ["true"]}
---
apiVersion: ido/v1
kind: Observer
metadata: {name: hold}
spec: {file: ../hold.json}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: go}
spec:
  given: {x: {hold: false}}
  goal: ["state.x.paid"]
  observers: [hold]
"""


def test_a_counterfactual_replays_what_observers_saw_move_after_a_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`prep` puts a hold on the order, which an observer reports: the run replanned from
    `pay-a` to `pay-b`. The replay's world moved only by declared effects, so a what-if
    with nothing changed said "decision 2 changes", cost 2.10 → 1.10."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "all.yaml").write_text(HOLD)
    (tmp_path / "hold.json").write_text("{}")
    (tmp_path / "prep.py").write_text("open('hold.json', 'w').write('{\"x\": {\"hold\": true}}')")
    code, out = ido("run", "go", "--catalog", "capabilities", "--quiet")
    assert code == 0 and "cost 2.10" in out, out
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert code == 0 and "changes" not in out and "cost: 2.10 → 2.10" in out, out
    assert "not replayed" not in out, out
    # Without prep, the hold never comes, and the replay says what it did not replay.
    (tmp_path / "what-if").mkdir()
    (tmp_path / "what-if" / "no-prep.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: no-prep}\nspec:\n  enforced: true\n"
        "  rules:\n    - {id: r, effect: deny, when: \"capability.name == 'prep'\", message: not now}\n"
    )
    code, out = ido("replay", "last", "--catalog", "capabilities", "--policies", "what-if")
    assert code == 0 and "prep-by-hand → pay-a" in out, out
    assert "not replayed: the recording's observers saw x.hold, after prep's call 1" in out


def test_a_counterfactual_that_does_not_wait_leaves_out_the_decision_made_on_resuming(
    project: Path,
) -> None:
    """`mode: propose` replayed without it: the recorded decision made on resuming after
    the approval, going on with the approved plan, was paired with nothing ("decision 2
    changes … now: (no such decision)"), and after a replan every later pair shifted."""
    intent = project / "intents" / "ship-order.yaml"
    plain = intent.read_text()
    intent.write_text(plain.replace("spec:\n", "spec:\n  mode: propose\n", 1))
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    assert ido("resume", "last")[0] == 0
    (project / "what-if").mkdir()
    (project / "what-if" / "ship-order.yaml").write_text(plain)
    code, out = ido("replay", "last", "--intent", "what-if/ship-order.yaml")
    assert code == 0 and "changes" not in out, out
    assert "decision 1: same plan; approval mode/propose for the plan no longer asked" in out
    assert "(1 recorded decision(s) made on resuming, going on with the plan before" in out


def test_a_run_recorded_before_a_result_field_existed_replays_identically(
    project: Path,
) -> None:
    """`result.conflict_untested` was added: every run recorded before it, its decisions
    without the field, diverged on exact replay (`[]` against nothing)."""
    import sqlite3

    assert ido("run", "ship-order", "--quiet")[0] == 0
    with sqlite3.connect(project / ".ido" / "ido.db") as db:
        changed = db.execute(
            "UPDATE events SET data = json_remove(data, '$.result.conflict_untested') "
            "WHERE kind = 'decided'"
        ).rowcount
    assert changed == 1
    code, out = ido("replay", "last")
    assert code == 0 and out.startswith("identical: 1 decision(s)"), out


def _events(*kinds_and_data: tuple[str, dict[str, Any]]) -> list[Any]:
    from ido.journal import Event

    return [Event("r", n, "2026-12-06T09:00:00", k, d) for n, (k, d) in enumerate(kinds_and_data)]


def _finished(step: int, name: str, **more: Any) -> tuple[str, dict[str, Any]]:
    return "action_finished", {"step": step, "capability": name, "ok": True, **more}


def test_what_a_call_sets_or_a_step_in_flight_will_set_is_not_the_world_moving() -> None:
    """Found in review: a step's output (kept in the state at its path) read as the world
    moving after it; and the effects of a step still in flight, which an observation may
    show before its end is recorded (a resume settles such a step by observing them), were
    credited to the call before it, so the replay's world moved before the step ran."""
    from ido.scenario.moves import moved_after_calls

    catalog = load_catalog(CATALOG)
    pay = catalog.capabilities["charge-stripe-eu"]
    events = _events(
        ("observed", {"state": {"order": {"id": "1"}}}),
        ("action_started", {"step": 1, "capability": "reserve-inventory"}),
        _finished(1, "reserve-inventory", effects={"order.reserved": True}),
        ("action_started", {"step": 2, "capability": pay.name}),
        ("observed", {"state": {"order": {"id": "1", "reserved": True, "paid": True}}}),
        _finished(
            2,
            pay.name,
            effects={"order.paid": True},
            output={"charge_id": "c1"},
            output_path="order.charge",
        ),
        (
            "observed",
            {
                "state": {
                    "order": {
                        "id": "1",
                        "reserved": True,
                        "paid": True,
                        "charge": {"charge_id": "c1"},
                    }
                }
            },
        ),
    )
    assert "order.paid" in pay.spec.effects
    assert moved_after_calls(events, catalog) == {}


def test_what_was_seen_moving_twice_after_one_call_ends_as_last_seen() -> None:
    """Found in review: a fact seen gone and then back after one call stayed in both the
    facts set and those gone, and the replay ended without it."""
    from ido.scenario.moves import moved_after_calls

    catalog = load_catalog(CATALOG)
    events = _events(
        ("observed", {"state": {"x": 1}}),
        _finished(1, "reserve-inventory", effects={}),
        ("observed", {"state": {}}),
        ("observed", {"state": {"x": 2}}),
    )
    (moved,) = moved_after_calls(events, catalog).values()
    assert (moved.facts, moved.gone) == ({"x": 2}, ())
    assert moved.applied_to({"x": 1}) == {"x": 2}


def test_a_scenario_s_timed_observations_are_its_world_s_not_a_call_s(tmp_path: Path) -> None:
    """Found in review: what a scenario's `observe` fault sets at its time read as moving
    after whichever call came last, and a what-if without that call said it was not
    replayed, though the scenario's world sets it again at its time."""
    from ido.scenario.moves import moved_after_calls
    from ido.scenario.recorded import RecordedWorld

    file = tmp_path / "hold-later.yaml"
    file.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: hold-later}\nspec:\n"
        "  intent: fulfil-order\n  faults: [{at: 1s, observe: {order.hold: true}}]\n"
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    events = result.journal.events(result.report.run_id)
    assert moved_after_calls(events, catalog)  # read as moving, were it a real run's
    assert RecordedWorld(events, catalog, scenario).moved == {}


def test_a_call_past_those_the_recording_made_is_named_by_its_number(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording called pay-cheap-eu once (it failed); the replay, priceypay denied,
    calls it a second time. It said "the recording never called pay-cheap-eu"."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    monkeypatch.delenv("FAKESVC_FAIL")
    (project / "what-if").mkdir()
    (project / "what-if" / "ship-order.yaml").write_text(
        (project / "intents" / "ship-order.yaml")
        .read_text()
        .replace("min_success_probability: 0.9", "min_success_probability: 0.1")
    )
    code, out = ido(
        "replay",
        "last",
        "--policies",
        str(strict_policies(project)),
        "--intent",
        "what-if/ship-order.yaml",
    )
    assert code == 0, out
    assert (
        "unknown outcomes: the recording never made pay-cheap-eu's call 2 (it called "
        "pay-cheap-eu once), timed at its learnt latency" in out
    ), out


def test_a_counterfactual_says_when_the_same_plan_no_longer_waits_for_approval(
    project: Path,
) -> None:
    """The recorded decision stopped for a person's approval, the replayed one did not: it
    said "decision 1: same choice" and "achieved → achieved", nothing of the gate."""
    policy = project / "policies" / "residency.yaml"
    plain = policy.read_text()
    policy.write_text(
        plain
        + "    - id: big-spend\n      effect: require_approval\n"
        + "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
    )
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    assert ido("resume", "last")[0] == 0
    (project / "relaxed").mkdir()
    (project / "relaxed" / "residency.yaml").write_text(plain)
    code, out = ido("replay", "last", "--policies", "relaxed")
    assert code == 0, out
    assert "decision 1: same plan; approval residency/big-spend for ship no longer asked" in out, (
        out
    )
    (project / "gated").mkdir()
    (project / "gated" / "residency.yaml").write_text(policy.read_text())
    policy.write_text(plain)
    assert ido("run", "ship-order")[0] == 0  # and the other way
    code, out = ido("replay", "last", "--policies", "gated")
    assert "decision 1: same plan; approval residency/big-spend for ship now asked" in out, out


def test_a_run_recorded_with_a_duration_past_today_s_bound_still_replays(project: Path) -> None:
    """Found in review: durations became at most 36500d, and a run recorded before with
    `backoff: 50000d` no longer replayed: "the recorded intent cannot be read"."""
    import sqlite3

    from ido.model import Intent, recorded_intent

    assert ido("run", "ship-order")[0] == 0
    db = sqlite3.connect(project / ".ido" / "ido.db")
    with db:
        db.execute(
            "UPDATE events SET data = json_set(data, '$.intent.spec.limits.backoff', '50000d') "
            "WHERE kind = 'run_started'"
        )
        (data,) = db.execute("SELECT data FROM events WHERE kind = 'run_started'").fetchone()
    db.close()
    recorded = json.loads(data)["intent"]
    with pytest.raises(ValueError, match="too long a duration"):
        Intent.model_validate(recorded)  # as a user writes it today: refused
    assert recorded_intent(recorded).spec.limits.backoff == 50000 * 86400
    code, out = ido("replay", "last")
    assert code == 0 and "identical" in out, out


def test_a_divergence_in_the_rejections_says_which_capabilities_differ(project: Path) -> None:
    """A capability added since the run and denied by the residency rule: the replay said
    "fields that differ: result.rejections" and showed the same plan twice, recorded and
    replayed, with no word of what differed."""
    assert ido("run", "ship-order")[0] == 0
    catalog = project / "capabilities" / "catalog.yaml"
    us = new_capability("pay-new-us").replace("region: eu", "region: us")
    catalog.write_text(catalog.read_text() + us)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "fields that differ: policy, result.rejections\n" in out
    assert (
        "  rejected: pay-new-us: not rejected in the recording; now denied by "
        "residency/pii-stays-in-eu: PII of EU customers is processed in the EU only.\n"
    ) in out


def test_a_resume_records_its_moment_and_a_replay_resumes_there(
    in_root: Path, tmp_path: Path
) -> None:
    """The journal stamps a resume to the millisecond, and a replay guessed the moment from
    that stamp; the resume now records the moment it read (`now`), and a replay takes it as
    it is. A journal without it is read as before."""
    from ido.approvals import Request
    from ido.journal import Event, epoch
    from ido.replay.what_if import resumed_at

    (tmp_path / "late.yaml").write_text(LATE)
    ido("scenario", "run", "-q", str(tmp_path / "late.yaml"), "--journal", str(in_root))
    journal = SqliteJournal(in_root)
    run = journal.runs()[0].id
    resumed = next(e for e in journal.events(run) if e.kind == "run_resumed")
    assert resumed.data["now"] > epoch(resumed.at)  # just past the wait, in its millisecond
    assert resumed_at(resumed, []) == resumed.data["now"]

    waiting = [Request("r", "pay", 1, "ask", "p", 1.0, 0.0, 1000.0002)]
    fails = {"after": "approval", "fails": "expired unanswered"}
    stamped = Event(run, 9, "1970-01-01T00:16:40.000+00:00", "run_resumed", fails)
    assert resumed_at(stamped, waiting) == math.nextafter(1000.0002, math.inf)  # as before
    exact = Event(run, 9, stamped.at, "run_resumed", {**fails, "now": 1000.0004})
    assert resumed_at(exact, waiting) == 1000.0004


def edit_decision(project: Path, number: int, path: str, value: Any) -> None:
    """Set `path` in decision `number`'s recorded JSON, as another ido version had it."""
    import sqlite3

    with sqlite3.connect(project / ".ido" / "ido.db") as db:
        changed = db.execute(
            "UPDATE events SET data = json_set(data, ?, json(?)) "
            "WHERE kind = 'decided' AND json_extract(data, '$.number') = ?",
            (path, json.dumps(value), number),
        ).rowcount
    assert changed == 1


def test_a_decision_worded_otherwise_since_the_run_is_the_same_choice(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer ido words a belief and a rejection better: every older run's exact replay
    said "diverged" with the same plan on both sides. It now tells the choices identical,
    names the decisions worded otherwise and their fields, and shows the first one's words."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    edit_decision(project, 1, "$.result.rejections[0].detail", "EU PII stays in the EU.")
    edit_decision(
        project, 2, "$.beliefs.pay-cheap-eu.why", "reliability estimate 0.792 after a failure"
    )
    code, out = ido("replay", "last")
    assert code == 0, out
    assert (
        "identical choices: 2 decision(s) of run r"  # (its id)
        in out
    )
    assert (
        " re-decided the same; worded otherwise since the run: decision 1 (result.rejections), "
        "decision 2 (beliefs)\n"
        "  decision 1, result.rejections.0.detail:\n"
        "    recorded: EU PII stays in the EU.\n"
        "    replayed: PII of EU customers is processed in the EU only.\n"
    ) in out


def test_words_that_differ_are_shown_cut_to_a_line(project: Path) -> None:
    """A rejection's detail, an evaluation error or a model's reply may run to kilobytes:
    the replay shows the first 200 characters of each side, "…" saying there is more."""
    assert ido("run", "ship-order")[0] == 0
    edit_decision(project, 1, "$.result.rejections[0].detail", "EU PII stays here. " * 300)
    code, out = ido("replay", "last")
    assert code == 0, out
    recorded = next(line for line in out.splitlines() if line.startswith("    recorded: "))
    assert recorded.endswith("…") and len(recorded.removeprefix("    recorded: ")) == 200
    assert "    replayed: PII of EU customers is processed in the EU only.\n" in out


def test_a_decision_that_chose_otherwise_diverges_after_one_worded_otherwise(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Words that differ in decision 1 do not end the replay: decision 2, whose recorded
    plan differs, is the divergence (exit 1), and its word-only fields are told apart."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    edit_decision(project, 1, "$.result.alternatives[0].why", "pay-pricey-eu: dearer, surer")
    edit_decision(project, 2, "$.result.plan.steps[0].capability", "pay-cheap-eu")
    edit_decision(project, 2, "$.beliefs.pay-cheap-eu.why", "one failure")
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "diverged at decision 2 of run" in out
    assert "fields that differ: result.plan\nworded otherwise too: beliefs\n" in out
    assert "recorded: pay-cheap-eu → ship" in out and "replayed: pay-pricey-eu → ship" in out


def test_a_decision_with_fewer_condition_errors_chose_the_same_in_other_words() -> None:
    """A run recorded before a fact not set yet stopped being an evaluation error has one
    at each decision that today's replay does not: the same choice, worded otherwise, and
    the example names the error the replay no longer has."""
    from ido.decision_words import chosen, reworded

    error = 'goal: state.order.carrier == "dhl": Key not found in map : "carrier"'
    recorded = {"result": {"status": "planned", "condition_errors": [error]}}
    replayed = {"result": {"status": "planned", "condition_errors": []}}
    assert chosen(recorded) == chosen(replayed)
    assert next(reworded(recorded, replayed)) == (
        "result.condition_errors.0",
        error,
        "(none)",
    )
    assert chosen(recorded) != chosen({"result": {"status": "infeasible", "condition_errors": []}})


def test_what_a_decision_chose_leaves_out_its_prose_alone() -> None:
    """Names, rule ids, a rejection's kind, numbers and what stood in the way are choices;
    sentences are words; a field that holds words where there were none is a choice."""
    from ido.decision_words import WORDS, chosen

    def decision(kind: str, detail: str, reason: str | None, blocking: str) -> dict[str, Any]:
        rejection = {"capability": "pay-us", "reason": kind, "rule": "r/x", "detail": detail}
        result = {"rejections": [rejection], "reason": reason, "blocking": [blocking]}
        return {"result": result, "beliefs": {"pay-us": {"reliability": 0.9, "why": "a b"}}}

    said = decision("denied", "Not here.", "no plan: too dear", "state.x == 1")
    assert chosen(said)["result"]["rejections"][0]["detail"] == WORDS
    assert chosen(said)["result"]["blocking"] == ["state.x == 1"]
    assert chosen(said) == chosen(
        decision("denied", "Not in the US.", "no plan: over", "state.x == 1")
    )
    assert chosen(said) != chosen(
        decision("dominated", "Not here.", "no plan: too dear", "state.x == 1")
    )
    assert chosen(said) != chosen(decision("denied", "Not here.", None, "state.x == 1"))
    assert chosen(said) != chosen(
        decision("denied", "Not here.", "no plan: too dear", "state.y == 1")
    )


def test_a_provider_named_in_two_words_that_changed_diverges(project: Path) -> None:
    """A step's provider is a name even with a space in it: a catalog that moved `ship`
    from DHL Express to UPS Ground chose otherwise (exit 1), not in other words."""
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("provider: carrier", "provider: DHL Express"))
    assert ido("run", "ship-order")[0] == 0
    catalog.write_text(catalog.read_text().replace("DHL Express", "UPS Ground"))
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "diverged at decision 1 of run" in out
    assert "fields that differ: result.alternatives, result.plan\n" in out


def test_a_provider_is_compared_as_it_is() -> None:
    """Providers with spaces in their names are choices, not prose."""
    from ido.decision_words import chosen

    assert chosen({"provider": "DHL Express"}) != chosen({"provider": "UPS Ground"})


def slow_once(project: Path) -> None:
    """A job whose first call outlives its timeout, and whose effect nothing observes."""
    (project / "fakesvc" / "once.py").write_text(
        "import os, time\n\n\ndef call(ctx):\n"
        "    if os.path.exists('slow'):\n        os.remove('slow')\n        time.sleep(1)\n"
    )
    (project / "capabilities" / "load.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: load}\nspec:\n"
        "  provider: wh\n  effects: {job.loaded: true}\n  latency: 10ms\n  timeout: 200ms\n"
        "  run: {python: 'fakesvc.once:call'}\n"
    )
    (project / "intents" / "job.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: job}\nspec:\n"
        "  goal: ['state.job.loaded']\n"
    )
    (project / "slow").write_text("")


def test_a_counterfactual_of_a_run_blocked_on_a_timed_out_call_blocks_as_it_did(
    project: Path,
) -> None:
    """The call timed out, its outcome unknown, and the run waited for a person; replayed
    with the same inputs it "achieved", the recording said to have "never called load": the
    timed-out call was recorded only in the request, and the replay's world saw every fact,
    so it would have told the outcome the run could not."""
    slow_once(project)
    assert ido("run", "job")[0] == 3
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert code == 0, out
    assert "outcome: blocked → blocked" in out, out
    assert "changes" not in out and "never called" not in out and "no longer" not in out, out


def test_a_counterfactual_of_a_timed_out_call_performed_again_as_approved_is_the_same(
    project: Path,
) -> None:
    """Approved and performed again, the run achieved; its replay took the repeat for the
    first call, 10 ms and a success: "approval resume/outcome-unknown for load no longer
    asked", where nothing had changed."""
    slow_once(project)
    assert ido("run", "job")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    assert ido("resume", "last")[0] == 0
    code, out = ido("replay", "last", "--catalog", "capabilities")
    assert code == 0, out
    assert "outcome: achieved → achieved" in out, out
    assert "changes" not in out and "never called" not in out and "no longer" not in out, out


def test_a_rejected_capability_removed_since_the_run_is_said_to_be_gone(project: Path) -> None:
    """pay-us, denied by the residency rule in the run, was removed from the catalog: the
    replay said "now not rejected", as if a rule had let it through."""
    assert ido("run", "ship-order")[0] == 0
    catalog = project / "capabilities" / "catalog.yaml"
    text = catalog.read_text()
    us = text.index("apiVersion: ido/v1\nkind: Capability\nmetadata: {name: pay-us}")
    catalog.write_text(text[:us] + text[text.index("---", us) + 4 :])
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "capabilities removed: pay-us" in out, out
    assert (
        "  rejected: pay-us: now not in the catalog; recorded: denied by "
        "residency/pii-stays-in-eu: PII of EU customers is processed in the EU only.\n"
    ) in out, out


def test_a_policy_left_out_by_policies_is_not_said_to_belong_in_policies(project: Path) -> None:
    """The intent in intents/ names residency, which --policies lacks: the error said
    "policies/residency.yaml is not in the catalog: give --catalog policies, or move it
    into policies/", where it already was (and --catalog policies is replaced too)."""
    assert ido("run", "ship-order")[0] == 0
    (project / "none").mkdir()
    code, out = ido("replay", "last", "--policies", "none")
    assert code == 2, out
    assert (
        "Policy 'residency' not found; no Policy is loaded (policies/residency.yaml is not in "
        "the catalog: a replay given other policies (--policies DIR) needs it in DIR too)"
    ) in out, out


def test_a_policy_left_out_by_policies_is_pointed_at_policies_not_a_copy_beside_it(
    project: Path,
) -> None:
    """With a copy of the policies kept in `attic/` (before policies/ by name), the error
    said "attic/residency.yaml is not in the catalog: give --catalog attic, or move it into
    policies/", not what the replay's --policies needs, as docs/cli.md says it does."""
    assert ido("run", "ship-order")[0] == 0
    (project / "none").mkdir()
    (project / "attic").mkdir()
    policy = project / "policies" / "residency.yaml"
    (project / "attic" / "residency.yaml").write_text(policy.read_text())
    code, out = ido("replay", "last", "--policies", "none")
    assert code == 2, out
    assert (
        "(policies/residency.yaml is not in the catalog: a replay given other policies "
        "(--policies DIR) needs it in DIR too)"
    ) in out, out


def test_policies_with_a_yaml_error_are_told_the_error_alone(project: Path) -> None:
    """`ido replay RUN --policies new` with a YAML syntax error in new/residency.yaml: the
    error was followed by "Policy 'residency' not found … (policies/residency.yaml is not
    in the catalog: … needs it in DIR too)", sending the user to copy a policy that is there."""
    assert ido("run", "ship-order")[0] == 0
    (project / "new").mkdir()
    policy = (project / "policies" / "residency.yaml").read_text()
    (project / "new" / "residency.yaml").write_text(policy + "  - id: [\n")
    code, out = ido("replay", "last", "--policies", "new")
    assert code == 2, out
    assert "error: 1 problem found:\n  new/residency.yaml:" in out, out
    assert "YAML syntax error" in out, out
    assert "not found" not in out, out


def test_an_exact_divergence_in_approvals_says_which_are_asked_otherwise(project: Path) -> None:
    """A policy edited since the run to ask a person for `ship`: the exact replay said
    "fields that differ: approvals, policy" and showed the same plan twice, "recorded: … ·
    replayed: …", and not what differed; it now says which approval is asked now (and,
    the other way, which no longer), as a counterfactual does."""
    assert ido("run", "ship-order")[0] == 0
    policy = project / "policies" / "residency.yaml"
    plain = policy.read_text()
    policy.write_text(plain + GATE)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "  approval residency/big-spend for ship now asked\n" in out, out
    assert ido("run", "ship-order")[0] == 3
    policy.write_text(plain)
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "  approval residency/big-spend for ship no longer asked\n" in out, out


def test_what_was_seen_after_several_calls_not_made_is_said_in_the_plural(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two calls' moves not replayed ended ", a call this replay did not make"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "capabilities").mkdir()
    pay_b = 'metadata: {name: pay-b}\nspec:\n  provider: pb\n  requires: ["state.x.prep"]\n'
    held = HOLD.replace(
        pay_b + '  effects: {x.paid: true}\n  cost: 2.0\n  run: {shell: ["true"]}',
        pay_b + '  effects: {x.paid: true}\n  cost: 2.0\n  run: {shell: ["python3", "payb.py"]}',
    )
    assert held != HOLD
    (tmp_path / "capabilities" / "all.yaml").write_text(held)
    (tmp_path / "hold.json").write_text("{}")
    (tmp_path / "prep.py").write_text("open('hold.json', 'w').write('{\"x\": {\"hold\": true}}')")
    (tmp_path / "payb.py").write_text(
        "open('hold.json', 'w').write('{\"x\": {\"hold\": true, \"receipt\": 1}}')"
    )
    code, out = ido("run", "go", "--catalog", "capabilities", "--quiet")
    assert code == 0 and "cost 2.10" in out, out
    (tmp_path / "what-if").mkdir()
    (tmp_path / "what-if" / "no-prep.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: no-prep}\nspec:\n  enforced: true\n"
        "  rules:\n    - {id: r, effect: deny, when: \"capability.name == 'prep'\", message: not now}\n"
    )
    code, out = ido("replay", "last", "--catalog", "capabilities", "--policies", "what-if")
    assert code == 0, out
    assert (
        "not replayed: the recording's observers saw x.receipt, after pay-b's call 1; x.hold, "
        "after prep's call 1, calls this replay did not make\n"
    ) in out, out


def test_a_move_not_replayed_says_what_followed_it_as_data() -> None:
    """The summary told calls from waits by searching each move's words for "while it
    waited for approval": the kind is data now, and the words made in one place."""
    from ido.cli.replay import _not_made
    from ido.scenario.counterfactual import Unreplayed
    from ido.scenario.moves import WAIT

    wait = Unreplayed(("load.busy",), WAIT, 1)
    call = Unreplayed(("x.hold", "x.receipt"), "prep", 2)
    assert (wait.kind, str(wait)) == ("wait", "load.busy, while it waited for approval 1")
    assert (call.kind, str(call)) == ("call", "x.hold, x.receipt, after prep's call 2")
    assert _not_made([call, wait, call]) == ", calls and a wait this replay did not make"


def test_a_replay_of_a_run_still_running_says_so(project: Path) -> None:
    """Replayed while its process carried it on, the run's outcome read "interrupted →
    achieved", and an exact replay "identical" as if it had ended."""
    slow_once(project)
    (project / "capabilities" / "load.yaml").write_text(
        (project / "capabilities" / "load.yaml").read_text().replace("200ms", "30s")
    )
    (project / "fakesvc" / "once.py").write_text(
        (project / "fakesvc" / "once.py").read_text().replace("sleep(1)", "sleep(3)")
    )
    running = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", "job", "--quiet"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        journal = project / ".ido" / "ido.db"
        for _ in range(300):  # until its step has started
            if journal.exists() and "action_started" in _kinds(journal):
                break
            time.sleep(0.05)
        code, out = ido("replay", "last")
        assert code == 0, out
        assert "re-decided the same (it is still running: its decisions so far)" in out, out
        code, out = ido("replay", "last", "--catalog", "capabilities")
        assert code == 0, out
        assert "outcome: running → achieved" in out, out
    finally:
        assert running.wait(timeout=60) == 0


def _kinds(journal: Path) -> list[str]:
    with SqliteJournal(journal, reading=True) as store:
        return [e.kind for row in store.runs() for e in store.events(row.id)]


def test_a_scenario_run_whose_refund_was_retried_replays_as_it_ran(in_root: Path) -> None:
    """The refund fails once and is done on its second attempt: an exact replay re-decides
    every decision the same, and a what-if with the same inputs undoes the charge as the
    recording did (its first refund failed, the retry done): the same outcome and cost."""
    kept = ("--journal", str(in_root))
    assert ido("scenario", "run", "-q", "scenarios/refund-retried.yaml", *kept)[0] == 0
    code, out = ido("replay", "last", *kept)
    assert code == 0 and "identical: 5 decision(s)" in out, out
    code, out = ido("replay", "last", *kept, "--policies", "policies")
    assert code == 0 and "changes" not in out, out
    assert "outcome: failed → failed" in out and "cost: 2.93 → 2.93" in out, out


def gate_on_the_order(project: Path) -> None:
    """A rule that asks approval of ship for order 7: it reads `state.order.id`, which
    neither the goal nor a precondition reads."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: order-seven\n      effect: require_approval\n"
        + "      when: \"capability.name == 'ship' && state.order.id == '7'\"\n"
        + "      message: Order 7 is watched.\n"
    )


def test_a_decision_keeps_the_facts_its_firing_rules_read_and_explain_shows_them(
    project: Path,
) -> None:
    """ "Why did this need approval?": `observed` held what the goal and preconditions read,
    so the fact the rule judged (an amount, an order id) showed nowhere in the report."""
    gate_on_the_order(project)
    assert ido("run", "ship-order")[0] == 3
    told = ido("explain", "last")[1]
    assert '  observed:\n    order.id = "7"\n' in told, told
    (decision,) = json.loads(ido("explain", "last", "--format", "json")[1])["decisions"]
    assert decision["rules_read"] == {"order.id": "7", "order.region": "eu"}  # (residency too)
    assert ido("replay", "last")[1].startswith("identical: 1 decision(s)")


def test_a_run_recorded_before_decisions_kept_what_rules_read_replays_identically(
    project: Path,
) -> None:
    gate_on_the_order(project)
    assert ido("run", "ship-order")[0] == 3
    import sqlite3

    with sqlite3.connect(project / ".ido" / "ido.db") as db:
        db.execute("UPDATE events SET data = json_remove(data, '$.rules_read')")
    code, out = ido("replay", "last")
    assert code == 0 and out.startswith("identical: 1 decision(s)"), out


def test_a_counterfactual_intent_file_may_be_named_as_its_user_likes(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`--intent tight.yaml` was refused, `name 'ship-order' must equal the file name
    'tight'`: the file holds a changed copy of the run's intent, found by the name inside
    it, wherever the file is and whatever it is named; among several intents, the run's."""
    assert ido("run", "ship-order")[0] == 0
    text = (project / "intents" / "ship-order.yaml").read_text()
    tight = tmp_path_factory.mktemp("elsewhere") / "tight.yaml"
    tight.write_text(text.replace("max_cost: 5.0", "max_cost: 0.5"))
    code, out = ido("replay", "last", "--intent", str(tight))
    assert code == 0, out
    assert "outcome: achieved → failed (no plan within max_cost 0.50" in out, out
    both = project / "both.yaml"
    both.write_text(text.replace("name: ship-order", "name: other") + "---\n" + tight.read_text())
    code, out = ido("replay", "last", "--intent", "both.yaml")
    assert code == 0 and "outcome: achieved → failed (no plan within max_cost" in out, out
    # Another intent, or none, is refused naming the file and both intents.
    (project / "other.yaml").write_text(text.replace("name: ship-order", "name: other"))
    code, out = ido("replay", "last", "--intent", "other.yaml")
    assert code == 2, out
    assert (
        "pursued intent ship-order; --intent gives other (in other.yaml): a counterfactual "
        "replays the same intent, changed (name it ship-order in the file)"
    ) in out, out
    (project / "nothing.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: nothing}\nspec:\n  rules:\n"
        "    - {id: r, effect: deny, when: \"capability.name == 'x'\", message: not now}\n"
    )
    code, out = ido("replay", "last", "--intent", "nothing.yaml")
    assert code == 2, out
    assert "nothing.yaml declares no intent: --intent names a file holding a changed" in out
    # A file that does not read, or whose intent does not check, says where.
    tight.write_text(text.replace("max_cost: 5.0", "max_cost: lots"))
    code, out = ido("replay", "last", "--intent", str(tight))
    assert code == 2, out
    assert f"{tight}:7: spec.constraints.max_cost: Input should be a valid number" in out, out
    tight.write_text(text.replace("{name: ship-order}", "{name: ship-order"))
    code, out = ido("replay", "last", "--intent", str(tight))
    assert code == 2 and f"{tight}:4: YAML syntax error" in out, out


def test_a_run_recorded_with_a_deadline_of_0s_still_replays(project: Path) -> None:
    """Found in review: `deadline: 0s` became a load error, and a run recorded before with
    it no longer replayed ("the recorded intent cannot be read"); replayed against other
    policies, it ended in a traceback."""
    import sqlite3

    from ido.model import Intent, recorded_intent

    assert ido("run", "ship-order")[0] == 0
    db = sqlite3.connect(project / ".ido" / "ido.db")
    with db:
        db.execute(
            "UPDATE events SET data = json_set(data, '$.intent.spec.constraints.deadline', "
            "'0ms') WHERE kind = 'run_started'"
        )
        (data,) = db.execute("SELECT data FROM events WHERE kind = 'run_started'").fetchone()
    db.close()
    recorded = json.loads(data)["intent"]
    with pytest.raises(ValueError, match="a deadline of 0s admits no plan"):
        Intent.model_validate(recorded)  # as a user writes it today: refused
    assert recorded_intent(recorded).spec.constraints.deadline == 0.0
    code, out = ido("replay", "last")  # decided again under 0s: no plan, where one ran
    assert code == 1 and "no plan within deadline 0s" in out, out
    (project / "relaxed").mkdir()
    (project / "relaxed" / "residency.yaml").write_text(
        (project / "policies" / "residency.yaml").read_text()
    )
    result = runner.invoke(app, ["replay", "last", "--policies", "relaxed"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "no plan within deadline 0s" in result.output, result.output


def test_a_counterfactual_of_a_run_whose_intent_cannot_be_read_says_so(project: Path) -> None:
    """An exact replay said "the recorded intent cannot be read", but one against other
    policies ended in pydantic's traceback."""
    import sqlite3

    assert ido("run", "ship-order")[0] == 0
    db = sqlite3.connect(project / ".ido" / "ido.db")
    with db:
        db.execute(
            "UPDATE events SET data = json_set(data, '$.intent.spec.constraints.deadline', "
            "'soon') WHERE kind = 'run_started'"
        )
    db.close()
    (project / "relaxed").mkdir()
    (project / "relaxed" / "residency.yaml").write_text(
        (project / "policies" / "residency.yaml").read_text()
    )
    result = runner.invoke(app, ["replay", "last", "--policies", "relaxed"])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert "the recorded intent cannot be read" in result.output, result.output
