"""Keys of rules' variables that are null when not set (`capability.region`,
`intent.constraints.max_cost`): `has()` of one says whether it is set, and a rule that
reads one where null fails, with no guard, is warned of at its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.conditions import compile_condition, nullable
from ido.decide import intent_view
from ido.loading import load_catalog
from ido.loading.checks import check_names, check_nulls
from ido.policy import capability_view
from tests.test_condition_types import rule
from tests.test_loading import INTENT, only, problems, valid_project, write


def test_the_keys_that_may_be_null_are_those_of_optional_fields() -> None:
    assert nullable() == {
        "capability.region",
        "intent.constraints.max_cost",
        "intent.constraints.deadline",
        "intent.constraints.min_success_probability",
        "intent.llm.model",
        "intent.llm.api_base",
        "intent.llm.api_key_env",
        "intent.llm.input_cost",
        "intent.llm.output_cost",
        "intent.llm.max_tokens",
    }


def _views(tmp_path: Path, constraints: str) -> dict[str, object]:
    """The `intent` and `capability` a rule sees, for a real catalog whose intent has
    `constraints` and whose capability has no region."""
    valid_project(tmp_path)
    write(
        tmp_path,
        "intents/pay-order.yaml",
        INTENT.replace("{max_cost: 5.0, deadline: 30s}", constraints),
    )
    capability = (tmp_path / "capabilities/charge.yaml").read_text()
    write(tmp_path, "capabilities/charge.yaml", capability.replace("  region: eu\n", ""))
    write(tmp_path, "policies/residency.yaml", rule('"capability.cost > 0.0"'))
    catalog = load_catalog([tmp_path], base=tmp_path)
    return {
        "state": {},
        "intent": intent_view(catalog.intents["pay-order"]),
        "capability": capability_view(catalog.capabilities["charge"]),
    }


@pytest.mark.parametrize(
    ("when", "unset", "set_"),
    [
        ("has(intent.constraints.max_cost)", False, True),
        ("!has(intent.constraints.max_cost)", True, False),
        ("has(intent.constraints.deadline)", False, True),
        ("has(intent['constraints'].min_success_probability)", False, True),
        ("has(capability.region)", False, None),
        ("has(intent.constraints.max_cost) && intent.constraints.max_cost < 10.0", False, True),
        (
            "has(intent.constraints.deadline) && duration(intent.constraints.deadline) < duration('1m')",
            False,
            True,
        ),
    ],
)
def test_has_of_a_key_that_may_be_null_says_whether_it_is_set(
    tmp_path: Path, when: str, unset: bool, set_: bool | None
) -> None:
    """ido's views hold every such key, null when not set: `has()` was always true, and a
    rule guarded by it failed on every intent without the constraint."""
    missing = _views(tmp_path / "unset", "{}")
    verdict = compile_condition(when).evaluate(missing)
    assert (verdict.holds, verdict.error) == (unset, None)
    if set_ is not None:
        given = _views(
            tmp_path / "set", "{max_cost: 5.0, deadline: 30s, min_success_probability: 0.9}"
        )
        verdict = compile_condition(when).evaluate(given)
        assert (verdict.holds, verdict.error) == (set_, None)


@pytest.mark.parametrize("key", ["max_cost", "deadline", "min_success_probability"])
def test_has_of_each_constraint_loads(tmp_path: Path, key: str) -> None:
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule(f'"!has(intent.constraints.{key})"'))
    load_catalog([tmp_path], base=tmp_path)


@pytest.mark.parametrize(
    ("when", "told"),
    [
        (
            "has(intent.constraints.foo)",
            "intent.constraints has no key 'foo'; (intent.constraints has max_cost, "
            "deadline, min_success_probability) (column 4)",
        ),
        (
            "!has(intent.constraints.max_cots)",
            "intent.constraints has no key 'max_cots'; did you mean 'max_cost'? "
            "(intent.constraints has max_cost, deadline, min_success_probability) (column 5)",
        ),
        (
            "has(intent.llm.modle)",
            "intent.llm has no key 'modle'; did you mean 'model'? (intent.llm has model,",
        ),
    ],
)
def test_has_of_a_name_that_is_no_key_names_the_keys(tmp_path: Path, when: str, told: str) -> None:
    """It was refused as `it has no key 'foo' (column 4)`: CEL points at the `(` of
    `has(`, before which no path stands."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule(f'"{when}"'))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (8, "spec.rules[0].when")
    assert problem.message.startswith(told), problem.message


