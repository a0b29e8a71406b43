"""Each condition is compiled once per text and environment: for use (`compile_condition`,
every variable a map) and for the rules' type check (`type_problem`, the typed variables),
however often a load (or two loads) meets it; every occurrence is still told at its own
file, line and field. Compiles are counted through CEL's own environments."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import ido.conditions
import ido.conditions._types as types
from ido.conditions import Record, compile_condition, type_problem
from ido.loading import load_catalog
from ido.rule_types import rule_shapes
from tests.test_loading import problems, valid_project, write


class _Counting:
    """A real CEL environment whose compiles are counted, by source."""

    def __init__(self, env: Any, counts: Counter[str]) -> None:
        self._env, self._counts = env, counts

    def compile(self, source: str) -> Any:
        self._counts[source] += 1
        return self._env.compile(source)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> dict[str, Counter[str]]:
    """The compiles of each environment, by source, from an empty cache."""
    counts: dict[str, Counter[str]] = {"use": Counter(), "typed": Counter()}
    untyped, typed = ido.conditions._env, types._typed_env
    monkeypatch.setattr(ido.conditions, "_env", lambda: _Counting(untyped(), counts["use"]))
    monkeypatch.setattr(
        types, "_typed_env", lambda shapes: _Counting(typed(shapes), counts["typed"])
    )
    _forget()
    yield counts
    _forget()


def _forget() -> None:
    """Empty the caches of compiles, so each test counts its own."""
    compile_condition.cache_clear()
    types._type_check.cache_clear()


WHEN = "capability.provider == 'stripe' && intent.constraints.max_cost > 2.5"


def policy(name: str, when: str) -> str:
    return (
        f"apiVersion: ido/v1\nkind: Policy\nmetadata: {{name: {name}}}\nspec:\n  rules:\n"
        f'    - id: r\n      effect: deny\n      when: "{when}"\n      message: m\n'
    )


def test_a_rule_is_compiled_once_for_use_and_once_for_its_types(
    tmp_path: Path, compiles: dict[str, Counter[str]]
) -> None:
    """The same `when` in two policies, loaded twice: one compile in each environment
    (before: the type check compiled it again for every rule and every load)."""
    valid_project(tmp_path)
    write(tmp_path, "policies/a.yaml", policy("a", WHEN))
    write(tmp_path, "policies/b.yaml", policy("b", WHEN))
    for _ in range(2):
        catalog = load_catalog([tmp_path], base=tmp_path)
        assert {"a", "b"} <= set(catalog.policies)
    assert compiles["use"][WHEN] == 1
    assert compiles["typed"][WHEN] == 1


def test_the_same_type_mistake_in_two_files_is_told_at_each(
    tmp_path: Path, compiles: dict[str, Counter[str]]
) -> None:
    """Checked once, told twice: each at its own file, line and field."""
    when = "capability.cost > '1'"
    valid_project(tmp_path)
    write(tmp_path, "policies/a.yaml", policy("a", when))
    write(tmp_path, "policies/b.yaml", "# b\n" + policy("b", when))
    found = sorted(problems(tmp_path), key=lambda p: p.file)
    assert [(Path(p.file).name, p.line, p.field) for p in found] == [
        ("a.yaml", 8, "spec.rules[0].when"),
        ("b.yaml", 9, "spec.rules[0].when"),
    ]
    assert found[0].message == found[1].message
    assert "capability.cost is a number" in found[0].message
    assert compiles["typed"][when] == 1


def test_the_same_syntax_error_in_two_files_is_told_at_each(
    tmp_path: Path, compiles: dict[str, Counter[str]]
) -> None:
    """A text that does not compile is refused wherever it is written."""
    when = "capability.cost >"
    valid_project(tmp_path)
    write(tmp_path, "policies/a.yaml", policy("a", when))
    write(tmp_path, "policies/b.yaml", policy("b", when))
    found = sorted(problems(tmp_path), key=lambda p: p.file)
    assert [(Path(p.file).name, p.line) for p in found] == [("a.yaml", 8), ("b.yaml", 8)]
    assert found[0].message == found[1].message


def test_the_same_text_under_other_shapes_is_checked_in_their_environment(
    compiles: dict[str, Counter[str]],
) -> None:
    """A text checked against the rules' variables is not taken as checked against
    others: `capability.cost` is a number to rules, a string where shapes say so."""
    when = "capability.cost > '1'"
    assert type_problem(when, rule_shapes()) is not None
    other = (("capability", Record((("cost", "string"),))),)
    assert type_problem(when, other) is None
    assert type_problem(when, rule_shapes()) is not None
    assert compiles["typed"][when] == 2
