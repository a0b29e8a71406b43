"""Type mistakes in rules (`capability.latency > duration('1s')`) are load errors at their
file, line and field, not denials found by a run; what ido builds rules' variables from
agrees with the types it checks them against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ido.capability_rules import health_view, intent_view
from ido.conditions import Each, Record, Shape, compile_condition, type_problem
from ido.decision import History
from ido.loading import load_catalog
from ido.loading.checks import check_names
from ido.policy import capability_view, plan_view
from ido.rule_types import rule_shapes
from tests.test_loading import INTENT, only, problems, valid_project, write

MISTAKES = [
    (
        "capability.latency > duration('1s')",
        "capability.latency is a number of seconds; compare it with a number, e.g. "
        "capability.latency > 1.0",
    ),
    ("capability.cost > '1'", "capability.cost is a number; compare it with a number"),
    ("capability.region == 7", "capability.region is a string; compare it with a string"),
    (
        "plan.latency < timestamp('2026-01-01T00:00:00Z')",
        "plan.latency is a number of seconds; compare it with a number",
    ),
    ("capability.name - 1 == 0", "capability.name is a string, and CEL does no arithmetic on"),
    ("capability.cost + 1 < 2", "CEL cannot apply + to double and int: capability.cost is a"),
    (
        "intent.constraints.deadline > 10.0",
        "intent.constraints.deadline is a duration as text ('30s'); compare "
        "duration(intent.constraints.deadline) with a duration",
    ),
    (
        "intent.constraints.max_cots > 1.0",
        "intent.constraints has no key 'max_cots'; did you mean 'max_cost'?",
    ),
    ("health['charge'].latncy > 1.0", "health['charge'] has no key 'latncy'; did you mean"),
    ("intent.limits.max_steps > 'ten'", "intent.limits.max_steps is a whole number; compare"),
]


def rule(when: str) -> str:
    return (
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: residency}\nspec:\n  rules:\n"
        f"    - id: r\n      effect: deny\n      when: {when}\n      message: m\n"
    )


@pytest.mark.parametrize(("when", "told"), MISTAKES, ids=[w for w, _ in MISTAKES])
def test_a_type_mistake_in_a_rule_is_a_load_error_at_its_field(
    tmp_path: Path, when: str, told: str
) -> None:
    """Each kind of mistake is told at the rule's file, line and field, with the expression
    and what is wrong in words; before, `ido validate` said ok and every run denied."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule('"' + when + '"'))
    problem = only(problems(tmp_path))
    assert (Path(problem.file).name, problem.line) == ("residency.yaml", 8)
    assert problem.field == "spec.rules[0].when"
    assert told in problem.message, problem.message
    assert when in problem.message  # (the expression, echoed)


def test_a_mistake_on_a_later_line_of_a_block_condition_is_told_at_that_line(
    tmp_path: Path,
) -> None:
    valid_project(tmp_path)
    block = "|\n        capability.region == 'eu' &&\n          capability.latency > duration('2s')"
    write(tmp_path, "policies/residency.yaml", rule(block))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (10, "spec.rules[0].when")
    assert "(line 2 of the expression, column 22)" in problem.message


def views(folder: Path) -> dict[str, Any]:
    """The variables a rule sees in a decision, as ido builds them, for a real catalog."""
    valid_project(folder)
    catalog = load_catalog([folder], base=folder)
    charge = catalog.capabilities["charge"]
    health, _ = health_view(catalog, History(failures={"charge": 1}), {})
    return {
        "state": {},
        "capability": capability_view(charge),
        "plan": plan_view([charge]),
        "intent": intent_view(catalog.intents["pay-order"]),
        "health": health,
    }


@pytest.mark.parametrize(("when", "told"), MISTAKES[:7], ids=[w for w, _ in MISTAKES[:7]])
def test_each_mistake_told_fails_or_never_holds_when_run(
    tmp_path: Path, when: str, told: str
) -> None:
    """What is refused at load is wrong when run too: an evaluation error (a deny fails
    closed) or a comparison of two kinds of value that never holds."""
    verdict = compile_condition(when).evaluate(views(tmp_path))
    assert verdict.error is not None or not verdict.holds