def test_has_of_a_key_that_is_never_null_is_unchanged(tmp_path: Path) -> None:
    variables = _views(tmp_path, "{}")
    assert compile_condition("has(capability.name)").evaluate(variables).holds
    assert compile_condition("has(intent.limits.max_steps)").evaluate(variables).holds
    assert not compile_condition("has(capability.effects.nope)").evaluate(variables).holds


def test_a_rule_guarded_by_has_lets_a_capability_without_the_key_through(
    project: Path,
) -> None:
    """`ship` has no region: the deny below failed closed for it (`startsWith` of null),
    and the order could not be shipped at all."""
    policy = (project / "policies/residency.yaml").read_text()
    pii = "'pii' in capability.tags && state.order.region == 'eu' && capability.region != 'eu'"
    us_only = "has(capability.region) && capability.region.startsWith('us')"
    (project / "policies/residency.yaml").write_text(policy.replace(pii, us_only))
    result = CliRunner().invoke(app, ["plan", "ship-order"])
    assert result.exit_code == 0, result.output
    assert "2. ship (carrier)" in result.output, result.output
    assert "denied by residency/pii-stays-in-eu" in result.output  # (pay-us: it is in us)
    assert "could not be evaluated" not in result.output


UNGUARDED = [
    ("plan.cost > intent.constraints.max_cost", "intent.constraints.max_cost", ">"),
    ("intent.constraints.max_cost * 0.5 < plan.cost", "intent.constraints.max_cost", "*"),
    ("capability.region.startsWith('us')", "capability.region", "startsWith"),
    ("size(capability.region) > 2", "capability.region", "size"),
    (
        "duration(intent.constraints.deadline) < duration('1m')",
        "intent.constraints.deadline",
        "duration",
    ),
    ("capability.cost > 1.0 || capability.region.endsWith('-1')", "capability.region", "endsWith"),
    ("intent.llm.model.startsWith('openai/')", "intent.llm.model", "startsWith"),
    (
        "capability.region in [null, 'eu'] && capability.region.endsWith('u')",
        "capability.region",
        "endsWith",
    ),
    (
        "capability.region == 'eu' || capability.region.startsWith('us')",
        "capability.region",
        "startsWith",
    ),
    (
        "capability.region == null && capability.region.startsWith('us')",
        "capability.region",
        "startsWith",
    ),
    # (a null passed on by a `? :` or `dyn()` to a use that fails on it)
    (
        "(plan.steps > 1 ? intent.constraints.max_cost : 1.0) > plan.cost",
        "intent.constraints.max_cost",
        ">",
    ),
    ("dyn(capability.region).startsWith('eu')", "capability.region", "startsWith"),
    (
        "(capability.cost > 1.0 ? 'x' : (true ? capability.region : 'y')).endsWith('u')",
        "capability.region",
        "endsWith",
    ),
]
"""Rules that read a key that may be null where null fails, with no guard."""


def _warnings(tmp_path: Path, when: str, effect: str = "deny") -> list[str]:
    valid_project(tmp_path)
    text = rule(when).replace("effect: deny", f"effect: {effect}")
    if effect in ("prefer", "avoid"):
        text += "      weight: 1.0\n"
    write(tmp_path, "policies/residency.yaml", text)
    catalog = load_catalog([tmp_path], base=tmp_path)
    return [str(w) for w in check_nulls(catalog, tmp_path)]


@pytest.mark.parametrize(("when", "read", "use"), UNGUARDED, ids=[w for w, _, _ in UNGUARDED])
def test_an_unguarded_read_of_a_key_that_may_be_null_is_warned_of(
    tmp_path: Path, when: str, read: str, use: str
) -> None:
    """Such a rule loaded and `ido validate` said ok; every evaluation for an intent or a
    capability without the key failed, and a deny denied everything then."""
    (warning,) = _warnings(tmp_path, f'"{when}"')
    assert warning.startswith("policies/residency.yaml:8: spec.rules[0].when: "), warning
    assert f"{read} is null when " in warning, warning
    assert f"and {use} fails on null: this deny rule denies (fails closed) then" in warning
    assert f"guard it: has({read}) && …, or !has({read}) || … to deny then" in warning


