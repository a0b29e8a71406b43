"""Governance: plan rules, intent rules that only tighten, enforced policies, decision ids,
escalation and the approval runner, on a real project and a real SQLite journal."""

from __future__ import annotations

import json
import re
import signal
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.approvals import Request
from ido.cli import app
from ido.errors import LoadError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.policy import evaluate, policy_rules
from ido.runner import RETRY_FIRST, RETRY_MOST, Runner, hold_lock, runner_active
from ido.runtime.local import LocalRuntime
from ido.runtime.stopping import Terminated

cli = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def add_rules(project: Path, rules: str) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  rules:\n" + rules)


def add_policy_rule(project: Path, rule: str) -> None:
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + rule)


def calls(project: Path) -> list[str]:
    log = project / "calls.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def decided(project: Path) -> list[dict[str, object]]:
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        return [e.data for e in store.events(store.resolve("last")) if e.kind == "decided"]


# --- plan rules ---------------------------------------------------------------------------

NO_CHEAPPAY = """\
    - id: no-cheappay
      effect: deny
      when: "'cheappay' in plan.providers"
      message: This order must not go through cheappay.
"""


def test_a_way_out_a_plan_rule_closes_is_told_from_the_plans_it_allows(project: Path) -> None:
    """max_cost 0.70: the cheapest plan (pay-cheap-eu 0.30 + ship 0.50) is over it, but
    raising max_cost to 0.80 would not help: the plan rule denies that plan. The way out
    told is the best plan the rule allows (pay-pricey-eu 0.80 + ship 0.50)."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("max_cost: 5.0", "max_cost: 0.7"))
    add_rules(project, NO_CHEAPPAY)
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    assert "raise max_cost to 0.80" not in out
    assert (
        "no plan within max_cost 0.70 that the plan rules allow: pay-cheap-eu → ship is denied "
        "by plan rule intent:ship-order/no-cheappay; the cheapest plan they allow with max_cost "
        "lifted, pay-pricey-eu → ship, costs 1.30; raise max_cost to 1.30"
    ) in " ".join(out.split())


def test_a_limit_binds_only_if_the_plan_rules_would_allow_the_better_plan(
    project: Path,
) -> None:
    """Deadline 1.6s: pay-cheap-eu → ship (1.8s) scores better but is over it, and the plan
    rule denies it anyway. The deadline was marked binding, though lifting it changes
    nothing."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("deadline: 30s", "deadline: 1.6s"))
    add_rules(project, NO_CHEAPPAY)
    code, out = ido("plan", "ship-order", "-f", "json")
    assert code == 0, out
    (deadline,) = [c for c in json.loads(out)["result"]["constraints"] if c["name"] == "deadline"]
    assert deadline["value"] == 1.5 and deadline["binding"] is False
    code, out = ido("plan", "ship-order")
    assert "deadline: plan 1.5s of 1.6s" in out and "← binding" not in out, out


def capability(name: str, provider: str, needs: str, makes: str, cost: float, took: str) -> str:
    """A capability of reliability 1 in YAML: `needs` a list of conditions, `makes` effects."""
    return (
        f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n"
        f"  provider: {provider}\n  requires: {needs}\n  effects: {makes}\n  cost: {cost}\n"
        f"  latency: {took}\n  reliability: 1.0\n"
    )


def small_project(root: Path, capabilities: list[str], intent: str, rules: str) -> None:
    """A project of `capabilities`, one intent (its spec) and a policy `house` of `rules`."""
    for folder in ("capabilities", "intents", "policies"):
        (root / folder).mkdir()
    (root / "capabilities" / "all.yaml").write_text("---\n".join(capabilities))
    (root / "intents" / "it.yaml").write_text(
        f"apiVersion: ido/v1\nkind: Intent\nmetadata: {{name: it}}\nspec:\n{intent}"
        "  policies: [house]\n"
    )
    (root / "policies" / "house.yaml").write_text(
        f"apiVersion: ido/v1\nkind: Policy\nmetadata: {{name: house}}\nspec:\n  rules:\n{rules}"
    )


