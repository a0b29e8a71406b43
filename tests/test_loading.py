"""Loading catalogs: every problem in the user's YAML reported at once, with file, line, field."""

from __future__ import annotations

import json
import os
import shlex
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ido.capability_rules import intent_view
from ido.errors import LoadError, NotFoundError, Problem
from ido.loading import KEYS, find_intent, load_catalog
from ido.policy import capability_view, plan_view

CAPABILITY = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: charge}
spec:
  provider: stripe
  region: eu
  tags: [payments]
  requires: ["!state.order.paid"]
  effects: {order.paid: true, order.provider: stripe}
  cost: 0.30
  latency: 800ms
  reliability: 0.99
  run: {python: "pay.impl:charge"}
"""

POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: residency}
spec:
  rules:
    - id: eu-only
      effect: deny
      when: "capability.region != 'eu'"
      message: EU data stays in the EU.
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: pay-order}
spec:
  given: {order: {id: "1042"}}
  goal:
    - state.order.paid
  constraints: {max_cost: 5.0, deadline: 30s}
  policies: [residency]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(folder: Path) -> list[Problem]:
    with pytest.raises(LoadError) as info:
        load_catalog([folder], base=folder)
    return info.value.problems


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


def valid_project(folder: Path) -> None:
    write(folder, "capabilities/charge.yaml", CAPABILITY)
    write(folder, "policies/residency.yaml", POLICY)
    write(folder, "intents/pay-order.yaml", INTENT)


# --- valid input ------------------------------------------------------------------------


def test_a_valid_project_loads_every_resource_by_kind_and_name(tmp_path: Path) -> None:
    """A folder of valid resources loads into a catalog keyed by kind and name."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert sorted(catalog.capabilities) == ["charge"]
    assert sorted(catalog.policies) == ["residency"]
    assert sorted(catalog.intents) == ["pay-order"]
    assert len(catalog) == 3
    charge = catalog.capabilities["charge"]
    assert charge.spec.latency == pytest.approx(0.8)
    assert dict(charge.spec.effects) == {"order.paid": True, "order.provider": "stripe"}
    assert catalog.intents["pay-order"].spec.constraints.deadline == 30.0


def test_the_origin_of_a_resource_records_its_file_and_line(tmp_path: Path) -> None:
    """Each loaded resource remembers its file and the line of each field."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    origin = catalog.origin(catalog.intents["pay-order"])
    assert origin is not None
    assert origin.file == (tmp_path / "intents" / "pay-order.yaml").resolve()
    assert origin.line_of(("spec", "goal", 0)) == 7


def test_the_conftest_project_loads(project: Path) -> None:
    """The shared example project (several resources in one file) loads without problems."""
    catalog = load_catalog([project / "capabilities", project / "policies", project / "intents"])
    assert len(catalog.capabilities) == 5
    assert catalog.capabilities["pay-cheap-eu"].spec.compensate == "refund-eu"


def test_a_file_may_be_named_directly_and_yml_is_accepted(tmp_path: Path) -> None:
    """A path may be a single file, and `.yml` files in folders are read too."""
    write(tmp_path, "a/charge.yml", CAPABILITY)
    single = write(tmp_path, "b/residency.yaml", POLICY)
    write(tmp_path, "a/notes.txt", "not yaml: [")
    catalog = load_catalog([tmp_path / "a", single], base=tmp_path)
    assert sorted(catalog.capabilities) == ["charge"]
    assert sorted(catalog.policies) == ["residency"]


def test_a_yaml_file_named_in_capitals_is_read_not_passed_over(tmp_path: Path) -> None:
    """`policies/residency.YAML` was passed over without a word (the suffix was matched in
    lowercase only): an enforced policy saved so by a Windows tool went unapplied."""
    write(tmp_path, "policies/residency.YAML", POLICY)
    write(tmp_path, "capabilities/charge.Yml", CAPABILITY)
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert sorted(catalog.policies) == ["residency"]
    assert sorted(catalog.capabilities) == ["charge"]


def test_several_resources_in_one_file_need_not_match_its_name(tmp_path: Path) -> None:
    """With several documents in a file, names are free; empty documents are skipped."""
    write(tmp_path, "all.yaml", "---\n" + CAPABILITY + "---\n" + POLICY + "---\n")
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert sorted(catalog.capabilities) == ["charge"]
    assert sorted(catalog.policies) == ["residency"]


def test_an_integer_is_accepted_where_a_number_is_expected(tmp_path: Path) -> None:
    """`cost: 1` is a valid number; strictness refuses strings, not integers."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("cost: 0.30", "cost: 1"))
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert catalog.capabilities["charge"].spec.cost == 1.0


# --- schema problems --------------------------------------------------------------------


def test_an_unknown_key_is_reported_with_its_line_and_field(tmp_path: Path) -> None:
    """A key the schema does not know is an error at its own line."""
    write(
        tmp_path, "charge.yaml", CAPABILITY.replace("  cost: 0.30\n", "  cost: 0.30\n  price: 1\n")
    )
    problem = only(problems(tmp_path))
    assert problem == Problem("charge.yaml", 11, "spec.price", "unknown key 'price'")


@pytest.mark.parametrize(
    ("old", "new", "told"),
    [
        ("  provider: stripe\n", "  provdier: stripe\n  provider: stripe\n", "spec.provdier"),
        ("metadata: {name: charge}", "metadata: {name: charge, lables: {}}", "metadata.lables"),
        (
            '  run: {python: "pay.impl:charge"}',
            '  run: {pyhton: "pay.impl:charge"}',
            "spec.run.pyhton",
        ),
    ],
)
def test_a_misspelt_key_is_told_with_the_key_it_likely_means(
    tmp_path: Path, old: str, new: str, told: str
) -> None:
    """A newcomer's typo (`provdier`, `lables`, `pyhton`) said only "unknown key", and
    which keys there are was for the reference to tell."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace(old, new))
    problem = only(problems(tmp_path))
    meant = told.rsplit(".", 1)[1]
    right = {"provdier": "provider", "lables": "labels", "pyhton": "python"}[meant]
    assert problem.field == told
    assert problem.message == f"unknown key '{meant}'; did you mean '{right}'?"


def test_a_list_where_a_mapping_is_expected_names_the_keys_it_takes(tmp_path: Path) -> None:
    """`constraints:` written as a list said "Input should be a valid dictionary or instance
    of Constraints", the name of a class of ido's code; it says the keys the mapping takes."""
    valid_project(tmp_path)
    write(
        tmp_path,
        "intents/pay-order.yaml",
        INTENT.replace("{max_cost: 5.0, deadline: 30s}", "[max_cost: 5.0]"),
    )
    problem = only(problems(tmp_path))
    assert problem.field == "spec.constraints"
    assert problem.message == (
        "should be a mapping of deadline, max_cost, min_success_probability"
        " (got [{'max_cost': 5.0}])"
    )


def test_a_key_written_where_its_variable_s_name_belongs_is_not_echoed(tmp_path: Path) -> None:
    """`api_key_env: sk-proj-…` (the key, not the variable holding it) was echoed in the
    error, into terminals and CI logs."""
    valid_project(tmp_path)
    llm = "  planner: llm\n  llm: {model: openai/gpt-4o-mini, api_key_env: sk-proj-S3cr3tK3y}\n"
    write(tmp_path, "intents/pay-order.yaml", INTENT + llm)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.llm.api_key_env"
    assert "S3cr3tK3y" not in problem.message
    assert "the name of the variable that holds the key, never the key" in problem.message


@pytest.mark.parametrize(
    ("api_base", "said"),
    [
        ("http://", "names no host: write the server's address, as http://127.0.0.1:8080/v1"),
        ("http:///v1", "names no host: write the server's address, as http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:99999/v1", "port 99999 is not a port (1 to 65535)"),
        ("http://localhost:abc/v1", "port abc is not a port (1 to 65535)"),
        ("http://127.0.0.1:8080/v1 ", "has white space in it, which no URL has"),
        ("https://[::1:8080/v1", "is not a URL: Invalid IPv6 URL"),
    ],
)
def test_an_api_base_no_request_could_reach_is_a_load_error(
    tmp_path: Path, api_base: str, said: str
) -> None:
    """`api_base: http://` (no host), a port past 65535 or a stray space loaded clean, and
    every decision of a run fell back to the solver with "Connection error."."""
    valid_project(tmp_path)
    llm = f"  planner: llm\n  llm: {{model: openai/m, api_base: '{api_base}'}}\n"
    write(tmp_path, "intents/pay-order.yaml", INTENT + llm)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.llm.api_base"
    assert problem.message == said