@pytest.mark.parametrize(
    "when",
    [
        "has(intent.constraints.max_cost) && plan.cost > intent.constraints.max_cost",
        "plan.cost > intent.constraints.max_cost && has(intent.constraints.max_cost)",
        "intent.constraints.max_cost != null && plan.cost > intent.constraints.max_cost",
        "null != intent.constraints.max_cost && plan.cost > intent.constraints.max_cost",
        "!has(intent.constraints.max_cost) || plan.cost > intent.constraints.max_cost",
        "intent.constraints.max_cost == null || plan.cost > intent.constraints.max_cost",
        "!(intent.constraints.max_cost == null) && plan.cost > intent.constraints.max_cost",
        "has(intent.constraints.max_cost) ? plan.cost > intent.constraints.max_cost : true",
        "!has(intent.constraints.max_cost) ? true : plan.cost > intent.constraints.max_cost",
        "has(capability.region) && has(intent.constraints.max_cost) && "
        "(capability.region.startsWith('us') || capability.cost > intent.constraints.max_cost)",
        "capability.region != 'eu'",
        "capability.region == null",
        "capability.region in ['eu', 'uk']",
        "plan.capabilities.exists(capability, capability.startsWith('pay'))",
        "state.region.startsWith('eu')",
        # (a value compared equal with, or found in a list of, values that are not null)
        "capability.region in ['eu-west', 'eu-north'] && capability.region.endsWith('west')",
        "!(capability.region in ['eu']) || capability.region.startsWith('e')",
        "capability.region == 'eu' && size(capability.region) == 2",
        "'eu' == capability.region ? capability.region.startsWith('e') : false",
        "intent.constraints.max_cost in [5.0, 10.0] && plan.cost > intent.constraints.max_cost",
        "(has(intent.constraints.max_cost) ? intent.constraints.max_cost : 9.0) > plan.cost",
        "(capability.region == null ? 'none' : capability.region).startsWith('eu')",
        "(capability.cost > 1.0 ? capability.region : 'eu') == 'eu'",
    ],
)
def test_a_guarded_or_null_safe_read_is_not_warned_of(tmp_path: Path, when: str) -> None:
    assert _warnings(tmp_path, f'"{when}"') == []


def test_the_warning_stands_at_the_line_of_a_block_condition_and_says_the_effect(
    tmp_path: Path,
) -> None:
    block = "|\n        capability.cost > 1.0 &&\n          capability.region.startsWith('us')"
    (warning,) = _warnings(tmp_path, block, effect="avoid")
    assert warning.startswith("policies/residency.yaml:10: spec.rules[0].when: "), warning
    assert "this avoid rule never applies then" in warning
    assert "capability.region is null when a capability has no region" in warning


def test_an_intents_own_rule_reading_what_it_sets_is_not_warned_of(tmp_path: Path) -> None:
    """Its own rule sees that intent only: a constraint it sets is never null there."""
    valid_project(tmp_path)
    own = (
        "  rules:\n    - id: budget\n      effect: deny\n"
        '      when: "capability.cost > intent.constraints.max_cost * 0.5"\n      message: m\n'
    )
    write(tmp_path, "intents/pay-order.yaml", INTENT + own)
    assert check_nulls(load_catalog([tmp_path], base=tmp_path), tmp_path) == []
    unset = INTENT.replace("max_cost: 5.0, ", "") + own
    write(tmp_path, "intents/pay-order.yaml", unset)
    (warning,) = check_nulls(load_catalog([tmp_path], base=tmp_path), tmp_path)
    assert warning.line == 13 and warning.field == "spec.rules[0].when", warning


def test_each_key_is_warned_of_once_per_rule(tmp_path: Path) -> None:
    when = "\"capability.region.startsWith('a') || capability.region.endsWith('b')\""
    assert len(_warnings(tmp_path, when)) == 1


def test_ido_validate_prints_the_warning_and_exits_0(project: Path) -> None:
    policy = (project / "policies/residency.yaml").read_text()
    (project / "policies/residency.yaml").write_text(
        policy.replace("capability.region != 'eu'", "capability.region.startsWith('us')")
    )
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert (
        "warning: policies/residency.yaml:8: spec.rules[0].when: capability.region is null "
        "when a capability has no region, and startsWith fails on null"
    ) in result.output


def test_an_error_of_a_null_read_when_run_says_how_to_guard(tmp_path: Path) -> None:
    verdict = compile_condition("intent.constraints.max_cost > 1.0").evaluate(
        _views(tmp_path, "{}")
    )
    assert verdict.error is not None
    assert verdict.error.endswith("a value it read is null (a key not set): guard it with has(…)")