def test_a_limit_binds_when_it_alone_keeps_out_a_plan_that_needs_a_capability_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prep → finish-pb is denied, so the search leaves prep out and takes direct (1.00).
    prep → finish-slow (0.10) is allowed but over the 1s deadline: the deadline binds, and
    finish-slow is kept out by the deadline, not unreachable (it was judged without prep)."""
    small_project(
        tmp_path,
        [
            capability("prep", "pa", "[]", "{x: true}", 0.0, "500ms"),
            capability("finish-pb", "pb", '["state.x"]', "{done: true}", 0.0, "0ms"),
            capability("finish-slow", "pc", '["state.x"]', "{done: true}", 0.1, "2s"),
            capability("direct", "pa", "[]", "{done: true}", 1.0, "500ms"),
        ],
        "  given: {x: false, done: false}\n  goal: [state.done]\n"
        "  constraints: {deadline: 1s}\n  objective: {cost: 1.0}\n",
        "    - {id: no-pb, effect: deny, when: \"'pb' in plan.providers\", message: no pb}\n",
    )
    monkeypatch.chdir(tmp_path)
    code, out = ido("plan", "it")
    assert code == 0, out
    assert "1. direct (pa)" in out
    assert "deadline: plan 500ms of 1s  ← binding" in out
    assert "finish-slow: over deadline: takes 2s alone, over deadline 1s" in out
    assert "finish-pb: unreachable: precondition never holds: state.x, once prep is left out" in out
    assert "prep: denied by house/no-pb: left out: every plan that uses it and would score" in out


def test_a_plan_rule_steers_the_run_to_the_best_plan_it_allows(project: Path) -> None:
    add_rules(project, NO_CHEAPPAY)
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert calls(project) == ["pay-pricey-eu", "ship"]
    (decision,) = decided(project)
    (hit,) = [h for h in decision["policy"] if h["rule"] == "intent:ship-order/no-cheappay"]
    assert hit["verdict"] == "deny" and hit["subject"] == "plan pay-cheap-eu → ship"
    code, out = ido("explain", "last")
    assert f"{hit['id']} deny plan pay-cheap-eu → ship: intent:ship-order/no-cheappay" in out
    assert "pay-cheap-eu: denied by intent:ship-order/no-cheappay: left out" in out
    report = json.loads(ido("audit", "--format", "json")[1])
    denial = report["denials"]["intent:ship-order/no-cheappay"]
    assert denial == {
        "decisions": 1,
        "capabilities": ["pay-cheap-eu", "plan pay-cheap-eu → ship"],
        "unevaluated": 0,
        "partly_unevaluated": 0,
    }


def test_when_every_plan_is_denied_the_run_fails_naming_the_rule(project: Path) -> None:
    add_rules(
        project,
        '    - id: tiny\n      effect: deny\n      when: "plan.cost > 0.5"\n'
        "      message: At most 0.50 per order.\n",
    )
    code, out = ido("run", "ship-order")
    assert code == 4, out
    assert "every plan is denied by a plan rule" in out
    assert "by intent:ship-order/tiny: At most 0.50 per order; lift plan rule" in out
    assert calls(project) == []


def test_a_plan_rule_that_must_hold_is_named_not_offered_to_lift(project: Path) -> None:
    """A deny plan rule with `negotiable: false` that keeps every plan out: the reason said
    "lift plan rule …"; it says no way out may lift it."""
    add_rules(
        project,
        '    - id: tiny\n      effect: deny\n      when: "plan.cost > 0.5"\n'
        "      message: At most 0.50 per order.\n      negotiable: false\n",
    )
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    out = " ".join(out.split())
    assert "lift plan rule" not in out
    assert (
        "by intent:ship-order/tiny: At most 0.50 per order; only lifting rule "
        "intent:ship-order/tiny lets one through, and no way out may lift it (negotiable: false)"
    ) in out


def test_a_plan_approval_rule_blocks_the_plan_as_a_whole(project: Path) -> None:
    add_policy_rule(
        project,
        "    - id: two-steps\n      effect: require_approval\n"
        '      when: "plan.steps >= 2"\n      message: Two steps or more need a look.\n',
    )
    code, out = ido("run", "ship-order")
    assert code == 3, out
    assert "the plan needs approval (residency/two-steps: Two steps or more need a look.)" in out
    assert "plan  residency/two-steps" in ido("approvals")[1]
    assert ido("approve", "last", "--by", "alice")[0] == 0
    code, out = ido("resume", "last")
    assert code == 0, out
    assert calls(project) == ["pay-cheap-eu", "ship"]


# --- intent rules and enforced policies ---------------------------------------------------


def test_an_intent_rule_denies_and_is_cited_with_the_intent(project: Path) -> None:
    add_rules(
        project,
        "    - id: not-cheap\n      effect: deny\n"
        "      when: \"capability.name == 'pay-cheap-eu'\"\n      message: Not this one.\n",
    )
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert calls(project) == ["pay-pricey-eu", "ship"]
    assert (
        "pay-cheap-eu: denied by intent:ship-order/not-cheap: Not this one."
        in ido("explain", "last")[1]
    )


def test_an_intent_cannot_loosen_with_prefer(project: Path) -> None:
    add_rules(
        project,
        "    - id: cheap-please\n      effect: prefer\n      when: \"capability.provider == 'uspay'\"\n"
        "      message: Cheap is good.\n",
    )
    code, out = ido("validate")
    assert code == 2
    # Told at the rule's effect, its own line, not at `spec` above.
    assert (
        "ship-order.yaml:12: spec.rules[0].effect: rule 'cheap-please': an intent's own rules can only"
        in out
    )
    assert "can only tighten its policies" in out


def test_an_enforced_policy_governs_intents_that_do_not_list_it(project: Path) -> None:
    (project / "policies" / "org.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: org}\nspec:\n  enforced: true\n"
        "  rules:\n    - id: no-cheappay\n      effect: deny\n"
        "      when: \"capability.provider == 'cheappay'\"\n      message: Banned.\n"
    )
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert calls(project) == ["pay-pricey-eu", "ship"]
    assert "denied by org/no-cheappay: Banned." in ido("explain", "last")[1]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            'effect: deny\n      when: "plan.cost > 1.0 && capability.cost > 0.1"',
            "a rule reads capability or plan, not both",
        ),
        (
            'effect: avoid\n      when: "plan.steps > 1"',
            "avoid weighs each step, so it cannot read plan",
        ),
        ('effect: deny\n      when: "true"\n      expires: 1h', "expires is for require_approval"),
        (
            'effect: require_approval\n      when: "true"\n      escalate: [{to: cfo, expires: 1h}]',
            "escalate needs expires",
        ),
        (
            'effect: prefer\n      when: "true"\n      negotiable: false',
            "negotiable is for deny rules, not prefer",
        ),
    ],
)
def test_rules_that_cannot_work_are_refused_with_file_and_line(
    project: Path, rule: str, message: str
) -> None:
    add_policy_rule(project, f"    - id: odd\n      {rule}\n      message: m\n")
    code, out = ido("validate")
    assert code == 2, out
    assert "policies/residency.yaml:" in out and message in out
    assert "Traceback" not in out


BLOCKED_VENDOR = """\
    - id: blocked-vendor
      effect: deny
      when: "capability.region == 'eu' && 'payments' in capability.tags"
      message: EU payment providers are under sanctions review.