@pytest.mark.parametrize(
    ("api_base", "said"),
    [
        ("HTTP://me:s3cr3tpw@llm.example.com/v1", "'HTTP://***@llm.example.com/v1'"),
        ("ftp://me:s3cr3tpw@[::1/v1", "'ftp://…'"),
    ],
)
def test_a_credential_in_a_url_of_no_http_scheme_is_not_echoed(
    tmp_path: Path, api_base: str, said: str
) -> None:
    """Found in review: an api_base refused for its scheme (an upper-case HTTP://, ftp://)
    was quoted whole in the load error, the password before its `@` with it, though the
    other api_base errors say nothing of the URL because it may hold a credential."""
    valid_project(tmp_path)
    llm = f"  planner: llm\n  llm: {{model: openai/m, api_base: '{api_base}'}}\n"
    write(tmp_path, "intents/pay-order.yaml", INTENT + llm)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.llm.api_base"
    assert problem.message == f"{said} is not an http:// or https:// URL"


@pytest.mark.parametrize(
    "api_base",
    [
        "http://127.0.0.1:8080/v1",
        "https://me:${env:LLM_TOKEN}@llm.example.com/v1",
        "http://[::1]:80",
        "http://llm.internal:${env:LLM_PORT}/v1",
        "http://[${env:LLM_HOST_V6}]:8080/v1",  # (found in review: refused as no URL)
    ],
)
def test_an_api_base_a_request_can_reach_loads(tmp_path: Path, api_base: str) -> None:
    valid_project(tmp_path)
    llm = f"  planner: llm\n  llm: {{model: openai/m, api_base: '{api_base}'}}\n"
    write(tmp_path, "intents/pay-order.yaml", INTENT + llm)
    load_catalog([tmp_path], base=tmp_path)


@pytest.mark.parametrize(
    ("written", "meant"), [("Auto", "auto"), ("automatic", "auto"), ("PROPOSE", "propose")]
)
def test_a_value_written_otherwise_than_an_allowed_one_is_told_what_it_likely_means(
    tmp_path: Path, written: str, meant: str
) -> None:
    """`mode: Auto` said only which values are allowed, not which was wrong nor why."""
    valid_project(tmp_path)
    write(tmp_path, "intents/pay-order.yaml", INTENT + f"  mode: {written}\n")
    problem = only(problems(tmp_path))
    assert problem.message == (
        f"Input should be 'auto', 'propose' or 'shadow' (got '{written}'; did you mean '{meant}'?)"
    )


def test_a_kind_written_in_another_case_is_told_its_spelling(tmp_path: Path) -> None:
    write(tmp_path, "charge.yaml", CAPABILITY.replace("kind: Capability", "kind: capability"))
    problem = only(problems(tmp_path))
    assert problem.message.startswith(
        "unknown kind 'capability' (did you mean 'Capability'?); use one of"
    )


@pytest.mark.parametrize(
    ("written", "allowed", "guess"),
    [
        ("capability", ["Intent", "Capability"], "did you mean 'Capability'?"),
        ("Capabilty", ["Intent", "Capability"], "did you mean 'Capability'?"),
        ("get", ["GET", "POST"], "did you mean 'GET'?"),
        ("automatic", ["auto", "propose"], "did you mean 'auto'?"),
        ("Action", ["Intent", "Capability"], None),
    ],
)
def test_a_kind_and_a_value_are_guessed_at_alike(
    written: str, allowed: list[str], guess: str | None
) -> None:
    """A kind and a value of a few allowed ones (`mode`, `method`) guessed at the word
    meant by two copies of the same lines: one `_guess` now, the case first."""
    from ido.loading.words import _guess

    assert _guess(written, allowed) == guess


def test_a_spec_key_left_at_the_top_is_told_to_go_under_spec(tmp_path: Path) -> None:
    """`requires:` not indented is a key of the resource, not of its spec."""
    write(tmp_path, "charge.yaml", CAPABILITY + "requires: []\n")
    found = problems(tmp_path)
    assert any(
        p.field == "requires"
        and p.message == "unknown key 'requires'; it belongs under spec: (indent it)"
        for p in found
    ), found


def test_a_missing_required_key_is_reported(tmp_path: Path) -> None:
    """A required key that is absent is named in the message."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("  provider: stripe\n", ""))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.provider"
    assert problem.message == "missing required key 'provider'"
    assert problem.line == 4


@pytest.mark.parametrize("written", ["1e3", "1.0e3", "1e+3", "1.0e+3", "1000.0"])
def test_a_number_with_an_exponent_is_a_number(tmp_path: Path, written: str) -> None:
    """YAML 1.1 (PyYAML) reads `1e3`, `1.0e3` and `1e+3` as text, refused as "not a valid
    number"; only `1.0e+3` was a number. They are all numbers, as in YAML 1.2."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("cost: 0.30", f"cost: {written}"))
    assert load_catalog([tmp_path], base=tmp_path).capabilities["charge"].spec.cost == 1000.0


@pytest.mark.parametrize(("written", "whole"), [("1e3", "1000"), ("20.0", "20")])
def test_a_whole_number_written_with_a_point_or_exponent_is_told_how_to_write_it(
    tmp_path: Path, written: str, whole: str
) -> None:
    """`max_steps: 1e3` said "Input should be a valid integer (got 1000.0)", a number the
    user never wrote, and not what was wrong with it."""
    valid_project(tmp_path)
    write(tmp_path, "intents/pay-order.yaml", INTENT + f"  limits: {{max_steps: {written}}}\n")
    problem = only(problems(tmp_path))
    assert problem.field == "spec.limits.max_steps"
    assert problem.message == (
        f"a whole number is written without a decimal point or exponent: {whole}"
    )


@pytest.mark.parametrize(
    ("goal", "as_list"),
    [("state.order.paid", "[state.order.paid]"), ('"!state.order.paid"', '["!state.order.paid"]')],
)
def test_one_item_where_a_list_is_wanted_is_told_how_to_write_the_list(
    tmp_path: Path, goal: str, as_list: str
) -> None:
    """`goal: state.order.paid` said only "Input should be a valid list", and a newcomer
    could not tell what a list is in YAML."""
    valid_project(tmp_path)
    write(
        tmp_path,
        "intents/pay-order.yaml",
        INTENT.replace("  goal:\n    - state.order.paid\n", f"  goal: {goal}\n"),
    )
    problem = only(problems(tmp_path))
    assert problem.field == "spec.goal"
    assert problem.message.endswith(f": write one item as a list, {as_list}"), problem


@pytest.mark.parametrize(
    ("written", "meant"), [("policy: [residency]", "policies"), ("observer: []", "observers")]
)
def test_a_key_in_the_singular_is_told_the_plural_it_means(
    tmp_path: Path, written: str, meant: str
) -> None:
    """`policy:` for `policies:` is too unlike for a typo's likeness (0.71), and was told
    only `unknown key 'policy'`."""
    valid_project(tmp_path)
    write(tmp_path, "intents/pay-order.yaml", INTENT + f"  {written}\n")
    key = written.partition(":")[0]
    said = [p.message for p in problems(tmp_path) if p.field == f"spec.{key}"]
    assert said == [f"unknown key '{key}'; did you mean '{meant}'?"], said


def test_a_shell_command_written_as_a_string_is_told_as_an_argv_list(tmp_path: Path) -> None:
    """`shell: "python3 -m deploy --env prod"` was told to be written `["python3 -m deploy
    --env prod"]`, a program of that name that no system has: it is told one item per
    argument, quoted where YAML would read it otherwise, and that list loads."""
    command = "python3 -m tools.deploy --env prod 'two words' yes"
    shell = CAPABILITY.replace('{python: "pay.impl:charge"}', "{shell: COMMAND}")
    write(tmp_path, "charge.yaml", shell.replace("COMMAND", json.dumps(command)))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.run.shell"
    argv = '[python3, -m, tools.deploy, --env, prod, "two words", "yes"]'
    assert f"write the program and each argument as an item, {argv} " in problem.message
    write(tmp_path, "charge.yaml", shell.replace("COMMAND", argv))
    loaded = load_catalog([tmp_path], base=tmp_path).capabilities["charge"].spec.run
    assert loaded is not None and loaded.shell == shlex.split(command)


def test_a_script_written_as_a_string_is_told_with_its_folder(tmp_path: Path) -> None:
    """`shell: "deploy.sh"` was told `[deploy.sh]`, which is looked for on PATH only (and
    then warned of by validate): a script is told with its folder, `[./deploy.sh]`."""
    shell = CAPABILITY.replace('{python: "pay.impl:charge"}', '{shell: "deploy.sh"}')
    write(tmp_path, "charge.yaml", shell)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.run.shell"
    assert "write it as a list, with its folder, [./deploy.sh]" in problem.message
    write(tmp_path, "charge.yaml", shell.replace('"deploy.sh"', "[./deploy.sh]"))
    loaded = load_catalog([tmp_path], base=tmp_path).capabilities["charge"].spec.run
    assert loaded is not None and loaded.shell == ["./deploy.sh"]


