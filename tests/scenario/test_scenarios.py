"""Scenarios: simulated worlds on a virtual clock, expectations, the CLI, and bad input."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import LoadError
from ido.scenario.runner import load_scenarios, run_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
CATALOG = [ROOT / d for d in ("intents", "capabilities", "policies")]
runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(ROOT)
    return ROOT


def test_at_least_eight_scenarios_ship() -> None:
    assert len(SHIPPED) >= 8


@pytest.mark.parametrize("file", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_scenario_meets_its_expectations_through_the_cli(
    file: Path, in_root: Path
) -> None:
    code, out = ido("scenario", "run", str(file.relative_to(in_root)))
    assert code == 0, out
    assert "expectations: all met" in out


def test_scenario_test_tabulates_every_shipped_scenario_and_writes_junit(
    in_root: Path, tmp_path: Path
) -> None:
    report = tmp_path / "junit.xml"
    code, out = ido("scenario", "test", "--junit", str(report))
    assert code == 0, out
    assert f"{len(SHIPPED)} passed, 0 failed" in out
    # a wait for approval reads as a person says it, as `ido explain` says it, not `1203.6s`
    assert re.search(r"large-order-approved +achieved +20m4s ", out), out
    suite = ET.parse(report).getroot()
    assert suite.get("tests") == str(len(SHIPPED)) and suite.get("failures") == "0"
    assert {c.get("name") for c in suite} == {f.stem for f in SHIPPED}


DRONE = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: drone}
spec:
  provider: dronz
  region: eu
  requires: ["state.order.paid", "!state.order.shipped"]
  effects: {order.shipped: true}
  cost: 0.10
  latency: 1s
  reliability: 0.999
"""
PAIR = """\
apiVersion: ido/v1
kind: Scenario
metadata: {name: with-drone}
spec:
  intent: fulfil-order
  catalog: [drone.yaml]
  expect: {outcome: achieved, used: [drone]}
---
apiVersion: ido/v1
kind: Scenario
metadata: {name: without-drone}
spec:
  intent: fulfil-order
  expect: {outcome: achieved, used: [ship-dhl]}
"""


def test_a_scenario_s_catalog_is_its_own_not_its_neighbours_in_the_file(
    in_root: Path, tmp_path: Path
) -> None:
    """Every scenario of a file ran against the `catalog` entries of all of them: the
    second, with no catalog of its own, shipped by drone and failed."""
    (tmp_path / "drone.yaml").write_text(DRONE)
    (tmp_path / "pair.yaml").write_text(PAIR)
    found = load_scenarios(tmp_path / "pair.yaml", CATALOG)
    assert [(s.name, "drone" in c.capabilities) for s, c in found] == [
        ("with-drone", True),
        ("without-drone", False),
    ]
    code, out = ido("scenario", "test", str(tmp_path / "pair.yaml"))
    assert code == 0 and "2 passed, 0 failed" in out, out


def test_validate_checks_a_scenario_with_its_own_catalog_as_it_runs(
    in_root: Path, tmp_path: Path
) -> None:
    """`ido validate` loaded the scenario without its `catalog` entries: "Capability
    'drone' not found" for a scenario that runs fine, and a missing entry passed."""
    (tmp_path / "drone.yaml").write_text(DRONE)
    (tmp_path / "pair.yaml").write_text(PAIR)
    base = ["--catalog", "intents", "--catalog", "capabilities", "--catalog", "policies"]
    code, out = ido("validate", str(tmp_path / "pair.yaml"), *base)
    assert code == 0 and "2 scenarios" in out, out
    (tmp_path / "pair.yaml").write_text(PAIR.replace("[drone.yaml]", "[drone.yaml, gone.yaml]"))
    code, out = ido("validate", str(tmp_path / "pair.yaml"), *base)
    assert code == 2 and "pair.yaml:6: spec.catalog[1]: no such file or folder: gone.yaml" in out


def test_validate_finds_a_scenario_whose_kind_is_spelt_with_an_escape(
    in_root: Path, tmp_path: Path
) -> None:
    """Files that cannot declare a scenario are not parsed again for one; a kind written
    with an escape (`"Sc\\x65nario"`) still can, and its own catalog is still checked."""
    (tmp_path / "drone.yaml").write_text(DRONE)
    escaped = PAIR.replace("kind: Scenario", 'kind: "Sc\\x65nario"')
    (tmp_path / "pair.yaml").write_text(escaped.replace("[drone.yaml]", "[drone.yaml, gone.yaml]"))
    base = ["--catalog", "intents", "--catalog", "capabilities", "--catalog", "policies"]
    code, out = ido("validate", str(tmp_path / "pair.yaml"), *base)
    assert code == 2 and "pair.yaml:6: spec.catalog[1]: no such file or folder: gone.yaml" in out