"""


@pytest.mark.parametrize("negotiable", [True, False])
def test_a_rule_that_must_hold_is_never_offered_to_lift(project: Path, negotiable: bool) -> None:
    """`ido plan` offered "or lift rule residency/blocked-vendor" for a sanctions rule; with
    `negotiable: false` it names the rule as what stands in the way and offers only the
    rule that may be lifted."""
    said = "" if negotiable else "      negotiable: false\n"
    add_policy_rule(project, BLOCKED_VENDOR + said)
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    offered = "lift rule residency/blocked-vendor" in out
    assert offered == negotiable
    assert "or lift rule residency/pii-stays-in-eu (it denies pay-us)" in out
    if not negotiable:
        assert (
            "policy residency/blocked-vendor denies pay-cheap-eu, pay-pricey-eu, which may not "
            "be lifted (negotiable: false)"
        ) in " ".join(out.split())


def test_a_rule_naming_a_capability_or_tag_the_catalog_lacks_is_warned_of(project: Path) -> None:
    """A typo (`pay-cheep-eu`) made a deny that never fired, and `ido validate` said ok."""
    add_policy_rule(
        project,
        "    - id: not-cheap\n      effect: deny\n      when: |\n        'pii' in capability.tags\n"
        "        && capability.name == 'pay-cheep-eu'\n      message: m\n"
        "    - id: no-cards\n      effect: deny\n      when: \"'cards' in capability.tags\"\n"
        "      message: m\n",
    )
    code, out = ido("validate")
    assert code == 0, out
    assert (
        "warning: policies/residency.yaml:14: spec.rules[1].when: no capability is named "
        "'pay-cheep-eu'; did you mean 'pay-cheap-eu'?" in out
    )
    assert (
        "policies/residency.yaml:18: spec.rules[2].when: no capability has the tag 'cards'\n" in out
    )
    assert "'pii'" not in out  # a tag some capability has
    code, out = ido("plan", "ship-order")
    assert code == 0 and "no capability is named 'pay-cheep-eu'" in out, out


def test_a_rule_listing_many_unknown_names_is_warned_of_in_few_lines(project: Path) -> None:
    """A rule listing 8,000 names the catalog lacks printed 8,000 warnings, and finding
    them read the whole text before each name (5 s for this rule, on every load: `ido
    scenario test` took 57 s where it takes one); five are told, and how many more."""
    names = ", ".join(f"'n{i}'" for i in range(8000))
    add_policy_rule(
        project,
        f'    - id: many\n      effect: deny\n      when: "capability.name in [{names}]"\n'
        "      message: m\n",
    )
    code, out = ido("validate")
    assert code == 0, out
    warned = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warned) == 6, warned
    assert warned[0].endswith("spec.rules[1].when: no capability is named 'n0'")
    assert warned[-1].endswith(
        "spec.rules[1].when: and 7,995 more names no capability or intent of the catalog has"
    )


def test_a_rule_naming_a_provider_or_region_the_catalog_lacks_is_warned_of(project: Path) -> None:
    """A misspelt provider (`cheapay`) made a deny that never fired, and `ido validate` said
    nothing: only names and tags were compared with the catalog."""
    add_policy_rule(
        project,
        "    - id: no-stripe\n      effect: deny\n      when: \"capability.provider == 'cheapay'\"\n"
        "      message: m\n"
        "    - id: no-us\n      effect: deny\n      when: \"'us-east' in plan.regions\"\n"
        "      message: m\n",
    )
    code, out = ido("validate")
    assert code == 0, out
    assert (
        "warning: policies/residency.yaml:12: spec.rules[1].when: no capability has the "
        "provider 'cheapay'; did you mean 'cheappay'?" in out
    )
    assert "spec.rules[2].when: no capability has the region 'us-east'\n" in out


def test_a_rule_naming_an_intent_the_catalog_lacks_is_warned_of(project: Path) -> None:
    """An enforced policy scoped to `intent.name == 'ship-ordr'` never fired, and `ido
    validate` said nothing."""
    add_policy_rule(
        project,
        "    - id: scoped\n      effect: deny\n      when: \"intent.name == 'ship-ordr'\"\n"
        "      message: m\n",
    )
    code, out = ido("validate")
    assert code == 0, out
    assert "spec.rules[1].when: no intent is named 'ship-ordr'; did you mean 'ship-order'?" in out


# --- decision ids -------------------------------------------------------------------------


def test_decision_ids_follow_the_inputs_a_rule_read(project: Path) -> None:
    rules = policy_rules(load_catalog(["policies"]).policies.values()).rules
    capability = {"tags": ["pii"], "region": "us", "name": "x"}

    def ids(state: dict[str, object]) -> list[str]:
        hits, _ = evaluate(rules, {"state": state, "capability": capability}, "x")
        return [h.id for h in hits]

    eu = ids({"order": {"region": "eu"}})
    assert len(eu) == 1 and eu[0].startswith("pd-")
    assert ids({"order": {"region": "eu"}, "unrelated": 1}) == eu  # not read by the rule
    assert ids({"order": {"region": "eu", "id": "9"}}) == eu
    other = evaluate(
        rules,
        {"state": {"order": {"region": "eu"}}, "capability": {**capability, "name": "y"}},
        "y",
    )
    assert other[0][0].id != eu[0]


def test_every_decision_records_the_rule_evaluations_that_mattered(project: Path) -> None:
    ido("run", "ship-order")
    (decision,) = decided(project)
    (hit,) = decision["policy"]
    assert hit["rule"] == "residency/pii-stays-in-eu" and hit["subject"] == "pay-us"
    assert hit["verdict"] == "deny" and hit["inputs"].startswith("sha256:")
    assert f"{hit['id']} deny pay-us: residency/pii-stays-in-eu" in ido("explain", "last")[1]


# --- escalation ---------------------------------------------------------------------------


def test_a_request_escalates_level_by_level_as_a_function_of_the_clock() -> None:
    request = Request("p/r", "ship", 2, "m", "d", 1.0, 100.0, 110.0, (("lead", 5.0), ("cfo", 5.0)))
    assert request.stage(105.0) == (None, 110.0)
    assert request.stage(112.0) == ("lead", 115.0)
    assert request.stage(118.0) == ("cfo", 120.0)
    assert request.deadline == 120.0
    assert Request("p/r", "ship", 2, "m", "d", 1.0, 100.0, None).deadline is None


GATED = """\
    - id: big-spend
      effect: require_approval
      when: "capability.name == 'ship'"
      message: Shipping needs a human.
      expires: 1ms
