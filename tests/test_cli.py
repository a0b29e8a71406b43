"""The ido command line, through typer's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_validate_reports_resource_counts(project: Path) -> None:
    """`ido validate` on a good catalog says ok and exits 0, each count in words that
    agree with it (it said "1 intents", "1 policies")."""
    code, out = ido("validate")
    assert code == 0
    assert out == (
        "ok: 7 resources (1 intent, 5 capabilities, 1 policy, 0 observers, 0 scenarios, "
        "0 policy tests)\n"
    )


def test_validate_of_one_file_checks_it_with_the_projects_catalog(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`ido validate intents/ship-order.yaml` said "Policy 'residency' not found": the file
    alone was loaded. A file elsewhere is still checked on its own, or with --catalog."""
    code, out = ido("validate", "intents/ship-order.yaml")
    assert code == 0 and out.startswith("ok: "), out
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "ship-order.yaml"
    elsewhere.write_text((project / "intents" / "ship-order.yaml").read_text())
    code, out = ido("validate", str(elsewhere))
    assert code == 2 and "Policy 'residency' not found" in out
    code, out = ido("validate", str(elsewhere), "--catalog", "policies")
    assert code == 0, out
    copy = project / "staged"  # a copy of the catalog in the project: checked on its own
    for folder in ("intents", "capabilities", "policies"):
        shutil.copytree(project / folder, copy / folder)
    code, out = ido("validate", "staged")
    assert code == 0 and "declared twice" not in out, out


def test_validate_misspelt_key_names_file_line_field_and_exits_2(project: Path) -> None:
    """A misspelt key is reported with file, line and field path, exit code 2, no traceback."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("objective:", "objectiv:"))
    code, out = ido("validate")
    assert code == 2
    assert "intents/ship-order.yaml:8: spec.objectiv: unknown key 'objectiv'" in out
    assert "Traceback" not in out


def test_validate_cel_typo_points_at_the_expression_line(project: Path) -> None:
    """A CEL typo is a load error naming the line of the expression."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace('"state.order.shipped"', '"stat.order.shipped"'))
    code, out = ido("validate")
    assert code == 2
    assert "intents/ship-order.yaml:6: spec.goal[1]: CEL: undeclared reference" in out


def test_a_catalog_folder_linked_to_nowhere_is_an_error_not_an_empty_catalog(
    project: Path,
) -> None:
    """A dangling `policies` link (the shared checkout moved) read as no policies at all."""
    shutil.rmtree(project / "policies")
    (project / "policies").symlink_to("../company/policies")
    code, out = ido("validate")
    assert code == 2 and "policies is a link to ../company/policies, which does not exist" in out


def test_validate_missing_path_exits_2(project: Path) -> None:
    """A path that does not exist is a clear error."""
    code, out = ido("validate", "nowhere.yaml")
    assert code == 2
    assert "nowhere.yaml: no such file or folder" in out


def test_validate_of_a_folder_holding_nothing_exits_2(project: Path) -> None:
    """`ok: 0 resources`, exit 0, for a mistyped or emptied folder let a CI check pass that
    checked nothing (as `ido scenario test` refuses to)."""
    (project / "empty" / "drafts").mkdir(parents=True)
    (project / "empty" / "notes.txt").write_text("not YAML")
    code, out = ido("validate", "empty")
    assert code == 2, out
    assert "nothing to check: no YAML resource in empty" in out


@pytest.mark.parametrize("scenarios", [False, True])
def test_validate_of_a_catalog_option_alone_checks_that_catalog(
    project: Path, monkeypatch: pytest.MonkeyPatch, scenarios: bool
) -> None:
    """`ido validate --catalog DIR` in a folder with no catalog folders said "no catalog
    found: … or pass --catalog DIR", the option it had been given."""
    elsewhere = project / "elsewhere"
    (elsewhere / "scenarios").mkdir(parents=True) if scenarios else elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out = ido("validate", "--catalog", str(project / "capabilities"))
    assert code == 0 and "ok: 5 resources (0 intents, 5 capabilities" in out, out


def test_plan_prints_plan_alternatives_and_policy_rejection(project: Path) -> None:
    """`ido plan` shows the chosen steps, the alternative and the rule that denied pay-us."""
    code, out = ido("plan", "ship-order")
    assert code == 0
    assert "1. pay-cheap-eu" in out and "2. ship" in out
    assert "pay-pricey-eu instead of pay-cheap-eu" in out
    assert "pay-us: denied by residency/pii-stays-in-eu" in out


def test_plan_s_header_claims_no_run_cost(project: Path) -> None:
    """It read "run (plan only) · intent ship-order · planned · cost 0.00 · -" above a plan
    that costs more: a cost no plan has, and a run there is not."""
    out = ido("plan", "ship-order")[1]
    assert out.splitlines()[0] == "plan · intent ship-order · planned", out
    assert "cost 0.00" not in out


def test_plan_json_is_machine_readable(project: Path) -> None:
    """`ido plan --format json` prints the decision record."""
    code, out = ido("plan", "intents/ship-order.yaml", "--format", "json")
    assert code == 0
    decision = json.loads(out)
    assert [s["capability"] for s in decision["result"]["plan"]["steps"]] == [
        "pay-cheap-eu",
        "ship",
    ]