def test_validate_checks_the_python_bindings_of_a_scenario_s_own_catalog(
    in_root: Path, tmp_path: Path
) -> None:
    """A capability of a scenario's own catalog bound to a function its module lacks
    passed `ido validate` (only the shared catalog's bindings were read), and every call
    of it failed at run time."""
    (tmp_path / "drone.yaml").write_text(DRONE + '  run: {python: "json:dumpz"}\n')
    (tmp_path / "pair.yaml").write_text(PAIR)
    base = ["--catalog", "intents", "--catalog", "capabilities", "--catalog", "policies"]
    code, out = ido("validate", str(tmp_path / "pair.yaml"), *base)
    assert code == 2, out
    assert "drone.yaml:12: spec.run.python: module 'json' has no function 'dumpz'" in out
    assert out.count("has no function") == 1, out
    (tmp_path / "drone.yaml").write_text(DRONE + '  run: {python: "nowhere_module:ship"}\n')
    code, out = ido("validate", str(tmp_path / "pair.yaml"), *base)
    assert code == 0 and "spec.run.python: module 'nowhere_module' not found" in out, out
    assert out.count("not found in the project folder") == 1, out


def test_a_scenario_s_catalog_entry_that_is_not_there_is_placed_at_its_line(
    in_root: Path, tmp_path: Path
) -> None:
    """It said `nothere.yaml: no such file or folder`, not which scenario named it where;
    a number given as an entry was taken for a path too."""
    (tmp_path / "bad.yaml").write_text(
        PAIR.split("---", maxsplit=1)[0].replace("[drone.yaml]", "[nothere.yaml, 5]")
    )
    code, out = ido("scenario", "test", str(tmp_path / "bad.yaml"))
    assert code == 2, out
    assert "bad.yaml:6: spec.catalog[0]: no such file or folder: nothere.yaml" in out
    assert "spec.catalog[1]" in out and "/5:" not in out


def test_a_wrong_catalog_entry_is_told_with_the_rest_of_what_is_wrong_in_the_file(
    in_root: Path, tmp_path: Path
) -> None:
    """A missing entry was the only problem told: the unknown key and the duration that
    is none came up only once it was mended. Each is told at its line, in one go."""
    scenario = PAIR.split("---", maxsplit=1)[0].replace("[drone.yaml]", "[gone.yaml]")
    scenario += "  colour: blue\n  seed: soon\n"
    (tmp_path / "bad.yaml").write_text(scenario)
    with pytest.raises(LoadError) as info:
        load_scenarios(tmp_path / "bad.yaml", CATALOG)
    assert [(p.line, p.field) for p in info.value.problems] == [
        (6, "spec.catalog[0]"),
        (8, "spec.colour"),
        (9, "spec.seed"),
    ]
    base = ["--catalog", "intents", "--catalog", "capabilities", "--catalog", "policies"]
    code, out = ido("validate", str(tmp_path / "bad.yaml"), *base)
    assert code == 2 and "3 problems found" in out, out


def test_the_same_seed_gives_the_same_run_event_for_event() -> None:
    ((scenario, catalog),) = load_scenarios(ROOT / "scenarios" / "flapping-stripe.yaml", CATALOG)
    runs = []
    for _ in range(2):
        result = run_scenario(scenario, catalog, base=ROOT)
        events = result.journal.events(result.report.run_id)
        runs.append([(e.at, e.kind, json.dumps(e.data, sort_keys=True)) for e in events])
    assert runs[0] == runs[1]


def test_another_seed_can_take_another_path() -> None:
    """flapping-stripe's seed fails the first Stripe call; some other seed does not."""
    ((scenario, catalog),) = load_scenarios(ROOT / "scenarios" / "flapping-stripe.yaml", CATALOG)
    paths = set()
    for seed in range(8):
        spec = scenario.spec.model_copy(update={"seed": seed})
        result = run_scenario(scenario.model_copy(update={"spec": spec}), catalog, base=ROOT)
        events = result.journal.events(result.report.run_id)
        paths.add(tuple(e.data["capability"] for e in events if e.kind == "action_started"))
    assert len(paths) >= 2


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"apiVersion: ido/v1\nkind: Scenario\nmetadata: {{name: {name}}}\nspec:\n{body}"
    )
    return path