def _valid(path: str, shape: Shape) -> list[str]:
    """Conditions that read `path` as what its shape says it is."""
    if isinstance(shape, Record):
        return [c for key, inner in shape.fields for c in _valid(f"{path}.{key}", inner)]
    if isinstance(shape, Each):
        return _valid(f"{path}['charge']", shape.value)
    kind = shape.removesuffix("?")
    guard = f"{path} == null || " if shape.endswith("?") else ""  # (null is no number)
    return [
        guard + c
        for c in {
            "double": [f"{path} >= 0.0", f"{path} > -1", f"{path} * 2.0 >= 0.0"],
            "seconds": [f"{path} >= 0.0", f"{path} < 3600"],
            "int": [f"{path} >= 0", f"{path} + 1 > 0"],
            "string": [f"{path} != 'x'", f"{path} in ['x', 'y'] || true"],
            "duration_text": [f"{path} != '1s'"],
            "bool": [f"{path} || !{path}"],
            "list<string>": [f"{path}.all(x, x != '')", f"'x' in {path} || size({path}) >= 0"],
            "list<dyn>": [f"size({path}) >= 0"],
            "map": [f"size({path}) >= 0", f"'x' in {path} || true"],
            "dyn": [f"{path} == {path}"],
        }[kind]
    ]


def test_rules_reading_every_key_as_its_type_pass_and_evaluate(tmp_path: Path) -> None:
    """Every key of every variable ido types, read as that type, passes the check and
    evaluates without error against the variables a decision builds: the declared types
    are those the rules see when run."""
    variables = views(tmp_path)
    written = [c for name, shape in rule_shapes() for c in _valid(name, shape)]
    assert len(written) > 60
    for when in written:
        assert type_problem(when, rule_shapes()) is None, when
        verdict = compile_condition(when).evaluate(variables)
        assert verdict.error is None, (when, verdict.error)
        assert verdict.holds, when


@pytest.mark.parametrize(
    "when",
    [
        "capability.latency > 1",  # (ints and doubles compare when run)
        "capability.region == null",
        "'region' in capability",  # (a known map is a map)
        "capability['name'] == 'charge'",
        "health[capability.name].failures >= 2",
        "duration(intent.constraints.deadline) > duration('10s')",
        "capability.effects['order.paid'] == true",
        "state.order.amount + 1 > capability.cost",  # (state is dyn)
        "capability.idempotent ? capability.cost > 1.0 : capability.name == 'x'",
    ],
)
def test_what_cel_does_when_run_is_not_refused(tmp_path: Path, when: str) -> None:
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule('"' + when + '"'))
    load_catalog([tmp_path], base=tmp_path)


def test_goals_and_requires_are_not_type_checked_as_rules(tmp_path: Path) -> None:
    """`state` stays dyn: what observers report is not known at load time."""
    valid_project(tmp_path)
    write(tmp_path, "intents/pay-order.yaml", INTENT.replace("state.order.paid", "state.a > 1"))
    load_catalog([tmp_path], base=tmp_path)


def test_the_typed_variables_have_the_keys_rules_may_read() -> None:
    """A key added to a view (and to `KEYS`) but not to its type would be refused as
    unknown: the two lists agree."""
    from ido.loading import KEYS

    records = {name: shape for name, shape in rule_shapes() if isinstance(shape, Record)}
    assert set(records) == set(KEYS)
    for name, record in records.items():
        assert sorted(k for k, _ in record.fields) == sorted(KEYS[name]), name


def test_an_intents_own_rule_is_type_checked_too(tmp_path: Path) -> None:
    valid_project(tmp_path)
    own = (
        "  rules:\n    - id: quick\n      effect: deny\n"
        "      when: \"capability.timeout > duration('5s')\"\n      message: m\n"
    )
    write(tmp_path, "intents/pay-order.yaml", INTENT + own)
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (13, "spec.rules[0].when")
    assert "capability.timeout is a number of seconds; compare it with a number" in problem.message


