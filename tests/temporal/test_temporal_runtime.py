"""The Temporal runtime against a real dev server: runs pursued by `ido worker`
processes, their journals held by the workflow and imported into the local journal."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from ido.errors import JournalError
from ido.journal import SqliteJournal
from tests.temporal.servers import Worker, environment, free_port, project_copy

STEPS = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: step-{name}}}
spec:
  provider: {name}
  requires: [{requires}]
  effects: {{{name}.done: true}}
  cost: 0.1
  timeout: 60s
  idempotent: true
  run: {{shell: [sh, -c, '{script}']}}
"""
LOG = 'echo "{name} $IDO_IDEMPOTENCY_KEY" >> "$SIDE_LOG"'
WAIT = '; while [ ! -f "$GO" ]; do sleep 0.05; done'
INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: three-steps}
spec:
  goal: ["state.a.done", "state.b.done", "state.c.done"]
"""


def _ido(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env or environment(),
        timeout=120,
        check=False,
    )


def _queue() -> str:
    return f"ido-test-{uuid.uuid4().hex[:8]}"


def test_the_demo_intent_is_achieved_by_a_worker_and_explained_here(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """A worker in one folder pursues the run; `ido run --temporal` in another waits for
    it (while no worker runs yet too), imports its events, and explain, replay and runs
    read it as a local run."""
    queue = _queue()
    here = project_copy(tmp_path / "client")
    command = [sys.executable, "-m", "ido", "run", "fulfil-order", "--temporal", temporal_server]
    client = subprocess.Popen(
        [*command, "--task-queue", queue],
        cwd=here,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        said = [client.stdout.readline(), client.stdout.readline()]  # (EOF: "")
        assert "no worker answers for run" in said[1], said  # not a timeout's error
        worker = workers(project_copy(tmp_path / "worker"), queue)
        out, err = client.communicate(timeout=90)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err + out
    assert "achieved: run r" in out
    run_id = out.split("achieved: run ")[1].split(",")[0]
    worker.wait_for(f"run {run_id} (fulfil-order) achieved")
    explained = _ido(here, "explain", "last")
    assert explained.returncode == 0, explained.stderr
    assert f"run {run_id} · intent fulfil-order · achieved" in explained.stdout
    for step in ("reserve-inventory", "charge-stripe-eu", "notify-email"):
        assert step in explained.stdout
    replayed = _ido(here, "replay", run_id)
    assert replayed.returncode == 0 and "re-decided the same" in replayed.stdout, replayed.stdout
    assert not (tmp_path / "worker" / ".ido").exists()  # the worker journals to the workflow
    # Started without waiting: in the local journal once pulled, as the workflow holds it.
    address = ["--temporal", temporal_server]
    started = _ido(here, "run", "fulfil-order", *address, "--task-queue", queue, "--no-wait")
    assert started.returncode == 0, started.stderr
    later = started.stdout.split("started run ")[1].split()[0]
    worker.wait_for(f"run {later} (fulfil-order) achieved")
    pulled = _ido(here, "temporal", "pull", later, *address)
    assert pulled.returncode == 0, pulled.stderr
    assert f"run {later}: achieved" in pulled.stdout
    worker.stop()  # Ctrl-C: the worker leaves cleanly
    assert worker.process.returncode == 0 and "worker stopped" in worker.log.read_text()


def _three_steps(folder: Path) -> Path:
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    steps = [("a", "'!state.a.done'", LOG), ("b", "'state.a.done'", LOG + WAIT)]
    steps.append(("c", "'state.b.done'", LOG))
    for name, requires, script in steps:
        text = STEPS.format(name=name, requires=requires, script=script.format(name=name))
        (folder / "capabilities" / f"step-{name}.yaml").write_text(text)
    (folder / "intents" / "three-steps.yaml").write_text(INTENT)
    return folder


def _run_to_step_b(
    folder: Path, env: dict[str, str], address: str, queue: str, heartbeat: str, side: Path
) -> subprocess.Popen[str]:
    """`ido run three-steps --temporal` started, once its step b has started (in `side`);
    the client is killed if it never does."""
    command = [sys.executable, "-m", "ido", "run", "three-steps", "--temporal", address]
    command += ["--task-queue", queue, "--heartbeat-timeout", heartbeat]
    client = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (side.exists() and "b " in side.read_text()):
            assert client.poll() is None, client.communicate()
            assert time.monotonic() < deadline, "step b never started"
            time.sleep(0.05)
    except BaseException:
        if client.poll() is None:
            client.kill()
        raise
    return client


def test_a_paused_workers_run_is_finished_by_another_and_the_paused_one_stops(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """Pause the worker (SIGSTOP) in the middle of step b: once its heartbeat is missed,
    another worker resumes the run from the workflow's journal. Step a is not done again;
    b, an idempotent step in flight, is performed again under the same idempotency key.
    The paused worker, let go on (a zombie: slow, not dead), finds its next write refused
    and stops there: it never performs step c."""
    folder = _three_steps(tmp_path / "p")
    side, go = tmp_path / "side.log", tmp_path / "go"
    env = environment(SIDE_LOG=str(side), GO=str(go))
    queue = _queue()
    first = workers(folder, queue, env)
    # Short, for the test to be quick, yet long enough that the second worker's heartbeats
    # come in time on a busy machine: given up too, its run would go back to the first.
    client = _run_to_step_b(folder, env, temporal_server, queue, "4", side)
    try:
        first.process.send_signal(signal.SIGSTOP)
        second = workers(folder, queue, env)
        # The paused worker's pending polls may each be handed an attempt first (each
        # given up in turn when its heartbeat is missed).
        second.wait_for("resumed run ", 120)
        first.process.send_signal(signal.SIGCONT)
        go.touch()
        out, err = client.communicate(timeout=90)
    finally:
        first.process.send_signal(signal.SIGCONT)
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err + out
    run_id = out.split("achieved: run ")[1].split(",")[0]
    second.wait_for(f"resumed run {run_id}")
    # Each attempt it holds (the server may have handed it the next one while it was
    # paused) stops: its next write refused.
    deadline = time.monotonic() + 60
    while True:
        log = first.log.read_text()
        ends = [e.splitlines()[0] for e in log.split(f"run {run_id} (three-steps) ")[1:]]
        if len(ends) >= len(re.findall(f"(?:took|resumed) run {run_id}", log)):
            break
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    assert ends and all(e.startswith("stopped: ") for e in ends), ends
    assert "Traceback" not in log, log
    lines = side.read_text().splitlines()
    names = [line.split()[0] for line in lines]
    assert names.count("a") == 1 and names.count("c") == 1, lines
    assert names.count("b") == 2, lines  # in flight when paused: performed again...
    keys = {line.split()[1] for line in lines if line.startswith("b ")}
    assert len(keys) == 1, lines  # ...under the same idempotency key
    explained = _ido(folder, "explain", run_id)
    assert f"run {run_id} · intent three-steps · achieved" in explained.stdout, explained.stderr
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:  # imported as it happened
        kinds = [e.kind for e in journal.events(run_id)]
    assert kinds.count("run_resumed") == 1 and kinds[-1] == "run_finished", kinds


def test_a_worker_stopped_mid_step_leaves_its_run_to_another_worker_at_once(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """Ctrl-C of a worker in the middle of a step: the step's process is killed, the
    worker says it left the run and stops (exit 0, no traceback), and its workflow passes
    the run on at once, not after the heartbeat timeout (here longer than the test waits):
    another worker resumes it and performs the step again under the same key."""
    folder = _three_steps(tmp_path / "p")
    side, go = tmp_path / "side.log", tmp_path / "go"
    env = environment(SIDE_LOG=str(side), GO=str(go))
    queue = _queue()
    first = workers(folder, queue, env)
    client = _run_to_step_b(folder, env, temporal_server, queue, "600", side)
    try:
        first.process.send_signal(signal.SIGINT)
        assert first.process.wait(60) == 0, first.log.read_text()
        go.touch()
        second = workers(folder, queue, env)
        out, err = client.communicate(timeout=120)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err + out
    run_id = out.split("achieved: run ")[1].split(",")[0]
    log = first.log.read_text()
    assert f"run {run_id} (three-steps) left to another worker" in log, log
    assert "worker stopped" in log and "Traceback" not in log, log
    second.wait_for(f"resumed run {run_id}")
    lines = side.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["a", "b", "b", "c"], lines


def test_a_worker_on_another_catalog_refuses_the_run(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """A worker whose catalog differs from the client's would decide on other facts: the
    run is refused, naming the intent, not pursued."""
    queue = _queue()
    elsewhere = project_copy(tmp_path / "worker")
    dhl = elsewhere / "capabilities" / "orders" / "ship-dhl.yaml"
    dhl.write_text(dhl.read_text().replace("cost: 2.50", "cost: 2.40"))
    workers(elsewhere, queue)
    here = project_copy(tmp_path / "client")
    done = _ido(here, "run", "fulfil-order", "--temporal", temporal_server, "--task-queue", queue)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "intent fulfil-order" in done.stderr and "catalog" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_run_on_temporal_plans_with_the_planner_given(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """`ido run --temporal … --planner search`: the worker, which finds the intent by its
    name in its own catalog (cpsat), plans with search, and the run records it."""
    queue = _queue()
    workers(project_copy(tmp_path / "worker"), queue)
    here = project_copy(tmp_path / "client")
    address = ["--temporal", temporal_server, "--task-queue", queue]
    done = _ido(here, "run", "fulfil-order", *address, "--planner", "search")
    assert done.returncode == 0, done.stdout + done.stderr
    explained = _ido(here, "explain", "last")
    assert "decision 1 · trigger: run started · planner search" in explained.stdout


def test_a_quiet_run_on_temporal_prints_only_its_outcome(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """`ido run --temporal … -q` printed the run's start and every line of the wait, as
    without -q: quiet, it prints the outcome, its reason and how to explain it, as a
    quiet local run does."""
    queue = _queue()
    workers(project_copy(tmp_path / "worker"), queue)
    here = project_copy(tmp_path / "client")
    address = ["--temporal", temporal_server, "--task-queue", queue]
    done = _ido(here, "run", "fulfil-order", *address, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"achieved: run r\S+, cost \S+", lines[0]), done.stdout
    assert lines[-1].startswith("why: ido explain r"), done.stdout
    assert len(lines) <= 3 and "started run" not in done.stdout, done.stdout


def test_a_run_on_temporal_that_finds_no_plan_exits_4_as_a_local_one(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """A budget below every plan: the run fails at its first decision, nothing performed,
    and `ido run --temporal` exits 4 (no plan), as a local run does, not 1 (a failure)."""
    queue = _queue()
    worker, here = project_copy(tmp_path / "worker"), project_copy(tmp_path / "client")
    for folder in (worker, here):  # one catalog on both sides, or the worker refuses it
        intent = folder / "intents" / "fulfil-order.yaml"
        intent.write_text(intent.read_text().replace("max_cost: 5.0", "max_cost: 0.1"))
    workers(worker, queue)
    address = ["--temporal", temporal_server, "--task-queue", queue]
    done = _ido(here, "run", "fulfil-order", *address, "-q")
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stdout.startswith("failed: run ") and "max_cost" in done.stdout, done.stdout


def test_an_unreachable_server_is_named_without_a_traceback(tmp_path: Path) -> None:
    here = project_copy(tmp_path / "client")
    address = f"127.0.0.1:{free_port()}"
    done = _ido(here, "run", "fulfil-order", "--temporal", address)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"cannot reach the Temporal server at {address}" in done.stderr
    assert "Traceback" not in done.stderr


def test_resume_temporal_of_a_run_made_here_says_to_resume_it_here(tmp_path: Path) -> None:
    """A local run resumed with --temporal was looked for on the server, which said only
    "run …'s workflow is not open there: workflow not found for ID: …"."""
    here = project_copy(tmp_path / "client")
    ran = _ido(here, "run", "fulfil-large-order")
    assert ran.returncode == 3, ran.stdout + ran.stderr
    address = f"127.0.0.1:{free_port()}"  # nothing there: it is not asked
    done = _ido(here, "resume", "last", "--temporal", address)
    run_id = ran.stdout.split("blocked: run ")[1].split(",")[0]
    assert done.stderr == (
        f"error: run {run_id} was run here, not on a Temporal server: continue it with "
        f"ido resume {run_id} (without --temporal)\n"
    )
    assert done.returncode == 2


def test_a_bad_address_or_namespace_is_said_without_a_traceback(
    project: Path, temporal_server: str
) -> None:
    """`--temporal` is HOST:PORT (exit 2, as any bad flag, for each command taking it);
    a namespace the server lacks is said at once (exit 1), by a worker too."""
    from typer.testing import CliRunner

    from ido.cli import app

    def ido(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(app, list(args))
        assert done.exception is None or isinstance(done.exception, SystemExit), done.output
        return done.exit_code, done.output

    wrong = [(["run", "fulfil-order"], a) for a in ("127.0.0.1:99999", "http://h:1", "h")]
    wrong += [(["worker"], ""), (["temporal", "pull", "r1"], "h:0")]
    wrong += [(["resume", "last"], "h:")]
    for command, address in wrong:
        code, said = ido(*command, "--temporal", address)
        assert code == 2 and "is not HOST:PORT" in said, (command, address, said)
    nowhere = ["--temporal", temporal_server, "--namespace", "no-such-namespace"]
    for command in (["run", "ship-order"], ["worker"], ["temporal", "pull", "r1"]):
        code, said = ido(*command, *nowhere)
        assert code == 1 and "has no namespace no-such-namespace" in said, (command, said)


def test_a_blocked_run_waits_in_its_workflow_and_goes_on_once_approved_here(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """`ido run --temporal` of a run that needs approval says blocked, with its requests
    in the local journal; `ido approve` answers it there, and `ido resume --temporal` sends
    the verdict to the workflow, whose next attempt achieves the run. A local resume (or
    the runner) must not take the run over from its workflow."""
    queue = _queue()
    worker = workers(project_copy(tmp_path / "worker"), queue)
    here = project_copy(tmp_path / "client")
    address = ["--temporal", temporal_server]
    done = _ido(here, "run", "fulfil-large-order", *address, "--task-queue", queue)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "blocked: run r" in done.stdout and "needs approval" in done.stdout
    run_id = done.stdout.split("blocked: run ")[1].split(",")[0]
    _send_stale_write(temporal_server, run_id)
    listed = _ido(here, "approvals")
    assert run_id in listed.stdout and "charge-stripe-eu" in listed.stdout, listed.stdout
    approved = _ido(here, "approve", run_id, "--by", "alice")
    assert approved.returncode == 0, approved.stderr
    assert f"ido resume {run_id} --temporal {temporal_server}" in approved.stdout
    here_too = _ido(here, "resume", run_id)
    assert here_too.returncode == 2 and "pursued on the Temporal server" in here_too.stderr
    runner = _ido(here, "runner", "--once")  # approved, yet not the runner's to continue
    assert runner.returncode == 0 and run_id not in runner.stdout + runner.stderr, runner.stdout
    resumed = _ido(here, "resume", run_id, *address)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"achieved: run {run_id}" in resumed.stdout
    worker.wait_for(f"resumed run {run_id}")
    with SqliteJournal(here / ".ido" / "ido.db") as journal:
        kinds = [e.kind for e in journal.events(run_id)]
        assert journal.run(run_id).outcome == "achieved"
    assert kinds.count("approval_given") == 1 and kinds.count("run_resumed") == 1, kinds
    assert kinds.count("action_finished") == 4, kinds  # each step once, after the approval
    explained = _ido(here, "explain", run_id)
    assert "alice" in explained.stdout, explained.stdout
    assert "stale" not in str(_workflow_ops(temporal_server, run_id))  # dropped


STALE = ["append", ["", "stale", "2026-01-01T00:00:00.000+00:00", {}]]


def _send_stale_write(address: str, run_id: str) -> None:
    """A write of an attempt the workflow gave up (a worker only slow, not dead): refused,
    and its sender told so (it must stop before its next side effect)."""
    from temporalio.client import Client

    from ido.temporal.client import record
    from ido.temporal.codec import CONVERTER

    async def send() -> None:
        client = await Client.connect(address, data_converter=CONVERTER)
        handle = client.get_workflow_handle(run_id)
        with pytest.raises(JournalError, match="attempt 0 was given up; no attempt carries"):
            await record(handle, 0, 0, STALE)

    asyncio.run(send())


def _workflow_ops(address: str, run_id: str) -> list[object]:
    from temporalio.client import Client

    from ido.temporal.codec import CONVERTER

    async def ask() -> list[object]:
        client = await Client.connect(address, data_converter=CONVERTER)
        result = await client.get_workflow_handle(run_id).result()
        return list(result["ops"])

    return asyncio.run(ask())