def test_hours_of_virtual_time_pass_without_sleeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe is down for two hours and retries back off for up to an hour: the run takes
    hours of virtual time and never calls time.sleep."""
    file = write(
        tmp_path,
        "long-outage",
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    limits: {backoff: 20m, max_attempts: 5, max_replans: 10}\n"
        "  world: {capabilities: {charge-adyen-eu: {success: 0.0}}}\n"
        "  faults:\n"
        "    - {provider: stripe, outage: true, from: 0s, until: 2h}\n"
        "  expect: {outcome: achieved, max_time: 6h}\n",
    )

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s for real")

    monkeypatch.setattr(time, "sleep", no_sleep)
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet
    assert result.elapsed >= 2 * 3600


def test_a_virtual_clock_that_would_pass_the_year_9999_fails_the_run(tmp_path: Path) -> None:
    """Retries backing off from 100 years took the clock past what a timestamp holds and
    crashed with a traceback; the run fails saying why, its clock where it was."""
    file = write(
        tmp_path,
        "centuries",
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    limits: {backoff: 36500d, max_attempts: 50, max_replans: 100}\n"
        "  world: {capabilities: {charge-adyen-eu: {success: 0}, charge-stripe-eu: {success: 0}}}\n"
        "  expect: {outcome: failed, reason: virtual clock would pass the year 9999}\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet


def test_unmet_expectations_are_spelled_out_and_exit_1(in_root: Path, tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "too-hopeful",
        "  intent: fulfil-order\n"
        "  faults: [{provider: stripe, outage: true, from: 0s}]\n"
        "  expect:\n"
        "    outcome: failed\n"
        "    never_used: [charge-adyen-eu]\n"
        "    max_cost: 1.0\n"
        "    replans: {max: 0}\n",
    )
    code, out = ido("scenario", "test", str(file))
    assert code == 1, out
    assert "0 passed, 1 failed" in out
    assert "✗ outcome: expected failed, got achieved" in out
    assert "✗ never_used: charge-adyen-eu was called (1 call)" in out
    assert "✗ max_cost: spent 3.31, more than 1.00" in out
    assert "✗ replans: 1, expected at least 0 and at most 0" in out


def test_undone_expects_each_step_of_a_capability_undone_on_any_attempt(
    in_root: Path, tmp_path: Path
) -> None:
    """A refund that fails once is tried again and done: `undone` is met. With
    `max_compensation_attempts: 1` it is not tried again, and `undone` says what was left."""
    shipped = (in_root / "scenarios" / "refund-retried.yaml").read_text()
    retried = tmp_path / "refund-retried.yaml"
    retried.write_text(shipped)
    code, out = ido("scenario", "test", str(retried))
    assert code == 0 and "1 passed, 0 failed" in out, out
    retried.write_text(
        shipped.replace("max_compensation_attempts: 3", "max_compensation_attempts: 1")
    )
    code, out = ido("scenario", "test", str(retried))
    assert code == 1, out
    assert "✗ undone: charge-stripe-eu (step 2) is not undone: refund-stripe-eu failed" in out
    never = write(
        tmp_path,
        "nothing-to-undo",
        "  intent: fulfil-order\n  expect: {undone: [charge-stripe-eu, ship-ups]}\n",
    )
    code, out = ido("scenario", "test", str(never))
    assert code == 1, out
    assert "✗ undone: no compensation undid charge-stripe-eu" in out, out
    assert "✗ undone: ship-ups completed no step to undo" in out, out


def test_used_means_called_so_a_capability_whose_calls_all_failed_was_used(
    in_root: Path, tmp_path: Path
) -> None:
    """`used` and `never_used` are about calls, whatever came of them: Stripe down from
    the start, its failed charge is a use, and `never_used` says how its calls went."""
    down = "  intent: fulfil-order\n  faults: [{provider: stripe, outage: true, from: 0s}]\n"
    used = write(tmp_path, "stripe-tried", down + "  expect: {used: [charge-stripe-eu]}\n")
    code, out = ido("scenario", "test", str(used))
    assert code == 0 and "1 passed, 0 failed" in out, out
    never = write(tmp_path, "stripe-not", down + "  expect: {never_used: [charge-stripe-eu]}\n")
    code, out = ido("scenario", "test", str(never))
    assert code == 1, out
    assert "✗ never_used: charge-stripe-eu was called (1 call, 1 failed)" in out


def test_an_avoid_rule_is_cited_as_explain_shows_it(in_root: Path, tmp_path: Path) -> None:
    """`cites` looked for rule ids only among rejections and approvals: an `avoid` rule,
    listed under the decision's policy decisions by `ido explain`, was never found."""
    file = write(
        tmp_path,
        "avoids",
        "  intent: publish-report\n  expect: {cites: [report-quality/avoid-degraded]}\n",
    )
    code, out = ido("scenario", "test", str(file))
    assert code == 0 and "1 passed, 0 failed" in out, out


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            "  intent: fulfil-order\n  world: {capabilities: {charge-bogus: {success: 0.5}}}\n",
            6,
            "spec.world.capabilities.charge-bogus: Capability 'charge-bogus' not found",
        ),
        (
            "  intent: fulfil-order\n  faults: [{capability: ship-dhl, fail_next: 1, at: -1s}]\n",
            6,
            "is not a duration",
        ),
        (
            "  intent: fulfil-order\n"
            "  world: {capabilities: {ship-dhl: {latency: {min: 3s, max: 1s}}}}\n",
            6,
            "min must not be more than max",
        ),
        (
            "  intent: fulfil-order\n  world: {capabilities: {ship-dhl: {success: 1.5}}}\n",
            6,
            "less than or equal to 1",
        ),
        (
            "  intent: fulfil-order\n  expect: {cites: [eu-data-residency/no-such-rule]}\n",
            6,
            "rule 'eu-data-residency/no-such-rule' not found; eu-data-residency has "
            "eu-data-residency/pii-stays-in-eu",
        ),
        (  # an intent's rule misspelt: read as text a trigger contains, it never matched
            "  intent: fulfil-order\n  expect: {cites: ['intent:fulfil-order/nope']}\n",
            6,
            "spec.expect.cites[0]: rule 'intent:fulfil-order/nope' not found; "
            "intent:fulfil-order has none",
        ),
        (
            "  intent: fulfil-order\n  expect: {cites: ['intent:fulfil-ordr/nope']}\n",
            6,
            "'intent:fulfil-ordr/nope' is not a rule of this scenario's intent: write "
            "intent:fulfil-order/RULE",
        ),
        (  # a typo in the policy: read as text a trigger contains, it never matched
            "  intent: fulfil-order\n  expect: {cites: [eu-data-residensy/pii-stays-in-eu]}\n",
            6,
            "spec.expect.cites[0]: Policy 'eu-data-residensy' not found",
        ),
        (  # no run meets both: the scenario could never pass
            "  intent: fulfil-order\n  expect: {used: [ship-dhl], never_used: [ship-ups, ship-dhl]}\n",
            6,
            "spec.expect: ship-dhl is in both used and never_used: no run can meet both",
        ),
        (  # blank text is in every reason: the expectation always held
            "  intent: fulfil-order\n  expect: {reason: '', cites: [ok, ' ']}\n",
            6,
            "spec.expect.cites[1]: blank text is found in any run",
        ),
        (
            "  intent: fulfil-order\n  faults: [{capability: ship-dhl, outage: true, fail_next: 2}]\n",
            6,
            "give exactly one of fail_next, outage, latency, silent, observe or policy",
        ),
        (
            "  intent: fulfil-order\n  faults: [{outage: true, from: 1s}]\n",
            6,
            "outage needs exactly one of capability or provider",
        ),
        ("  intent: no-such-intent\n", 5, "Intent 'no-such-intent' not found"),
        (
            "  intent: fulfil-order\n  faults: [{provider: strpie, outage: true, from: 1s}]\n",
            6,
            "no capability has provider 'strpie'; providers: adyen,",
        ),
    ],
)
def test_bad_scenarios_are_load_errors_with_file_line_and_field(
    in_root: Path, tmp_path: Path, body: str, line: int, message: str
) -> None:
    file = write(tmp_path, "bad", body)
    result = runner.invoke(app, ["scenario", "run", str(file)])
    assert result.exit_code == 2, result.output
    assert f"bad.yaml:{line}:" in result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            "  intent: fulfil-order\n"
            "  world: {capabilities: {ship-dhl: {latency: {min: 3s, max: 1s}}}}\n",
            "spec.world.capabilities.ship-dhl.latency: min must not be more than max",
        ),
        (
            "  intent: fulfil-order\n  world: {capabilities: {ship-dhl: {latency: soon}}}\n",
            "spec.world.capabilities.ship-dhl.latency: 'soon' is not a duration",
        ),
        ("  intent: {goal: [state.order.paid], bogus: 1}\n", "spec.intent.bogus: unknown key"),
        ("  intent: Fulfil Order\n", "spec.intent: 'Fulfil Order' is not a name"),
        (
            "  intent: fulfil-order\n  expect: {replans: {min: 3, max: 1}}\n",
            "spec.expect.replans: min must not be more than max",
        ),
        (
            "  intent: fulfil-order\n  world: {capabilities: {ship-dhl: {latency: {min: 3s}}}}\n",
            "spec.world.capabilities.ship-dhl.latency.max: missing required key 'max'",
        ),
    ],
)
def test_a_field_of_several_shapes_reports_only_the_shape_written(
    in_root: Path, tmp_path: Path, body: str, said: str
) -> None:
    """A mapping where a duration or a spread may go fails as a spread only; a name where a
    name or an inline intent may go fails as a name only; no pydantic tag is in the path."""
    result = runner.invoke(app, ["scenario", "run", str(write(tmp_path, "bad", body))])
    assert result.exit_code == 2, result.output
    assert "1 problem found" in result.output and said in result.output, result.output
    assert "constrained-" not in result.output and "function-" not in result.output