def test_a_number_written_as_a_string_is_an_error(tmp_path: Path) -> None:
    """Strict types: `cost: "5.0"` is a string, not a number, and the message shows the input."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("cost: 0.30", 'cost: "5.0"'))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.cost"
    assert problem.line == 10
    assert problem.message == "Input should be a valid number (got '5.0')"


def test_a_bool_is_not_a_number(tmp_path: Path) -> None:
    """Strict types: `cost: true` is refused."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("cost: 0.30", "cost: true"))
    assert "valid number (got True)" in only(problems(tmp_path)).message


def test_text_yaml_reads_as_a_bool_says_why(tmp_path: Path) -> None:
    """`region: no` (Norway) said "Input should be a valid string (got False)", a value
    the user never wrote."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("region: eu", "region: no"))
    problem = only(problems(tmp_path))
    assert problem.message == (
        "Input should be a valid string (got False): YAML reads yes, no, on, off, true and"
        " false as a bool; quote text ('no')"
    )


def test_a_duration_without_a_unit_is_an_error(tmp_path: Path) -> None:
    """`latency: "30"` has no unit; the message shows how to write one."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", 'latency: "30"'))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.latency"
    assert problem.line == 11
    assert problem.message.startswith("'30' is not a duration; write a number and a unit")


def test_a_duration_past_100_years_is_an_error(tmp_path: Path) -> None:
    """`timeout: 99999999999d` moved a scenario's virtual clock past the year 9999 and
    crashed the journal's timestamps; it is refused at load, naming the field and line."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", "latency: 99999999999d"))
    problem = only(problems(tmp_path))
    assert (problem.field, problem.line) == ("spec.latency", 11)
    assert problem.message == "'99999999999d' is too long a duration: at most 36500d (100 years)"
    longest = "latency: 36500d\n  timeout: 36500d"
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", longest))
    load_catalog([tmp_path], base=tmp_path)  # 100 years is still a duration


def test_a_latency_longer_than_the_timeout_is_an_error(tmp_path: Path) -> None:
    """`latency: 2m` with no timeout loaded, and every call as long as expected was cut
    off at the default 30s (a what-if replay timed such a step out again and again)."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", "latency: 2m"))
    problem = only(problems(tmp_path))
    assert problem.field == "spec"
    assert problem.message == (
        "latency 2m is longer than timeout 30s (the default): a call that takes as long as"
        " expected would be cut off; raise timeout"
    )
    given = "latency: 2m\n  timeout: 90s"
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", given))
    assert "(the default)" not in only(problems(tmp_path)).message
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", "latency: 30s"))
    load_catalog([tmp_path], base=tmp_path)  # as long as the timeout: it may still finish


def test_a_call_given_no_time_is_an_error_at_its_timeout(tmp_path: Path) -> None:
    """`timeout: 0s` was told at `spec`, the line of the mapping, not of the field."""
    given = "latency: 0s\n  timeout: 0s"
    write(tmp_path, "charge.yaml", CAPABILITY.replace("latency: 800ms", given))
    problem = only(problems(tmp_path))
    assert (problem.field, problem.line) == ("spec.timeout", 12)
    assert "greater than 0" in problem.message


def test_a_bare_number_is_not_a_duration(tmp_path: Path) -> None:
    """`deadline: 30` (a number) is refused with an example of a duration."""
    write(tmp_path, "pay-order.yaml", INTENT.replace("deadline: 30s", "deadline: 30"))
    write(tmp_path, "residency.yaml", POLICY)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.constraints.deadline"
    assert "a duration is a string with a unit, like '800ms'" in problem.message


def test_an_out_of_range_number_is_an_error(tmp_path: Path) -> None:
    """Reliability must be a probability in (0, 1]."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("reliability: 0.99", "reliability: 1.5"))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.reliability"
    assert "less than or equal to 1 (got 1.5)" in problem.message


def test_a_duration_out_of_range_is_told_as_written(tmp_path: Path) -> None:
    """`timeout: 0s` is told as '0s', not as the seconds it was read as (0.0)."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("reliability: 0.99", "timeout: 0s"))
    problem = only(problems(tmp_path))
    assert problem.message == "Input should be greater than 0 (got '0s')"


def test_a_deadline_of_no_time_is_an_error(tmp_path: Path) -> None:
    """`deadline: 0s` loaded, and no plan could ever be within it."""
    write(tmp_path, "pay-order.yaml", INTENT.replace("deadline: 30s", "deadline: 0s"))
    write(tmp_path, "residency.yaml", POLICY)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.constraints.deadline"
    assert problem.message == (
        "a deadline of 0s admits no plan: give the most time the plan may take, e.g. '30s'"
    )


def test_a_probability_written_as_a_percentage_says_how_to_write_it(tmp_path: Path) -> None:
    """`min_success_probability: 80` was told only "should be less than or equal to 1",
    neither what was written nor that 80% is 0.8."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("reliability: 0.99", "reliability: 99"))
    problem = only(problems(tmp_path))
    assert problem.message == (
        "Input should be less than or equal to 1 (got 99): a probability is written from "
        "0 to 1 (0.99 for 99%)"
    )


def test_a_model_call_given_no_time_is_an_error(tmp_path: Path) -> None:
    """`llm.timeout: 0s` was accepted, and every call then timed out at once."""
    intent = INTENT.replace("deadline: 30s}", "deadline: 30s}\n  llm: {timeout: 0s}")
    write(tmp_path, "pay-order.yaml", intent)
    write(tmp_path, "residency.yaml", POLICY)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.llm.timeout"
    assert "greater than 0" in problem.message


@pytest.mark.parametrize("value", [".inf", ".Inf", "-.inf"])
def test_an_infinite_cost_is_an_error(tmp_path: Path, value: str) -> None:
    """`cost: .inf` is not a usable cost (the planner cannot add it up), so loading refuses it."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("cost: 0.30", f"cost: {value}"))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.cost"
    assert problem.line == 10


def test_a_fact_that_is_not_a_finite_number_is_an_error(tmp_path: Path) -> None:
    """`given: {order: {amount: .nan}}` went through: `amount > 1000.0` does not hold of
    NaN, so an approval rule let the order through, and the journal got invalid JSON."""
    write(tmp_path, "intents/pay-order.yaml", INTENT.replace('{id: "1042"}', "{amount: .nan}"))
    write(
        tmp_path,
        "capabilities/charge.yaml",
        CAPABILITY.replace("order.provider: stripe", "order.total: -.inf"),
    )
    found = sorted((p.field, p.message) for p in problems(tmp_path))
    assert found == [
        ("spec.effects", "numbers must be finite, not -inf (at order.total)"),
        ("spec.given", "numbers must be finite, not nan (at order.amount)"),
    ]


def test_an_infinite_budget_is_an_error(tmp_path: Path) -> None:
    """`max_cost: .inf` is refused; leave max_cost out for no budget."""
    write(tmp_path, "pay-order.yaml", INTENT.replace("max_cost: 5.0", "max_cost: .inf"))
    write(tmp_path, "residency.yaml", POLICY)
    assert only(problems(tmp_path)).field == "spec.constraints.max_cost"


def test_a_run_binding_needs_exactly_one_kind(tmp_path: Path) -> None:
    """A run binding with both python and shell says to give exactly one."""
    text = CAPABILITY.replace(
        'run: {python: "pay.impl:charge"}', 'run: {python: "a:b", shell: [x]}'
    )
    write(tmp_path, "charge.yaml", text)
    problem = only(problems(tmp_path))
    assert problem.field == "spec.run"
    assert problem.message == "give exactly one of python, shell or http"


@pytest.mark.parametrize("output", ["order", "order.paid", "order.paid.receipt"])
def test_an_output_path_over_an_effect_path_is_refused(tmp_path: Path, output: str) -> None:
    """The result overwrote the effect (`output: order` replaced `order.paid`), so the
    effect never showed: the run replanned, paying each time, until max_replans."""
    text = CAPABILITY.replace("  cost: 0.30\n", f"  cost: 0.30\n  output: {output}\n")
    write(tmp_path, "charge.yaml", text)
    problem = only(problems(tmp_path))
    assert problem.field == "spec"
    assert problem.message.startswith(f"output {output} overlaps effect order.paid: ")


def test_an_output_path_beside_the_effect_paths_is_accepted(tmp_path: Path) -> None:
    text = CAPABILITY.replace("  cost: 0.30\n", "  cost: 0.30\n  output: order.payment\n")
    write(tmp_path, "charge.yaml", text)
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert catalog.capabilities["charge"].spec.output == "order.payment"


