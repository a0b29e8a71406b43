"""`ido run A B … --processes N`: intents shared out over worker processes on one journal."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from ido import fanout
from ido.cli import app
from ido.dealing import DEFAULT_CONCURRENCY, MORE, Dealer, Dealt
from ido.fanout import concurrencies, workers
from ido.planner.cpsat import SMALL

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


def test_workers_are_at_most_the_processes_the_concurrency_and_the_intents() -> None:
    assert workers(2, 100, 2000) == 2
    assert workers(8, 100, 2) == 2
    assert workers(8, 3, 100) == 3
    assert workers(1, 1, 1) == 1


def test_deals_shrink_as_the_intents_run_out_and_each_intent_is_dealt_once() -> None:
    dealer = Dealer(list(range(40)), [5, 5])
    first = dealer.start(0) + dealer.start(1)
    assert first == [(0, "0 1 2 3 4"), (1, "5 6 7 8 9")]  # at most a worker's concurrency
    sizes, dealt = [], [int(i) for _, line in first for i in line.split()]
    while (reply := dealer.ask(len(sizes) % 2)) and reply[0][1]:
        sizes.append(len(reply[0][1].split()))
        dealt += [int(i) for i in reply[0][1].split()]
    assert sizes == [5, 5, 5, 3, 3, 2] + [1] * 7  # a quarter of those left, at most 5
    assert dealt == list(range(40))
    assert dealer.ask(0) == [(0, "")] and dealer.ask(1) == [(1, "")]  # all dealt: the end


def test_an_intent_is_held_back_for_each_worker_still_loading() -> None:
    """With few intents, a worker ready first does not take them all: the last is held
    back, and the worker that asks for it waits until the other is let go (or never will be)."""
    dealer = Dealer([0, 1], [2, 2])
    assert dealer.start(0) == [(0, "0")]
    assert dealer.ask(0) == []  # the one left is held for worker 1: no answer yet
    assert dealer.start(1) == [(1, "1"), (0, "")]  # worker 0 is told there is no more
    dealer = Dealer([0, 1], [2, 2])
    dealer.start(0)
    dealer.ask(0)
    assert dealer.drop(1) == [(0, "1")]  # worker 1 failed to load: worker 0 runs it


def test_concurrency_counts_the_runs_of_every_worker() -> None:
    assert concurrencies(4, 3) == [2, 1, 1]
    assert concurrencies(100, 2) == [50, 50]
    assert concurrencies(1, 1) == [1]


def test_a_question_of_a_worker_that_left_is_forgotten() -> None:
    dealer = Dealer([0, 0, 0], [1, 1, 1])
    assert dealer.start(0) + dealer.start(1) == [(0, "0"), (1, "0")]
    assert dealer.ask(0) + dealer.ask(1) == []  # the one left is held for worker 2
    assert dealer.drop(0) == []  # worker 0 died, asking
    assert dealer.drop(2) == [(1, "0")]  # worker 2 never loads: the live one runs it
    dealer = Dealer([0, 0], [1, 1])
    assert dealer.drop(1) == []  # worker 1 died as it was let go
    assert dealer.start(1) == [] and dealer.ask(1) == []  # it is dealt nothing
    assert dealer.start(0) == [(0, "0")] and dealer.ask(0) == [(0, "0")]


def test_a_worker_being_stopped_takes_no_more_intents() -> None:
    from ido.runtime import stopping

    channel = io.StringIO("0\n")
    dealt = Dealt(["a"], lambda line: None, channel)
    stopping.stop()
    try:
        assert dealt.take() is None and channel.tell() == 0  # not even read
    finally:
        stopping.reset()
    assert dealt.take() == "a"


def _processes_run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ido run ARGS --processes 2` as a process of its own, so that a hang fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "ido", "run", *args, "--processes", "2"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_program_a_binding_runs_cannot_take_the_deals_from_stdin(project: Path) -> None:
    """A binding's child process inherits the worker's descriptors: reading its stdin, it
    must find nothing there, not the command's deals (which would leave the worker waiting
    for them, and the command for the worker)."""
    impl = project / "fakesvc" / "impl.py"
    impl.write_text(
        impl.read_text().replace(
            "def call(ctx):\n",
            "def call(ctx):\n"
            "    import subprocess, sys\n"
            "    got = subprocess.run([sys.executable, '-c', 'import sys; print(sys.stdin.read())'],"
            " capture_output=True, text=True, timeout=20).stdout\n"
            "    assert got == '\\n', repr(got)\n",
        )
    )
    done = _processes_run(project, *["ship-order"] * 6, "--concurrency", "4", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("achieved: run") == 6, done.stdout


def test_the_ask_for_more_is_heard_after_text_without_a_newline(project: Path) -> None:
    impl = project / "fakesvc" / "impl.py"
    impl.write_text(
        impl.read_text().replace(
            "def call(ctx):\n", "def call(ctx):\n    import sys\n    sys.stdout.write('partial ')\n"
        )
    )
    done = _processes_run(project, *["ship-order"] * 6, "--concurrency", "2", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("achieved: run") == 6 and "partial" in done.stdout
    assert "ido worker" not in done.stdout


def test_a_worker_takes_its_deals_from_stdin_and_asks_when_it_has_none_left() -> None:
    said: list[str] = []
    dealt = Dealt(["a", "b", "c"], said.append, io.StringIO("1 0\n2\n\n"))
    assert [dealt.take(), dealt.take()] == ["b", "a"] and said == []  # the first deal, unasked
    assert dealt.take() == "c" and said == [MORE]
    assert dealt.take() is None and said == [MORE] * 2  # an empty deal: no more
    assert dealt.take() is None and len(said) == 2  # and it does not ask again


def test_a_worker_busy_with_a_long_run_is_not_dealt_more(project: Path) -> None:
    """Intents are dealt as workers ask, not split up front: while one worker runs a long
    intent, the other runs all the rest (split round-robin, the long one would wait for
    two of them, and time out)."""
    (project / "fakesvc" / "slow.py").write_text(
        "import os, time\n"
        "def wait(ctx):\n"
        "    log, end = os.environ['FAKESVC_LOG'], time.monotonic() + 60\n"
        "    while time.monotonic() < end:  # until every ship-order has paid and shipped\n"
        "        if os.path.exists(log) and len(open(log).read().splitlines()) >= 10:\n"
        "            return {}\n"
        "        time.sleep(0.02)\n"
        "    raise TimeoutError('the other runs never ended')\n"
    )
    (project / "capabilities" / "wait-long.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: wait-long}\n"
        "spec:\n  provider: clock\n  effects: {job.done: true}\n  timeout: 90s\n"
        "  run: {python: 'fakesvc.slow:wait'}\n"
    )
    (project / "intents" / "long.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: long}\n"
        "spec:\n  goal: ['state.job.done']\n"
    )
    refs = ["long", *["ship-order"] * 5]
    code, out = ido("run", *refs, "--processes", "2", "--concurrency", "2", "--quiet")
    assert code == 0, out
    with sqlite3.connect(project / ".ido" / "ido.db") as db:
        rows = db.execute(
            "SELECT r.intent, json_extract(e.data, '$.process.pid') FROM runs r JOIN events e "
            "ON e.run_id = r.id AND e.kind = 'run_started'"
        ).fetchall()
    db.close()
    long_pid = {pid for intent, pid in rows if intent == "long"}
    quick_pids = {pid for intent, pid in rows if intent == "ship-order"}
    assert len(rows) == 6 and len(long_pid) == 1 and len(quick_pids) == 1
    assert long_pid != quick_pids


def test_intents_are_run_by_worker_processes_on_one_journal(project: Path) -> None:
    _second_intent(project, "ship-order-2")
    refs = ["ship-order", "intents/ship-order-2.yaml", "ship-order", "ship-order-2"]
    code, out = ido("run", *refs, "--processes", "2", "--concurrency", "2")
    assert code == 0, out
    assert out.count("achieved: run ") == 4
    # each intent is named twice: in both workers, each run's lines carry its id's end
    for intent in ("ship-order", "ship-order-2"):
        tagged = re.findall(rf"\[{intent} …([0-9a-f]{{6}})\] decision 1 \(run started\)", out)
        assert len(set(tagged)) == 2, out
    code, listed = ido("runs", "--format", "json")
    runs = json.loads(listed)
    assert sorted(r["intent"] for r in runs) == ["ship-order"] * 2 + ["ship-order-2"] * 2
    assert {r["outcome"] for r in runs} == {"achieved"}
    pids = _started_by(project / ".ido" / "ido.db")
    assert len(set(pids)) == 2 and os.getpid() not in pids  # two workers, not this process
    # every payment and shipment happened once per run, under its own idempotency key
    calls = (project / "calls.log").read_text().splitlines()
    assert len(calls) == 8 and len(set(calls)) == 8


def test_many_intents_in_small_deals_each_run_once(project: Path) -> None:
    """Forty intents over two workers running one and two at a time: many asks, deals of
    one near the end; each intent given is run once, none lost, none twice."""
    _second_intent(project, "ship-order-2")
    refs = ["ship-order", "ship-order-2", "intents/ship-order-2.yaml", "ship-order"] * 10
    code, out = ido("run", *refs, "--processes", "2", "--concurrency", "3", "--quiet")
    assert code == 0, out
    assert out.count("achieved: run ") == 40
    with sqlite3.connect(project / ".ido" / "ido.db") as db:
        rows = db.execute("SELECT intent, outcome FROM runs").fetchall()
    db.close()
    assert sorted(rows) == [("ship-order", "achieved")] * 20 + [("ship-order-2", "achieved")] * 20
    assert len(set(_started_by(project / ".ido" / "ido.db"))) == 2


def test_a_worker_with_a_single_intent_still_names_it(project: Path) -> None:
    _second_intent(project, "ship-order-2")
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2")
    assert code == 0, out
    assert "[ship-order] decision 1 (run started)" in out
    assert "[ship-order-2] decision 1 (run started)" in out


def test_the_exit_code_is_the_worst_outcome_of_all_workers(project: Path) -> None:
    _second_intent(project, "too-cheap", "max_cost: 5.0", "max_cost: 0.1")
    code, out = ido("run", "ship-order", "too-cheap", "--processes", "2", "--quiet")
    assert code == 4, out  # no plan (4) over achieved (0)
    assert "achieved: run" in out and "failed: run" in out


def test_a_journal_from_a_newer_ido_is_refused_once_before_any_run_starts(
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


def test_an_unknown_intent_is_told_once_and_no_run_starts(project: Path) -> None:
    code, out = ido("run", "ship-order", "no-such-intent", "ship-order", "--processes", "2")
    assert code == 2, out
    assert out.count("error:") == 1 and "no-such-intent" in out, out
    assert "Traceback" not in out and "decision" not in out
    assert not (project / ".ido" / "ido.db").exists() or not _started_by(
        project / ".ido" / "ido.db"
    )


def test_a_broken_catalog_is_told_once(project: Path) -> None:
    _second_intent(project, "ship-order-2")
    broken = project / "intents" / "ship-order-2.yaml"
    broken.write_text(broken.read_text() + "\n  nonsense: [\n")
    code, out = ido("run", "ship-order", "ship-order", "--processes", "2")
    assert code == 2, out
    assert out.count("problem found") == 1 and "ship-order-2.yaml:" in out, out
    assert "Traceback" not in out


def test_a_worker_stood_down_leaves_quietly_without_touching_the_journal(
    project: Path,
) -> None:
    """A worker waits for "go" on its stdin once loaded; closed unsaid, it leaves, exit 0."""
    from ido.fanout import READY, worker_command

    journal = project / "never.db"
    done = subprocess.run(
        worker_command(["run", "--journal", str(journal), "--worker", "--", "ship-order"]),
        cwd=project,
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [READY, ""] and done.stderr == ""
    assert not journal.exists()


def _site(folder: Path, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """`code` runs at the start of every Python process started from here (the workers)."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(code)
    monkeypatch.setenv("PYTHONPATH", str(folder))