def test_a_scenario_file_that_cannot_be_read_is_a_load_error(in_root: Path, tmp_path: Path) -> None:
    """`scenario run` on a file that is missing, a folder, or not text says so and exits 2
    (a missing file was a traceback)."""
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    for path, said in [
        (tmp_path / "gone.yaml", "gone.yaml: no such file"),
        (tmp_path, "cannot read file"),
        (binary, "binary.yaml:1: cannot read file"),
    ]:
        result = runner.invoke(app, ["scenario", "run", str(path)])
        assert result.exit_code == 2 and not isinstance(result.exception, OSError), path
        assert said in result.output


@pytest.mark.parametrize(
    ("broken", "said"),
    [
        ("apiVersion: ido/v1\nkind: Scenaro\nmetadata: {name: typo}\n", "unknown kind 'Scenaro'"),
        ("apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: bad\n", "YAML syntax error"),
        ("- just\n- a list\n", "a resource must be a YAML mapping"),
    ],
)
def test_scenario_test_reports_a_broken_file_in_a_folder(
    in_root: Path, tmp_path: Path, broken: str, said: str
) -> None:
    """A typo in `kind` or a YAML error made the scenario vanish from `scenario test`
    ("1 passed", exit 0); a capability beside the scenarios is still no scenario."""
    folder = tmp_path / "mine"
    folder.mkdir()
    shipped = in_root / "scenarios" / "stripe-outage.yaml"
    (folder / "stripe-outage.yaml").write_text(shipped.read_text())
    (folder / "broken.yaml").write_text(broken)
    code, out = ido("scenario", "test", str(folder))
    assert code == 2 and "broken.yaml" in out and said in out, out
    (folder / "broken.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: broken}\n"
        'spec: {provider: p, effects: {x.y: true}, run: {shell: ["true"]}}\n'
    )
    code, out = ido("scenario", "test", str(folder))
    assert code == 0 and "1 passed" in out, out