@pytest.mark.parametrize(
    ("when", "holds"),
    [
        (
            "[{'constraints': {'max_cost': null}}].exists(intent, has(intent.constraints.max_cost))",
            True,
        ),
        ("[{'constraints': {}}].exists(intent, has(intent.constraints.max_cost))", False),
        ("[{'region': null}].all(capability, has(capability.region))", True),
        ("[{'region': null}].exists(c, has(capability.region))", False),
    ],
)
def test_has_of_a_comprehension_variable_named_like_a_rule_variable_is_cels_own(
    tmp_path: Path, when: str, holds: bool
) -> None:
    """A macro's variable named `intent` or `capability` is a value the rule wrote, not
    ido's view: `has()` of its key is CEL's own (true for a key set to null). It was made
    `has(P) && P != null` as for the rule variable, and the first case was false."""
    verdict = compile_condition(when).evaluate(_views(tmp_path, "{}"))
    assert (verdict.holds, verdict.error) == (holds, None)


@pytest.mark.parametrize(
    ("when", "line"),
    [
        ("|-\n        capability.region.startsWith('us')", 9),
        ("|\n\n        capability.cost > 1.0 &&\n        capability.region.startsWith('us')", 11),
        ("\"capability.cost > 1.0 &&\\n capability.region.startsWith('us')\"", 8),
        (">\n        capability.cost > 1.0 &&\n\n        capability.region.startsWith('us')", 11),
        (">-\n        capability.cost > 1.0 &&\n        capability.region.startsWith('us')", 10),
        ("\"capability.cost > 1.0 &&\n        capability.region.startsWith('us')\"", 9),
        ("'capability.cost > 1.0 &&\n        capability.region.startsWith(''us'')'", 9),
        ("\"capability.cost > 1.0 \\\n        && capability.region.startsWith('us')\"", 9),
        ("\"\\x63apability.cost > 1.0 &&\n        capability.region.startsWith('us')\"", 9),
        ("capability.cost > 1.0 &&\n        capability.region.startsWith('us')", 9),
        ("\n        \"capability.region.startsWith('us')\"", 9),
    ],
    ids=[
        "one-line block",
        "block after a blank line",
        "quoted with a line break",
        "folded",
        "folded, stripped",
        "double-quoted over two lines",
        "single-quoted over two lines",
        "double-quoted, an escaped line break",
        "double-quoted, an escape before",
        "plain over two lines",
        "quoted on the line after its key",
    ],
)
def test_the_warning_stands_at_the_line_its_read_is_on_in_the_file(
    tmp_path: Path, when: str, line: int
) -> None:
    """A block of one line (`when: |-`) was told at the `when:` line above it, and a quoted
    condition with `\\n` in it at lines below the field that hold other fields; a folded
    (`>`), quoted or plain condition over several lines was told at its `when:` line,
    wherever in it the read was: YAML folds its line breaks into spaces, and the line
    each character is written on is read off its text as written."""
    (warning,) = _warnings(tmp_path, when)
    assert warning.startswith(f"policies/residency.yaml:{line}: spec.rules[0].when: "), warning


