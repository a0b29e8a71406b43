"""What `ido plan`, `run` and `explain` print reads true of itself: every conflict a way
out follows from is named, sums of durations are in one unit, a faded count never reads
whole, and `ido run A B -q` says how to explain a run that failed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from ido.health import Evidence
from ido.journal import SqliteJournal

CAPABILITY = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: {name}}}
spec:
  provider: {name}
  requires: ["!state.x.done"]
  effects: {{x.done: true}}
  cost: {cost}
  latency: {latency}
  reliability: {reliability}
  timeout: 3h
  idempotent: true
  run: {{python: "words_acts:{run}"}}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {{name: {name}}}
spec:
  goal: ["state.x.done"]
  constraints: {constraints}
  policies: [no-slow]
"""

POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: no-slow}
spec:
  rules:
    - id: not-slow-sure
      effect: deny
      when: "capability.name == 'slow-sure'"
      message: slow-sure is not to be used.
"""

ACTS = """\
def ok(ctx):
    return {}


def boom(ctx):
    raise RuntimeError("down")
"""


def ido(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ido ARGS` in its own process, in the project's folder."""
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def capability(project: Path, name: str, cost: float, latency: str, rel: float, run: str) -> None:
    text = CAPABILITY.format(name=name, cost=cost, latency=latency, reliability=rel, run=run)
    (project / "capabilities" / f"{name}.yaml").write_text(text)


def intent(project: Path, name: str, constraints: str) -> None:
    text = INTENT.format(name=name, constraints=constraints)
    (project / "intents" / f"{name}.yaml").write_text(text)


@pytest.fixture
def words(tmp_path: Path) -> Path:
    """Two ways to the goal, each breaking two limits or rules: fast-unsure costs too much
    and is too unreliable; slow-sure is too slow and denied. Under `stuck`, four minimal
    conflicts: {budget or reliability} × {deadline or the rule}."""
    for folder in ("capabilities", "intents", "policies"):
        (tmp_path / folder).mkdir()
    (tmp_path / "words_acts.py").write_text(ACTS)
    (tmp_path / "policies" / "no-slow.yaml").write_text(POLICY)
    capability(tmp_path, "fast-unsure", 5.0, "1s", 0.8, "ok")
    capability(tmp_path, "slow-sure", 1.0, "10s", 0.99, "ok")
    constraints = "{max_cost: 2.0, deadline: 5s, min_success_probability: 0.9}"
    intent(tmp_path, "stuck", constraints)
    return tmp_path


CONFLICTS = (
    "no plan meets min_success_probability and rule no-slow/not-slow-sure together, nor "
    "max_cost and rule no-slow/not-slow-sure together, nor deadline and "
    "min_success_probability together, nor max_cost and deadline together (ido names 4 "
    "conflicts at most), and relaxing any one limit or rule alone is not enough;"
)


def test_every_conflict_a_way_out_follows_from_is_named(words: Path) -> None:
    """The reason named one conflict (min_success_probability and the rule) and then told
    to relax max_cost and min_success_probability together, a pair it had not named: the
    words read as a contradiction. Now every minimal conflict is named, in plan, run and
    explain, and the way out relaxes a member of each."""
    planned = ido(words, "plan", "stuck")
    assert planned.returncode == 4, planned.stderr
    assert CONFLICTS in planned.stdout
    assert "relax max_cost and min_success_probability together" in planned.stdout
    assert (
        "minimal conflicts: min_success_probability, no-slow/not-slow-sure; max_cost, "
        "no-slow/not-slow-sure; deadline, min_success_probability; max_cost, deadline "
        "(a way out relaxes a member of each; ido names 4 at most)"
    ) in planned.stdout
    ran = ido(words, "run", "stuck")
    assert ran.returncode == 4, ran.stderr
    assert f"reason: {CONFLICTS}" in ran.stdout
    run_id = re.findall(r"^failed: run (\S+),", ran.stdout, re.MULTILINE)[0]
    told = ido(words, "explain", run_id)
    assert CONFLICTS in told.stdout
    assert "minimal conflicts: min_success_probability, no-slow/not-slow-sure;" in told.stdout
    # The JSON record keeps `conflict` as it was, and adds the others.
    view = json.loads(ido(words, "explain", run_id, "--format", "json").stdout)
    result = view["decisions"][0]["result"]
    assert result["conflict"] == ["min_success_probability", "no-slow/not-slow-sure"]
    assert result["other_conflicts"] == [
        ["max_cost", "no-slow/not-slow-sure"],
        ["deadline", "min_success_probability"],
        ["max_cost", "deadline"],
    ]