"""


def test_an_expired_request_escalates_and_the_escalated_approver_can_approve(
    project: Path,
) -> None:
    add_policy_rule(project, GATED + "      escalate: [{to: cfo, expires: 1h}]\n")
    assert ido("run", "ship-order")[0] == 3
    time.sleep(0.01)
    code, out = ido("approvals")
    assert "escalated to cfo until" in out
    (listed,) = json.loads(ido("approvals", "--format", "json")[1])
    assert listed["escalated_to"] == "cfo" and not listed["expired"]
    assert ido("approve", "last", "--by", "carol")[0] == 0
    code, out = ido("resume", "last")
    assert code == 0, out
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        events = store.events(store.resolve("last"))
    (given,) = [e.data for e in events if e.kind == "approval_given"]
    assert given["escalated_to"] == "cfo"


def test_the_audit_says_a_verdict_came_while_the_request_was_escalated(project: Path) -> None:
    """`ido audit` listed "approved by carol at …", as for a verdict in the first wait: an
    auditor could not tell that the request had been escalated to the CFO by then."""
    add_policy_rule(project, GATED + "      escalate: [{to: cfo, expires: 1h}]\n")
    assert ido("run", "ship-order")[0] == 3
    time.sleep(0.01)
    assert ido("approve", "last", "--by", "carol", "--comment", "cfo away")[0] == 0
    code, out = ido("audit")
    assert code == 0 and re.search(
        r"approved by carol at \S+ after \S+, while escalated to cfo, plan step \d of decision "
        r"1, plan cost [\d.]+: cfo away",
        out,
    ), out
    (approval,) = json.loads(ido("audit", "--format", "json")[1])["approvals"]
    assert approval["escalated_to"] == "cfo"


def test_after_the_last_escalation_the_run_fails(project: Path) -> None:
    add_policy_rule(project, GATED + "      escalate: [{to: cfo, expires: 1ms}]\n")
    ido("run", "ship-order")
    time.sleep(0.01)
    code, out = ido("approve", "last", "--by", "carol")
    assert code == 2 and "expired after its escalations" in out
    code, out = ido("resume", "last")
    assert code == 1
    assert (
        "the approval of ship (residency/big-spend) expired unanswered after its escalations" in out
    )


# --- the runner ---------------------------------------------------------------------------


def test_the_runner_continues_a_run_once_it_is_approved_and_only_then(project: Path) -> None:
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        runtime = LocalRuntime(catalog, store, base=project)
        first = runtime.run(catalog.intents["ship-order"]).run_id
        second = runtime.run(catalog.intents["ship-order"]).run_id
        outcomes: dict[str, str] = {}

        def resume(run_id: str) -> None:
            outcomes[run_id] = LocalRuntime(catalog, store, base=project).resume(run_id).outcome

        watcher = Runner(store, resume, time.time)
        assert watcher.poll() == []
        assert ido("approve", second, "--by", "alice")[0] == 0
        assert watcher.poll() == [second]
        assert outcomes == {second: "achieved"}
        assert watcher.poll() == []
        assert ido("reject", first, "--by", "bob", "--comment", "no")[0] == 0
        assert watcher.poll() == [first]
        assert outcomes[first] == "failed"


def test_the_runner_fails_a_run_when_its_request_expires(project: Path) -> None:
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        run_id = (
            LocalRuntime(catalog, store, base=project).run(catalog.intents["ship-order"]).run_id
        )
        resumed: list[str] = []
        later = 0.0
        watcher = Runner(store, resumed.append, lambda: time.time() + later)
        assert watcher.poll() == []
        later = 3601.0
        assert watcher.poll() == [run_id] and resumed == [run_id]


def test_approve_says_when_a_runner_will_continue_the_run(project: Path) -> None:
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    journal = project / ".ido" / "ido.db"
    assert not runner_active(journal)
    lock = hold_lock(journal)
    assert lock is not None and runner_active(journal)
    assert hold_lock(journal) is None  # one runner per journal
    code, out = ido("approve", "last", "--by", "alice")
    assert code == 0 and "the ido runner watching" in out
    lock.close()
    assert not runner_active(journal)


def test_a_runner_lock_this_user_may_only_read_still_tells(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner under a service account owns the lock file; a person approving may read it
    only. The check opened it for writing: the approval was recorded, then a traceback.
    (The refusal is simulated: tests run as root, whom file modes do not stop.)"""
    journal = project / ".ido" / "ido.db"
    ido("run", "ship-order")
    lock = hold_lock(journal)
    opening = Path.open

    def read_only(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if path.name.endswith(".runner") and mode != "r":
            raise PermissionError(13, "Permission denied", str(path))
        return opening(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", read_only)
    assert lock is not None and runner_active(journal)
    lock.close()
    assert not runner_active(journal)


def test_ido_runner_once_resumes_what_may_go_on(project: Path) -> None:
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    code, out = ido("runner", "--once")
    assert code == 0, out
    assert calls(project) == ["pay-cheap-eu", "ship"]


def test_ido_runner_names_each_run_before_its_lines(project: Path) -> None:
    """The runner printed `resuming` and the steps of a run without naming it: with several
    runs going on one after another, which steps were whose showed only at each end."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    run_id = ido("runs", "--format", "json")[1].split('"id": "')[1].split('"')[0]
    code, out = ido("runner", "--once")
    assert code == 0, out
    assert f"run {run_id} · intent ship-order\n[{run_id}] resuming" in out, out


def test_ido_runner_begins_each_step_line_with_its_run(project: Path) -> None:
    """The runner's step lines named no run: read alone (grep, a log search), a `▶ ship`
    could be any run's. Each line of a run now begins with its id, as `ido run A B`
    begins each with its intent."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    run_id = ido("runs", "--format", "json")[1].split('"id": "')[1].split('"')[0]
    code, out = ido("runner", "--once")
    assert code == 0, out
    steps = [line for line in out.splitlines() if "▶" in line]
    assert steps and all(line.startswith(f"[{run_id}]   ▶ ") for line in steps), out


def test_policy_tests_check_plan_rules_on_a_plan(project: Path) -> None:
    add_policy_rule(
        project,
        '    - id: max-spend\n      effect: deny\n      when: "plan.cost > 1.0"\n'
        "      message: At most 1.00.\n",
    )
    tests = project / "policies" / "tests"
    tests.mkdir()
    (tests / "spend.yaml").write_text(
        "apiVersion: ido/v1\nkind: PolicyTest\nmetadata: {name: spend}\nspec:\n"
        "  policies: [residency]\n  cases:\n"
        "    - name: the cheap plan passes\n      plan: [pay-cheap-eu, ship]\n"
        "      expect: {allow: true}\n"
        "    - name: the pricey plan is denied\n      plan: [pay-pricey-eu, ship]\n"
        "      expect: {deny: [residency/max-spend]}\n"
        "    - name: wrongly expected\n      plan: [pay-cheap-eu, ship]\n"
        "      expect: {deny: [residency/max-spend]}\n"
    )
    code, out = ido("policy", "test")
    assert code == 1, out
    assert "wrongly expected" in out and "2 passed" in out.replace(",", "")
    (tests / "spend.yaml").write_text(
        (tests / "spend.yaml")
        .read_text()
        .replace(
            "plan: [pay-cheap-eu, ship]\n      expect: {deny",
            "capability: ship\n      plan: [ship]\n      expect: {deny",
        )
    )
    code, out = ido("policy", "test")
    assert code == 2 and "give exactly one of capability" in out


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('effect: allow\n      when: "true"', ":11: spec.rules[1].effect: Input should be 'deny'"),
        (
            'effect: deny\n      when: "1 + 2"',
            ":12: spec.rules[1].when: condition must be a bool, but it is of type int",
        ),
    ],
)
def test_an_unknown_effect_or_a_non_boolean_condition_is_refused(
    project: Path, rule: str, message: str
) -> None:
    add_policy_rule(project, f"    - id: odd\n      {rule}\n      message: m\n")
    code, out = ido("validate")
    assert code == 2 and f"policies/residency.yaml{message}" in out, out