def test_scenario_test_passes_over_what_in_a_folder_is_no_file(
    in_root: Path, tmp_path: Path
) -> None:
    """`scenario test FOLDER`: a folder named like YAML is no scenario (it was a
    traceback); the folder's real scenarios still run. A link named like YAML that leads
    nowhere is an error, as in a catalog: passed over, its scenario would go untested."""
    shipped = in_root / "scenarios" / "stripe-outage.yaml"
    folder = tmp_path / "mine"
    (folder / "x.yaml").mkdir(parents=True)
    (folder / "stripe-outage.yaml").write_text(shipped.read_text())
    code, out = ido("scenario", "test", str(folder))
    assert code == 0, out
    assert "stripe-outage" in out and "Traceback" not in out
    (folder / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    code, out = ido("scenario", "test", str(folder))
    assert code == 2 and f"gone.yaml: a link to {tmp_path / 'nowhere.yaml'}, not a file" in out


def test_scenario_test_with_no_scenario_to_run_fails(in_root: Path, tmp_path: Path) -> None:
    """A folder holding none (a mistyped path in CI, say) said "no scenarios found" and
    exited 0, as if every scenario had passed."""
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "notes.txt").write_text("not yaml")
    code, out = ido("scenario", "test", str(tmp_path / "none"))
    assert code == 2 and "no scenarios in" in out and "kind: Scenario" in out, out


def test_scenario_test_tells_every_broken_file_then_runs_none(
    in_root: Path, tmp_path: Path
) -> None:
    """It stopped at the first broken file: the next one's problems went untold."""
    folder = tmp_path / "mine"
    folder.mkdir()
    shipped = (in_root / "scenarios" / "stripe-outage.yaml").read_text()
    (folder / "a.yaml").write_text(shipped.replace("name: stripe-outage", "name: a"))
    (folder / "b.yaml").write_text(shipped.replace("name: stripe-outage", "name: b") + "  x: 1\n")
    (folder / "c.yaml").write_text(shipped.replace("name: stripe-outage", "name: c") + "  y: 1\n")
    code, out = ido("scenario", "test", str(folder))
    assert code == 2 and "b.yaml" in out and "c.yaml" in out and "SCENARIO" not in out, out