@pytest.mark.parametrize("message", ['"ok\\nr9 step 1 ship: fake request"', '"a\\x1b[2Kb"', '"  "'])
def test_a_rule_message_that_would_forge_lines_is_refused(tmp_path: Path, message: str) -> None:
    """Shown as written by `ido approvals`, `ido run` and `ido explain`: a line break forged
    a request for a run that does not exist, and escape sequences moved the cursor."""
    write(
        tmp_path,
        "residency.yaml",
        POLICY.replace("message: EU data stays in the EU.", f"message: {message}"),
    )
    problem = only(problems(tmp_path))
    assert problem.field == "spec.rules[0].message"
    assert problem.message.startswith(("a message is one line of text", "a message says"))


@pytest.mark.parametrize(
    ("written", "field", "line"),
    [
        ('provider: "stripe\\n  chosen: forged"', "spec.provider", 5),
        ('region: "eu\\x1b[2J"', "spec.region", 6),
        ('tags: [payments, "pii\\u202eue"]', "spec.tags[1]", 7),
    ],
)
def test_a_provider_region_or_tag_that_would_forge_lines_is_refused(
    tmp_path: Path, written: str, field: str, line: int
) -> None:
    """`ido validate` took them, and they forged lines of `ido explain` and acted on the
    terminal in `ido audit`, while a rule message holding the same was refused."""
    key = written.partition(":")[0]
    kept = next(ln for ln in CAPABILITY.splitlines() if ln.startswith(f"  {key}:"))
    write(tmp_path, "charge.yaml", CAPABILITY.replace(kept, f"  {written}"))
    problem = only(problems(tmp_path))
    assert (problem.field, problem.line) == (field, line)
    assert problem.message.startswith("a provider, region or tag is one line of text; this one")
    assert problem.file.endswith("charge.yaml")


def test_a_rule_message_written_as_a_block_loses_its_last_line_break(tmp_path: Path) -> None:
    folded = "message: >\n        EU data stays\n        in the EU.\n"
    write(tmp_path, "residency.yaml", POLICY.replace("message: EU data stays in the EU.\n", folded))
    (rule,) = load_catalog([tmp_path], base=tmp_path).policies["residency"].spec.rules
    assert rule.message == "EU data stays in the EU."


def test_an_error_in_a_block_condition_is_at_its_own_line(tmp_path: Path) -> None:
    """`when: |` over three lines, the mistake on the third: the problem named the `when:`
    line and "column 21", which column of which line nobody could tell."""
    block = "when: |\n        capability.cost > 1.0 &&\n        capability.region ==== 'eu'\n"
    write(
        tmp_path, "residency.yaml", POLICY.replace("when: \"capability.region != 'eu'\"\n", block)
    )
    problem = only(problems(tmp_path))
    assert problem.line == 10 and "(line 2 of the expression, column 21)" in problem.message


@pytest.mark.parametrize(
    ("when", "told"),
    [
        ("\"capability.provder == 'stripe'\"", "capability has no key 'provder'; did you mean "),
        ('"plan.costs > 10.0"', "plan has no key 'costs'; did you mean 'cost'?"),
        ('"intent.constraint.max_cost > 1.0"', "intent has no key 'constraint'; did you mean "),
    ],
)
def test_a_rule_reading_a_key_its_variable_never_has_is_an_error(
    tmp_path: Path, when: str, told: str
) -> None:
    """`capability`, `plan` and `intent` have keys known in advance: a misspelt one failed
    every evaluation (a deny denied every capability, an avoid never fired), and `ido
    validate` said ok."""
    write(tmp_path, "residency.yaml", POLICY.replace("\"capability.region != 'eu'\"", when))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (8, "spec.rules[0].when")
    assert problem.message.startswith(told), problem.message


def test_a_key_read_under_a_block_condition_is_told_at_its_own_line(tmp_path: Path) -> None:
    """A macro's own name for an element is no variable (`plan` below); the misspelt key
    is told at the line of the expression it is on."""
    block = (
        "when: |\n        capability.tags.exists(plan, plan == 'x') &&\n"
        "        capability.regoin == 'eu'\n"
    )
    write(
        tmp_path, "residency.yaml", POLICY.replace("when: \"capability.region != 'eu'\"\n", block)
    )
    problem = only(problems(tmp_path))
    assert problem.line == 10 and "capability has no key 'regoin'" in problem.message


def test_a_field_named_like_a_variable_after_a_spaced_dot_is_no_key_read(
    tmp_path: Path,
) -> None:
    """`capability.effects. plan.paid` reads a field of the effects, as the variables read
    say: the keys were read apart, with another test of "a field of something", and told
    `plan has no key 'paid'`."""
    when = '"has(capability.effects. plan.paid)"'
    write(tmp_path, "residency.yaml", POLICY.replace("\"capability.region != 'eu'\"", when))
    assert load_catalog([tmp_path], base=tmp_path).policies["residency"]


@pytest.mark.parametrize(
    ("file", "text", "told"),
    [
        (
            "intents/pay-order.yaml",
            INTENT.replace("state.order.paid", "state.order.paid && intent.name == 'x'"),
            "a goal reads state only, not intent",
        ),
        (
            "capabilities/charge.yaml",
            CAPABILITY.replace('"!state.order.paid"', '"capability.cost < 1.0"'),
            "a requires condition reads state only, not capability",
        ),
    ],
)
def test_a_goal_or_requires_reading_another_variable_than_state_is_an_error(
    tmp_path: Path, file: str, text: str, told: str
) -> None:
    """A goal or a capability's `requires` is evaluated with `state` alone: one reading
    `intent` or `capability` never held, and `ido validate` said ok."""
    valid_project(tmp_path)
    write(tmp_path, file, text)
    problem = only(problems(tmp_path))
    assert problem.message.startswith(told), problem


def test_a_duration_in_days_is_a_load_error_that_says_the_units_cel_takes(
    tmp_path: Path,
) -> None:
    """`duration('2d')` compiled, then failed at every evaluation (a deny rule denied all,
    as an evaluation error): days are no CEL unit. It is refused at its file, line and
    field, saying the units there are."""
    when = "\"capability.region != 'eu' && duration('2d') > duration('1h')\""
    write(tmp_path, "residency.yaml", POLICY.replace("\"capability.region != 'eu'\"", when))
    problem = only(problems(tmp_path))
    assert (problem.file, problem.line, problem.field) == (
        "residency.yaml",
        8,
        "spec.rules[0].when",
    )
    assert problem.message.startswith(
        "CEL: duration('2d') cannot be converted: a duration is numbers each with a unit, "
        "h, m, s, ms, us or ns"
    )
    assert "(column 39)" in problem.message  # the literal's


@pytest.mark.parametrize(
    "deep", ["(" * 40 + "true" + ")" * 40, "size(" + " + ".join(["'x'"] * 33) + ") > 1"]
)
def test_a_condition_nested_too_deep_says_so_in_words(tmp_path: Path, deep: str) -> None:
    """A chain of 33 `+` was told in CEL's parser's words: `ERROR: <input>:-1:-1: Exceeded
    max recursion depth of 32 when parsing.`"""
    write(tmp_path, "residency.yaml", POLICY.replace("\"capability.region != 'eu'\"", f'"{deep}"'))
    problem = only(problems(tmp_path))
    assert problem.message.startswith("CEL: the expression nests deeper than the 32 levels")


def test_a_condition_too_costly_to_iterate_is_a_problem_at_its_field(tmp_path: Path) -> None:
    """A rule mapping a list of 9,990 numbers written in it took 43 s each time it was
    evaluated; it is refused when the catalog loads, at its file, line and field."""
    numbers = "[" + ", ".join(str(i) for i in range(9_990)) + "]"
    when = f"{numbers}.map(x, x).size() > 0 && capability.region != 'eu'"
    write(tmp_path, "residency.yaml", POLICY.replace("\"capability.region != 'eu'\"", f'"{when}"'))
    problem = only(problems(tmp_path))
    assert (problem.file, problem.line, problem.field) == (
        "residency.yaml",
        8,
        "spec.rules[0].when",
    )
    assert "may write at most 100 list elements and map entries, not 9,990" in problem.message


def test_a_huge_condition_is_quoted_cut_short_at_its_field(tmp_path: Path) -> None:
    """A condition of 160 KB, past what CEL reads, was quoted whole in its problem; the
    problem says how long it is and quotes its start, at its file, line and field."""
    when = " || ".join(f"capability.name == 'n{i}'" for i in range(6_000))
    write(tmp_path, "residency.yaml", POLICY.replace("\"capability.region != 'eu'\"", f'"{when}"'))
    problem = only(problems(tmp_path))
    assert (problem.file, problem.line, problem.field) == (
        "residency.yaml",
        8,
        "spec.rules[0].when",
    )
    assert problem.message.startswith(
        f"CEL: the expression is {len(when):,} characters long; CEL reads at most 100,000"
        " in \"capability.name == 'n0' || "
    )
    assert problem.message.endswith('…"') and len(problem.message) < 300


