"""`ido policy test`: policy unit tests in YAML, like `opa test`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()
TEST = """\
apiVersion: ido/v1
kind: PolicyTest
metadata: {{name: residency-tests}}
spec:
  policies: [residency]
  cases:
    - name: a US payment for an EU order
      capability: {capability}
      state: {{order: {{region: eu}}}}
      expect: {expect}
"""


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def write(project: Path, capability: str, expect: str) -> Path:
    path = project / "residency-tests.yaml"
    path.write_text(TEST.format(capability=capability, expect=expect))
    return path


def test_a_passing_case(project: Path) -> None:
    path = write(project, "pay-us", "{deny: [residency/pii-stays-in-eu]}")
    code, out = ido("policy", "test", str(path))
    assert code == 0, out
    assert "pass  residency-tests: a US payment for an EU order" in out
    assert "1 passed, 0 failed" in out


def test_a_failing_case_says_what_was_expected_and_what_fired(project: Path) -> None:
    path = write(project, "pay-us", "{allow: true}")
    code, out = ido("policy", "test", str(path))
    assert code == 1
    assert "FAIL  residency-tests: a US payment for an EU order" in out
    assert "✗ allow: expected no deny, fired ['residency/pii-stays-in-eu']" in out
    path = write(project, "pay-cheap-eu", "{deny: [residency/pii-stays-in-eu]}")
    code, out = ido("policy", "test", str(path))
    assert code == 1
    assert "✗ deny: expected ['residency/pii-stays-in-eu'], fired []" in out


def test_an_empty_list_expects_that_no_rule_fires(project: Path) -> None:
    """`deny: []` passed although a deny fired: an empty list was taken as unchecked."""
    path = write(project, "pay-us", "{deny: []}")
    code, out = ido("policy", "test", str(path))
    assert code == 1, out
    assert "✗ deny: expected [], fired ['residency/pii-stays-in-eu']" in out
    path = write(project, "pay-cheap-eu", "{deny: [], require_approval: []}")
    assert ido("policy", "test", str(path))[0] == 0


ORG = (
    "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: org}\nspec:\n  enforced: true\n"
    "  rules:\n    - id: no-cheappay\n      effect: deny\n"
    "      when: \"capability.provider == 'cheappay'\"\n      message: Banned.\n"
)


def test_an_enforced_policy_is_evaluated_in_every_test(project: Path) -> None:
    """`allow: true` passed for a capability an enforced policy denies in every run: a test
    evaluated only the policies it names."""
    (project / "policies" / "org.yaml").write_text(ORG)
    path = write(project, "pay-cheap-eu", "{allow: true}")
    code, out = ido("policy", "test", str(path))
    assert code == 1, out
    assert (
        "✗ allow: expected no deny, fired ['org/no-cheappay'] "
        "(org: enforced, so it governs every decision, listed or not)" in out
    )
    path = write(project, "pay-cheap-eu", "{deny: [org/no-cheappay]}")
    code, out = ido("policy", "test", str(path))
    assert code == 0, out


def test_no_policy_test_to_run_is_an_error_not_a_pass(project: Path) -> None:
    """It said "no policy tests found" and exited 0, as if every test had passed."""
    code, out = ido("policy", "test")
    assert code == 2 and "no policy tests in the catalog" in out, out


def test_a_case_sees_the_state_as_a_decision_does(project: Path) -> None:
    """A boolean fact some capability sets starts false in a decision, but a case read it
    missing: "evaluation error: Key not found", or, guarded by has(), a silent pass for a
    rule that behaves otherwise in a run."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: no-refund-unpaid\n      effect: deny\n"
        + "      when: \"capability.name == 'refund-eu' && !state.order.paid\"\n"
        + "      message: Nothing to refund.\n"
    )
    path = write(project, "refund-eu", "{deny: [residency/no-refund-unpaid]}")
    code, out = ido("policy", "test", str(path))
    assert code == 0, out


def test_a_case_s_health_that_is_not_numbers_is_a_load_error(project: Path) -> None:
    """`reliability: high` was a ValueError traceback."""
    path = write(project, "pay-us", "{deny: [residency/pii-stays-in-eu]}")
    path.write_text(path.read_text() + "      health: {pay-us: {reliability: high}}\n")
    code, out = ido("policy", "test", str(path))
    assert code == 2 and "spec.cases[0].health.pay-us.reliability" in out, out
    assert "Traceback" not in out


def test_an_unknown_capability_is_a_load_error(project: Path) -> None:
    path = write(project, "pay-nowhere", "{allow: true}")
    code, out = ido("policy", "test", str(path))
    assert code == 2
    assert (
        "residency-tests.yaml:8: spec.cases[0].capability: Capability 'pay-nowhere' not found"
        in out
    )


def test_a_case_that_expects_nothing_is_a_load_error(project: Path) -> None:
    """`expect: {}` passed, exit 0: a case that checks nothing cannot fail."""
    path = write(project, "pay-us", "{}")
    code, out = ido("policy", "test", str(path))
    assert code == 2, out
    assert "residency-tests.yaml:10: spec.cases[0].expect: expects nothing" in out