def test_scenario_test_passes_over_hidden_folders_and_refuses_a_name_twice(
    in_root: Path, tmp_path: Path
) -> None:
    """A stale `.old/` copy ran (and failed the suite), and two files of one name ran as
    two rows no one could tell apart; the catalog and `ido validate` do neither."""
    folder = tmp_path / "mine"
    (folder / ".old").mkdir(parents=True)
    shipped = (in_root / "scenarios" / "stripe-outage.yaml").read_text()
    (folder / "stripe-outage.yaml").write_text(shipped)
    (folder / ".old" / "stripe-outage.yaml").write_text(shipped.replace("achieved", "failed"))
    code, out = ido("scenario", "test", str(folder))
    assert code == 0 and "1 passed, 0 failed" in out, out
    (folder / "again.yaml").write_text(
        shipped + "---\n" + shipped.replace("name: stripe-outage", "name: s")
    )
    code, out = ido("scenario", "test", str(folder))
    said = "stripe-outage.yaml:4: metadata.name: Scenario 'stripe-outage' is declared twice"
    assert code == 2 and said in out and out.rstrip().endswith("again.yaml"), out


def test_a_simulated_call_is_cut_at_the_run_s_deadline_as_a_real_one_is(in_root: Path) -> None:
    """The simulated world timed calls out at the capability's own timeout, never at the
    deadline's: the run outlived its deadline, and its own 10 s timeout was recorded as
    "stopped at the deadline after 4.9s" and learnt nothing."""
    code, out = ido("scenario", "run", "scenarios/deadline-missed.yaml")
    assert code == 0, out
    assert "✗ ship-ups stopped at the deadline after 4.9s" in out
    assert "failed · cost 2.55 · 6s" in out
    # Said once, in the trigger and explain too: not "timed out: stopped at the deadline".
    # ship-ups is not idempotent, and nothing observes order.carrier: the carrier may
    # have gone on and shipped, which the run says (no step can start past the deadline).
    unknown = "nothing observes its effects: its outcome is unknown"
    assert f"trigger: step 3 ship-ups stopped at the deadline after 4.9s; {unknown} · " in out
    assert f"    ship-ups: stopped at the deadline after 4.9s; {unknown}\n" in out
    assert "timed out" not in out


def test_a_run_failed_on_its_deadline_names_the_call_whose_outcome_is_unknown(
    in_root: Path,
) -> None:
    """The carrier may have gone on and shipped, but the run's reason said only "raise
    deadline to 8.5s": `ido runs` and the run's last lines gave no hint to check with ups
    (a saga's charge, its compensation never run, was missed so)."""
    code, out = ido("scenario", "run", "scenarios/deadline-missed.yaml")
    assert code == 0, out
    (reason,) = [line for line in out.splitlines() if line.startswith("reason: ")]
    unknown = "nothing observes its effects: its outcome is unknown"
    said = f"; step 3 ship-ups stopped at the deadline after 4.9s; {unknown} (check with ups"
    assert said in reason and reason.endswith("whether it took effect)"), reason


def test_a_file_named_twice_is_tested_once(in_root: Path) -> None:
    """`scenario test scenarios ./scenarios/x.yaml` said x was declared twice, the same file
    as both sides; `ido validate` takes such a file once."""
    code, out = ido("scenario", "test", "scenarios", "./scenarios/stripe-outage.yaml")
    assert code == 0 and f"{len(SHIPPED)} passed, 0 failed" in out, out


def test_the_table_heading_lines_up_over_short_names(in_root: Path, tmp_path: Path) -> None:
    shipped = (in_root / "scenarios" / "stripe-outage.yaml").read_text()
    (tmp_path / "x.yaml").write_text(shipped.replace("name: stripe-outage", "name: x"))
    code, out = ido("scenario", "test", str(tmp_path / "x.yaml"))
    assert code == 0, out
    heading, row = out.splitlines()[:2]
    assert heading.index("OUTCOME") == row.index("achieved"), out


CONTROL = """\
apiVersion: ido/v1
kind: Scenario
metadata: {name: control}
spec:
  intent:
    given: {order: {id: "1", amount: 40.0, region: eu}}
    goal: ["state.order.paid"]
    policies: [eu-data-residency]
    limits: {max_replans: 0}
  faults:
    - {capability: charge-stripe-eu, fail_next: 1, error: "boom \\u0001 \\u000c done"}
  expect: {outcome: achieved}
"""


def test_junit_holds_a_failure_whose_words_xml_cannot(in_root: Path, tmp_path: Path) -> None:
    """A fault's error with a control character went into the JUnit file as it was, and
    XML parsers refused the file ("not well-formed")."""
    (tmp_path / "control.yaml").write_text(CONTROL)
    report = tmp_path / "junit.xml"
    code, out = ido("scenario", "test", str(tmp_path / "control.yaml"), "--junit", str(report))
    assert code == 1, out
    (failure,) = ET.parse(report).getroot().iter("failure")
    assert "boom \\x01 \\x0c done" in str(failure.text), failure.text
    assert "boom \\x01 \\x0c done" in out and "\x01" not in out  # a terminal acts on them