def test_rule_ids_must_be_unique_in_a_policy(tmp_path: Path) -> None:
    """Two rules with the same id in one policy are an error naming the id."""
    extra = "    - {id: eu-only, effect: avoid, when: 'true', message: again}\n"
    write(tmp_path, "residency.yaml", POLICY + extra)
    problem = only(problems(tmp_path))
    assert problem.message == "rule id 'eu-only' is used twice"
    assert problem.field == "spec.rules[1].id"  # at the second rule's line, not at spec


def test_an_unknown_kind_is_reported_with_the_known_kinds(tmp_path: Path) -> None:
    """A kind ido does not know is an error that lists the kinds it knows."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("kind: Capability", "kind: Action"))
    problem = only(problems(tmp_path))
    assert problem.field == "kind"
    assert problem.line == 2
    assert problem.message == (
        "unknown kind 'Action'; use one of Intent, Capability, Policy, Observer, Scenario, PolicyTest"
    )


def test_a_missing_kind_is_reported(tmp_path: Path) -> None:
    """A document without `kind` says the key is missing."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("kind: Capability\n", ""))
    assert only(problems(tmp_path)).message.startswith("missing key 'kind'")


@pytest.mark.parametrize("kind", ["[Intent]", "{a: 1}"])
def test_a_kind_that_is_not_a_string_is_a_problem(tmp_path: Path, kind: str) -> None:
    """A list or mapping as `kind` is reported as an unknown kind, not a crash."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("kind: Capability", f"kind: {kind}"))
    problem = only(problems(tmp_path))
    assert problem.field == "kind"
    assert "unknown kind" in problem.message


def test_a_document_that_is_not_a_mapping_is_reported(tmp_path: Path) -> None:
    """A YAML list at the top of a document is not a resource."""
    write(tmp_path, "list.yaml", "- a\n- b\n")
    assert only(problems(tmp_path)).message == "a resource must be a YAML mapping"


@pytest.mark.parametrize(
    "text",
    [
        "(define (domain d) (:predicates (p)))\n",  # reads as one YAML string
        ";; blocks world: 4 ops\n(define (domain d)\n  (:requirements :strips)\n"
        "  (:predicates (p))\n  (:action a :parameters () :effect (p)))\n",  # a YAML error
    ],
)
def test_a_pddl_file_given_by_name_is_told_how_ido_reads_pddl(tmp_path: Path, text: str) -> None:
    """`ido validate domain.pddl`, a planning user's first try, says how ido reads PDDL,
    and only that: a leading `;;` comment made it a bare YAML syntax error."""
    domain = write(tmp_path, "domain.pddl", text)
    with pytest.raises(LoadError) as info:
        load_catalog([domain], base=tmp_path)
    problem = only(info.value.problems)
    assert (problem.line, problem.field) == (1, "")
    assert problem.message.startswith("a PDDL file, not a YAML resource")
    assert "`ido import-pddl DOMAIN PROBLEM --out DIR`" in problem.message


def test_a_file_of_another_kind_given_by_name_is_told_it_is_not_yaml(tmp_path: Path) -> None:
    """`ido validate capabilities/kitchen.py` said "kind: missing key 'kind'", as if the
    Python file wanted one."""
    code = write(tmp_path, "kitchen.py", "def brew(ctx):\n    return {'cup': 1}\n")
    with pytest.raises(LoadError) as info:
        load_catalog([code], base=tmp_path)
    assert only(info.value.problems) == Problem(
        "kitchen.py",
        1,
        "",
        "a .py file, not a YAML resource: resources live in .yaml and .yml files",
    )


def test_a_yaml_resource_in_a_file_of_another_name_given_by_name_loads(tmp_path: Path) -> None:
    """A file given by name is read whatever its name; only when it fails is its name
    blamed."""
    named = write(tmp_path, "charge.txt", CAPABILITY)
    catalog = load_catalog([named], base=tmp_path)
    assert "charge" in catalog.capabilities


@pytest.mark.parametrize(
    ("name", "text", "told"),
    [
        (
            "pay-order",
            INTENT.replace("max_cost", "max_cots").replace("policies: [residency]", ""),
            "unknown key 'max_cots'; did you mean 'max_cost'?",
        ),
        ("charge.txt", CAPABILITY.replace("provider", "provdier"), "unknown key 'provdier'"),
        ("caps.txt", CAPABILITY, "name 'charge' must equal the file name 'caps'"),
    ],
)
def test_a_resource_in_a_file_of_another_name_is_told_its_own_problems(
    tmp_path: Path, name: str, text: str, told: str
) -> None:
    """A resource in a file not named .yaml (an intent `other/ship-order`, `caps.txt`) that
    does not load is told why, not only that resources live in .yaml files: its typo
    `max_cots` was hidden behind "not a YAML resource"."""
    named = write(tmp_path, name, text)
    with pytest.raises(LoadError) as info:
        load_catalog([named], base=tmp_path)
    messages = [problem.message for problem in info.value.problems]
    assert any(told in message for message in messages), messages
    assert not any("not a YAML resource" in message for message in messages), messages


def test_a_text_file_that_yaml_cannot_read_is_told_it_is_not_yaml(tmp_path: Path) -> None:
    """Notes that are no YAML at all (`notes.txt`) are told as no resource, not as a YAML
    syntax error."""
    notes = write(tmp_path, "notes.txt", "key: value: more\n")
    with pytest.raises(LoadError) as info:
        load_catalog([notes], base=tmp_path)
    assert only(info.value.problems).message == (
        "a .txt file, not a YAML resource: resources live in .yaml and .yml files"
    )


def test_the_api_version_must_be_ido_v1(tmp_path: Path) -> None:
    """Another apiVersion is refused."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("ido/v1", "ido/v2"))
    problem = only(problems(tmp_path))
    assert problem.field == "apiVersion"
    assert "'ido/v1'" in problem.message


# --- names ------------------------------------------------------------------------------


def test_the_name_of_a_single_resource_must_equal_the_file_stem(tmp_path: Path) -> None:
    """A one-resource file whose metadata.name differs from the file name is an error."""
    write(tmp_path, "payment.yaml", CAPABILITY)
    problem = only(problems(tmp_path))
    assert problem == Problem(
        "payment.yaml",
        3,
        "metadata.name",
        "name 'charge' must equal the file name 'payment' (or put several resources in one file)",
    )


def test_an_invalid_name_is_an_error(tmp_path: Path) -> None:
    """Names are lower-case DNS-like labels."""
    write(tmp_path, "Charge_EU.yaml", CAPABILITY.replace("name: charge", "name: Charge_EU"))
    problem = only(problems(tmp_path))
    assert problem.field == "metadata.name"
    assert problem.message.startswith("'Charge_EU' is not a name: lower-case letters")


def test_a_binding_written_as_a_file_path_is_told_in_words_not_by_regex(
    tmp_path: Path,
) -> None:
    """`python: "pay/impl.py:charge"` was refused with pydantic's "String should match
    pattern '^[A-Za-z_][\\w.]*:[A-Za-z_]\\w*$'"; the message says what is wanted now."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("pay.impl:charge", "pay/impl.py:charge"))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (13, "spec.run.python")
    assert problem.message == (
        "'pay/impl.py:charge' is not a Python function as 'package.module:function', like "
        "'capabilities.payments:charge' (modules joined by dots, without '.py')"
    )


def test_a_bad_key_is_named_in_words_not_by_pydantics_mark(tmp_path: Path) -> None:
    write(tmp_path, "charge.yaml", CAPABILITY.replace("order.paid: true", "'order paid': true"))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.effects.order paid"
    assert problem.message.startswith("the key 'order paid' is not a fact path: names of")


def test_keys_yaml_reads_as_other_than_text_are_each_reported_at_their_key(
    tmp_path: Path,
) -> None:
    """`null`, `1.5` and a date are keys YAML does not read as text: one problem each, its
    path ending in the key as written, none dropped as if it were pydantic's own tag."""
    effects = "effects: {order.paid: true, null: 1, 1.5: 2, 2024-01-01: 3"
    write(tmp_path, "charge.yaml", CAPABILITY.replace("effects: {order.paid: true", effects))
    found = sorted(p.field for p in problems(tmp_path))
    assert found == ["spec.effects.1.5", "spec.effects.2024-01-01", "spec.effects.None"]