def journal_rows(project: Path) -> tuple[int, list[object]]:
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        run_id = store.resolve("last")
        return len(store.events(run_id)), [store.run(run_id)]


def test_refused_verdicts_leave_the_journal_untouched(project: Path) -> None:
    add_policy_rule(project, GATED)  # expires after 1ms
    ido("run", "ship-order")
    time.sleep(0.01)
    before = journal_rows(project)
    assert ido("approve", "last", "--by", "alice")[0] == 2  # expired
    assert ido("approve", "last", "--by", "alice", "--step", "7")[0] == 2  # no such step
    assert ido("reject", "last", "--by", "alice", "--comment", "")[0] == 2
    assert journal_rows(project) == before
    ido("resume", "last")  # fails: expired
    after = journal_rows(project)
    assert ido("approve", "last", "--by", "alice")[0] == 2  # not waiting any more
    assert journal_rows(project) == after


# --- found in review ----------------------------------------------------------------------


def test_two_processes_cannot_both_take_over_a_run(project: Path) -> None:
    from ido.errors import JournalError

    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    with (
        SqliteJournal(project / ".ido" / "ido.db") as one,
        SqliteJournal(project / ".ido" / "ido.db") as two,
    ):
        run_id = one.resolve("last")
        seen = len(one.events(run_id))  # both read the run as it stands
        one.take_over(run_id, seen, "2026-11-23T00:00:00.000+00:00", {"process": "a"})
        assert one.run(run_id).outcome is None  # running again, no longer blocked
        with pytest.raises(JournalError, match="taken over by another process"):
            two.take_over(run_id, seen, "2026-11-23T00:00:00.000+00:00", {"process": "b"})
        kinds = [e.kind for e in two.events(run_id)]
    assert kinds.count("run_resumed") == 1