def test_a_shadow_scenario_can_expect_its_outcome(in_root: Path, tmp_path: Path) -> None:
    """`outcome: shadow` was refused, so a shadow-mode scenario could not pass on it."""
    shadow = CONTROL.replace("name: control", "name: shadowy").replace(
        "limits: {max_replans: 0}", "mode: shadow"
    )
    (tmp_path / "shadowy.yaml").write_text(shadow.replace("outcome: achieved", "outcome: shadow"))
    code, out = ido("scenario", "test", str(tmp_path / "shadowy.yaml"))
    assert code == 0 and "shadowy   shadow" in out and "1 passed" in out, out


def test_an_unwritable_junit_path_is_a_clear_error(in_root: Path, tmp_path: Path) -> None:
    """Said before the scenarios run (it was said after all of them had), as --plan-out."""
    code, out = ido("scenario", "test", "scenarios/stripe-outage.yaml", "--junit", str(tmp_path))
    assert code == 2
    assert f"--junit: {tmp_path} is a folder; give a file name" in out and "SCENARIO" not in out


def test_an_observe_fault_adds_facts_beside_the_world_s_own(in_root: Path, tmp_path: Path) -> None:
    """`observe: {customer: {vip: true}}` replaced everything the world reported under
    `customer`: the silent e-mail's `customer.notified` went unreported, so unnoticed, and
    the run was achieved with nobody notified."""
    file = write(
        tmp_path,
        "vip-silent",
        "  intent: fulfil-order\n"
        "  world: {capabilities: {notify-email: {applies: false}}}\n"
        "  faults: [{at: 0s, observe: {customer: {vip: true}}}]\n"
        "  expect: {outcome: achieved, used: [notify-sms], cites: [effects did not show]}\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet


BOOKINGS = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: hotel-a}
spec: {provider: a, effects: {trip.hotel: true}, cost: 1.0, latency: 1s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: hotel-b}
spec: {provider: b, effects: {trip.hotel: true}, cost: 2.0, latency: 1s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: car-a}
spec: {provider: a, effects: {trip.car: true}, cost: 1.0, latency: 1s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: car-b}
spec: {provider: b, effects: {trip.car: true}, cost: 2.0, latency: 1s}
"""


def test_two_silent_steps_that_end_together_are_both_noticed(in_root: Path, tmp_path: Path) -> None:
    """Only the first of two steps that ended together without effect was recorded and
    learnt from: the second (car-a) was called again, as if it had merely been left over."""
    (tmp_path / "bookings.yaml").write_text(BOOKINGS)
    file = write(
        tmp_path,
        "both-silent",
        "  intent: {goal: ['state.trip.hotel', 'state.trip.car'], limits: {max_attempts: 1}}\n"
        "  catalog: [bookings.yaml]\n"
        "  world: {capabilities: {hotel-a: {applies: false}, car-a: {applies: false}}}\n"
        "  expect: {outcome: achieved, used: [hotel-b, car-b], replans: {max: 1}}\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet
    events = result.journal.events(result.report.run_id)
    missing = [e.data["capability"] for e in events if e.kind == "effects_missing"]
    assert sorted(missing) == ["car-a", "hotel-a"]


def test_scenario_run_loads_every_file_before_running_any(in_root: Path, tmp_path: Path) -> None:
    """A broken second file was told only after the first file's scenario had run, and
    been kept in the journal; now nothing runs, as with `ido scenario test`."""
    good = write(tmp_path, "good", "  intent: fulfil-order\n")
    bad = write(tmp_path, "bad", "  intent: fulfil-ordr\n")
    journal = tmp_path / "kept.db"
    code, out = ido("scenario", "run", str(good), str(bad), "--journal", str(journal))
    assert code == 2, out
    assert "Intent 'fulfil-ordr' not found" in out
    assert "scenario good" not in out


def test_an_output_for_a_capability_that_keeps_none_is_a_load_error(
    in_root: Path, tmp_path: Path
) -> None:
    """A behaviour's `output` for a capability with no `output` path was dropped without a
    word: a rehearsal whose later steps read it could never see it."""
    file = write(
        tmp_path,
        "lost-output",
        "  intent: fulfil-order\n  world: {capabilities: {release-inventory: {output: {id: m1}}}}\n",
    )
    code, out = ido("validate", str(file), "-c", "intents", "-c", "capabilities", "-c", "policies")
    assert code == 2, out
    assert (
        "lost-output.yaml:6: spec.world.capabilities.release-inventory.output: capability "
        "'release-inventory' has no output path, so what its calls return is not kept"
    ) in out


FRAUD_GUARD = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: fraud-guard}
spec:
  enforced: true
  rules:
    - id: no-charge-when-flagged
      effect: deny
      when: "'payments' in capability.tags && has(state.order.flagged) && state.order.flagged"
      message: A flagged order is not charged.
"""