def test_a_name_declared_twice_points_at_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same kind and name in two files is an error that says where the first one is:
    the line of its name (it said the line its document starts on, `---` or a comment)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "a.yaml", "# payments\n" + CAPABILITY + "---\n" + POLICY)
    write(tmp_path, "b.yaml", POLICY.replace("residency", "sox") + "---\n" + CAPABILITY)
    problem = only(problems(tmp_path))
    assert problem.file == "b.yaml"
    assert problem.field == "metadata.name"
    assert problem.line == 13
    assert problem.message == "Capability 'charge' is declared twice; first in a.yaml:4"


def test_the_same_name_in_two_kinds_is_allowed(tmp_path: Path) -> None:
    """Names are unique per kind: a policy and a capability may share a name."""
    write(tmp_path, "both.yaml", CAPABILITY + "---\n" + POLICY.replace("residency", "charge"))
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert "charge" in catalog.capabilities
    assert "charge" in catalog.policies


# --- YAML problems ----------------------------------------------------------------------


@pytest.mark.parametrize("indent", ["\t", "  \t"])
def test_a_tab_in_the_indentation_is_named(tmp_path: Path, indent: str) -> None:
    """An editor shows a tab as spaces, and YAML's "found character that cannot start any
    token" does not say which character: the tab is named, with its column."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("  region: eu", f"{indent}region: eu"))
    problem = only(problems(tmp_path))
    assert problem.line == 6
    column = indent.index("\t") + 1
    assert problem.message.endswith(
        f"(a tab at column {column}: YAML indents with spaces, not tabs)"
    ), problem


@pytest.mark.parametrize(
    ("written", "told"),
    [
        ('"state.order.region == "eu""', 'the text in double quotes ends at the " at column'),
        ("'state.order.region == 'eu''", "the text in single quotes ends at the ' at column"),
    ],
)
def test_a_condition_that_closes_its_own_quotes_is_told_so(
    tmp_path: Path, written: str, told: str
) -> None:
    """A condition that quotes text with the quote it is written in ends at its second
    quote; YAML's "did not find expected key" said nothing of quotes. The hint names the
    column of the quote that ended it and says how to quote text inside a condition."""
    text = CAPABILITY.replace('["!state.order.paid"]', f"[{written}]")
    write(tmp_path, "charge.yaml", text)
    problem = only(problems(tmp_path))
    assert problem.line == 8
    column = text.splitlines()[7].index(written) + len("state.order.region == ") + 2
    assert f"({told} {column}: " in problem.message, problem
    assert "quote" in problem.message.split(told)[1]


def test_a_yaml_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    """Broken YAML is a problem at the line where the parser stopped, not an exception."""
    write(tmp_path, "charge.yaml", "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: [\n")
    problem = only(problems(tmp_path))
    assert problem.file == "charge.yaml"
    assert problem.line == 4
    assert problem.message.startswith("YAML syntax error: ")


def test_a_key_repeated_in_a_mapping_is_reported(tmp_path: Path) -> None:
    """YAML would silently keep the last of two equal keys; ido reports the second."""
    write(
        tmp_path,
        "charge.yaml",
        CAPABILITY.replace("  cost: 0.30\n", "  cost: 0.30\n  cost: 0.40\n"),
    )
    problem = only(problems(tmp_path))
    assert problem == Problem(
        "charge.yaml", 11, "spec.cost", "key appears twice in the same mapping"
    )


def test_python_specific_yaml_tags_are_refused(tmp_path: Path) -> None:
    """Only safe YAML is read: a python/object tag is a problem, never executed."""
    write(tmp_path, "evil.yaml", "!!python/object/apply:os.system ['true']\n")
    assert "could not determine a constructor" in only(problems(tmp_path)).message


@pytest.mark.parametrize("char", ["\x01", "\x00", "\ufffe"])
def test_control_characters_are_a_problem_not_a_crash(tmp_path: Path, char: str) -> None:
    """A character YAML forbids is reported as a YAML problem of that file."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("stripe\n", f"stripe{char}\n", 1))
    problem = only(problems(tmp_path))
    assert problem.file == "charge.yaml"
    assert problem.line == CAPABILITY[: CAPABILITY.index("stripe\n")].count("\n") + 1
    assert f"#x{ord(char):04x}" in problem.message
    assert "YAML" in problem.message


def test_a_timestamp_tag_on_a_non_timestamp_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """An explicit `!!timestamp` on a value that is not a date is reported as a YAML problem."""
    write(tmp_path, "charge.yaml", CAPABILITY.replace("tags: [payments]", "tags: [!!timestamp x]"))
    problem = only(problems(tmp_path))
    assert problem.file == "charge.yaml"
    assert "YAML" in problem.message


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 make a 'cannot read file' problem."""
    (tmp_path / "charge.yaml").write_bytes(b"\xff\xfe kind: x")
    assert only(problems(tmp_path)).message.startswith("cannot read file: ")


def test_a_byte_that_is_not_utf8_is_placed_at_its_line_and_column(tmp_path: Path) -> None:
    """A Latin-1 `é` in a comment said only its position in bytes: the problem is at
    that line, naming the byte and its column."""
    text = CAPABILITY.replace("tags: [payments]", "tags: [payments]  # café").encode("utf-8")
    (tmp_path / "charge.yaml").write_bytes(text.replace("é".encode(), b"\xe9"))
    problem = only(problems(tmp_path))
    assert (problem.file, problem.line) == ("charge.yaml", 7)
    assert problem.message == (
        "cannot read file: byte 0xe9 at column 26 is not UTF-8 (invalid continuation byte); "
        "save it as UTF-8"
    )


def test_hidden_folders_inside_a_catalog_folder_are_not_read(tmp_path: Path) -> None:
    """A project root as the catalog: its `.venv` holds YAML that is not ido's, left out;
    a hidden folder named itself is read."""
    write(tmp_path, "capabilities/charge.yaml", CAPABILITY)
    write(tmp_path, ".venv/lib/site-packages/litellm/proxy_config.yaml", "model_list: []\n")
    write(tmp_path, ".hidden/charge-2.yaml", CAPABILITY.replace("name: charge", "name: charge-2"))
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert set(catalog.capabilities) == {"charge"}
    named = load_catalog([tmp_path / "capabilities", tmp_path / ".hidden"], base=tmp_path)
    assert set(named.capabilities) == {"charge", "charge-2"}


def test_a_folder_that_cannot_be_read_is_a_problem_not_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable `policies/org` was skipped without a word: its enforced policy was
    not applied, and `ido validate` said ok. (The OS refusal is simulated: tests run as
    root, whom a mode of 000 does not stop.)"""
    write(tmp_path, "policies/org/freeze.yaml", POLICY)
    walled = tmp_path / "policies" / "org"
    scandir = os.scandir

    def refusing(path: Any) -> Any:
        if Path(path) == walled:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    problem = only(problems(tmp_path / "policies"))
    assert (problem.file, problem.message) == (str(walled), "cannot read folder: Permission denied")


def test_links_to_folders_are_followed_once_each(tmp_path: Path) -> None:
    """A policies folder shared by a link (`policies/company -> ../../shared`) was not
    walked, so its policies were left out; a link back up is walked no further."""
    write(tmp_path, "shared/residency.yaml", POLICY)
    write(tmp_path, "project/capabilities/charge.yaml", CAPABILITY)
    (tmp_path / "project" / "policies").mkdir()
    (tmp_path / "project" / "policies" / "company").symlink_to("../../shared")
    (tmp_path / "shared" / "up").symlink_to("..")  # a loop, walked once
    catalog = load_catalog([tmp_path / "project" / "policies"], base=tmp_path)
    assert set(catalog.policies) == {"residency"}


def test_a_link_named_like_yaml_that_leads_nowhere_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "capabilities/charge.yaml", CAPABILITY)
    (tmp_path / "capabilities" / "gone.yaml").symlink_to("../elsewhere/gone.yaml")
    problem = only(problems(tmp_path))
    assert problem.message == "a link to ../elsewhere/gone.yaml, not a file"


def test_a_link_to_a_folder_that_is_not_there_is_a_problem(tmp_path: Path) -> None:
    """`policies/shared -> /nonexistent` (shared policies not mounted) was skipped in
    silence, and their enforced rules with it; a hidden one is left out as before."""
    write(tmp_path, "policies/residency.yaml", POLICY)
    (tmp_path / "policies" / "shared").symlink_to(tmp_path / "nonexistent")
    (tmp_path / "policies" / ".#residency.yaml").symlink_to("user@host.123")  # an editor's lock
    problem = only(problems(tmp_path / "policies"))
    assert problem.file.endswith("policies/shared")
    assert problem.message == f"a link to {tmp_path / 'nonexistent'}, which does not exist"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "null\n", "---\n---\n"])