def test_plan_json_stays_json_when_an_observer_prints(project: Path) -> None:
    """A Python observer's `print` came out on standard output before the document, so
    `ido plan --format json` could not be parsed; it goes to standard error now."""
    (project / "fakesvc" / "noisy.py").write_text(
        "def read():\n    print('reading stock')\n    return {'stock': 3}\n"
    )
    (project / "capabilities" / "noisy.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: noisy}\n"
        'spec: {python: "fakesvc.noisy:read"}\n'
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  observers: [noisy]\n")
    result = runner.invoke(app, ["plan", "ship-order", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["status"] == "planned"
    assert "reading stock" in result.stderr


def test_plan_infeasible_exits_4_and_names_the_constraint(project: Path) -> None:
    """A budget below the cheapest plan exits 4 and says what the cheapest plan costs."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("max_cost: 5.0", "max_cost: 0.5"))
    code, out = ido("plan", "ship-order")
    assert code == 4
    assert "no plan within max_cost 0.50: the cheapest plan costs 0.80" in out


def test_unknown_intent_name_exits_2(project: Path) -> None:
    """An unknown intent name lists the known ones."""
    code, out = ido("plan", "no-such-intent")
    assert code == 2
    assert "intent 'no-such-intent' not found; known intents: ship-order" in out


def test_bad_format_is_a_usage_error(project: Path) -> None:
    """An unknown --format value exits 2."""
    code, out = ido("runs", "--format", "xml")
    assert code == 2
    assert "'xml' is not one of text, json" in out


def test_run_then_runs_then_explain(project: Path) -> None:
    """A run reaches its goal, is listed by `ido runs` and explained by `ido explain last`."""
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert "decision 1 (run started): pay-cheap-eu → ship" in out
    assert "achieved: run r" in out
    code, out = ido("runs", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["intent"] == "ship-order" and rows[0]["outcome"] == "achieved"
    assert rows[0]["cost"] == pytest.approx(0.8)
    code, out = ido("explain", "last")
    assert code == 0
    assert "pay-cheap-eu: succeeded in" in out
    code, md = ido("explain", rows[0]["id"], "--format", "md")
    assert code == 0 and md.startswith("# run ") and "## Decision 1: run started" in md


def test_runs_lines_up_its_columns_under_their_headings(project: Path) -> None:
    """Run ids are 29 characters: the columns are as wide as what they hold."""
    assert ido("run", "ship-order", "--quiet")[0] == 0
    code, out = ido("runs")
    assert code == 0, out
    heading, row = out.splitlines()[:2]
    for column, value in (("INTENT", "ship-order"), ("OUTCOME", "achieved")):
        assert heading.index(column) == row.index(value), out


def test_runs_shows_a_duration_as_explain_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario run of five virtual minutes was listed as `300.00s` (a 325-minute
    training run as `19500.00s`), where `ido explain` says `5m`."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    journal = str(tmp_path / "j.db")
    ido("scenario", "run", "-q", "scenarios/large-order-rejected.yaml", "--journal", journal)
    code, out = ido("runs", "--journal", journal)
    assert code == 0, out
    heading, row = out.splitlines()[:2]
    assert " 5m  " in row and "300.00s" not in row, out
    assert heading.index("DURATION") + len("DURATION") == row.index("5m") + len("5m"), out


def test_run_replans_onto_another_provider_when_one_fails(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the chosen payment provider fails, the run replans onto the other EU provider."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert "✗ pay-cheap-eu" in out
    assert (
        "decision 2 (step 1 pay-cheap-eu failed: RuntimeError: cheappay is down): pay-pricey-eu → ship"
        in out
    )
    code, explained = ido("explain", "last")
    assert "pay-cheap-eu: reliability estimate 0.792 after 1 failure and 0 successes" in explained


def test_run_fails_with_exit_1_when_every_provider_fails(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With both EU providers down the run fails (exit 1) and says why."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay,priceypay")
    code, out = ido("run", "ship-order")
    assert code == 1
    assert "failed: run r" in out
    assert "reason: " in out


def test_deadline_durations_in_a_run_s_reason_are_rounded_like_the_others(project: Path) -> None:
    """Under a 1.2345678s deadline the reason said "no plan within deadline 1.22518s" and
    "(0.00939 s of the 1.23457 s deadline have elapsed)"; durations read as a user writes
    them now, to the millisecond (`1.225s`, `9ms`, `1.235s`)."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("deadline: 30s", "deadline: 1.2345678s"))
    code, out = ido("run", "ship-order")
    assert code == 4, out
    assert "the fastest plan takes 1.5s on its critical path (pay-pricey-eu 500ms → ship 1s)" in out
    code, told = ido("explain", "last")
    assert not re.search(r"\d\.\d{4,}|\d\.\d+ s\b", out + told), out + told
    # What has elapsed, said when it is a millisecond or more, from a clock of its own:
    from ido.decide import decide
    from ido.decision import History
    from ido.loading import load_catalog
    from ido.planner import get_planner

    catalog = load_catalog(["capabilities", "policies", "intents"])
    state = {"order": {"id": "7", "region": "eu", "paid": False, "shipped": False}}
    history = History(now=1_800_000_000.0, elapsed=0.00939)
    intent = catalog.intents["ship-order"]
    decided = decide(intent, catalog, state, history, get_planner("cpsat"), number=1, trigger="t")
    reason = decided.result.reason
    assert "no plan within deadline 1.225s (what is left of it)" in str(reason), reason
    assert "(9ms of the 1.235s deadline have elapsed)" in str(reason), reason


def test_explain_unknown_run_exits_2(project: Path) -> None:
    """Explaining a run that does not exist is a clear error."""
    ido("run", "ship-order")
    code, out = ido("explain", "r-nope")
    assert code == 2
    assert "run 'r-nope' not found" in out


def test_schema_prints_json_schema_of_a_kind(project: Path) -> None:
    """`ido schema capability` prints the Capability JSON Schema."""
    code, out = ido("schema", "capability")
    assert code == 0
    assert json.loads(out)["title"] == "Capability"
    code, out = ido("schema", "Widget")
    assert code == 2 and "unknown kind 'Widget'" in out


def test_journal_option_puts_the_database_where_asked(project: Path) -> None:
    """--journal chooses the SQLite file."""
    code, _ = ido("run", "ship-order", "--journal", "elsewhere/j.db", "--quiet")
    assert code == 0
    assert (project / "elsewhere" / "j.db").is_file()
    assert not (project / ".ido" / "ido.db").exists()


@pytest.mark.parametrize("command", [["explain", "last"], ["replay", "last"]])
def test_a_journal_named_that_is_not_there_is_said_to_be_a_wrong_path(
    project: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """`ido explain last --journal archive/nov.db` (a typo for the archive's path) said
    "run an intent first (ido run INTENT)", as of a project where nothing has run yet."""
    monkeypatch.delenv("IDO_JOURNAL", raising=False)
    code, out = ido(*command, "--journal", "archive/nov.db")
    assert code == 2 and "no journal at archive/nov.db (--journal or IDO_JOURNAL names it)" in out
    code, out = ido(*command)
    assert code == 2 and "no journal at .ido/ido.db; run an intent first (ido run INTENT)" in out


def test_resume_help_says_it_continues_a_blocked_run_too(project: Path) -> None:
    """`ido approve` says "continue it with: ido resume RUN", and `ido resume -h` spoke
    of interrupted runs alone."""
    code, out = ido("resume", "-h")
    assert code == 0 and "or a blocked one once its approvals are answered" in " ".join(out.split())


def test_the_next_command_a_run_names_reads_the_journal_it_wrote(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run journaled with --journal ended "why: ido explain RUN", which then read
    .ido/ido.db and said "no journal at .ido/ido.db; run an intent first"."""
    monkeypatch.delenv("IDO_JOURNAL", raising=False)
    code, out = ido("run", "ship-order", "--journal", "ops/j.db", "--quiet")
    assert code == 0, out
    run_id = re.search(r"run (r\S+),", out).group(1)  # type: ignore[union-attr]
    assert f"why: ido explain {run_id} --journal ops/j.db\n" in out
    code, out = ido("run", "ship-order", "--quiet")
    assert code == 0 and re.search(r"why: ido explain r\S+\n", out), out
    monkeypatch.setenv("IDO_JOURNAL", "ops/j.db")  # what the next command reads too
    code, out = ido("run", "ship-order", "--quiet")
    assert code == 0 and re.search(r"why: ido explain r\S+\n", out), out


@pytest.mark.parametrize(
    "command", [["runs"], ["audit"], ["explain", "last"], ["run", "ship-order"]]
)
def test_journal_option_naming_another_database_is_an_error_that_leaves_it_be(
    project: Path, command: list[str]
) -> None:
    other = project / "app.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    before = other.read_bytes()
    code, out = ido(*command, "--journal", str(other))
    assert code == 2, out
    assert (
        f"error: {other} is a SQLite database but not an ido journal (it holds table orders)" in out
    )
    assert "Traceback" not in out and other.read_bytes() == before


@pytest.mark.parametrize("command", [["runs"], ["audit"], ["explain", "last"]])
def test_a_damaged_journal_is_an_error_naming_it_not_a_traceback(
    project: Path, command: list[str]
) -> None:
    """SQLite's errors after the journal opened (a damaged page, a read-only file, a full
    disk) came out as tracebacks, exit 1: "the run failed"."""
    for _ in range(4):
        assert ido("run", "ship-order", "--quiet")[0] == 0
    path = project / ".ido" / "ido.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // 4096):  # every page past the schema's
        data[page * 4096 + 100 : page * 4096 + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: journal .ido/ido.db is damaged ("), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


GONE = """\
import os


def call(ctx):
    with open(os.environ["FAKESVC_LOG"], "a") as f:
        f.write(ctx.capability + "\\n")
    if ctx.capability.startswith("pay"):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(".ido/ido.db" + suffix):
                os.remove(".ido/ido.db" + suffix)
        if os.environ.get("REPLACE_JOURNAL"):
            import sqlite3
            sqlite3.connect(".ido/ido.db").execute("CREATE TABLE t(x)").connection.close()
    return None
"""


@pytest.mark.parametrize("replaced", [False, True])
def test_a_journal_removed_or_replaced_during_a_run_stops_it_with_an_error(
    project: Path, monkeypatch: pytest.MonkeyPatch, replaced: bool
) -> None:
    """The journal deleted (or restored from a copy) while a run wrote to it: the run wrote
    on into the unlinked file and ended "achieved … why: ido explain RUN", exit 0, leaving
    no record to explain or resume. Now it stops at its next commit, before the next step."""
    (project / "fakesvc" / "gone.py").write_text(GONE)
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("fakesvc.impl:call", "fakesvc.gone:call"))
    if replaced:
        monkeypatch.setenv("REPLACE_JOURNAL", "1")
    code, out = ido("run", "ship-order")
    assert code == 2, out
    assert "error: journal .ido/ido.db was removed or replaced while this process wrote" in out
    assert "achieved" not in out and "Traceback" not in out
    assert (project / "calls.log").read_text().split() == ["pay-cheap-eu"]


FROZEN = """\
import subprocess


def call(ctx):
    if ctx.capability.startswith("pay"):  # the journal can no longer be written (a full disk)
        for name in (".ido/ido.db", ".ido/ido.db-wal"):
            subprocess.run(["chattr", "+i", name], check=True)
    return None
"""


def test_a_journal_write_that_fails_mid_run_names_the_run_left_to_resume(
    project: Path,
) -> None:
    """A full disk mid-run said `error: journal .ido/ido.db: disk I/O error` alone: not
    which run it left interrupted, nor that `ido resume` continues it."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr to make the journal read-only")
    (project / "fakesvc" / "frozen.py").write_text(FROZEN)
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("fakesvc.impl:call", "fakesvc.frozen:call"))
    try:
        code, out = ido("run", "ship-order", "--quiet")
    finally:
        for name in ("ido.db", "ido.db-wal"):
            subprocess.run(["chattr", "-i", str(project / ".ido" / name)], check=False)
    assert code == 2, out
    (run_id,) = re.findall(r"run (r\S+) is left interrupted", out)
    assert out.startswith("error: journal .ido/ido.db: "), out
    assert out.endswith(
        f"; run {run_id} is left interrupted: continue it with ido resume {run_id} once "
        "the journal can be written\n"
    ), out
    code, out = ido("resume", run_id, "--quiet")  # its payment's outcome was not recorded
    assert code == 3 and "resume/outcome-unknown" in out, out


FROZEN_WHEN_BOTH_PAY = """\
import os
import subprocess
import time
from pathlib import Path


def call(ctx):
    if ctx.capability.startswith("pay"):  # once both runs pay, the journal is frozen
        Path(f"paying-{ctx.run_id}").touch()
        deadline = time.monotonic() + 60
        while len(list(Path().glob("paying-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            os.close(os.open("freezing", os.O_CREAT | os.O_EXCL))
        except FileExistsError:  # the other run freezes it: wait until it has
            while not Path("frozen").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            return None
        for name in (".ido/ido.db", ".ido/ido.db-wal"):
            subprocess.run(["chattr", "+i", name], check=True)
        Path("frozen").touch()
    return None
"""


def test_a_journal_write_that_fails_mid_batch_names_every_run_left_to_resume(
    project: Path,
) -> None:
    """`ido run A B` on a journal that could no longer be written named the first intent's
    run alone, though the other was left interrupted too."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr to make the journal read-only")
    (project / "fakesvc" / "frozen.py").write_text(FROZEN_WHEN_BOTH_PAY)
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("fakesvc.impl:call", "fakesvc.frozen:call"))
    try:
        code, out = ido("run", "ship-order", "ship-order", "--quiet")
    finally:
        for name in ("ido.db", "ido.db-wal"):
            subprocess.run(["chattr", "-i", str(project / ".ido" / name)], check=False)
    assert code == 2, out
    paid = sorted(p.name.removeprefix("paying-") for p in project.glob("paying-*"))
    assert len(paid) == 2, paid
    (error,) = [line for line in out.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: journal .ido/ido.db: "), out
    (left,) = re.findall(r"; runs (r\S+, r\S+) are left interrupted: continue them with ", error)
    assert sorted(left.split(", ")) == paid
    first, second = left.split(", ")
    assert error.endswith(
        f"with ido resume {first} and ido resume {second} once the journal can be written"
    ), error


def test_a_step_that_changes_the_working_folder_is_no_replaced_journal(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: the journal's check that it still names its file stat'ed the
    relative `.ido/ido.db`, so a `python:` step that called `os.chdir` stopped the run as
    if the journal had been removed, leaving it interrupted."""
    (project / "fakesvc" / "away.py").write_text(
        "import os\n\ndef call(ctx):\n    os.chdir('/')\n    return {}\n"
    )
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("fakesvc.impl:call", "fakesvc.away:call"))
    try:
        code, out = ido("run", "ship-order")
    finally:
        os.chdir(project)
    assert code == 0 and "achieved" in out, out


def make_read_only(folder: Path) -> None:
    """Make `folder` (or a file) one nobody may write, root included (`chattr +i`; undo with `chattr
    -i`): tests run as root, whom file modes do not stop. Skips where that cannot be done."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr to make a folder read-only")
    made = subprocess.run(["chattr", "+i", str(folder)], check=False, capture_output=True)
    if made.returncode != 0:
        pytest.skip("chattr +i is not supported here")


@pytest.fixture
def read_only_copy(project: Path, tmp_path: Path) -> Iterator[Path]:
    """Two runs' journal, copied (closed cleanly) into a folder nobody may write, its name
    as odd as a path gets."""
    for _ in range(2):
        assert ido("run", "ship-order", "--quiet")[0] == 0
    folder = tmp_path / "read only ?#%20"
    folder.mkdir()
    shutil.copy(project / ".ido" / "ido.db", folder / "j.db")
    make_read_only(folder)
    try:
        try:
            (folder / "probe").touch()
        except OSError:
            yield folder / "j.db"
        else:
            pytest.skip("the immutable folder could still be written")
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("command", [["runs"], ["explain", "last"], ["audit"], ["approvals"]])
def test_reading_commands_read_a_journal_in_a_read_only_folder(
    read_only_copy: Path, command: list[str]
) -> None:
    """A backup, a read-only mount, an archive: SQLite could not make the WAL index beside
    the journal, and every command failed with "unable to open database file"."""
    code, out = ido(*command, "--journal", str(read_only_copy))
    assert code == 0, out
    assert "error" not in out and ("ship-order" in out or "nothing waits" in out), out


def test_a_run_on_a_journal_it_may_only_read_is_refused_before_any_step(
    read_only_copy: Path, project: Path
) -> None:
    """`ido run` needs to write: it refuses, saying why, and calls nothing."""
    before = (project / "calls.log").read_text()
    code, out = ido("run", "ship-order", "--journal", str(read_only_copy))
    assert code == 2, out
    assert "can be read but not written" in out and "ido runs, explain" in out, out
    assert (project / "calls.log").read_text() == before


@pytest.mark.parametrize("command", [["run", "ship-order"], ["resume", "last"]])
def test_a_read_only_journal_file_in_a_writable_folder_is_refused_as_one(
    project: Path, command: list[str]
) -> None:
    """SQLite opens a file it may not write read-only without a word: the first write
    failed, `error: journal …: attempt to write a readonly database`, with nothing said of
    what to do, as `can be read but not written` says it for a read-only folder."""
    assert ido("run", "ship-order", "--quiet")[0] == 0
    journal = project / ".ido" / "ido.db"
    make_read_only(journal)
    try:
        code, out = ido(*command)
    finally:
        subprocess.run(["chattr", "-i", str(journal)], check=True)
    assert code == 2, out
    assert out.startswith(
        "error: journal .ido/ido.db can be read but not written (permission denied: "
    ), out
    assert "nothing was done" in out and len(out.splitlines()) == 1, out


def test_a_run_in_a_read_only_working_folder_says_where_else_to_keep_the_journal(
    project: Path,
) -> None:
    """A service whose working folder it may not write: `cannot open journal .ido/ido.db:
    [Errno 13] Permission denied: '.ido'`, with nothing said of what to do."""
    make_read_only(project)
    try:
        code, out = ido("run", "ship-order")
    finally:
        subprocess.run(["chattr", "-i", str(project)], check=True)
    assert (code, out) == (
        2,
        "error: cannot make journal .ido/ido.db (operation not permitted: a read-only file, "
        "folder or mount?); nothing was done: give --journal (or IDO_JOURNAL) a file in a "
        "folder ido may write\n",
    )
    assert not (project / "calls.log").exists()


def test_a_journal_that_cannot_be_made_for_another_reason_is_not_blamed_on_a_mount(
    project: Path,
) -> None:
    """A journal named under a file said `(not a directory: a read-only file, folder or
    mount?)`: no mount was read-only."""
    Path("notes").write_text("")
    code, out = ido("run", "ship-order", "--journal", "notes/ido.db")
    assert (code, out) == (
        2,
        "error: cannot make journal notes/ido.db (not a directory); nothing was done: give "
        "--journal (or IDO_JOURNAL) a file in a folder ido may write\n",
    )
    assert not (project / "calls.log").exists()


def test_a_run_waiting_for_the_journal_s_lock_says_so_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cron job's `ido run` behind another process holding the journal's write lock (an
    `sqlite3` shell left in a transaction) waited up to two minutes without a word."""
    import ido.cli as command_line
    import ido.journal.connections as connections

    assert ido("run", "ship-order", "--quiet")[0] == 0
    monkeypatch.setattr(connections, "BUSY_STEP_SECONDS", 0.05)  # (SQLite's wait per round)
    monkeypatch.setattr(connections, "BUSY_SECONDS", 5.0)
    other = sqlite3.connect(".ido/ido.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    told = getattr(command_line, "_tell_wait", print)  # (unsaid before: never called)

    def told_then_released(said: str) -> None:
        told(said)
        other.execute("COMMIT")  # the other process is done once the wait was told

    monkeypatch.setattr(command_line, "_tell_wait", told_then_released, raising=False)
    try:
        result = runner.invoke(app, ["run", "ship-order", "--quiet"])
    finally:
        other.close()
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "ido: waiting for journal .ido/ido.db: another process has held its write lock for "
        "over 0.05s (ido gives up after 5s)\n"
    )


def test_a_journal_on_a_full_disk_is_not_blamed_on_a_read_only_file(project: Path) -> None:
    """A journal SQLite could not write for want of space (here: a file size limit, which
    keeps it from making its 32 KB WAL index) said `(disk I/O error: a read-only file,
    folder or mount?)`, sending its reader after permissions."""
    import resource

    assert ido("run", "ship-order", "--quiet")[0] == 0
    for name in ("ido.db-wal", "ido.db-shm"):
        (project / ".ido" / name).unlink(missing_ok=True)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))

    done = subprocess.run(
        [sys.executable, "-m", "ido", "run", "ship-order"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=small_files,
    )
    assert done.returncode == 2, done.stderr
    assert "can be read but not written (disk I/O error: a full disk, a file size limit" in (
        done.stderr
    ), done.stderr


def test_a_journal_with_commits_left_in_its_wal_is_not_read_half_in_a_read_only_folder(
    project: Path, tmp_path: Path
) -> None:
    """Opened without a WAL index, SQLite reads the journal file alone; commits still in
    its -wal file (a copy taken while a run wrote) would go unseen, so it is refused."""
    assert ido("run", "ship-order", "--quiet")[0] == 0
    folder = tmp_path / "ro"
    folder.mkdir()
    writer = sqlite3.connect(project / ".ido" / "ido.db")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO meta(key, value) VALUES ('late', 'x')")
    writer.commit()
    for name in ("ido.db", "ido.db-wal"):
        shutil.copy(project / ".ido" / name, folder / name.replace("ido", "j"))
    writer.close()
    assert (folder / "j.db-wal").stat().st_size > 0
    make_read_only(folder)
    try:
        code, out = ido("runs", "--journal", str(folder / "j.db"))
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert code == 2, out
    assert "commits are still in j.db-wal" in out and "Traceback" not in out, out


def test_a_run_whose_output_is_closed_goes_on_to_its_outcome(project: Path) -> None:
    """`ido run … | grep -m1 …`: the closed pipe stopped the run between recording a
    step's start and making the call, silently, exit 1. Now it goes on without output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", "ship-order"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first line
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert err == "ido: the output was closed; the run goes on without it\n"
    code, out = ido("runs")
    assert code == 0 and " achieved " in out, out


def test_a_runs_limit_past_what_sqlite_counts_lists_them_all(project: Path) -> None:
    """It was an OverflowError traceback."""
    assert ido("run", "ship-order", "--quiet")[0] == 0
    code, out = ido("runs", "--limit", "99999999999999999999")
    assert code == 0 and " achieved " in out, out


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_a_runs_limit_below_one_is_refused(project: Path, limit: str) -> None:
    """`--limit 0` listed one run, though the help says `x>=1`."""
    code, out = ido("runs", "--limit", limit)
    assert code == 2 and "greater than or equal to 1" in out, out


def test_the_runs_help_shows_the_default_limit_not_sqlite_s_largest_number() -> None:
    """The help read `1<=x<=9223372036854775807`, a bound nobody needs to know."""
    code, out = ido("runs", "--help")
    assert code == 0 and "default: 50" in out and "9223372036854775807" not in out, out


@pytest.mark.parametrize("command", [["run"], ["plan"], ["validate"], ["scenario", "test"]])
def test_the_catalog_option_is_shown_as_a_path_not_a_python_type(command: list[str]) -> None:
    """The help read `-c, --catalog <list[Path]>`, where the docs say `--catalog PATH`."""
    code, out = ido(*command, "--help")
    assert code == 0 and "--catalog PATH" in out and "list[Path]" not in out.split("Options")[1]


def test_a_run_in_progress_is_listed_as_running_and_interrupted_once_its_process_died(
    project: Path,
) -> None:
    """`ido runs` and `ido explain` said "interrupted" of a run still going, as if it
    were to be resumed (`ido resume` knew better: "still running"); then explain said its
    step in flight had no outcome "(interrupted)", the HTML report drew it amber and `ido
    audit` counted the run as interrupted."""
    (project / "fakesvc" / "hold.py").write_text(
        "import time\n\n\ndef call(ctx):\n    time.sleep(60)\n"
    )
    (project / "capabilities" / "hold.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: hold}\nspec:\n"
        "  provider: p\n  effects: {held: true}\n  timeout: 90s\n"
        "  run: {python: 'fakesvc.hold:call'}\n"
    )
    (project / "intents" / "hold.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: hold}\nspec:\n  goal: ['state.held']\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", "hold"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(1200):  # until the run is in the journal
            if " hold " in ido("runs")[1]:
                break
            time.sleep(0.05)
        assert " running " in ido("runs")[1]
        assert json.loads(ido("runs", "--format", "json")[1])[0]["running"] is True
        assert " · running · " in ido("explain", "last")[1]
        for _ in range(1200):  # until its step has started
            if "hold: started" in ido("explain", "last")[1]:
                break
            time.sleep(0.05)
        assert "hold: started, still running" in ido("explain", "last")[1]
        assert "<g class='node running'" in ido("explain", "last", "--format", "html")[1]
        audited = json.loads(ido("audit", "--format", "json")[1])
        assert audited["outcomes"] == {"running": 1}
    finally:
        process.kill()
        process.wait()
    assert " interrupted " in ido("runs")[1]
    assert " · interrupted · " in ido("explain", "last")[1]
    assert "hold: started, no outcome recorded (interrupted)" in ido("explain", "last")[1]
    assert "<g class='node interrupted'" in ido("explain", "last", "--format", "html")[1]
    assert json.loads(ido("audit", "--format", "json")[1])["outcomes"] == {"interrupted": 1}


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "last", "-o"],
        ["plan", "ship-order", "--plan-out"],
        ["scenario", "test", "--junit"],
    ],
)
@pytest.mark.parametrize("target", [".ido/ido.db", ".ido/ido.db-wal", "link.db"])
def test_an_output_file_that_is_the_journal_is_refused_and_the_runs_kept(
    project: Path, command: list[str], target: str
) -> None:
    """`ido explain last -o .ido/ido.db` wrote the report over the journal (and `ido plan
    --plan-out` removed it before planning): every run recorded was lost without a word."""
    assert ido("run", "ship-order")[0] == 0
    (project / "link.db").symlink_to(project / ".ido" / "ido.db")
    code, out = ido(*command, target)
    assert code == 2 and "is the journal .ido/ido.db" in out, out
    code, out = ido("runs", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1, out


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "last", "-o"],
        ["plan", "ship-order", "--plan-out"],
    ],
)
def test_an_output_file_that_is_a_loop_of_links_is_said_so_without_a_traceback(
    project: Path, command: list[str]
) -> None:
    """A link to itself as the output: the check that it is not the journal stopped on a
    RuntimeError (Python 3.11's word for a loop of links) and ido printed a traceback."""
    assert ido("run", "ship-order")[0] == 0
    (project / "loop").symlink_to("loop")
    code, out = ido(*command, "loop")
    assert "cannot write loop: Too many levels of symbolic links" in out, out
    assert code != 0
    code, out = ido("runs", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1, out


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "last", "-o"],
        ["plan", "ship-order", "--plan-out"],
        ["scenario", "test", "--junit"],
    ],
)
@pytest.mark.parametrize(
    ("target", "said"),
    [("out", "out is a folder; give a file name"), ("no/r.txt", "folder no does not exist")],
)
def test_an_output_file_that_cannot_be_is_refused_alike_by_every_command(
    project: Path, command: list[str], target: str, said: str
) -> None:
    """`ido explain -o` checked only that the file was not the journal: a folder, or a
    folder not there, was found out when the report was written, in other words than
    `ido plan --plan-out` and `ido scenario test --junit` used, before any work."""
    assert ido("run", "ship-order")[0] == 0
    (project / "out").mkdir()
    code, out = ido(*command, target)
    assert code == 2 and said in out, out