def test_a_deny_rule_that_fires_mid_plan_stops_the_step_before_it_starts(
    in_root: Path, tmp_path: Path
) -> None:
    """The order was flagged while stock was being reserved, and the charge went ahead:
    rules were evaluated only when the plan was made. A step about to start is now held
    to them, and the decision made then leaves it out."""
    (tmp_path / "fraud-guard.yaml").write_text(FRAUD_GUARD)
    file = write(
        tmp_path,
        "flagged",
        "  intent: fulfil-order\n"
        "  catalog: [fraud-guard.yaml]\n"
        "  faults: [{at: 100ms, observe: {order.flagged: true}}]\n"
        "  expect:\n"
        "    outcome: failed\n"
        "    used: [reserve-inventory]\n"
        "    never_used: [charge-stripe-eu, charge-adyen-eu]\n"
        "    cites: [charge-stripe-eu now denied by fraud-guard/no-charge-when-flagged]\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet


def test_a_policy_switched_on_mid_run_governs_the_steps_that_start_after(
    in_root: Path, tmp_path: Path
) -> None:
    """payments-freeze switched on at 100 ms bound only the next decision: with no
    failure to make one, the charge went ahead under the freeze."""
    file = write(
        tmp_path,
        "frozen",
        "  intent: fulfil-order\n"
        "  faults: [{at: 100ms, policy: payments-freeze}]\n"
        "  expect: {outcome: failed, never_used: [charge-stripe-eu, charge-adyen-eu]}\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet


def test_an_approval_rule_that_fires_mid_plan_asks_before_the_step_starts(
    in_root: Path, tmp_path: Path
) -> None:
    """The order's amount rose past 1,000 while stock was being reserved, and the charge
    went ahead unasked: the decision had found no approval needed."""
    file = write(
        tmp_path,
        "amount-rises",
        "  intent:\n"
        "    given: {order: {id: '7', amount: 120.0, region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency, spend-approval]\n"
        "  faults: [{at: 100ms, observe: {order.amount: 4800.0}}]\n"
        "  expect:\n"
        "    outcome: blocked\n"
        "    never_used: [charge-stripe-eu, charge-adyen-eu]\n"
        "    cites: [now needs approval by spend-approval/large-payment]\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet


def test_an_approved_step_asks_again_when_what_its_rule_read_moved_mid_plan(
    in_root: Path, tmp_path: Path
) -> None:
    """Approved for an order of 1,500, the charge went ahead for 9,999,999 once the amount
    moved while stock was being reserved: the step-time check skipped rules already asked."""
    file = write(
        tmp_path,
        "amount-jumps",
        "  intent:\n"
        "    given: {order: {id: '7', amount: 1500.0, region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency, spend-approval]\n"
        "  faults: [{at: 100ms, observe: {order.amount: 9999999.0}}]\n"
        "  approvals: [{rule: spend-approval/large-payment, by: finance}]\n"
        "  expect:\n"
        "    outcome: achieved\n"
        "    cites: [needs approval again by spend-approval/large-payment]\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet


def test_a_retry_that_waited_out_its_backoff_is_held_to_the_rules_as_they_are_then(
    in_root: Path, tmp_path: Path
) -> None:
    """The order was flagged during the charge's 10 s backoff, and the retry charged it on
    the word of the decision made before the wait: nothing was observed after it."""
    (tmp_path / "fraud-guard.yaml").write_text(FRAUD_GUARD)
    file = write(
        tmp_path,
        "flagged-while-waiting",
        "  intent:\n"
        "    given: {order: {id: '7', amount: 120.0, region: eu}, inventory: {reserved: true}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    limits: {backoff: 10s}\n"
        "    rules:\n"
        "      - {id: stripe-only, effect: deny, when: \"capability.name == 'charge-adyen-eu'\","
        " message: Stripe only.}\n"
        "  catalog: [fraud-guard.yaml]\n"
        "  faults:\n"
        "    - {capability: charge-stripe-eu, fail_next: 1, at: 0s}\n"
        "    - {at: 5s, observe: {order.flagged: true}}\n"
        "  expect:\n"
        "    outcome: failed\n"
        "    cites: [charge-stripe-eu now denied by fraud-guard/no-charge-when-flagged]\n",
    )
    ((scenario, catalog),) = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    assert result.passed, result.unmet