def test_text_printed_without_a_newline_before_a_worker_is_ready_is_passed_on(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A noisy import glues its text onto the ready line: the worker is still let go (it
    hung for good), and the text is a line of its own."""
    _site(tmp_path / "site", monkeypatch, "import sys\nsys.stdout.write('[noisy] ')\n")
    _second_intent(project, "ship-order-2")
    command = ["run", "ship-order", "ship-order-2", "--processes", "2", "--quiet"]
    done = subprocess.run(  # a process of its own, so that a hang fails the test
        [sys.executable, "-m", "ido", *command],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("achieved: run") == 2
    # the command's own, then one line from each worker
    assert done.stdout.count("[noisy] ") == 3, done.stdout
    assert "waiting for go" not in done.stdout


def test_a_worker_ready_first_is_let_go_and_one_failing_later_leaves_the_runs_to_it(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first worker ready proves the catalog and intents and is let go at once; a worker
    that fails to load after that (for a reason of its own) is told, and the intents held
    back for it are run by the other."""
    marker = tmp_path / "broke"
    _site(
        tmp_path / "site",
        monkeypatch,
        "import os, sys, time\n"
        "if '--worker' in sys.orig_argv or 'ido.spare' in sys.orig_argv:\n"
        f"    try: os.close(os.open({str(marker)!r}, os.O_CREAT | os.O_EXCL))\n"
        "    except FileExistsError: pass\n"
        "    else:  # the first worker: it fails once the other has run a step\n"
        "        end = time.monotonic() + 60\n"
        "        while not os.path.exists(os.environ['FAKESVC_LOG']) and time.monotonic() < end:\n"
        "            time.sleep(0.02)\n"
        "        os.write(2, b'worker broke\\n'); os._exit(3)\n",
    )
    code, out = ido("run", *["ship-order"] * 3, "--processes", "2", "--quiet")
    assert code == 3, out
    assert out.count("achieved: run") == 3 and "worker broke" in out, out
    assert len(set(_started_by(project / ".ido" / "ido.db"))) == 1


def test_a_worker_that_leaves_before_it_is_ready_without_an_error_fails_the_command(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _site(tmp_path / "site", monkeypatch, "import os\nos._exit(0)\n")
    _second_intent(project, "ship-order-2")
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2", "--quiet")
    assert code == 1, out
    assert "ended before it was ready; no run was started" in out
    assert not (project / ".ido" / "ido.db").exists() or not _started_by(
        project / ".ido" / "ido.db"
    )


def test_a_worker_killed_before_it_is_let_go_is_said_to_have_started_no_run(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _site(tmp_path / "site", monkeypatch, "import os, signal\nos.kill(os.getpid(), 15)\n")
    _second_intent(project, "ship-order-2")
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2", "--quiet")
    assert code == 128 + 15, out
    assert "was killed by SIGTERM before it started any run" in out
    assert "ido resume" not in out


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
        time.sleep(0.1)
    workers = {marker.name.split("-")[0] for marker in hang.iterdir()}
    assert len(workers) == processes
    parent.send_signal(signal.SIGINT)
    out, err = parent.communicate(timeout=30)  # not the binding's 60 s, nor its timeout
    assert parent.returncode == 130, (out, err)
    assert err.count("interrupted") == 1 and "Traceback" not in err + out  # not per worker
    code, listed = ido("runs", "--format", "json")
    runs = json.loads(listed)
    assert len(runs) == 2 and all(r["outcome"] in (None, "interrupted") for r in runs), (
        runs,
        out,
        err,
    )
    for run in runs:  # each named, for `ido resume`, with the step it cut short
        assert (
            f"interrupted during step 1 pay-cheap-eu: run {run['id']}; continue it with ido "
            f"resume {run['id']} (step 1 is not idempotent: ido resume settles it" in out
        ), out
    (project / "fakesvc" / "impl.py").write_text(normal)
    for run in runs:
        # The call Ctrl-C cut short is not idempotent and nothing observes what it does:
        # whether it ran is unknown, so a person decides before it is made again.
        code, out = ido("resume", run["id"], "--quiet")
        assert code == 3 and "resume/outcome-unknown" in out, out
        assert ido("approve", run["id"], "--by", "ops")[0] == 0
        code, out = ido("resume", run["id"], "--quiet")
        assert code == 0 and "achieved" in out, out


@pytest.mark.parametrize("idempotent", [False, True])
def test_ctrl_c_during_a_step_names_the_step_and_what_resume_does_with_it(
    project: Path, idempotent: bool
) -> None:
    """Ctrl-C while step 1 pay-cheap-eu waited on its call said "interrupted: run r…;
    continue it with ido resume r…": not which call it cut off, nor whether resuming makes
    it again. Now it names the step and what `ido resume` does with it, and does so."""
    catalog = project / "capabilities" / "catalog.yaml"
    if idempotent:
        run = '  run: {python: "fakesvc.impl:call"}\n'
        catalog.write_text(catalog.read_text().replace(run, run + "  idempotent: true\n", 1))
    normal = (project / "fakesvc" / "impl.py").read_text()
    (project / "fakesvc" / "impl.py").write_text(HANGING)
    hang = project / "hang"
    hang.mkdir()
    command = [sys.executable, "-m", "ido", "run", "ship-order"]
    env = {**os.environ, "HANG_DIR": str(hang)}
    parent = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not list(hang.iterdir()) and time.monotonic() < deadline:
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.1)
    parent.send_signal(signal.SIGINT)
    out, err = parent.communicate(timeout=30)
    assert parent.returncode == 130, (out, err)
    run_id = json.loads(ido("runs", "--format", "json")[1])[0]["id"]
    said = (
        "ido resume makes it again, under the same idempotency key"
        if idempotent
        else "ido resume settles it by the effects it observes, or asks a person when nothing "
        "observes them"
    )
    kind = "idempotent" if idempotent else "not idempotent"
    assert err.strip().splitlines()[-1] == (
        f"interrupted during step 1 pay-cheap-eu: run {run_id}; continue it with ido resume "
        f"{run_id} (step 1 is {kind}: {said})"
    ), err
    (project / "fakesvc" / "impl.py").write_text(normal)
    code, out = ido("resume", run_id, "--quiet")
    if idempotent:  # made again: the run goes on to its goal
        assert code == 0 and "achieved" in out, out
    else:  # nothing observes whether the payment was made: a person decides
        assert code == 3 and "resume/outcome-unknown" in out, out


HOLD = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: hold}
spec:
  provider: holder
  effects: {held: true}
  cost: 0.1
  timeout: 120s
  run: {shell: [sh, -c, 'echo $$ > "$HANG_DIR/$IDO_RUN_ID"; sleep 60; echo done >> "$HANG_DIR/effects"']}
"""


@pytest.mark.parametrize(
    ("intents", "processes", "name"), [(1, 1, "SIGTERM"), (2, 2, "SIGTERM"), (1, 1, "SIGHUP")]
)
def test_sigterm_stops_the_runs_as_ctrl_c_does(
    project: Path, intents: int, processes: int, name: str
) -> None:
    """SIGTERM (how systemd, docker and Kubernetes stop a process) killed ido at once (exit
    -15) and left its shell step's process running, to do its side effect after ido was
    gone. Now it stops the runs as Ctrl-C does: the step's process is killed, each run is
    left interrupted, and the command exits 143 (128 + 15). So does SIGHUP, from a terminal
    closed with ido's output (129)."""
    signum = getattr(signal, name)
    (project / "capabilities" / "hold.yaml").write_text(HOLD)
    names = [f"hold-{i}" for i in range(intents)]
    for name in names:
        (project / "intents" / f"{name}.yaml").write_text(
            f"apiVersion: ido/v1\nkind: Intent\nmetadata: {{name: {name}}}\n"
            "spec:\n  goal: [state.held]\n"
        )
    hang = project / "hang"
    hang.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", *names, "--processes", str(processes)],
        cwd=project,
        env={**os.environ, "HANG_DIR": str(hang)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(list(hang.iterdir())) < intents and time.monotonic() < deadline:
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.1)
    steps = [int(marker.read_text()) for marker in hang.iterdir()]
    assert len(steps) == intents
    if signum == signal.SIGTERM:
        parent.send_signal(signum)
        out, err = parent.communicate(timeout=30)
        assert "Traceback" not in err + out
        # Said once, by the command, not by each worker (nor by none of them).
        assert err.count("interrupted (terminated by SIGTERM)") == 1, err
    else:  # the terminal is gone, and what ido writes goes nowhere
        for stream in (parent.stdout, parent.stderr):
            assert stream is not None
            stream.close()
        parent.send_signal(signum)
        out, err = "", ""
        parent.wait(timeout=30)
    assert parent.returncode == 128 + signum, (out, err)
    for pid in steps:  # killed with the run, and waited for: it does nothing more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    runs = json.loads(ido("runs", "--format", "json")[1])
    assert len(runs) == intents and all(r["outcome"] in (None, "interrupted") for r in runs)
    for run in runs:  # and each says when and why it stopped (its last event was its step's)
        said = f"interrupted by {signal.Signals(signum).name}, cutting short step 1"
        assert said in ido("explain", run["id"])[1]


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


CHAIN_STEP = '''\
"""A step of a chain: logs its call; the third is in flight until its process is stopped
(Ctrl-C has reached the runs), however long the signal takes to come through."""
import os

from ido.runtime import stopping


def step(ctx):
    with open(os.environ["CHAIN_LOG"], "a") as log:
        log.write(f"{ctx.run_id} {ctx.capability}\\n")
    if ctx.capability == "link-3":
        stopping.coming(60)
'''


def _chain(project: Path, steps: int, run: str) -> None:
    """Intents chain-a and chain-b: `steps` capabilities one after another."""
    docs = []
    for i in range(1, steps + 1):
        docs.append(
            "apiVersion: ido/v1\nkind: Capability\n"
            f"metadata: {{name: link-{i}}}\n"
            f'spec:\n  provider: chain\n  requires: ["state.chain.l{i - 1}"]\n  effects: {{chain.l{i}: true}}\n'
            f"  cost: 0.01\n  latency: 10ms\n  timeout: 30s\n  run: {run}\n"
        )
    (project / "capabilities" / "chain.yaml").write_text("---\n".join(docs))
    for name in ("chain-a", "chain-b"):
        (project / "intents" / f"{name}.yaml").write_text(
            "apiVersion: ido/v1\nkind: Intent\n"
            f"metadata: {{name: {name}}}\n"
            "spec:\n  given: {chain: {l0: true}}\n"
            f'  goal: ["state.chain.l{steps}"]\n'
            "  constraints: {max_cost: 5.0, deadline: 60s}\n"
        )
    (project / "fakesvc" / "chain.py").write_text(CHAIN_STEP)


def _interrupt_when(parent: subprocess.Popen[str], ready: Any, group: bool = False) -> None:
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline:
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.02)
    assert ready()
    if group:
        os.killpg(parent.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    else:
        parent.send_signal(signal.SIGINT)


def _outcomes_of_steps(journal: Path) -> list[tuple[str, bool, str | None]]:
    with sqlite3.connect(journal) as db:
        rows = db.execute(
            "SELECT json_extract(data, '$.capability'), json_extract(data, '$.ok'), "
            "json_extract(data, '$.error') FROM events WHERE kind = 'action_finished'"
        ).fetchall()
    db.close()
    return [(c, bool(ok), e) for c, ok, e in rows]


@pytest.mark.parametrize(
    ("intents", "processes"),
    [(["chain-a"], 1), (["chain-a", "chain-b"], 1), (["chain-a", "chain-b"], 2)],
)
def test_ctrl_c_starts_no_new_step(project: Path, intents: list[str], processes: int) -> None:
    """Steps one after another, planned by CP-SAT (whose own Ctrl-C handler used to leave
    SIGINT killing ido outright): after Ctrl-C no run starts another step. The third step
    ends only once its process is stopping (a run alone is stopped on its own thread and
    never sees it end), so no step can be started before Ctrl-C comes through."""
    assert SMALL < 18  # so CP-SAT, not its exact search for a handful, plans the chain
    _chain(project, 18, '{python: "fakesvc.chain:step"}')
    log = project / "chain.log"
    log.touch()
    env = {**os.environ, "CHAIN_LOG": str(log)}
    parent = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", *intents, "--processes", str(processes)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _interrupt_when(parent, lambda: len(log.read_text().splitlines()) >= 3 * len(intents))
    before = len(log.read_text().splitlines())
    out, err = parent.communicate(timeout=60)
    assert parent.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in out + err
    after = len(log.read_text().splitlines())
    assert before == after == 3 * len(intents), (before, after)
    _, listed = ido("runs", "--format", "json")
    assert [r["outcome"] for r in json.loads(listed)] == [None] * len(intents), listed
    # every step that ended is on record as ended, and nothing failed
    assert all(ok for _, ok, _ in _outcomes_of_steps(project / ".ido" / "ido.db"))


@pytest.mark.parametrize("processes", [1, 2])
def test_a_terminal_ctrl_c_leaves_a_shell_step_interrupted_not_failed(
    project: Path, processes: int
) -> None:
    """Ctrl-C in a terminal signals the whole process group, the shell step's process too:
    the step is interrupted with its run (for `ido resume`), not a provider's failure."""
    sleeper = "import os,sys,time; open(os.environ['MARK'] + os.environ['IDO_RUN_ID'], 'w'); time.sleep(30)"
    _chain(project, 2, json.dumps({"shell": ["python", "-c", sleeper]}))
    marks = project / "marks"
    marks.mkdir()
    env = {**os.environ, "MARK": str(marks) + "/"}
    parent = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", "chain-a", "chain-b", "--processes", str(processes)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    _interrupt_when(parent, lambda: len(list(marks.iterdir())) == 2, group=True)
    out, err = parent.communicate(timeout=60)
    assert parent.returncode == 130, (out, err)
    assert "Traceback" not in out + err
    assert _outcomes_of_steps(project / ".ido" / "ido.db") == []
    _, listed = ido("runs", "--format", "json")
    assert [r["outcome"] for r in json.loads(listed)] == [None, None], listed


def test_a_worker_killed_is_named_and_its_signal_is_the_exit_code(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _second_intent(project, "ship-order-2")
    monkeypatch.setenv("IDO_CRASH_AFTER_EVENTS", "3")
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2")
    assert code == 128 + signal.SIGKILL, out
    assert "worker 1 was killed by SIGKILL" in out and "worker 2 was killed by SIGKILL" in out
    # each was dealt one of the two: the message names it, for a user to run it again
    assert "it had been dealt 1 intent (ship-order)" in out
    assert "it had been dealt 1 intent (ship-order-2)" in out


def test_intents_no_worker_was_left_to_take_are_named(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both workers killed with intents still to deal: the message named what each had
    been dealt, never the rest, which had no run and no word."""
    _second_intent(project, "ship-order-2")
    monkeypatch.setenv("IDO_CRASH_AFTER_EVENTS", "3")
    intents = ["ship-order", "ship-order-2", "ship-order", "ship-order-2"]
    code, out = ido("run", *intents, "--processes", "2", "--concurrency", "2")
    assert code == 128 + signal.SIGKILL, out
    assert "not started, no worker was left to run them: ship-order, ship-order-2" in out, out


def test_what_no_worker_was_dealt_is_told_apart() -> None:
    dealer = Dealer([0, 1, 0, 1], [1, 1])
    dealer.start(0)
    dealer.drop(1)
    dealer.drop(0)
    assert dealer.given(0) == [0] and dealer.undealt() == [1, 0, 1]


def test_the_intents_a_killed_worker_was_dealt_are_counted_by_reference() -> None:
    dealer = Dealer([0, 1, 0, 0], [4, 4])
    dealer.start(0)
    dealer.start(1)
    dealer.ask(0)
    dealer.ask(0)
    assert sorted(dealer.given(0) + dealer.given(1)) == [0, 0, 0, 1]
    assert dealer.given(1) == [1]


def test_bytes_that_are_not_utf8_are_passed_on_escaped(project: Path) -> None:
    _second_intent(project, "ship-order-2")
    impl = project / "fakesvc" / "impl.py"
    impl.write_text(impl.read_text() + '\n\nos.write(1, b"caf\\xe9\\n")\n')
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2", "--quiet")
    assert code == 0, out
    assert "caf\\xe9" in out and out.count("achieved: run") == 2


def test_a_stopped_multi_run_does_not_stop_the_next_command(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during `ido run A B` in this process (an embedding, a test) stops those runs
    only: the next command runs."""
    from ido.cli import run as cli_run

    real = cli_run._run_one

    def interrupted(loaded: Any, intent: Any, *args: Any) -> Any:
        if intent.name == "ship-order-2":
            raise KeyboardInterrupt
        return real(loaded, intent, *args)

    _second_intent(project, "ship-order-2")
    monkeypatch.setattr(cli_run, "_run_one", interrupted)
    code, out = ido("run", "ship-order-2", "ship-order", "--concurrency", "1")
    assert code == 130, out
    monkeypatch.setattr(cli_run, "_run_one", real)
    code, out = ido("run", "ship-order", "--quiet")
    assert code == 0, out


def test_a_stopped_multi_run_says_what_each_run_came_to(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during `ido run A B C` said only "interrupted": the outcome of a run that had
    ended, which run was left for `ido resume` and what never started were not told. Now
    each is."""
    from ido.cli import run as cli_run

    real = cli_run._run_one

    def interrupted(
        loaded: Any,
        intent: Any,
        store: Any,
        listener: Any,
        telemetry: Any,
        started: list[str],
        context: Any,
    ) -> Any:
        if intent.name == "ship-order-2":
            started.append("r-cut")  # as `_run_one` names the run it started
            raise KeyboardInterrupt
        return real(loaded, intent, store, listener, telemetry, started, context)

    _second_intent(project, "ship-order-2")
    monkeypatch.setattr(cli_run, "_run_one", interrupted)
    code, out = ido("run", "ship-order", "ship-order-2", "ship-order", "--concurrency", "1")
    assert code == 130, out
    assert re.search(r"^\[ship-order …\w{6}\] achieved: run r\S+, cost 0\.80$", out, re.M), out
    assert "[ship-order-2] interrupted: run r-cut; continue it with ido resume r-cut\n" in out
    started = re.findall(r"run (r\S+) · intent", out)
    assert all(re.search(rf"(achieved|interrupted): run {r}[;,]", out) for r in started), out


def test_a_stopped_run_names_itself_for_ido_resume(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during `ido run A` said only "interrupted"; now it names the run left
    interrupted and how to continue it, with --quiet too."""
    from ido.cli import run as cli_run

    def interrupted(
        loaded: Any,
        intent: Any,
        store: Any,
        listener: Any,
        telemetry: Any,
        started: list[str],
        context: Any,
    ) -> Any:
        assert listener is None  # quiet: no listener, and no progress heartbeat per decision
        started.append("r-cut")  # as `_run_one` names the run it started
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_run, "_run_one", interrupted)
    code, out = ido("run", "ship-order", "--quiet")
    assert code == 130, out
    assert out.endswith("interrupted: run r-cut; continue it with ido resume r-cut\n"), out


def test_a_stopped_multi_run_names_the_intents_it_never_started() -> None:
    """The intents not started are counted by name, after what each run came to."""
    from ido.cli.run import _stopped_lines

    ended = [("a", "a", "r-1")]
    journal = Path(".ido/ido.db")
    assert _stopped_lines(ended, ["b", "b", "c"], journal) == [
        "[a] interrupted: run r-1; continue it with ido resume r-1",
        "not started: b ×2, c",
    ]
    assert not any("not started" in line for line in _stopped_lines(ended, [], journal))


def test_a_stopped_run_names_each_step_it_cut_short_and_what_resume_does_with_each() -> None:
    """Steps side by side cut short together are each named, and told apart by what
    `ido resume` does with them: makes the idempotent ones again, settles the others."""
    from ido.cli.run import _stopped_lines
    from ido.runtime.stopping import cut_short

    stopped = KeyboardInterrupt()
    cut_short(stopped, [(2, "book-hotel", True), (3, "pay", False), (4, "book-car", True)])
    ended = [("a", "a", "r-1")]
    assert _stopped_lines(ended, [], Path(".ido/ido.db"), {"r-1": stopped}) == [
        "[a] interrupted during steps 2 book-hotel, 3 pay and 4 book-car: run r-1; continue "
        "it with ido resume r-1 (steps 2 and 4 are idempotent: ido resume makes them again, "
        "under the same idempotency key; step 3 is not idempotent: ido resume settles it by "
        "the effects it observes, or asks a person when nothing observes them)"
    ]


def test_a_stopped_worker_names_an_intent_it_took_and_never_began(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's intent stopped before its run began was named nowhere: not by the worker
    (it was taken), nor by the command (it was dealt); the worker says it was not started."""
    import io

    from ido import fanout
    from ido.cli import run as cli_run

    def interrupted(
        loaded: Any,
        intent: Any,
        store: Any,
        listener: Any,
        telemetry: Any,
        started: list[str],
        context: Any,
    ) -> Any:
        raise KeyboardInterrupt  # before its run began: no run id

    _second_intent(project, "ship-order-2")
    monkeypatch.setattr(cli_run, "_run_one", interrupted)
    monkeypatch.setattr(fanout, "wait_for_go", lambda meanwhile: io.StringIO("0 1\n\n"))
    code, out = ido("run", "ship-order", "ship-order-2", "--worker", "--concurrency", "1")
    assert code == 130, out
    assert "not started: ship-order, ship-order-2\n" in out, out


def test_outcomes_known_are_handed_over_even_when_stopping() -> None:
    """A stop never drops the outcome of a call that already ended: the run saves it."""
    import threading

    from ido.runtime import stopping
    from ido.runtime.bindings import Outcome
    from ido.runtime.context import ActionContext
    from ido.runtime.environment import _ThreadExecutor

    release = threading.Event()

    class World:
        sleep = staticmethod(time.sleep)

        def call(self, capability: Any, ctx: ActionContext) -> Outcome:
            if ctx.step == 2:
                release.wait(10)
            return Outcome(True)

    def ctx(step: int) -> ActionContext:
        return ActionContext("r", "i", "c", "p", step, 1, f"r/{step}/1", 5.0)

    calls = _ThreadExecutor(World())  # type: ignore[arg-type]
    calls.submit(None, ctx(1))  # type: ignore[arg-type]
    calls.submit(None, ctx(2))  # type: ignore[arg-type]
    stopping.stop()
    try:
        assert [c.step for c, outcome in calls.next() if outcome.ok] == [1]
        with pytest.raises(stopping.Stopped):
            calls.next()  # step 2 is still in flight: now the run stops
    finally:
        stopping.reset()
        release.set()
        calls.close()


def test_a_call_in_flight_is_left_running_when_a_retry_s_backoff_is_over() -> None:
    """Told how long until a retry's backoff is over, the executor hands back nothing then,
    the call in flight still running, and its outcome once it ends: the retry is checked
    and started meanwhile."""
    import threading

    from ido.runtime.bindings import Outcome
    from ido.runtime.context import ActionContext
    from ido.runtime.environment import _ThreadExecutor

    release = threading.Event()

    class World:
        def call(self, capability: Any, ctx: ActionContext) -> Outcome:
            release.wait(10)
            return Outcome(True)

    calls = _ThreadExecutor(World())  # type: ignore[arg-type]
    calls.submit(None, ActionContext("r", "i", "c", "p", 1, 1, "r/1/1", 5.0))  # type: ignore[arg-type]
    try:
        assert calls.next(0.01) == []
        release.set()
        assert [c.step for c, outcome in calls.next() if outcome.ok] == [1]
    finally:
        release.set()
        calls.close()


def test_a_malformed_otel_variable_is_told_once_before_any_worker_starts(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _second_intent(project, "ship-order-2")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    code, out = ido("run", "ship-order", "ship-order-2", "--processes", "2")
    assert code == 2, out
    assert out.count("unknown exporter 'zipkin'") == 1 and "OTEL_TRACES_EXPORTER" in out
    assert not (project / ".ido" / "ido.db").exists()  # nothing started


# Spares: workers started before the command line is parsed (ido.fanout.prestart).


@pytest.mark.parametrize(
    ("argv", "count"),
    [
        (["run", "a", "b", "--processes", "2"], 2),
        (["run", "a", "b", "c", "--processes=3", "--concurrency", "2"], 2),
        (["run", "--journal", "j.db", "-c", "extra", "a", "b", "--processes", "3"], 2),
        (["run", "--processes", "2", "--quiet", "--", "a", "b"], 2),
        (["run", *"abcdefgh", "--processes", "8"], DEFAULT_CONCURRENCY),
        (["run", "a", "--processes", "2"], 0),
        (["run", "a", "b"], 0),
        (["run", "a", "b", "--processes", "two"], 0),
        (["run", "a", "b", "--processes", "2", "--worker"], 0),
        (["run", "a", "b", "--processes", "2", "--help"], 0),
        (["plan", "a", "b", "--processes", "2"], 0),
        ([], 0),
    ],
)
def test_spares_are_started_for_the_workers_the_arguments_plainly_ask_for(
    argv: list[str], count: int
) -> None:
    assert fanout.asked(argv) == count


def test_the_glance_knows_which_options_of_run_take_a_value() -> None:
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    taking = {
        name
        for param in run.params
        if param.param_type_name == "option" and not param.is_flag
        for name in param.opts
    }
    assert taking == fanout.VALUE_OPTIONS


def _processes_started(log: Path) -> dict[int, list[str]]:
    """The interpreter arguments of every Python process started with `_logging_site`."""
    return {int(p.name): json.loads(p.read_text()) for p in log.iterdir()}


def _logging_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str = "") -> Path:
    log = tmp_path / "started"
    log.mkdir()
    _site(
        tmp_path / "site",
        monkeypatch,
        "import json, os, sys\n"
        f"open(os.path.join({str(log)!r}, str(os.getpid())), 'w')"
        ".write(json.dumps(sys.orig_argv))\n" + extra,
    )
    return log


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workers_are_the_spares_started_before_the_parse(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _logging_site(tmp_path, monkeypatch)
    _second_intent(project, "ship-order-2")
    done = _command("run", "ship-order", "ship-order-2", "--processes", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("achieved: run") == 2
    started = _processes_started(log)
    spares = {pid for pid, argv in started.items() if argv[1:] == ["-m", "ido.spare"]}
    assert len(spares) == 2 and len(started) == 3  # the command and two spares, no other
    assert set(_started_by(project / ".ido" / "ido.db")) == spares


def test_spares_leave_when_the_arguments_turn_out_wrong(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started from the glance, then the parse fails: they leave, having run nothing."""
    left = tmp_path / "left"
    left.mkdir()
    log = _logging_site(
        tmp_path,
        monkeypatch,
        "import atexit\n"
        f"atexit.register(lambda: open(os.path.join({str(left)!r}, str(os.getpid())), 'w'))\n",
    )
    _second_intent(project, "ship-order-2")
    done = _command("run", "ship-order", "ship-order-2", "--processes", "2", "--no-such")
    assert done.returncode == 2 and "No such option" in done.stderr
    spares = {pid for pid, argv in _processes_started(log).items() if "ido.spare" in argv}
    assert len(spares) == 2
    deadline = time.monotonic() + 60
    while not spares <= {int(p.name) for p in left.iterdir()}:
        assert time.monotonic() < deadline, "a spare never left"
        time.sleep(0.05)
    assert not (project / ".ido" / "ido.db").exists()


def test_spares_not_claimed_are_stopped(tmp_path: Path) -> None:
    fanout.prestart(["run", "a", "b", "--processes", "2"])
    spares = list(fanout._spares)
    assert len(spares) == 2 and all(spare.poll() is None for spare in spares)
    fanout.dismiss()
    assert fanout._spares == []
    assert all(spare.returncode is not None for spare in spares)  # ended and reaped


def test_spares_a_run_in_this_process_does_not_need_are_stopped_before_it_starts(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-qc extra` is `-q -c extra`: the glance takes `extra` for an intent, and starts two
    spares for a command that runs its one intent in process."""
    (project / "extra").mkdir()
    argv = ["run", "-qc", "extra", "ship-order", "--processes", "2"]
    fanout.prestart(argv)
    spares = list(fanout._spares)
    assert len(spares) == 2
    code, out = ido(*argv)
    assert code == 0, out
    assert fanout._spares == [] and all(spare.returncode is not None for spare in spares)


def test_the_commands_need_no_signal_that_windows_lacks(tmp_path: Path) -> None:
    """SIGHUP is POSIX only; `ido.fanout` is imported by every command."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import signal; del signal.SIGHUP\n"
            "import ido.cli, ido.fanout\n"
            "print(sorted(s.name for s in ido.fanout.FORWARDED))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['SIGINT', 'SIGTERM']"


def test_a_spare_that_died_is_a_worker_that_ended_before_it_was_ready(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _logging_site(
        tmp_path, monkeypatch, "if sys.orig_argv[1:] == ['-m', 'ido.spare']: os._exit(0)\n"
    )
    _second_intent(project, "ship-order-2")
    done = _command("run", "ship-order", "ship-order-2", "--processes", "2", "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ended before it was ready; no run was started" in done.stderr
