"""The publish-report capabilities write real files, and fail for real when the disk says no."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ido.loading import Catalog
from ido.runtime.bindings import Outcome
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal, StepClock

Invoke = Callable[..., Any]
Call = Callable[..., Outcome]

ROWS = [{"region": "eu", "orders": 42, "revenue": 5040.0}]


def report_state(work: Path, template: Path | None, **report: Any) -> dict[str, Any]:
    """A state like publish-report's `given`, with its workspace under `work`."""
    described: dict[str, Any] = {"name": "weekly", "title": "Week 47", "rows": ROWS}
    if template is not None:
        described["template"] = str(template)
    return {"workspace": {"dir": str(work)}, "report": {**described, **report}}


@pytest.fixture
def template(root: Path) -> Path:
    """The template that ships with the example."""
    return root / "capabilities" / "report" / "template.md"


@pytest.fixture
def rendered(tmp_path: Path, invoke: Invoke) -> dict[str, Any]:
    """A state whose report has been rendered (plainly) into tmp_path/work/build."""
    state = report_state(tmp_path / "work", None)
    invoke("render-report-plain", state)
    return state


def test_render_report_fills_the_template_in_a_subprocess(
    tmp_path: Path, call: Call, template: Path
) -> None:
    """The shell binding writes the templated Markdown and reports its path and digest."""
    outcome = call("render-report", report_state(tmp_path / "work", template))
    assert outcome.ok, outcome.error
    built = tmp_path / "work" / "build" / "weekly.md"
    text = built.read_text(encoding="utf-8")
    assert text.startswith("# Week 47\n")
    assert "| eu | 42 | 5040.0 |" in text
    assert "_1 rows. Rendered by ido's publish-report example" in text
    assert outcome.output == {
        "path": str(built),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "renderer": "template",
    }


def test_render_report_fails_when_the_template_is_missing(tmp_path: Path, call: Call) -> None:
    """A missing template makes the subprocess exit 1 with a message, and writes nothing."""
    missing = tmp_path / "gone.md"
    outcome = call("render-report", report_state(tmp_path / "work", missing))
    assert not outcome.ok
    assert outcome.error == f"exit code 1: render-report: template not found: {missing}"
    assert not (tmp_path / "work" / "build").exists()


def test_render_report_fails_on_an_unknown_placeholder(tmp_path: Path, call: Call) -> None:
    """A template naming a value the report does not have fails instead of rendering a gap."""
    broken = tmp_path / "broken.md"
    broken.write_text("# $title by $author\n", encoding="utf-8")
    outcome = call("render-report", report_state(tmp_path / "work", broken))
    assert not outcome.ok
    assert "has a bad placeholder: 'author'" in (outcome.error or "")


def test_plain_rendering_needs_no_template(tmp_path: Path, invoke: Invoke) -> None:
    """The degraded renderer writes the title and table even when the template is gone."""
    state = report_state(tmp_path / "work", tmp_path / "gone.md")
    output = invoke("render-report-plain", state)
    text = Path(output["path"]).read_text(encoding="utf-8")
    assert text == "# Week 47\n\n| region | orders | revenue |\n| --- | --- | --- |\n" + (
        "| eu | 42 | 5040.0 |\n"
    )
    assert output["renderer"] == "plain"


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden"])
def test_report_name_must_be_a_plain_file_name(tmp_path: Path, invoke: Invoke, name: str) -> None:
    """A report name cannot steer writes outside the workspace."""
    with pytest.raises(ValueError, match="is not a plain file name"):
        invoke("render-report-plain", report_state(tmp_path / "work", None, name=name))


def test_publish_to_site_copies_the_rendered_report(
    tmp_path: Path, invoke: Invoke, rendered: dict[str, Any]
) -> None:
    """Publishing puts a byte-identical copy into <workspace>/site."""
    output = invoke("publish-to-site", rendered)
    site = tmp_path / "work" / "site"
    build = tmp_path / "work" / "build" / "weekly.md"
    assert output["dir"] == str(site)
    assert (site / "weekly.md").read_bytes() == build.read_bytes()
    assert output["sha256"] == hashlib.sha256(build.read_bytes()).hexdigest()