def test_a_file_with_no_resource_is_a_problem(tmp_path: Path, text: str) -> None:
    """A truncated policy (an editor's crash, a bad merge) left the catalog in silence."""
    write(tmp_path, "policies/residency.yaml", text)
    problem = only(problems(tmp_path))
    assert (problem.line, problem.message) == (1, "empty: no resource")
    assert problem.file.endswith("residency.yaml")


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    """A path that does not exist is a problem, reported with the rest."""
    with pytest.raises(LoadError, match="no such file or folder") as info:
        load_catalog([tmp_path / "nowhere"], base=tmp_path)
    assert only(info.value.problems).file == str(tmp_path / "nowhere")


def test_a_path_that_is_neither_file_nor_folder_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="/dev/null: not a file or folder"):
        load_catalog([Path("/dev/null")], base=tmp_path)


# --- references and conditions ----------------------------------------------------------


def test_a_missing_policy_is_reported_at_the_intent(tmp_path: Path) -> None:
    """An intent naming a policy nobody declared is an error at that list item."""
    write(tmp_path, "pay-order.yaml", INTENT)
    problem = only(problems(tmp_path))
    assert problem == Problem(
        "pay-order.yaml",
        9,
        "spec.policies[0]",
        "Policy 'residency' not found; no Policy is loaded",
    )


def test_a_missing_policy_lists_the_known_ones(tmp_path: Path) -> None:
    """When other policies are loaded, the message lists them."""
    write(tmp_path, "pay-order.yaml", INTENT.replace("[residency]", "[residency, sox]"))
    write(tmp_path, "residency.yaml", POLICY)
    assert only(problems(tmp_path)).message == "Policy 'sox' not found; known: residency"


def test_a_missing_observer_is_reported(tmp_path: Path) -> None:
    """An intent naming an unknown observer is an error at that list item."""
    write(tmp_path, "residency.yaml", POLICY)
    write(tmp_path, "pay-order.yaml", INTENT + "  observers: [orders-db]\n")
    problem = only(problems(tmp_path))
    assert problem.field == "spec.observers[0]"
    assert problem.message == "Observer 'orders-db' not found; no Observer is loaded"


def test_a_missing_observer_in_a_folder_outside_the_catalog_says_where_it_is(
    tmp_path: Path,
) -> None:
    """`observers/orders-db.yaml`, where a new user puts an observer, is not read by default:
    the error said only "no Observer is loaded"."""
    write(tmp_path, "policies/residency.yaml", POLICY)
    write(tmp_path, "intents/pay-order.yaml", INTENT + "  observers: [orders-db]\n")
    write(tmp_path, "observers/orders-db.yaml", "kind: Observer\n")
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path / "intents", tmp_path / "policies"], base=tmp_path)
    assert only(info.value.problems).message == (
        "Observer 'orders-db' not found; no Observer is loaded (observers/orders-db.yaml is"
        " not in the catalog: give --catalog observers, or move it into capabilities/)"
    )


def test_a_file_of_another_kind_named_like_a_missing_resource_is_no_hint(
    tmp_path: Path,
) -> None:
    """`scenarios/payments-frozen.yaml`, a Scenario, was offered for a missing Policy of
    that name ("move it into capabilities/"); a missing policy found is sent to policies/."""
    write(tmp_path, "intents/pay-order.yaml", INTENT.replace("[residency]", "[frozen, spare]"))
    write(tmp_path, "scenarios/frozen.yaml", "kind: Scenario\n")
    write(tmp_path, "drafts/spare.yaml", "apiVersion: ido/v1\nkind: Policy\n")
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path / "intents"], base=tmp_path)
    frozen, spare = sorted(info.value.problems, key=lambda p: p.message)
    assert frozen.message == "Policy 'frozen' not found; no Policy is loaded"
    assert spare.message.endswith(
        "(drafts/spare.yaml is not in the catalog: give --catalog drafts, or move it into"
        " policies/)"
    )


def test_a_missing_resource_in_its_own_folder_is_told_to_give_that_folder(
    tmp_path: Path,
) -> None:
    """An intent checked alone (`ido validate other/pay-order.yaml`) whose policy lies in
    policies/ was told of a replay and its flags (`a replay given other policies
    (--policies DIR) needs it in DIR too`), where no replay was run; the file, named in
    capitals (`residency.YAML`, read since ido reads such files), was not found at all."""
    write(tmp_path, "policies/residency.YAML", POLICY)
    intent = write(tmp_path, "other/pay-order.yaml", INTENT)
    with pytest.raises(LoadError) as info:
        load_catalog([intent], base=tmp_path)
    assert only(info.value.problems).message == (
        "Policy 'residency' not found; no Policy is loaded (policies/residency.YAML is not in"
        " the catalog: give --catalog policies)"
    )


def test_a_missing_resource_in_a_folder_the_command_replaced_is_told_as_it_says(
    tmp_path: Path,
) -> None:
    """A command that reads another folder in place of one of the project's (`ido replay
    --policies DIR`) says what a resource found in that one needs."""
    write(tmp_path, "policies/residency.yaml", POLICY)
    intent = write(tmp_path, "intents/pay-order.yaml", INTENT)
    replaced = {"policies": "a replay given other policies (--policies DIR) needs it in DIR too"}
    with pytest.raises(LoadError) as info:
        load_catalog([intent], base=tmp_path, replaced=replaced)
    assert only(info.value.problems).message == (
        "Policy 'residency' not found; no Policy is loaded (policies/residency.yaml is not in"
        " the catalog: a replay given other policies (--policies DIR) needs it in DIR too)"
    )


def test_a_missing_compensating_capability_is_reported(tmp_path: Path) -> None:
    """`compensate` must name a capability in the catalog."""
    write(tmp_path, "charge.yaml", CAPABILITY + "  compensate: refund\n")
    problem = only(problems(tmp_path))
    assert problem.field == "spec.compensate"
    assert problem.line == 14
    assert problem.message == "Capability 'refund' not found; known: charge"


def test_a_cel_error_in_a_goal_points_at_the_line_of_the_expression(tmp_path: Path) -> None:
    """A goal that does not compile is reported at its own line with CEL's reason."""
    text = INTENT.replace(
        "    - state.order.paid\n", "    - state.order.paid\n    - order.shipped\n"
    )
    write(tmp_path, "pay-order.yaml", text)
    write(tmp_path, "residency.yaml", POLICY)
    problem = only(problems(tmp_path))
    assert problem.line == 8
    assert problem.field == "spec.goal[1]"
    assert "undeclared reference to 'order.shipped'" in problem.message
    assert "'order.shipped'" in problem.message.rsplit(" in ", 1)[1]


def test_a_cel_error_in_requires_and_in_a_rule_are_both_reported(tmp_path: Path) -> None:
    """Conditions in capabilities and policy rules are compiled at load time too."""
    write(
        tmp_path, "charge.yaml", CAPABILITY.replace('"!state.order.paid"', '"state.order.paid +"')
    )
    write(tmp_path, "residency.yaml", POLICY.replace("capability.region != 'eu'", "1 + 1"))
    found = problems(tmp_path)
    assert [(p.file, p.line, p.field) for p in found] == [
        ("charge.yaml", 8, "spec.requires[0]"),
        ("residency.yaml", 8, "spec.rules[0].when"),
    ]
    assert "Syntax error" in found[0].message
    assert "condition must be a bool, but it is of type int" in found[1].message


def test_every_problem_is_reported_at_once_in_file_and_line_order(tmp_path: Path) -> None:
    """Problems in several files and fields come back together, sorted by file and line."""
    write(tmp_path, "b.yaml", "a: [\n")
    write(
        tmp_path,
        "charge.yaml",
        CAPABILITY.replace("cost: 0.30", 'cost: "0.30"').replace("800ms", "fast"),
    )
    write(tmp_path, "pay-order.yaml", INTENT)
    with pytest.raises(LoadError, match=r"^4 problems found:\n") as info:
        load_catalog([tmp_path], base=tmp_path)
    found = info.value.problems
    assert [(p.file, p.field) for p in found] == [
        ("b.yaml", ""),
        ("charge.yaml", "spec.cost"),
        ("charge.yaml", "spec.latency"),
        ("pay-order.yaml", "spec.policies[0]"),
    ]
    assert "  charge.yaml:10: spec.cost: Input should be a valid number" in str(info.value)


def test_a_problem_renders_as_file_line_field_message() -> None:
    """Problems print like compiler errors; the line and field are left out when unknown."""
    assert str(Problem("a.yaml", 3, "spec.cost", "bad")) == "a.yaml:3: spec.cost: bad"
    assert str(Problem("a.yaml", None, "", "bad")) == "a.yaml: bad"


