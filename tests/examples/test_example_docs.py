"""The complete resources shown in the user docs are valid, so readers can copy them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ido.conditions import compile_condition, type_problem
from ido.model import KINDS, Capability, Intent, Policy
from ido.rule_types import rule_shapes
from ido.yamlsrc import read_documents

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```yaml\n(apiVersion:.*?)```", re.DOTALL)


def snippets() -> list[tuple[str, str]]:
    """Every ```yaml block of the concept and reference pages that is a whole resource."""
    found = []
    for page in ("concepts.md", "yaml-reference.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        found += [(f"{page}#{i}", block) for i, block in enumerate(BLOCK.findall(text))]
    return [(where, block) for where, block in found if "{...}" not in block]


def test_docs_show_every_kind() -> None:
    """The pages carry at least one complete example of each resource kind."""
    kinds = {read_documents(block, where)[0][0].data["kind"] for where, block in snippets()}
    assert kinds == set(KINDS)


@pytest.mark.parametrize(("where", "block"), snippets(), ids=[w for w, _ in snippets()])
def test_documented_resource_is_valid(where: str, block: str) -> None:
    """A documented resource passes the strict model and its conditions compile."""
    documents, problems = read_documents(block, where)
    assert problems == []
    (document,) = documents
    resource = KINDS[document.data["kind"]].model_validate(document.data)
    conditions: list[str] = []
    if isinstance(resource, Intent):
        conditions = list(resource.spec.goal)
    elif isinstance(resource, Capability):
        conditions = list(resource.spec.requires)
    elif isinstance(resource, Policy):
        conditions = [rule.when for rule in resource.spec.rules]
    for condition in conditions:
        compile_condition(condition)
    if isinstance(resource, Policy):  # (rules are type-checked as the loader does)
        for rule in resource.spec.rules:
            assert type_problem(rule.when, rule_shapes()) is None, rule.when


def documented_cel() -> list[str]:
    """The conditions of the docs' ```cel examples, and the rules (`when:`) of their
    ```yaml examples, whole resources or not."""
    found = []
    for page in [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"]:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```cel\n(.*?)```", text, re.DOTALL):
            found += [line.split("//")[0].strip() for line in block.splitlines()]
        for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
            for when in re.findall(r"\bwhen: (.+)", block):
                if when.strip() not in ("|", ">"):
                    found.append(yaml.safe_load(f"when: {when}")["when"])
    return [c for c in found if c]


def test_documented_conditions_compile_and_pass_the_type_check() -> None:
    """What the reference shows a reader passes the load's type check: no documented
    example is one `ido validate` refuses."""
    conditions = documented_cel()
    assert len(conditions) > 10
    for condition in conditions:
        compile_condition(condition)
        assert type_problem(condition, rule_shapes()) is None, condition


def test_the_documented_python_binding_runs_as_written() -> None:
    """The reference's Python binding called an undefined `client`, without its imports:
    copied as written, it failed with NameError. It runs now, as a binding would be run."""
    from ido.runtime.context import ActionContext

    text = (DOCS / "yaml-reference.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "def charge" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "yaml-reference.md", "exec"), namespace)
    ctx = ActionContext(
        "r1", "i", "charge", "stripe", 1, 1, "r1/1/1", 5.0, {"order": {"amount": 9}}
    )
    assert namespace["charge"](ctx) == {"charge_id": "ch-r1/1/1", "amount": 9}  # type: ignore[operator]


def test_the_documented_type_mistakes_are_told_as_documented() -> None:
    """Each row of the reference's table of type mistakes is refused, with the words the
    table shows (`…` stands for words left out)."""
    text = (DOCS / "yaml-reference.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|$", text, re.MULTILINE)
    assert len(rows) >= 7
    for mistake, told in rows:
        problem = type_problem(mistake, rule_shapes())
        assert problem is not None, mistake
        for words in filter(None, (part.strip() for part in told.split("…"))):
            assert words in str(problem), (mistake, str(problem))