def test_publish_fails_when_nothing_was_rendered(tmp_path: Path, invoke: Invoke) -> None:
    """Without a build file there is nothing to publish, and the error says so."""
    with pytest.raises(FileNotFoundError, match=r"no rendered report at .*weekly\.md"):
        invoke("publish-to-site", report_state(tmp_path / "work", None))


def test_site_blocked_by_a_file_fails_but_the_outbox_works(
    tmp_path: Path, invoke: Invoke, rendered: dict[str, Any]
) -> None:
    """When <workspace>/site cannot be a folder the site fails for real; the outbox does not."""
    (tmp_path / "work" / "site").write_text("not a folder", encoding="utf-8")
    with pytest.raises(OSError):
        invoke("publish-to-site", rendered)
    output = invoke("publish-to-outbox", rendered)
    assert Path(output["path"]) == tmp_path / "work" / "outbox" / "weekly.md"
    assert Path(output["path"]).is_file()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write to read-only folders"
)
def test_read_only_site_fails_with_permission_denied(
    tmp_path: Path, invoke: Invoke, rendered: dict[str, Any]
) -> None:
    """A site folder without write permission makes publishing fail with PermissionError."""
    site = tmp_path / "work" / "site"
    site.mkdir()
    site.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            invoke("publish-to-site", rendered)
    finally:
        site.chmod(0o755)


def published(invoke: Invoke, state: dict[str, Any]) -> dict[str, Any]:
    """The state after publishing to the site, with the output where the runtime stores it."""
    output = invoke("publish-to-site", state)
    return {**state, "report": {**state["report"], "publication": output}}


def test_update_index_adds_the_report_and_keeps_other_entries(
    tmp_path: Path, invoke: Invoke, rendered: dict[str, Any]
) -> None:
    """index.json gains the report's entry next to the published file; others stay."""
    state = published(invoke, rendered)
    index = tmp_path / "work" / "site" / "index.json"
    index.write_text(json.dumps({"reports": {"older": {"file": "older.md"}}}), encoding="utf-8")
    output = invoke("update-index", state)
    entries = json.loads(index.read_text(encoding="utf-8"))["reports"]
    assert output == {"index": str(index), "entries": 2}
    assert entries["older"] == {"file": "older.md"}
    assert entries["weekly"]["file"] == "weekly.md"
    assert entries["weekly"]["sha256"] == state["report"]["publication"]["sha256"]


def test_update_index_refuses_to_overwrite_a_corrupt_index(
    tmp_path: Path, invoke: Invoke, rendered: dict[str, Any]
) -> None:
    """An index.json that is not an index fails the step and is left as it was."""
    state = published(invoke, rendered)
    index = tmp_path / "work" / "site" / "index.json"
    index.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ValueError, match="is not a report index"):
        invoke("update-index", state)
    assert index.read_text(encoding="utf-8") == "[1, 2"


def test_update_index_needs_a_publication(invoke: Invoke, rendered: dict[str, Any]) -> None:
    """Indexing before publishing fails with what to do first."""
    with pytest.raises(ValueError, match="publish the report first"):
        invoke("update-index", rendered)


def test_publish_report_run_routes_around_real_failures(
    tmp_path: Path, catalog: Catalog, root: Path
) -> None:
    """Missing template and blocked site: the run renders plainly, uses the outbox, indexes."""
    intent = catalog.intents["publish-report"]
    given = report_state(tmp_path / "work", tmp_path / "gone.md")
    intent = intent.model_copy(update={"spec": intent.spec.model_copy(update={"given": given})})
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "site").write_text("not a folder", encoding="utf-8")
    finished: list[tuple[str, bool]] = []

    def listen(kind: str, data: Mapping[str, Any]) -> None:
        if kind == "action_finished":
            finished.append((data["capability"], data["ok"]))

    runtime = LocalRuntime(catalog, MemoryJournal(), base=root, clock=StepClock(), listener=listen)
    report = runtime.run(intent)
    assert report.outcome == "achieved", report.reason
    assert finished == [
        ("render-report", False),
        ("render-report-plain", True),
        ("publish-to-site", False),
        ("publish-to-outbox", True),
        ("update-index", True),
    ]
    index = json.loads((tmp_path / "work" / "outbox" / "index.json").read_text(encoding="utf-8"))
    assert index["reports"]["weekly"]["file"] == "weekly.md"