# --- find_intent ------------------------------------------------------------------------


def test_find_intent_by_name_and_by_file(tmp_path: Path) -> None:
    """An intent is found by its name or by the path of the file that declares it."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    by_name = find_intent(catalog, "pay-order")
    by_file = find_intent(catalog, str(tmp_path / "intents" / "pay-order.yaml"))
    assert by_name is by_file


def test_find_intent_names_the_known_intents_when_not_found(tmp_path: Path) -> None:
    """An unknown intent name raises NotFoundError listing the known intents."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    with pytest.raises(NotFoundError, match=r"intent 'ship' not found; known intents: pay-order"):
        find_intent(catalog, "ship")


def test_find_intent_reports_a_missing_file(tmp_path: Path) -> None:
    """A path to an intent file that does not exist raises NotFoundError."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    with pytest.raises(NotFoundError, match=r"nope\.yaml: no such intent file"):
        find_intent(catalog, str(tmp_path / "nope.yaml"))


def test_find_intent_on_a_folder_names_the_intents_in_it(tmp_path: Path) -> None:
    """`ido run intents/` said "holds 0 intents" of a folder holding one."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    with pytest.raises(
        NotFoundError, match=r"intents: a folder, not an intent; name one: pay-order"
    ):
        find_intent(catalog, str(tmp_path / "intents"))
    with pytest.raises(
        NotFoundError, match=r"policies: a folder, not an intent, and no intent loaded is in it"
    ):
        find_intent(catalog, str(tmp_path / "policies"))


def test_find_intent_asks_for_a_name_when_a_file_holds_two_intents(tmp_path: Path) -> None:
    """A file with two intents is ambiguous; the error asks for a name."""
    second = INTENT.replace("pay-order", "pay-again")
    path = write(tmp_path, "both.yaml", INTENT + "---\n" + second)
    write(tmp_path, "residency.yaml", POLICY)
    catalog = load_catalog([tmp_path], base=tmp_path)
    with pytest.raises(NotFoundError, match=r"holds 2 intents; name one instead"):
        find_intent(catalog, str(path))


@pytest.mark.parametrize("source", ["python: fakesvc.obs:read", "file: stock.json"])
def test_a_timeout_on_an_observer_that_is_not_http_is_refused(tmp_path: Path, source: str) -> None:
    """It was accepted and did nothing: a python observer that hung, hung the run."""
    write(
        tmp_path,
        "stock.yaml",
        f"apiVersion: ido/v1\nkind: Observer\nmetadata: {{name: stock}}\n"
        f"spec:\n  {source}\n  timeout: 2s\n",
    )
    problem = only(problems(tmp_path))
    assert problem.field == "spec"
    kind = source.partition(":")[0]
    assert problem.message == (
        f"timeout applies to http and prometheus observers only; a {kind} observer runs to its end: remove timeout"
    )


def test_an_observation_given_no_time_is_an_error_at_its_timeout(tmp_path: Path) -> None:
    """An http observer's `timeout: 0s` passed validate, and every fetch then timed out at
    once, as a capability's and a model call's are refused."""
    write(
        tmp_path,
        "stock.yaml",
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\n"
        "spec:\n  http: {url: 'https://stock.example/levels'}\n  timeout: 0s\n",
    )
    problem = only(problems(tmp_path))
    assert (problem.field, problem.line) == ("spec.timeout", 6)
    assert "greater than 0" in problem.message


def test_a_shell_argument_holding_nul_is_an_error(tmp_path: Path) -> None:
    """`shell: ["echo", "a\\0b"]` loaded, and the step stopped the run with a traceback
    (`embedded null byte`), left "outcome unknown" for a person to settle on resume."""
    run = 'run: {shell: ["echo", "a\\0b"]}'
    write(tmp_path, "charge.yaml", CAPABILITY.replace('run: {python: "pay.impl:charge"}', run))
    problem = only(problems(tmp_path))
    assert problem.field == "spec.run.shell"
    assert problem.line == 13
    assert "item 1 holds a NUL character, which no program can be given" in problem.message


def test_a_reference_to_a_resource_that_did_not_load_is_not_told_again(tmp_path: Path) -> None:
    """A typo in a policy made every intent naming it say `Policy 'residency' not found`:
    one mistake read as several, and the one that said "not found" was untrue."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", POLICY.replace("  rules:", "  rulez:"))
    found = problems(tmp_path)
    assert {(p.file, p.field) for p in found} == {
        ("policies/residency.yaml", "spec.rules"),  # missing
        ("policies/residency.yaml", "spec.rulez"),  # unknown
    }, found


def test_the_keys_a_rule_may_read_are_those_its_variables_have(tmp_path: Path) -> None:
    """What load time holds a rule to is what a decision gives it: every key of the
    `capability`, `plan` and `intent` variables, and no other."""
    valid_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    charge = catalog.capabilities["charge"]
    assert tuple(capability_view(charge)) == KEYS["capability"]
    assert tuple(plan_view([charge])) == KEYS["plan"]
    assert sorted(intent_view(catalog.intents["pay-order"])) == sorted(KEYS["intent"])


def test_a_missing_resource_found_in_several_folders_is_pointed_at_its_home_first(
    tmp_path: Path,
) -> None:
    """`ido replay --policies new` where new/ lacks residency, with copies of the project's
    policies in other folders beside it (`bad/`, `old/`): the hint named the first folder
    by name, `bad/residency.yaml … give --catalog bad`, not the folder the replay read
    others in place of, whose words the docs promise; so too a plain load sent the user to
    `bad/` rather than the policy in policies/."""
    for folder in ("bad", "old", "policies"):
        write(tmp_path, f"{folder}/residency.yaml", POLICY)
    intent = write(tmp_path, "intents/pay-order.yaml", INTENT)
    replaced = {"policies": "a replay given other policies (--policies DIR) needs it in DIR too"}
    with pytest.raises(LoadError) as info:
        load_catalog([intent], base=tmp_path, replaced=replaced)
    assert only(info.value.problems).message.endswith(
        "(policies/residency.yaml is not in the catalog: a replay given other policies"
        " (--policies DIR) needs it in DIR too)"
    )
    with pytest.raises(LoadError) as info:
        load_catalog([intent], base=tmp_path)
    assert only(info.value.problems).message.endswith(
        "(policies/residency.yaml is not in the catalog: give --catalog policies)"
    )


def test_a_policy_yaml_cannot_read_is_told_once_not_as_missing_from_the_catalog(
    tmp_path: Path,
) -> None:
    """policies/residency.yaml with a YAML syntax error: besides the syntax error, the
    intent naming it was told "Policy 'residency' not found … (policies/residency.yaml is
    not in the catalog: give --catalog policies)", a folder that was read, and with a copy
    in old/, "give --catalog old": the user fixing what they were told used a stale copy.
    The file's own error is told, as for a policy that fails its schema."""
    write(tmp_path, "policies/residency.yaml", POLICY + "    - id: [\n")
    write(tmp_path, "old/residency.yaml", POLICY)
    write(tmp_path, "intents/pay-order.yaml", INTENT)
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path / "intents", tmp_path / "policies"], base=tmp_path)
    problem = only(info.value.problems)
    assert problem.file.endswith("policies/residency.yaml")
    assert problem.message.startswith("YAML syntax error")


def test_a_policy_emptied_of_its_rules_says_how_to_lift_its_last_one(tmp_path: Path) -> None:
    """A user lifting the rule a no-plan reason named (`or lift rule residency/...`) emptied
    the policy's rules and read pydantic's "List should have at least 1 item after
    validation, not 0", which said nothing of what to do instead."""
    write(tmp_path, "policies/residency.yaml", POLICY.partition("  rules:")[0] + "  rules: []\n")
    problem = only(problems(tmp_path))
    assert (problem.field, problem.line) == ("spec.rules", 5)
    assert problem.message.startswith(
        "a policy has at least one rule; to lift its last one, take the policy out of the "
        "intent's policies, or write the rule's condition as when: \"false\""
    ), problem.message


def test_an_enforced_policy_emptied_of_its_rules_is_not_told_to_leave_the_intent(
    tmp_path: Path,
) -> None:
    """An enforced policy governs every intent, named in its policies or not: "take the
    policy out of the intent's policies" was said of one too, which changes nothing."""
    head = POLICY.partition("  rules:")[0]
    write(tmp_path, "policies/residency.yaml", head + "  enforced: true\n  rules: []\n")
    problem = only(problems(tmp_path))
    assert problem.field == "spec.rules"
    assert "intent's policies, or" not in problem.message, problem.message
    assert problem.message.startswith(
        "a policy has at least one rule; to lift its last one, write the rule's condition as "
        'when: "false", or take the policy out of the catalog (it is enforced'
    ), problem.message