def test_a_field_and_its_operator_on_two_lines_are_still_named(tmp_path: Path) -> None:
    """A block condition may break a comparison before its operator: the field is on the
    line above the one CEL points at, and the message still names it and what it is."""
    valid_project(tmp_path)
    block = (
        "|\n        capability.region == 'eu'\n          && capability.latency\n"
        "          > duration('2s')"
    )
    write(tmp_path, "policies/residency.yaml", rule(block))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (11, "spec.rules[0].when")
    told = "capability.latency is a number of seconds; compare it with a number"
    assert told in problem.message, problem.message


@pytest.mark.parametrize(
    ("when", "told"),
    [
        (
            "intent.constraints.deadline.seconds > 10",
            "intent.constraints.deadline is a duration as text ('30s'), so it has no key 'seconds'",
        ),
        (
            "capability.latency.ms > 800",
            "capability.latency is a number of seconds, so it has no key 'ms'",
        ),
        ("plan.tags.first == 'pii'", "plan.tags is a list, so it has no key 'first'"),
    ],
)
def test_a_key_read_of_what_has_no_keys_is_said_in_words(when: str, told: str) -> None:
    """Before, CEL's own words: `expression of type 'wrapper(string)' cannot be the
    operand of a select operation`, naming neither the field nor a type a user wrote."""
    problem = type_problem(when, rule_shapes())
    assert problem is not None
    assert told in str(problem), str(problem)


@pytest.mark.parametrize(
    "when",
    [
        "health.map(n, health[n]) + capability.tags == []",
        "type(duration('1s')) == capability.tags",
    ],
)
def test_the_types_told_are_those_a_rule_can_write(when: str) -> None:
    """The checker's names of the types ido declares (`ido.rules.Health`) or CEL's own
    (`google.protobuf.Duration`) are not shown, inside a list or a map either."""
    problem = type_problem(when, rule_shapes())
    assert problem is not None
    assert "ido.rules" not in str(problem) and "google.protobuf" not in str(problem), problem


def test_a_health_of_no_capability_is_warned_of(tmp_path: Path) -> None:
    """`health` is per capability: `health['stripe']` (a provider) failed every evaluation,
    a deny reading it denied everything, and `ido validate` said ok."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule("\"health['stripe'].failures > 2\""))
    (warning,) = check_names(load_catalog([tmp_path], base=tmp_path), tmp_path)
    assert (Path(warning.file).name, warning.line, warning.field) == (
        "residency.yaml",
        8,
        "spec.rules[0].when",
    )
    assert warning.message == (
        "no capability is named 'stripe'; 'stripe' is a provider, and a rule names a "
        "capability here"
    )


FOLDED = ">-\n        capability.region == 'eu' &&\n          {}"
QUOTED = "\"capability.region == 'eu' &&\n          {}\""


@pytest.mark.parametrize(("written", "line"), [(FOLDED, 10), (QUOTED, 9)], ids=["folded", "quoted"])
@pytest.mark.parametrize(
    "mistake",
    [
        "capability.latency > duration('2s')",  # (a type)
        "capability.cost ==== 1.0",  # (CEL's parser)
        "capability.provder == 'x'",  # (a key it never has)
        "capability.name.matches('[')",  # (a pattern)
        "duration('2d') > duration('1s')",  # (a literal)
    ],
)
def test_a_mistake_in_a_folded_or_quoted_condition_is_told_at_its_line(
    tmp_path: Path, written: str, line: int, mistake: str
) -> None:
    """A condition folded (`>-`) or quoted over several lines was told at its `when:`
    line, wherever the mistake was: YAML folds it into one line, and the file's lines
    were known of a literal block (`|`) only."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule(written.format(mistake)))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (line, "spec.rules[0].when"), problem