def test_a_conflict_with_max_attempts_is_named_beside_the_budgets(words: Path) -> None:
    """Mid-run, the reliable capability failed its one attempt (spending 2.00 of 3.00):
    it is out by limits.max_attempts, and too dear for what is left. explain named one
    conflict (min_success_probability and limits.max_attempts) beside a run whose budget
    also stood in the way; both are named now."""
    for name in ("fast-unsure", "slow-sure"):
        (words / "capabilities" / f"{name}.yaml").unlink()
    capability(words, "unsure", 1.0, "1s", 0.6, "ok")
    capability(words, "sure-fails", 2.0, "1s", 0.99, "boom")
    text = INTENT.format(name="two", constraints="{max_cost: 3.0, min_success_probability: 0.7}")
    (words / "intents" / "two.yaml").write_text(text + "  limits: {max_attempts: 1}\n")
    ran = ido(words, "run", "two")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "reason: no plan with success probability ≥ 0.700" in ran.stdout
    assert "lower min_success_probability to 0.599999" in ran.stdout
    told = ido(words, "explain", "last").stdout
    assert (
        "minimal conflicts: min_success_probability, limits.max_attempts; max_cost, "
        "min_success_probability (a way out relaxes a member of each)"
    ) in told


def test_one_conflict_is_recorded_as_before(words: Path) -> None:
    """With the budget and deadline lifted, one conflict is left: said as before, and the
    record holds no `other_conflicts` (an older run replays alike)."""
    intent(words, "one", "{min_success_probability: 0.9}")
    planned = ido(words, "plan", "one", "--format", "json")
    result = json.loads(planned.stdout)["result"]
    assert result["conflict"] == ["min_success_probability", "no-slow/not-slow-sure"]
    assert "other_conflicts" not in result
    told = ido(words, "plan", "one").stdout
    assert "minimal conflict: min_success_probability, no-slow/not-slow-sure\n" in told


def test_a_deadline_sum_is_written_in_one_unit(words: Path) -> None:
    """`deadline: plan 1h + 4ms elapsed = 3600.004s of 2h` mixed three units in one sum;
    each part is now written in the same unit, so the sum reads true."""
    capability(words, "hour-fails", 0.5, "1h", 0.99, "boom")
    capability(words, "hour-works", 1.0, "1h", 0.99, "ok")
    intent(words, "long", "{deadline: 2h}")
    ran = ido(words, "run", "long")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run_id = re.findall(r"^achieved: run (\S+),", ran.stdout, re.MULTILINE)[0]
    told = ido(words, "explain", run_id).stdout
    lines = [ln for ln in told.splitlines() if "elapsed =" in ln]
    assert lines, told
    for line in lines:
        sum_ = re.search(r"deadline: plan (\S+) \+ (\S+) elapsed = (\S+) of (\S+)", line)
        assert sum_ is not None, line
        units = {re.sub(r"^[\d.,]+", "", part) for part in sum_.groups()}
        assert units == {"s"}, line  # 1h of 2h beside milliseconds elapsed: all in seconds
        plan, elapsed, total, limit = (Decimal(p[:-1]) for p in sum_.groups())
        assert plan + elapsed == total and limit == 7200, line
    assert "deadline: plan 3600s + " in told


def test_a_faded_count_never_reads_as_a_whole_number(words: Path) -> None:
    """Two failures seconds ago have faded to 1.99…: they read `outcomes weighing 2
    failures`, a whole count said to be weighed. Now the decimals that tell it apart are
    shown, in a plan's beliefs and in what `ido health forget` forgot."""
    journal = words / ".ido" / "ido.db"
    journal.parent.mkdir()
    with SqliteJournal(journal) as store:
        store.save_health({"fast-unsure": Evidence(0.0, 2.0, None, time.time() - 3.0)})
    planned = ido(words, "plan", "stuck").stdout
    said = re.search(r"after outcomes weighing (\S+) failures and 0 successes", planned)
    assert said is not None, planned
    assert re.fullmatch(r"1\.99\d*", said.group(1)), said.group(1)
    forgot = ido(words, "health", "forget", "fast-unsure").stdout
    assert re.match(r"forgot fast-unsure: 1\.99\d* failures and 0 successes", forgot), forgot


def test_several_intents_quiet_say_how_to_explain_a_run_that_failed(words: Path) -> None:
    """`ido run A B -q` printed each run's outcome and reason but no `why:` line, which
    its help promised: a run not achieved now has one, an achieved one does not."""
    intent(words, "fine", "{max_cost: 10.0}")
    ran = ido(words, "run", "fine", "stuck", "-q")
    assert ran.returncode == 4, ran.stderr
    lines = ran.stdout.splitlines()
    failed = re.findall(r"^\[stuck\] failed: run (\S+),", ran.stdout, re.MULTILINE)
    assert f"[stuck] why: ido explain {failed[0]}" in lines
    assert not any(line.startswith("[fine] why:") for line in lines)
    other = words / "other.db"
    ran = ido(words, "run", "fine", "stuck", "-q", "--journal", str(other))
    failed = re.findall(r"^\[stuck\] failed: run (\S+),", ran.stdout, re.MULTILINE)
    assert f"[stuck] why: ido explain {failed[0]} --journal {other}" in ran.stdout
