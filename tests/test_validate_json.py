"""`ido validate --format json`: every problem and warning located, for CI annotations."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()


def test_problems_are_a_json_document_with_file_line_and_field(project: Path) -> None:
    """A CI job that annotates a pull request had to cut `  file:line: field: message` out
    of stderr's text: `--format json` gives each problem its file, line, field and
    message, exit 2 as without it."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("objective:", "objectiv:"))
    result = runner.invoke(app, ["validate", "--format", "json"])
    assert result.exit_code == 2, result.output
    found = json.loads(result.stdout)
    assert found["ok"] is False and found["counts"] is None
    assert found["problems"] == [
        {
            "severity": "error",
            "file": "intents/ship-order.yaml",
            "line": 8,
            "field": "spec.objectiv",
            "message": "unknown key 'objectiv'; did you mean 'objective'?",
        }
    ]


def test_a_valid_catalog_gives_its_counts_and_warnings(project: Path) -> None:
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text().replace("capability.region != 'eu'", "capability.region != 'euu'")
    )
    result = runner.invoke(app, ["validate", "-f", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["ok"] is True
    assert found["counts"] == {
        "resources": 7,
        "intents": 1,
        "capabilities": 5,
        "policies": 1,
        "observers": 0,
        "scenarios": 0,
        "policy_tests": 0,
    }
    (warning,) = found["problems"]
    assert warning["severity"] == "warning" and warning["file"] == "policies/residency.yaml"
    assert "no capability has the region 'euu'" in warning["message"], warning
    text = runner.invoke(app, ["validate"])
    assert text.exit_code == 0 and text.stdout.startswith("ok: "), text.output


def test_a_catalog_folder_missing_is_one_problem(project: Path) -> None:
    """`ido validate --catalog /nowhere` told the folder missing twice: `--catalog` was
    checked once as the catalog and once again as what to check."""
    missing = project / "nowhere"
    result = runner.invoke(app, ["validate", "--catalog", str(missing), "--format", "json"])
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["message"] for p in problems if p["file"] == str(missing)] == [
        "no such file or folder"
    ], problems
