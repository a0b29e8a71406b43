"""`ido run A B … --processes N`: intents shared out over worker processes on one journal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.fanout import shares

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _second_intent(project: Path, name: str, old: str = "", new: str = "") -> None:
    text = (project / "intents" / "ship-order.yaml").read_text()
    text = text.replace("name: ship-order", f"name: {name}")
    (project / "intents" / f"{name}.yaml").write_text(text.replace(old, new) if old else text)


def _started_by(journal: Path) -> list[int]:
    with sqlite3.connect(journal) as db:
        rows = db.execute(
            "SELECT json_extract(data, '$.process.pid') FROM events WHERE kind = 'run_started'"
        ).fetchall()
    db.close()
    return [pid for (pid,) in rows]


def test_shares_are_round_robin_and_never_empty() -> None:
    assert shares(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert shares(["a", "b"], 8) == [["a"], ["b"]]
    assert shares(["a"], 1) == [["a"]]


def test_intents_are_run_by_worker_processes_on_one_journal(project: Path) -> None:
    _second_intent(project, "ship-order-2")
    refs = ["ship-order", "intents/ship-order-2.yaml", "ship-order", "ship-order-2"]
    code, out = ido("run", *refs, "--processes", "2", "--concurrency", "2")
    assert code == 0, out
    assert out.count("achieved: run ") == 4
    assert "[ship-order] decision 1 (run started)" in out
    assert "[ship-order-2] decision 1 (run started)" in out
    code, listed = ido("runs", "--format", "json")
    runs = json.loads(listed)
    assert sorted(r["intent"] for r in runs) == ["ship-order"] * 2 + ["ship-order-2"] * 2
    assert {r["outcome"] for r in runs} == {"achieved"}
    pids = _started_by(project / ".ido" / "ido.db")
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two workers, not this process
    # every payment and shipment happened once per run, under its own idempotency key
    calls = (project / "calls.log").read_text().splitlines()
    assert len(calls) == 8 and len(set(calls)) == 8


def test_a_worker_with_a_single_intent_still_names_it(project: Path) -> None:
    _second_intent(project, "ship-order-2")
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2")
    assert code == 0, out
    assert "[ship-order] decision 1 (run started)" in out
    assert "[ship-order-2] decision 1 (run started)" in out


def test_the_exit_code_is_the_worst_outcome_of_all_workers(project: Path) -> None:
    _second_intent(project, "too-cheap", "max_cost: 5.0", "max_cost: 0.1")
    code, out = ido("run", "ship-order", "too-cheap", "--processes", "2", "--quiet")
    assert code == 1, out
    assert "achieved: run" in out and "failed: run" in out


def test_a_journal_from_a_newer_ido_is_refused_once_before_any_worker_starts(
    project: Path,
) -> None:
    _second_intent(project, "ship-order-2")
    journal = project / "newer.db"
    code, _ = ido("runs", "--journal", str(journal))  # creates nothing: make it by a run
    code, out = ido("run", "ship-order", "--journal", str(journal), "--quiet")
    assert code == 0, out
    db = sqlite3.connect(journal)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    before = journal.read_bytes()
    code, out = ido(
        "run", "ship-order", "ship-order-2", "--processes", "2", "--journal", str(journal)
    )
    assert code == 2, out
    assert out.count("error:") == 1 and "newer than this ido understands" in out
    assert "Traceback" not in out
    assert journal.read_bytes() == before


HANGING = '''\
"""Marks that a step started, then waits (to be interrupted)."""
import os
import time


def call(ctx):
    marker = os.path.join(os.environ["HANG_DIR"], f"{os.getpid()}-{ctx.run_id}")
    open(marker, "w").close()
    time.sleep(60)
'''


@pytest.mark.parametrize("processes", [1, 2])
def test_ctrl_c_interrupts_every_run_and_each_can_be_resumed(project: Path, processes: int) -> None:
    """SIGINT to the command alone (as `kill -INT` sends it) while every run waits on a call:
    the runs on other threads (and in workers) stop too, each is left interrupted, the
    command exits 130, and `ido resume` finishes each run."""
    _second_intent(project, "ship-order-2")
    normal = (project / "fakesvc" / "impl.py").read_text()
    (project / "fakesvc" / "impl.py").write_text(HANGING)
    hang = project / "hang"
    hang.mkdir()
    env = {**os.environ, "HANG_DIR": str(hang)}
    command = [sys.executable, "-m", "ido", "run", "ship-order", "ship-order-2"]
    parent = subprocess.Popen(
        [*command, "--processes", str(processes)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(list(hang.iterdir())) < 2 and time.monotonic() < deadline:
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.05)
    workers = {marker.name.split("-")[0] for marker in hang.iterdir()}
    assert len(workers) == processes
    parent.send_signal(signal.SIGINT)
    out, err = parent.communicate(timeout=30)  # not the binding's 60 s, nor its timeout
    assert parent.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err + out
    code, listed = ido("runs", "--format", "json")
    runs = json.loads(listed)
    assert len(runs) == 2 and all(r["outcome"] in (None, "interrupted") for r in runs), (
        runs,
        out,
        err,
    )
    (project / "fakesvc" / "impl.py").write_text(normal)
    for run in runs:
        code, out = ido("resume", run["id"], "--quiet")
        assert code == 0 and "achieved" in out, out


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_processes_must_be_a_positive_count(project: Path, bad: str) -> None:
    code, out = ido("run", "ship-order", "ship-order", "--processes", bad)
    assert code == 2 and "--processes" in out


def test_a_stop_cuts_waits_short_and_a_reset_lets_runs_go_on() -> None:
    import queue
    import threading

    from ido.runtime import stopping

    replies: queue.SimpleQueue[int] = queue.SimpleQueue()
    replies.put(7)
    assert stopping.get(replies, 5.0) == 7
    with pytest.raises(queue.Empty):
        stopping.get(replies, 0.05)
    timer = threading.Timer(0.2, stopping.stop)
    timer.start()
    try:
        started = time.monotonic()
        with pytest.raises(stopping.Stopped):
            stopping.get(replies, 60.0)
        with pytest.raises(stopping.Stopped):
            stopping.sleep(60.0)
        with pytest.raises(stopping.Stopped):
            stopping.check()
        assert time.monotonic() - started < 30  # cut short, not waited out
    finally:
        timer.join()
        stopping.reset()
    stopping.check()
    stopping.sleep(0.01)
