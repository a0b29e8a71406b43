"""`ido run --format json`: what a run came to as one JSON document, for a CI job."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()


def test_one_run_is_a_json_array_with_the_keys_of_ido_runs(project: Path) -> None:
    """A CI job had only the progress lines to read a run's id and outcome from (and `ido
    explain last`, another job's run on a shared journal): `--format json` prints one JSON
    document, the run as `ido runs --format json` lists it, and no progress lines."""
    result = runner.invoke(app, ["run", "ship-order", "--format", "json"])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)  # the whole of stdout is the document
    assert run["outcome"] == "achieved" and run["intent"] == "ship-order", run
    listed = json.loads(runner.invoke(app, ["runs", "--format", "json"]).stdout)
    assert listed == [run]


def test_several_runs_are_listed_in_the_order_given_with_the_worst_exit_code(
    project: Path,
) -> None:
    intent = project / "intents" / "ship-order.yaml"
    broke = project / "intents" / "ship-broke.yaml"
    text = intent.read_text().replace("name: ship-order", "name: ship-broke")
    broke.write_text(text.replace("max_cost: 5.0", "max_cost: 0.1"))  # no plan fits
    result = runner.invoke(app, ["run", "ship-broke", "ship-order", "-f", "json"])
    assert result.exit_code == 4, result.output
    runs = json.loads(result.stdout)
    assert [(r["intent"], r["outcome"]) for r in runs] == [
        ("ship-broke", "failed"),
        ("ship-order", "achieved"),
    ]
    assert "max_cost" in runs[0]["reason"], runs[0]


def test_json_is_refused_where_it_is_not_told(project: Path) -> None:
    result = runner.invoke(app, ["run", "ship-order", "-f", "yaml"])
    assert result.exit_code == 2 and "'yaml' is not one of text, json" in result.output
    two = ["run", "ship-order", "ship-order", "-f", "json", "--processes", "2"]
    result = runner.invoke(app, two)
    assert result.exit_code == 2, result.output
    assert "runs dealt out to worker processes are not told as JSON" in result.output


def test_a_blocked_run_and_its_resumption_are_told_as_json_too(project: Path) -> None:
    """The next CI job resumes what the last left blocked or interrupted, and reads what it
    came to as the first job did."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: ship-asks\n      effect: require_approval\n"
        + "      when: \"capability.provider == 'carrier'\"\n      message: Ask first.\n"
    )
    result = runner.invoke(app, ["run", "ship-order", "-f", "json"])
    assert result.exit_code == 3, result.output
    (run,) = json.loads(result.stdout)
    assert run["outcome"] == "blocked" and "ship-asks" in run["reason"], run
    assert runner.invoke(app, ["approve", run["id"], "--by", "ci"]).exit_code == 0
    result = runner.invoke(app, ["resume", run["id"], "--format", "json"])
    assert result.exit_code == 0, result.output
    (resumed,) = json.loads(result.stdout)
    assert (resumed["id"], resumed["outcome"]) == (run["id"], "achieved"), resumed


def test_what_a_binding_prints_goes_to_stderr_not_among_the_json(project: Path) -> None:
    """A Python binding that prints (a debugging line, a library's notice) wrote on stdout
    among the JSON, and `jq -r '.[0].id'` failed on it: it goes to stderr now."""
    impl = project / "fakesvc" / "impl.py"
    impl.write_text(
        impl.read_text().replace("def call(ctx):\n", "def call(ctx):\n    print('calling')\n")
    )
    result = runner.invoke(app, ["run", "ship-order", "-f", "json"])
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)
    assert run["outcome"] == "achieved", run
    assert "calling" in result.stderr
    result = runner.invoke(app, ["run", "ship-order", "ship-order", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2
    result = runner.invoke(app, ["run", "ship-order"])  # the text form as ever
    assert result.stdout.count("calling\n") == 2, result.stdout
