"""A `matches('…')` whose pattern, written in the condition, is no regular expression CEL
can compile is a load error at its file, line and field, not a rule that fails every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.conditions import compile_condition
from ido.loading import load_catalog
from tests.test_condition_types import rule
from tests.test_loading import INTENT, only, problems, valid_project, write

BROKEN = [
    ("capability.name.matches('[')", "matches('[') cannot compile its pattern: missing ]: ["),
    ("matches(capability.name, 'charge(')", "pattern: missing ): charge("),
    ("capability.name.matches('a{2,1}')", "pattern: invalid repetition size: {2,1}"),
    ("capability.name.matches('^(?!x)')", "pattern: invalid perl operator: (?!"),
    (r"capability.name.matches('(a)\\\\1')", "pattern: invalid escape sequence: \\1"),
    ("state.order.region.matches('[') || capability.cost > 1.0", "missing ]: ["),
]


@pytest.mark.parametrize(("when", "told"), BROKEN, ids=[w for w, _ in BROKEN])
def test_a_pattern_that_does_not_compile_is_a_load_error_at_its_field(
    tmp_path: Path, when: str, told: str
) -> None:
    """Before, `ido validate` said ok, and every evaluation of the rule failed (a deny
    denied everything). CEL compiles the pattern itself, as it does when run (RE2)."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule('"' + when + '"'))
    problem = only(problems(tmp_path))
    assert (Path(problem.file).name, problem.line) == ("residency.yaml", 8)
    assert problem.field == "spec.rules[0].when"
    assert told in problem.message, problem.message
    assert "CEL's patterns are RE2's: no look-around" in problem.message
    assert "(column " in problem.message


def test_a_broken_pattern_on_a_later_line_of_a_block_is_told_at_that_line(
    tmp_path: Path,
) -> None:
    valid_project(tmp_path)
    block = "|\n        capability.cost > 1.0 ||\n          capability.name.matches('[a-')"
    write(tmp_path, "policies/residency.yaml", rule(block))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (10, "spec.rules[0].when")
    assert "(line 2 of the expression, column 27)" in problem.message, problem.message


def test_a_broken_pattern_in_a_goal_is_a_load_error_too(tmp_path: Path) -> None:
    valid_project(tmp_path)
    write(
        tmp_path,
        "intents/pay-order.yaml",
        INTENT.replace("- state.order.paid", "- \"state.order.id.matches('*')\""),
    )
    problem = only(problems(tmp_path))
    assert (problem.field, problem.line) == ("spec.goal[0]", 7)
    assert "no argument for repetition operator: *" in problem.message


@pytest.mark.parametrize(
    "when",
    [
        "capability.name.matches('^charge(-[a-z]+)?$')",
        "capability.name.matches('(?i)CHARGE')",
        r"capability.name.matches('\\\\d+|\\\\p{L}')",
        "capability.name.matches(state.pattern)",  # (read when run: not known at load)
        r"\"matches('[')\" != capability.name",  # (the call inside a string is no call)
    ],
)
def test_patterns_re2_compiles_load(tmp_path: Path, when: str) -> None:
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule('"' + when + '"'))
    load_catalog([tmp_path], base=tmp_path)


def test_a_valid_pattern_matches_when_run() -> None:
    condition = compile_condition("capability.name.matches('^charge-(eu|us)$')")
    assert condition.evaluate({"capability": {"name": "charge-eu"}}).holds
    assert not condition.evaluate({"capability": {"name": "charge-uk"}}).holds


@pytest.mark.parametrize(
    ("when", "line"),
    [
        ("|-\n        capability.name.matches('[')", 9),
        ("\"capability.cost > 1.0 ||\\n capability.name.matches('[')\"", 8),
    ],
    ids=["one-line block", "quoted with a line break"],
)
def test_a_broken_pattern_is_told_at_the_line_it_is_on_in_the_file(
    tmp_path: Path, when: str, line: int
) -> None:
    """`when: |-` of one line was told at the `when:` line above it; a quoted condition
    with `\\n` in it at a line below the field, which holds `message`."""
    valid_project(tmp_path)
    write(tmp_path, "policies/residency.yaml", rule(when))
    problem = only(problems(tmp_path))
    assert (problem.line, problem.field) == (line, "spec.rules[0].when")