def test_a_rule_that_cannot_fire_where_it_is_expected_is_a_load_error(project: Path) -> None:
    """Each of these loaded, and the case failed with only "expected [...], fired []"."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: cheap\n      effect: prefer\n      weight: 0.5\n"
        + "      when: \"capability.region == 'eu'\"\n      message: EU first.\n"
        + '    - id: budget\n      effect: deny\n      when: "plan.cost > 2.0"\n'
        + "      message: Too dear.\n"
    )
    (project / "policies" / "other.yaml").write_text(
        policy.read_text().replace("name: residency", "name: other")
    )
    cases = {
        "{require_approval: [residency/nope]}": "rule 'residency/nope' not found; "
        "residency has residency/budget, residency/cheap, residency/pii-stays-in-eu",
        "{deny: [residency/cheap]}": "rule 'residency/cheap' is a prefer rule, so it never "
        "fires as deny",
        "{deny: [residency/budget]}": "rule 'residency/budget' reads plan: it fires only in a "
        "case with plan",
        "{deny: [budget]}": "'budget' is not a rule id: write policy/rule, like residency/budget",
        "{deny: [nope]}": "'nope' is not a rule id: write policy/rule, like residency/rule",
        "{deny: [other/pii-stays-in-eu]}": "policy 'other' is not among this test's policies "
        "(residency)",
    }
    for expect, message in cases.items():
        path = write(project, "pay-us", expect)
        code, out = ido("policy", "test", str(path))
        assert code == 2, out
        field = expect[1:].partition(":")[0]
        assert f"residency-tests.yaml:10: spec.cases[0].expect.{field}[0]: {message}" in out, out
    path.write_text(
        path.read_text()
        .replace("capability: pay-us", "plan: [pay-us]")
        .replace("[other/pii-stays-in-eu]", "[residency/pii-stays-in-eu]")
    )
    path = path.rename(project / "policies" / path.name)  # where `ido validate` finds it
    code, out = ido("validate")
    assert (
        "rule 'residency/pii-stays-in-eu' is about one capability: it fires only in a case "
        "with capability" in out
    ), out


def test_the_shipped_policy_tests_pass(monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    code, out = ido("policy", "test")
    assert code == 0, out
    assert "0 failed" in out


SIDE_BY_SIDE = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: label}
spec: {provider: p, effects: {box.labelled: true}, latency: 1s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: weigh}
spec: {provider: p, effects: {box.weighed: true}, latency: 1s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship-box}
spec: {provider: p, requires: [state.box.labelled], effects: {box.shipped: true}, latency: 1s}
---
apiVersion: ido/v1
kind: Policy
metadata: {name: slow}
spec:
  rules:
    - {id: too-slow, effect: deny, when: "plan.latency > 1.5", message: too slow}
---
apiVersion: ido/v1
kind: PolicyTest
metadata: {name: slow-tests}
spec:
  policies: [slow]
  cases:
    - {name: side by side, plan: [label, weigh], expect: {allow: true}}
    - {name: one after the other, plan: [label, ship-box], expect: {deny: [slow/too-slow]}}
"""


def test_a_plan_case_is_timed_as_a_decision_times_it(project: Path) -> None:
    """`plan.latency` summed the steps: two steps that share no fact, 1 s each, were 2 s
    to the test, where a decision (which the runtime's rules see) times them at 1 s."""
    path = project / "capabilities" / "side.yaml"
    path.write_text(SIDE_BY_SIDE)
    code, out = ido("policy", "test", str(path))
    assert code == 0 and "2 passed, 0 failed" in out, out


def test_a_plan_case_is_timed_with_the_beliefs_it_gives(project: Path) -> None:
    """The case's `health` (what a decision would believe) did not reach `plan.latency`
    or `plan.success_probability`: only the declared numbers did."""
    path = project / "capabilities" / "side.yaml"
    slow = SIDE_BY_SIDE.replace(
        "    - {name: side by side, plan: [label, weigh], expect: {allow: true}}",
        "    - {name: side by side, plan: [label, weigh], expect: {allow: true}}\n"
        "    - name: label slowed down\n      plan: [label, weigh]\n"
        "      health: {label: {latency: 2.0}}\n      expect: {deny: [slow/too-slow]}",
    )
    path.write_text(slow)
    code, out = ido("policy", "test", str(path))
    assert code == 0 and "3 passed, 0 failed" in out, out


def test_an_expectation_written_as_a_word_is_told_to_be_a_key_with_its_value(
    project: Path,
) -> None:
    """`expect: deny` said only "should be a mapping of allow, avoid, deny, …"; it now says
    to write the word as a key with its value."""
    path = write(project, "pay-us", "deny")
    code, out = ido("policy", "test", str(path))
    assert code == 2, out
    assert "(got 'deny'): write 'deny' as a key with its value, {deny: …}" in out


MADE_MAP = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: weigh-parcel}
spec: {provider: p, effects: {parcel.weight: 3}, latency: 1s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: post-parcel}
spec: {provider: p, requires: ["!has(state.parcel.carrier)"], effects: {sent: true}, latency: 1s}
---
apiVersion: ido/v1
kind: Policy
metadata: {name: slow-made}
spec:
  rules:
    - {id: too-slow, effect: deny, when: "plan.latency > 1.5", message: too slow}
---
apiVersion: ido/v1
kind: PolicyTest
metadata: {name: slow-made-tests}
spec:
  policies: [slow-made]
  cases:
    - {name: parcel made first, plan: [weigh-parcel, post-parcel], expect: {deny: [slow-made/too-slow]}}
    - name: parcel given
      plan: [weigh-parcel, post-parcel]
      state: {parcel: {}}
      expect: {allow: true}
"""


def test_a_plan_case_waits_for_the_step_making_a_map_a_condition_looks_into(
    project: Path,
) -> None:
    """`post-parcel` needs `!has(state.parcel.carrier)`, which holds once `weigh-parcel` made
    `parcel`: a decision has it wait (2 s), where the test timed the two side by side
    (1 s) and allowed a plan the runtime's rule denies. With `parcel` given, they share
    no fact, and run side by side in both."""
    path = project / "capabilities" / "made.yaml"
    path.write_text(MADE_MAP)
    code, out = ido("policy", "test", str(path))
    assert code == 0 and "2 passed, 0 failed" in out, out