@pytest.mark.parametrize(
    ("when", "told"),
    [
        (
            "has(intent.constraints.max_cost.foo)",
            "intent.constraints.max_cost is a number, so it has no key 'foo' (column 4)",
        ),
        (
            "!has(capability.region.eu)",
            "capability.region is a string, so it has no key 'eu' (column 5)",
        ),
        (
            "has(intent.constraints.deadline.seconds)",
            "intent.constraints.deadline is a duration as text ('30s'), so it has no key "
            "'seconds'; read duration(intent.constraints.deadline) (column 4)",
        ),
    ],
)
def test_has_of_a_key_of_a_value_that_has_none_names_the_value(
    tmp_path: Path, when: str, told: str
) -> None:
    """It was refused as `a value of type double has no keys (column 4)`: CEL points at
    the `(` of `has(`, before which no path stands, and the key was not named."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule(f'"{when}"'))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (8, "spec.rules[0].when")
    assert problem.message.startswith(told), problem.message


@pytest.mark.parametrize(
    ("when", "where"),
    [
        ("\"capability.cost > 1.0 || capability.region.endsWith('-1')\"", "(column 26)"),
        (
            "|\n        'ü☃' != '' &&\n          capability.region.startsWith('us')",
            "(line 2 of the expression, column 3)",
        ),
    ],
)
def test_the_warning_says_the_column_of_the_read(tmp_path: Path, when: str, where: str) -> None:
    """It said the line only: in a long condition the read was to be looked for (a
    load error says its column, counted in characters)."""
    (warning,) = _warnings(tmp_path, when)
    assert warning.endswith(f"to deny then {where}"), warning


MAX_COST = "intent.constraints.max_cost"


@pytest.mark.parametrize(
    "guard",
    [
        f"has({MAX_COST}) == true && plan.cost > {MAX_COST}",
        f"true == has({MAX_COST}) && plan.cost > {MAX_COST}",
        f"!(!has({MAX_COST})) && plan.cost > {MAX_COST}",
        f"has({MAX_COST}) != false && plan.cost > {MAX_COST}",
        f"has({MAX_COST}) == false || plan.cost > {MAX_COST}",
        f"!(has({MAX_COST}) == true) || plan.cost > {MAX_COST}",
        f"has({MAX_COST}) ? plan.cost > {MAX_COST} : false",
        f"!has({MAX_COST}) || plan.cost > {MAX_COST}",
        f"(has({MAX_COST}) ? true : false) && plan.cost > {MAX_COST}",
    ],
)
def test_a_guard_written_as_a_comparison_of_has_is_a_guard(tmp_path: Path, guard: str) -> None:
    """`has(P) == true && P > 1` was warned of as an unguarded read: a guard compared with
    `true` or `false` was not taken for one."""
    assert _warnings(tmp_path, f'"{guard}"') == []


@pytest.mark.parametrize(
    "when",
    [
        f"has({MAX_COST}) == false && plan.cost > {MAX_COST}",
        f"has({MAX_COST}) != true && plan.cost > {MAX_COST}",
        f"true != has({MAX_COST}) && plan.cost > {MAX_COST}",
        f"has({MAX_COST}) == true || plan.cost > {MAX_COST}",
        f"(has({MAX_COST}) ? false : true) && plan.cost > {MAX_COST}",
    ],
)
def test_a_comparison_of_has_that_guards_nothing_is_no_guard(tmp_path: Path, when: str) -> None:
    """What is read where the key is not set (`has(P) == false && P > 1`) is still told."""
    (warning,) = _warnings(tmp_path, f'"{when}"')
    assert f"{MAX_COST} is null when the intent sets no constraints.max_cost, and >" in warning


def test_a_key_listed_with_in_is_warned_of_as_always_true(tmp_path: Path) -> None:
    """`'max_cost' in intent.constraints` is CEL's test of a map's key, and ido's view of
    the intent holds every constraint, null when not set: it was always true, and a rule
    that wrote it for "is set" loaded without a word."""
    when = "|\n        plan.cost > 1.0 &&\n          'max_cost' in intent.constraints"
    (warning,) = _warnings(tmp_path, when)
    assert warning == (
        "policies/residency.yaml:10: spec.rules[0].when: 'max_cost' in intent.constraints is "
        "always true: intent.constraints holds max_cost always, null when it is not set; to "
        "test whether it is set, write has(intent.constraints.max_cost) (line 2 of the "
        "expression, column 3)"
    )
    region = "\"[capability].exists(c, 'region' in c) && capability.cost > 1.0\""
    (warning,) = _warnings(tmp_path / "region", region)
    assert "'region' in capability is always true" in warning, warning


@pytest.mark.parametrize(
    "when",
    [
        "'name' in capability && has(intent.constraints.max_cost)",
        "'region' in capability.tags",
        "[{'max_cost': 1}].exists(c, 'max_cost' in c)",
    ],
)
def test_an_in_that_can_be_false_is_not_warned_of(tmp_path: Path, when: str) -> None:
    assert _warnings(tmp_path, f'"{when}"') == []


def test_ido_validate_warns_of_a_key_listed_with_in(project: Path) -> None:
    policy = (project / "policies/residency.yaml").read_text()
    (project / "policies/residency.yaml").write_text(
        policy.replace("capability.region != 'eu'", "'region' in capability")
    )
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert (
        "warning: policies/residency.yaml:8: spec.rules[0].when: 'region' in capability is "
        "always true"
    ) in result.output, result.output


IN_A_LIST = "[intent.constraints].exists(c, has(c.max_cost) && c.max_cost > 1.0)"


def test_has_of_a_comprehension_variable_over_a_view_says_whether_the_key_is_set(
    tmp_path: Path,
) -> None:
    """`c` goes through `[intent.constraints]`, ido's view: `has(c.max_cost)` was CEL's own,
    true for the null of an intent without it, and the rule failed on `null > 1.0`."""
    verdict = compile_condition(IN_A_LIST).evaluate(_views(tmp_path / "unset", "{}"))
    assert (verdict.holds, verdict.error) == (False, None)
    verdict = compile_condition(IN_A_LIST).evaluate(_views(tmp_path / "set", "{max_cost: 5.0}"))
    assert (verdict.holds, verdict.error) == (True, None)
    assert compile_condition(IN_A_LIST).null_tests() == {MAX_COST}


@pytest.mark.parametrize(
    ("when", "unset", "set_"),
    [
        ("[intent.constraints, {'max_cost': 9.0}].all(c, has(c.max_cost))", False, True),
        (
            "[intent.constraints, {'max_cost': 9.0}].all(c, has(c.max_cost) && c.max_cost > 1.0)",
            False,
            True,
        ),
        ("[intent.constraints, intent.llm].exists(c, has(c.max_cost))", False, True),
        ("[intent.llm, intent.constraints].exists(c, has(c.model))", False, False),
        ("[intent.constraints].exists(c, [c, {'x': 1}].exists(d, has(d.max_cost)))", False, True),
    ],
)
def test_has_of_a_variable_over_a_view_beside_other_values_says_whether_the_key_is_set(
    tmp_path: Path, when: str, unset: bool, set_: bool
) -> None:
    """`c` going through `[intent.constraints, {...}]` (or two views) was taken for no view:
    `has(c.max_cost)` was CEL's own, true for the view's null, and the rule read it."""
    for folder, constraints, holds in (("unset", "{}", unset), ("set", "{max_cost: 5.0}", set_)):
        verdict = compile_condition(when).evaluate(_views(tmp_path / folder, constraints))
        assert (verdict.holds, verdict.error) == (holds, None), (when, folder)


@pytest.mark.parametrize(
    ("when", "told"),
    [
        ("[intent.constraints].exists(c, c.max_cost > 1.0)", True),
        ("[intent].all(i, [i.constraints].exists(c, c.max_cost > 1.0))", True),
        ("[capability, capability].exists(c, c.region.startsWith('e'))", True),
        (IN_A_LIST, False),
        (f"has({MAX_COST}) && [intent.constraints].exists(c, c.max_cost > 1.0)", False),
        ("[intent.constraints, {'max_cost': 1.0}].all(c, c.max_cost > 1.0)", True),
        ("[intent.constraints, intent.llm].exists(c, c.max_cost > 1.0)", True),
        (
            "[intent.constraints, {'max_cost': 1.0}].all(c, has(c.max_cost) && c.max_cost > 1.0)",
            False,
        ),
        ("[{'max_cost': 1.0}].exists(c, c.max_cost > 1.0)", False),
    ],
)
def test_a_read_through_a_comprehension_variable_is_checked(
    tmp_path: Path, when: str, told: bool
) -> None:
    """A read of `c.max_cost`, `c` going through `[intent.constraints]`, was not looked at:
    it failed on every intent without the constraint, with no warning."""
    warnings = _warnings(tmp_path, f'"{when}"')
    assert len(warnings) == told, warnings


def test_a_conditions_tree_is_decoded_once_for_all_its_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checks of a rule (its pattern, its `has()` made to say "set", its unguarded
    reads, its keys listed with `in`, the `has()` a replay looks for) each decoded CEL's
    tree of it again: three to five times a rule, at every load."""
    import sys

    from ido.conditions import Condition
    from ido.conditions._tree import tree

    decoded: list[object] = []

    def counted(expression: object) -> object:
        decoded.append(expression)
        return tree(expression)

    for name, module in list(sys.modules.items()):
        if name.startswith("ido.conditions") and getattr(module, "tree", None) is tree:
            monkeypatch.setattr(module, "tree", counted)
    condition = Condition(
        "capability.name.matches('^pay') && has(capability.region) && "
        "capability.region.startsWith('e') && 'max_cost' in intent.constraints"
    )
    assert condition.unguarded() == []
    assert condition.null_tests() == {"capability.region"}
    assert len(decoded) == 1


def test_an_unknown_name_in_a_folded_condition_is_told_at_its_line(tmp_path: Path) -> None:
    valid_project(tmp_path)
    folded = ">\n        capability.cost > 1.0 &&\n        capability.name == 'chrage'"
    write(tmp_path, "policies/residency.yaml", rule(folded))
    catalog = load_catalog([tmp_path], base=tmp_path)
    (warning,) = check_names(catalog, tmp_path)
    assert (warning.line, warning.field) == (10, "spec.rules[0].when"), warning