def test_plan_rules_count_what_the_run_already_spent(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cheappay fails after costing 0.30; the replan (0.80 + 0.50) alone is under 1.50, but
    the order as a whole would cost 1.60: the rule denies it. Trying cheappay again (0.30 +
    0.50) is allowed but now below min_success_probability: that is the way out told."""
    add_rules(
        project,
        '    - id: order-cap\n      effect: deny\n      when: "plan.cost > 1.5"\n'
        "      message: An order costs at most 1.50.\n",
    )
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    code, out = ido("run", "ship-order")
    assert code == 1, out  # a step was performed, then no plan: failed, not 4
    assert "no plan the plan rules allow keeps within the limits and rules" in out
    assert "is denied by intent:ship-order/order-cap: An order costs at most 1.50" in out
    assert (
        "with min_success_probability lifted, the most reliable plan they allow, pay-cheap-eu"
        in out
    )
    assert calls(project) == ["pay-cheap-eu"]


def test_a_run_governed_by_a_policy_that_is_gone_is_reported_not_crashed(
    project: Path,
) -> None:
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    extra = project / "policies" / "extra.yaml"
    extra.write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: extra}\nspec:\n  rules:\n"
        '    - id: never\n      effect: deny\n      when: "false"\n      message: m\n'
    )
    add_rules(
        project, '    - id: own\n      effect: avoid\n      when: "false"\n      message: m\n'
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text().replace("policies: [residency]", "policies: [residency, extra]")
    )
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    extra.unlink()
    intent.write_text(
        intent.read_text().replace("policies: [residency, extra]", "policies: [residency]")
    )
    code, out = ido("runner", "--once")
    assert code == 0, out
    assert "cannot continue" in out and "policy 'extra'" in out and "Traceback" not in out
    assert "· intent ship-order" not in out, out  # named only once it goes on: not each look
    code, out = ido("resume", "last")
    assert code == 2 and "policy 'extra'" in out


def test_the_runner_needs_an_existing_journal(project: Path) -> None:
    code, out = ido("runner", "--once", "--journal", str(project / "nope" / "x.db"))
    assert code == 2 and "no journal at" in out
    assert not (project / "nope").exists()


def test_the_runner_says_what_it_does_and_refuses_an_interval_it_cannot_sleep(
    project: Path,
) -> None:
    """`--once` said "watching … (Ctrl-C to stop)"; `--interval inf` was an OverflowError."""
    ido("run", "ship-order")
    code, out = ido("runner", "--once")
    assert code == 0 and "looking once in" in out and "Ctrl-C" not in out, out
    for interval in ("inf", "1e10", "nan"):
        code, out = ido("runner", "--interval", interval)
        assert code == 2 and "--interval" in out and "Traceback" not in out, (interval, out)
    code, out = ido("runner", "--interval", "nan", "--once")  # it said "should be <= 86400"
    assert code == 2 and "nan is not a number of seconds; give 0.05 to 86400" in out, out


def test_replay_applies_the_policies_that_were_in_force(project: Path) -> None:
    org = project / "policies" / "org.yaml"
    org.write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: org}\nspec:\n  enforced: true\n"
        "  rules:\n    - id: no-cheappay\n      effect: deny\n"
        "      when: \"capability.provider == 'cheappay'\"\n      message: Banned.\n"
    )
    assert ido("run", "ship-order")[0] == 0
    (decision,) = decided(project)
    assert decision["policies"] == ["org", "residency"]
    org.write_text(org.read_text().replace("enforced: true", "enforced: false"))
    code, out = ido("replay", "last")
    assert code == 0 and "identical" in out.lower(), out


def test_policy_tests_can_give_health(project: Path) -> None:
    add_policy_rule(
        project,
        "    - id: flaky\n      effect: avoid\n"
        '      when: "health[capability.name].failures > 1"\n      message: Flaky.\n',
    )
    tests = project / "policies" / "tests"
    tests.mkdir()
    (tests / "flaky.yaml").write_text(
        "apiVersion: ido/v1\nkind: PolicyTest\nmetadata: {name: flaky}\nspec:\n"
        "  policies: [residency]\n  cases:\n"
        "    - name: healthy by default\n      capability: ship\n      expect: {avoid: []}\n"
        "    - name: flaky after failures\n      capability: ship\n"
        "      health: {ship: {failures: 3}}\n      expect: {avoid: [residency/flaky]}\n"
    )
    code, out = ido("policy", "test")
    assert code == 0, out


FREEZE = """\
    - id: no-charges
      effect: deny
      when: "'payments' in capability.tags"
      message: Charges frozen.
"""


def test_a_capability_two_rules_deny_is_explained_with_both(project: Path) -> None:
    """pay-us is denied by pii-stays-in-eu and by the freeze: the decision kept the first
    rule only, so lifting pii-stays-in-eu was offered as a way to pay with pay-us."""
    add_policy_rule(project, FREEZE)
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    assert "pay-us: denied by residency/pii-stays-in-eu" in out
    assert "(also denied by residency/no-charges)" in out
    assert "lift rule residency/no-charges" in out
    assert "lift rule residency/pii-stays-in-eu" not in out


def test_the_runner_looks_again_at_a_run_seen_before_it_blocked(project: Path) -> None:
    """A run commits its requests, then its end: a runner that looked in between saw a
    request past its wait on a run not yet blocked, dropped it, and never came back."""
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        resumed: list[str] = []
        watcher = Runner(store, resumed.append, time.time)
        assert watcher.poll() == []  # it has looked once: from here, what is new
        store.start_run("r1", "ship-order", "2026-12-06T05:00:00+00:00", {})
        request = {"rule": "p/r", "capability": "ship", "step": 1, "message": "m", "plan": "x"}
        request |= {"cost": 1.0, "since": 1.0, "expires": 2.0, "escalate": []}
        store.append("r1", "approval_required", "2026-12-06T05:00:01+00:00", request)
        assert watcher.poll() == [] and resumed == []  # still running: not yet
        store.finish_run("r1", "blocked", "waits", 0.0, 1.0, "2026-12-06T05:00:02+00:00")
        assert watcher.poll() == ["r1"] and resumed == ["r1"]


def test_the_runner_tries_again_a_run_it_could_not_continue(project: Path) -> None:
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        answers = [False, None]
        now = [1000.0]
        watcher = Runner(store, lambda _: answers.pop(0), lambda: now[0])
        assert watcher.poll() == []  # could not (a catalog that failed to load, say)
        now[0] += RETRY_FIRST + 0.01
        assert len(watcher.poll()) == 1 and answers == []


def test_the_runner_waits_longer_each_time_it_cannot_continue_a_run(project: Path) -> None:
    """It tried a run it could not continue at every look (each second), however long the
    trouble lasted, and however many runs it held up."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        tried: list[float] = []
        now = [1000.0]

        def resume(_: str) -> bool:
            tried.append(now[0] - 1000.0)
            return False

        watcher = Runner(store, resume, lambda: now[0])
        for _ in range(400):  # a look every half second for 200 s
            watcher.poll()
            now[0] += 0.5
        assert tried[:7] == [0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0]
        assert all(b - a == RETRY_MOST for a, b in pairwise(tried[6:]))
        assert watcher.retrying
        watcher.retry_now()  # its catalog changed: at once, and from the first wait again
        watcher.poll()
        now[0] += 0.5
        watcher.poll()
        assert tried[-1] == 200.0 and len(tried) == 10


def test_the_runner_resumes_with_the_catalog_as_it_is_now(project: Path) -> None:
    """Loaded once at start: a policy added while it watched never bound what it continued."""
    from ido.cli.resume import _Reloaded

    current = _Reloaded(None)
    assert "freeze" not in current().policies
    (project / "policies" / "freeze.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: freeze}\n"
        "spec:\n  enforced: true\n  rules:\n    - {id: no-ship, effect: deny, "
        "when: \"capability.name == 'ship'\", message: frozen}\n"
    )
    assert "freeze" in current().policies
    assert current.moved() and not current.moved()  # (asked once per change)
    (project / "policies" / "freeze.yaml").write_text("kind: [")
    assert current.moved()
    with pytest.raises(LoadError):
        current()  # the runs wait for a catalog that loads


def test_a_runner_stopped_mid_resume_names_the_run_it_leaves(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said "runner stopped", exit 0, with the run it carried on left interrupted."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")

    taking_over = SqliteJournal.take_over

    def stopped(self: SqliteJournal, *args: Any) -> None:  # (stopped once it took the run)
        taking_over(self, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(SqliteJournal, "take_over", stopped)
    result = cli.invoke(app, ["runner", "--once"])
    assert result.exit_code == 130, result.output
    assert (
        "interrupted: run r" in result.output and "continue it with ido resume r" in result.output
    )


def test_a_runner_whose_journal_is_replaced_stops_and_says_so(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal restored from a copy while the runner watched: it read the old file on,
    where no verdict would ever come, and said nothing."""
    ido("run", "ship-order")
    journal = project / ".ido" / "ido.db"
    looks: list[int] = []
    real = Runner.poll

    def look(self: Runner) -> None:
        looks.append(1)
        if len(looks) == 1:  # restored from a copy after the first look
            copy = journal.with_name("copy.db")
            copy.write_bytes(journal.read_bytes())
            copy.replace(journal)
        if len(looks) > 3:
            raise KeyboardInterrupt  # (it would watch on for ever)
        real(self)

    monkeypatch.setattr(Runner, "poll", look)
    result = cli.invoke(app, ["runner", "--interval", "0.05"])
    assert result.exit_code == 2, result.output
    assert result.output.endswith(
        "error: journal .ido/ido.db was removed or replaced while the runner watched it; no "
        "verdict given in the new file would have reached it: start ido runner again\n"
    ), result.output
    assert len(looks) == 1


def test_a_runner_stopped_by_sigterm_says_so_as_ido_run_does(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said "interrupted: run r…", where `ido run` and `ido resume` say "interrupted
    (terminated by SIGTERM): run r…"."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")

    taking_over = SqliteJournal.take_over

    def stopped(self: SqliteJournal, *args: Any) -> None:  # (stopped once it took the run)
        taking_over(self, *args)
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(SqliteJournal, "take_over", stopped)
    result = cli.invoke(app, ["runner", "--once"])
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert "interrupted (terminated by SIGTERM): run r" in result.output, result.output


def test_a_runner_stopped_before_it_took_the_run_over_leaves_it_blocked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM as the runner loaded the changed catalog again, before it took the approved
    run over: it said `interrupted (terminated by SIGTERM): run r…; continue it with ido
    resume r…`, exit 143, of a run still blocked, which the next runner continues."""
    from ido.cli.resume import _Reloaded

    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")

    def loading(self: _Reloaded) -> None:
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(_Reloaded, "__call__", loading)
    result = cli.invoke(app, ["runner", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("runner stopped (terminated by SIGTERM)\n"), result.output
    assert "ido resume" not in result.output
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        assert store.runs(1)[0].outcome == "blocked"


def test_approve_sees_a_runner_that_watches_the_journal_through_a_symlink(project: Path) -> None:
    """The runner locked the resolved path and `ido approve` looked at the one it was given."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    link = project / "link.db"
    link.symlink_to(project / ".ido" / "ido.db")
    lock = hold_lock(link)
    assert lock is not None and runner_active(project / ".ido" / "ido.db")
    code, out = ido("approve", "last", "--by", "alice")
    assert code == 0 and "the ido runner watching" in out, out
    lock.close()


def test_a_catalog_that_does_not_load_is_read_once_per_change(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ido.cli.resume as cli_module
    from ido.cli.resume import _Reloaded

    current = _Reloaded(None)
    (project / "policies" / "broken.yaml").write_text("kind: [")
    loads = []
    real = cli_module._load
    monkeypatch.setattr(cli_module, "_load", lambda *a: loads.append(1) or real(*a))
    for _ in range(3):
        with pytest.raises(LoadError):
            current()
    assert len(loads) == 1


def test_ido_plan_says_what_a_run_of_the_plan_would_wait_for(project: Path) -> None:
    """The plan of a `mode: propose` intent showed nothing of the wait it leads to: `ido
    plan` looked like what `ido run` would do at once, and the run stopped blocked."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  mode: propose\n")
    code, out = ido("plan", "ship-order")
    assert code == 0, out
    assert (
        "approval needed for the plan (mode/propose: a person approves every plan before it "
        "runs)\napproval needed for ship (residency/big-spend: Shipping needs a human.)\n"
    ) in out, out
    assert not calls(project)


def test_ido_plan_json_lists_the_approvals_a_run_would_wait_for(project: Path) -> None:
    """`ido plan -f json` left out what the text view says a run would wait for (the
    plan's own approval under `mode: propose` was nowhere in it): `approvals_needed` lists
    each, as the run would ask it."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  mode: propose\n")
    code, out = ido("plan", "ship-order", "--format", "json")
    assert code == 0, out
    needed = json.loads(out)["approvals_needed"]
    assert [(n["rule"], n["capability"], n["step"]) for n in needed] == [
        ("mode/propose", "(plan)", 0),
        ("residency/big-spend", "ship", 2),
    ]
    assert needed[1]["message"] == "Shipping needs a human."


def test_the_runner_ends_each_run_as_ido_resume_would(project: Path) -> None:
    """It ended a run with `achieved: run r…` alone, or `failed: run r…: reason` on one
    line: no cost and no `ido explain` to read, where `ido resume` says both."""
    add_policy_rule(project, GATED.replace("1ms", "1h"))
    ido("run", "ship-order")
    run_id = ido("runs", "--format", "json")[1].split('"id": "')[1].split('"')[0]
    ido("reject", run_id, "--by", "bob", "--comment", "not today")
    code, out = ido("runner", "--once")
    assert code == 0, out
    assert (
        f"failed: run {run_id}, cost 0.00\n"
        "reason: ship was rejected by bob (residency/big-spend): not today\n"
        f"why: ido explain {run_id}\n"
    ) in out, out


@pytest.mark.parametrize(
    ("when", "said"),
    [
        (
            "'payments' in capability.tags && !state.ledger.open",
            "(it could not be evaluated, and fails closed: ",
        ),
        (
            "capability.name == 'pay-pricey-eu' || ('payments' in capability.tags && !state.ledger.open)",
            "(failing closed for pay-cheap-eu, pay-us: it could not be evaluated: ",
        ),
    ],
)
def test_no_plan_says_when_the_rule_in_the_way_could_not_be_evaluated(
    project: Path, when: str, said: str
) -> None:
    """The fact a guard reads was missing (its observer down): the rule failed closed, and
    the reason read "policy residency/ledger denies pay-cheap-eu, …" as if the facts had
    been judged."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: ledger\n      effect: deny\n      message: The ledger says no.\n"
        + f'      when: "{when}"\n'
    )
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    assert f"policy residency/ledger denies pay-cheap-eu, pay-pricey-eu, pay-us {said}" in out, out


def test_a_way_out_through_a_rule_that_could_not_be_evaluated_says_so(project: Path) -> None:
    """A rule reading a fact the state lacks denied every ship, failing closed, and the
    reason said only "lift rule residency/frozen": a sanctions or freeze rule to lift,
    where the cause was a missing fact. It is said once, with the error: the way out said
    "could not be evaluated" a second time."""
    add_policy_rule(
        project,
        "    - id: frozen\n      effect: deny\n"
        "      when: \"capability.name == 'ship' && state.freeze.on\"\n"
        "      message: Nothing ships during a freeze.\n",
    )
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    assert re.search(
        r"policy residency/frozen denies ship \(it could not be evaluated, and fails closed: "
        r"[^;]*freeze[^;]*\); or lift rule residency/frozen \(it denies ship\) to allow [^;]*"
        r"ship \(give the state the facts it reads\)",
        out,
    ), out
    reason = next(line for line in out.splitlines() if "no plan reaches" in line)
    assert reason.count("could not be evaluated") == 1, reason


def test_a_rule_whose_own_message_names_the_failing_closed_words_is_judged_by_its_verdict(
    project: Path,
) -> None:
    """Failing closed was told by the words in a hit's message: a rule that held, with a
    message of its own saying "rule could not be evaluated", was reported failing closed."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: ledger\n      effect: deny\n"
        + "      message: 'Payments held (rule could not be evaluated: by finance)'\n"
        + "      when: \"'payments' in capability.tags\"\n"
    )
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    assert "policy residency/ledger denies pay-cheap-eu, pay-pricey-eu, pay-us" in out, out
    assert "fails closed" not in out and "failing closed" not in out, out


def test_a_rule_whose_condition_reads_nothing_is_warned_of(project: Path) -> None:
    """`when: "true"` in an enforced deny froze every capability of every team's intents,
    and `ido validate` said ok; `1 == 2` is a rule that never fires."""
    add_policy_rule(
        project,
        '    - id: freeze-all\n      effect: deny\n      when: "true"\n      message: m\n'
        '    - id: never\n      effect: avoid\n      when: "1 == 2"\n      message: m\n',
    )
    code, out = ido("validate")
    assert code == 0, out
    assert (
        "warning: policies/residency.yaml:12: spec.rules[1].when: reads no variable, so it "
        "always holds: this deny rule denies every capability at every decision "
        "(name what it is about: capability, plan, state, intent or health)" in out
    ), out
    assert (
        "warning: policies/residency.yaml:16: spec.rules[2].when: reads no variable, so it "
        "never holds: this avoid rule never fires" in out
    ), out