def test_a_pddl_problem_with_a_catalog_is_refused_not_half_ignored(project: Path) -> None:
    """`-c` was ignored without a word (checked before the files are read)."""
    code, out = ido("plan", "--pddl", "domain.pddl", "p01.pddl", "-c", "nowhere")
    assert code == 2 and "--catalog adds nothing to it" in out, out


def test_version_and_short_help(project: Path) -> None:
    from importlib.metadata import version

    assert ido("--version") == (0, f"ido {version('ido')}\n")
    code, out = ido("run", "-h")
    assert code == 0 and "Pursue intents" in out


def test_schema_with_a_kind_and_out_is_refused_not_half_ignored(project: Path) -> None:
    code, out = ido("schema", "Intent", "--out", "schemas")
    assert code == 2 and "name no KIND with it" in out
    assert not (project / "schemas").exists()


def test_cli_as_a_subprocess_exits_with_the_documented_codes(project: Path) -> None:
    """The installed entry point runs a demo end to end and exits 0; bad input exits 2 with no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "ido", "run", "ship-order"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "achieved" in done.stdout
    (project / "intents" / "broken.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: broken}\nspec: {goal: [1]}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "ido", "validate"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "intents/broken.yaml:4: spec.goal[0]" in done.stderr
    assert "Traceback" not in done.stderr


def test_validate_does_not_load_the_solver(project: Path) -> None:
    """`ido validate` stays fast: it never imports OR-Tools."""
    code = (
        "import sys; from typer.testing import CliRunner; from ido.cli import app; "
        "r = CliRunner().invoke(app, ['validate']); assert r.exit_code == 0, r.output; "
        "print('ortools' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_import_validate_and_a_local_run_do_not_load_temporalio(project: Path) -> None:
    """temporalio (the Temporal runtime's, ~100 ms to import) is loaded by `--temporal`
    and `ido worker` alone: not by `import ido`, `ido validate`, nor a local `ido run`."""
    code = (
        "import sys; import ido; from typer.testing import CliRunner; from ido.cli import app; "
        "seen = ['temporalio' in sys.modules]; "
        "r = CliRunner().invoke(app, ['validate']); assert r.exit_code == 0, r.output; "
        "seen.append('temporalio' in sys.modules); "
        "r = CliRunner().invoke(app, ['run', 'ship-order']); assert r.exit_code == 0, r.output; "
        "print(seen + ['temporalio' in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[False, False, False]", done.stdout + done.stderr


def test_the_journal_commands_do_not_load_the_models(project: Path) -> None:
    """`ido approve`, `prune` and the runner open the journal only: it loaded every model
    (pydantic) through the health words, which took its import from ~24 ms to ~110 ms."""
    assert runner.invoke(app, ["run", "ship-order"]).exit_code == 0
    code = (
        "import sys; from typer.testing import CliRunner; from ido.cli import app; "
        "r = CliRunner().invoke(app, ['approve', 'last', '--by', 'alice']); print(r.output); "
        "print('ido.model' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *said, imported = done.stdout.strip().splitlines()
    assert "is not waiting for an approval" in "\n".join(said) and imported == "False", done.stdout


@pytest.mark.parametrize(
    ("llm", "problem"),
    [
        ("{model: nosuch/gpt}", "'nosuch' is not a litellm provider"),
        ("{model: hosted_vllm/smollm2}", "hosted_vllm has no address of its own"),
    ],
)
def test_validate_finds_a_model_out_of_reach_without_importing_litellm(
    project: Path, monkeypatch: pytest.MonkeyPatch, llm: str, problem: str
) -> None:
    """An intent whose model litellm cannot reach validated clean, and every decision of
    its run fell back to the solver: validate names the file, line and field now, reading
    litellm's lists from its package without importing it (nor asking the network)."""
    monkeypatch.delenv("IDO_LLM_API_BASE", raising=False)
    monkeypatch.delenv("HOSTED_VLLM_API_BASE", raising=False)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + f"  planner: llm\n  llm: {llm}\n")
    line = len(intent.read_text().splitlines())
    code = (
        "import sys; from typer.testing import CliRunner; from ido.cli import app; "
        "r = CliRunner().invoke(app, ['validate']); print(r.exit_code); print(r.output); "
        "print('litellm' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    exit_code, *said, imported = done.stdout.strip().splitlines()
    assert exit_code == "2" and imported == "False", done.stdout
    assert f"intents/ship-order.yaml:{line}: spec.llm.model: {problem}" in "\n".join(said)


def test_validate_finds_a_model_out_of_reach_in_a_scenario_intent(project: Path) -> None:
    """A scenario's inline intent with a model litellm cannot reach validated clean (the
    same intent in intents/ was told): validate names it now, in a scenario of the catalog
    and in one with catalog entries of its own, the shared intent's problem told once."""
    (project / "scenarios").mkdir()
    (project / "extra.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: extra}\n"
        "spec: {provider: x, effects: {order.noted: true}}\n"
    )
    scenario = (
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {{name: {name}}}\nspec:\n"
        "  intent:\n    goal: ['state.order.shipped']\n    planner: llm\n"
        "    llm: {{model: nosuch/gpt}}\n{more}"
    )
    (project / "scenarios" / "a.yaml").write_text(scenario.format(name="a", more=""))
    (project / "scenarios" / "b.yaml").write_text(
        scenario.format(name="b", more="  catalog: [../extra.yaml]\n")
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  planner: llm\n  llm: {model: nosuch/gpt}\n")
    code, out = ido("validate")
    assert code == 2, out
    said = "spec.intent.llm.model: 'nosuch' is not a litellm provider"
    assert f"scenarios/a.yaml:8: {said}" in out
    assert f"scenarios/b.yaml:8: {said}" in out
    assert out.count("intents/ship-order.yaml") == 1, out


@pytest.mark.parametrize(("planner", "named"), [("", "cpsat"), ("search", "search")])
def test_validate_warns_of_llm_settings_no_planner_reads(
    project: Path, planner: str, named: str
) -> None:
    """An `llm:` block under planner cpsat (the default) or search was ignored and passed
    `ido validate` without a word, in intents/ or inline in a scenario, one with catalog
    entries of its own too (the shared intent told once); `ido plan --planner llm` reads
    it, so plan says nothing."""
    intent = project / "intents" / "ship-order.yaml"
    chosen = f"  planner: {planner}\n" if planner else ""
    intent.write_text(intent.read_text() + f"{chosen}  llm: {{timeout: 10s}}\n")
    line = len(intent.read_text().splitlines())
    (project / "scenarios").mkdir()
    (project / "extra.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: extra}\n"
        "spec: {provider: x, effects: {order.noted: true}}\n"
    )
    scenario = (
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {{name: {name}}}\nspec:\n"
        "  intent:\n    goal: ['state.order.shipped']\n"
        f"{chosen and '  ' + chosen}    llm: {{{{timeout: 10s}}}}\n{{more}}"
    )
    (project / "scenarios" / "a.yaml").write_text(scenario.format(name="a", more=""))
    (project / "scenarios" / "b.yaml").write_text(
        scenario.format(name="b", more="  catalog: [../extra.yaml]\n")
    )
    at = 8 if planner else 7
    code, out = ido("validate")
    assert code == 0, out
    said = f"ignored: planner is {named} (llm settings are read by planner llm or hybrid)\n"
    assert f"warning: intents/ship-order.yaml:{line}: spec.llm: {said}" in out
    assert f"warning: scenarios/a.yaml:{at}: spec.intent.llm: {said}" in out
    assert f"warning: scenarios/b.yaml:{at}: spec.intent.llm: {said}" in out
    assert out.count("intents/ship-order.yaml") == 1, out
    code, out = ido("plan", "ship-order")
    assert code == 0 and "ignored" not in out, out
    intent.write_text(intent.read_text().replace(chosen, "") + "  planner: hybrid\n")
    for file in ("a.yaml", "b.yaml"):
        (project / "scenarios" / file).unlink()
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


@pytest.mark.parametrize(("value", "state"), [(None, "is not set"), ("", "is empty")])
def test_validate_warns_of_a_model_planner_s_api_key_missing_here(
    project: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, state: str
) -> None:
    """`api_key_env: SRE_LLM_KEY` with the variable unset passed `ido validate` without a
    word; every model call of the run then failed and the solver decided each time. A
    warning now (the run may get the variable where it runs); with it set, none."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  planner: llm\n"
        "  llm: {model: openai/sre, api_base: 'http://127.0.0.1:9/v1', api_key_env: SRE_LLM_KEY}\n"
    )
    line = len(intent.read_text().splitlines())
    if value is None:
        monkeypatch.delenv("SRE_LLM_KEY", raising=False)
    else:
        monkeypatch.setenv("SRE_LLM_KEY", value)
    code, out = ido("validate")
    assert code == 0, out
    assert (
        f"warning: intents/ship-order.yaml:{line}: spec.llm.api_key_env: environment variable "
        f"SRE_LLM_KEY {state} here: every model call would fail, and each decision fall back "
        "to the solver\n"
    ) in out
    monkeypatch.setenv("SRE_LLM_KEY", "sk-test-123456789")
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def test_an_intent_can_choose_the_search_planner(project: Path) -> None:
    """`planner: search` plans with the reference backend: same plan, its name on the record."""
    code, by_cpsat = ido("plan", "ship-order")
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("spec:\n", "spec:\n  planner: search\n", 1))
    code, by_search = ido("plan", "ship-order")
    assert code == 0, by_search
    assert "planner search" in by_search
    chosen = [line for line in by_search.splitlines() if line.startswith("    1. ")]
    assert chosen and chosen == [x for x in by_cpsat.splitlines() if x.startswith("    1. ")]


def test_plan_planner_option_overrides_the_intent_and_checks_the_name(project: Path) -> None:
    """`--planner search` plans with search; an unknown backend is a bad flag (exit 2)."""
    code, out = ido("plan", "ship-order", "--planner", "search")
    assert code == 0 and "planner search" in out
    code, out = ido("plan", "ship-order", "--planner", "magic")
    assert code == 2 and "'magic' is not one of cpsat, hybrid, llm, search" in out


def test_plan_alternatives_option_sets_how_many_are_worked_out(project: Path) -> None:
    """`--alternatives 0` lists none; the default lists some for the shop catalog."""
    _, default = ido("plan", "ship-order", "--format", "json")
    _, none = ido("plan", "ship-order", "--format", "json", "--alternatives", "0")
    assert json.loads(default)["result"]["alternatives"]
    assert json.loads(none)["result"]["alternatives"] == []


def test_an_intent_sets_how_many_alternatives_its_runs_work_out(project: Path) -> None:
    """A run worked out three alternatives at every decision, whatever the intent said: on
    a 1,000-capability catalog they took 83 s of its 1m deadline after the plan was ready
    in 1 s, and the run failed before its first step. `limits.alternatives: 0` now spares
    them in runs and plans; `--alternatives` still overrides it for one plan."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {alternatives: 0}\n")
    code, out = ido("run", "ship-order")
    assert code == 0, out
    from ido.journal import SqliteJournal

    with SqliteJournal(project / ".ido" / "ido.db") as store:
        (row,) = store.runs(-1)
        decided = [e.data for e in store.events(row.id) if e.kind == "decided"]
    assert decided and all(d["result"]["alternatives"] == [] for d in decided)
    _, none = ido("plan", "ship-order", "--format", "json")
    _, some = ido("plan", "ship-order", "--format", "json", "--alternatives", "3")
    assert json.loads(none)["result"]["alternatives"] == []
    assert json.loads(some)["result"]["alternatives"]


def test_plan_budgets_come_from_the_intent_or_the_flags(project: Path) -> None:
    """`limits.solve_time` and `limits.search_states` set the planner's budgets, recorded
    with the decision; `--solve-time` and `--search-states` replace them for one plan; a
    budget the search cannot plan within is a clear error, as are flags out of range."""

    def solver(*flags: str) -> dict[str, object]:
        code, out = ido("plan", "ship-order", "--format", "json", *flags)
        assert code == 0, out
        return dict(json.loads(out)["result"]["solver"])

    default = solver("--planner", "search")
    assert (default["max_states"], default["max_compared"]) == (200_000, 40_000_000)
    assert solver()["deterministic_time_limit"] == 10.0
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {solve_time: 90s, search_states: 5000}\n")
    assert solver("--planner", "search")["max_states"] == 5_000
    assert solver()["deterministic_time_limit"] == 90.0
    assert solver("--planner", "search", "--search-states", "70")["max_states"] == 70
    assert solver("--solve-time", "1.5s")["deterministic_time_limit"] == 1.5
    code, out = ido("plan", "ship-order", "--planner", "search", "--search-states", "1")
    assert code == 2
    assert "search expanded 1 state without finishing" in out and "Traceback" not in out
    assert "--search-states N" in out
    # cpsat's search of a handful of capabilities gives way to the model when it runs out
    code, out = ido("plan", "ship-order", "--planner", "cpsat", "--search-states", "1")
    assert code == 0 and "1. pay-cheap-eu" in out, out
    for flag, value, says in (
        ("--solve-time", "0s", "give more than 0s"),
        ("--solve-time", "soon", "'soon' is not a duration"),
        ("--search-states", "0", "--search-states"),
    ):
        code, out = ido("plan", "ship-order", flag, value)
        assert code == 2 and says in out, out


def test_bad_solve_budgets_in_an_intent_name_file_line_and_field(project: Path) -> None:
    """A solve time of nothing or a search of no states is a load error at its line."""
    intent = project / "intents" / "ship-order.yaml"
    text = intent.read_text()
    for limits, field in (
        ("{solve_time: 0s}", "spec.limits.solve_time"),
        ("{search_states: 0}", "spec.limits.search_states"),
        ("{solve_time: 10}", "spec.limits.solve_time"),
    ):
        intent.write_text(text + f"  limits: {limits}\n")
        code, out = ido("validate")
        assert code == 2 and f"intents/ship-order.yaml:10: {field}" in out, out


def test_run_several_intents_side_by_side(project: Path) -> None:
    """Two intents, one process: each is its own run in the journal; lines name their intent."""
    second = (
        (project / "intents" / "ship-order.yaml")
        .read_text()
        .replace("name: ship-order", "name: ship-order-2")
    )
    (project / "intents" / "ship-order-2.yaml").write_text(second)
    code, out = ido("run", "ship-order", "intents/ship-order-2.yaml", "--concurrency", "2")
    assert code == 0, out
    assert "[ship-order] decision 1 (run started)" in out
    assert "[ship-order-2] decision 1 (run started)" in out
    assert out.count("achieved: run ") == 2  # each outcome's line prefixed too
    assert "[ship-order] achieved: run " in out and "[ship-order-2] achieved: run " in out
    code, listed = ido("runs", "--format", "json")
    runs = json.loads(listed)
    assert sorted(r["intent"] for r in runs) == ["ship-order", "ship-order-2"]
    assert {r["outcome"] for r in runs} == {"achieved"}


def test_two_runs_of_one_intent_side_by_side_are_told_apart(project: Path) -> None:
    """`ido run X X`: every line of both runs began `[X]`."""
    code, out = ido("run", "ship-order", "ship-order", "--concurrency", "2")
    assert code == 0, out
    ids = re.findall(r"run (r[0-9a-f-]+) · intent ship-order", out)
    assert len(set(ids)) == 2, out
    for run_id in ids:
        assert f"[ship-order …{run_id[-6:]}] decision 1 (run started)" in out
    assert "[ship-order] " not in out


def test_run_several_intents_exits_with_the_worst_outcome(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    infeasible = (project / "intents" / "ship-order.yaml").read_text()
    infeasible = infeasible.replace("name: ship-order", "name: too-cheap").replace(
        "max_cost: 5.0", "max_cost: 0.1"
    )
    (project / "intents" / "too-cheap.yaml").write_text(infeasible)
    code, out = ido("run", "ship-order", "too-cheap", "--quiet")
    assert code == 4, out  # no plan (4) over achieved (0)
    assert "achieved: run" in out and "failed: run" in out


def test_a_failure_is_a_worse_outcome_than_a_wait_for_approval() -> None:
    """Blocked (3) beside failed (1) exited 3: a script reading 3 as "go and approve"
    missed the failure."""
    from ido.cli.common import worst

    assert worst([0, 3, 1, 0]) == 1
    assert worst([3, 0]) == 3
    assert worst([1, 2, 3]) == 2 and worst([1, 130]) == 130 and worst([]) == 0


def test_no_plan_ranks_between_a_failure_and_a_wait_for_approval() -> None:
    """Several runs exit with the worst: failed (1) over no plan (4) over blocked (3) over
    achieved (0); no plan, the highest number, read as the worst by number alone."""
    from ido.cli.common import worst

    assert worst([4, 1, 0]) == 1 and worst([3, 4, 0]) == 4 and worst([4, 2]) == 2


def test_the_command_lines_step_limit_is_the_models() -> None:
    """`ido.cli` keeps its own copy, not to import the models as it starts."""
    from ido.cli import common
    from ido.model.fields import MOST_STEPS

    assert common.MOST_STEPS == MOST_STEPS


@pytest.mark.parametrize("command", [["runs"], ["audit"], ["approvals"]])
def test_a_journal_named_that_is_not_there_is_an_error_not_an_empty_history(
    project: Path, command: list[str]
) -> None:
    """A typo in --journal said "no runs yet" (or an empty audit), exit 0."""
    code, out = ido(*command, "--journal", str(project / "typo.db"))
    assert code == 2 and "no journal at" in out, out
    assert not (project / "typo.db").exists()
    assert ido(*command)[0] == 0  # the default journal, before anything ran: nothing yet


def test_plan_decides_with_what_the_runs_in_the_journal_learnt(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ido plan` decided from the declared figures only: after runs saw cheappay fail,
    it still chose it, where the next run chose priceypay."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    for _ in range(2):
        ido("run", "ship-order", "--quiet")
    monkeypatch.delenv("FAKESVC_FAIL")
    code, out = ido("plan", "ship-order", "--format", "json")
    assert code == 0, out
    steps = [s["capability"] for s in json.loads(out)["result"]["plan"]["steps"]]
    assert steps == ["pay-pricey-eu", "ship"], out
    assert json.loads(out)["beliefs"], out  # and says what it believed
    # A journal named before the first run (IDO_JOURNAL exported in CI) is not there yet.
    code, out = ido("plan", "ship-order", "--journal", str(project / "elsewhere.db"))
    assert code == 0 and "yet: planning with the declared figures" in out, out
    assert "pay-cheap-eu" in out and not (project / "elsewhere.db").exists()


def test_a_mistaken_color_is_a_usage_error_as_a_mistaken_format_is(project: Path) -> None:
    """`--format pdf` was told with the usage line and a hint, `--color sometimes` as a plain
    `error:`, as if the run rather than the option were wrong."""
    code, out = ido("explain", "last", "--color", "sometimes")
    assert code == 2
    assert "Try 'ido explain -h' for help." in out
    assert "Invalid value for --color: 'sometimes' is not one of auto, always, never" in out


def test_a_decision_that_reads_no_known_fact_says_so_under_observed(project: Path) -> None:
    """A goal reading a fact nothing sets left `observed:` with nothing under it, which
    read as output cut short."""
    intent = project / "intents" / "ship-order.yaml"
    text = intent.read_text()
    goal = next(line for line in text.splitlines() if line.lstrip().startswith("goal:"))
    # (without the residency policy: the fact its denials read, order.region, is shown)
    text = text.replace("  policies: [residency]\n", "")
    intent.write_text(text.replace(goal, "  goal: [state.parcel.delivered]"))
    code, out = ido("plan", "ship-order")
    assert code == 4, out
    assert (
        "  observed:\n    none of the facts the goal and the preconditions read is known\n" in out
    )


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["validate", "--catalog"], "Usage: ido validate [OPTIONS]"),
        (["plan", "ship-order", "--pddl"], "Usage: ido plan [OPTIONS]"),
        (["scenario", "test", "--junit"], "Usage: ido scenario test [OPTIONS]"),
        (["policy", "test", "--catalog"], "Usage: ido policy test [OPTIONS]"),
    ],
)
def test_an_option_given_no_value_is_told_with_the_usage_and_a_hint(
    project: Path, args: list[str], usage: str
) -> None:
    """`ido validate --catalog` said only "Error: Option '--catalog' requires an argument.",
    where every other usage mistake shows the usage line and how to get help."""
    code, out = ido(*args)
    assert code == 2
    assert out.startswith(usage), out
    command = usage.removeprefix("Usage: ").removesuffix(" [OPTIONS]")
    assert f"Try '{command} -h' for help." in out
    assert "requires" in out.splitlines()[-1]


def test_a_command_typed_inside_a_catalog_folder_says_where_to_run_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ido run ship-order` typed in `intents/` said only that no catalog is here."""
    monkeypatch.chdir(project / "intents")
    code, out = ido("run", "ship-order")
    assert code == 2
    assert f"(this is the intents/ folder of a project: run ido in {project})" in out
