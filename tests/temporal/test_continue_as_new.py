"""Long runs on Temporal: a workflow whose history grows long continues as new between
decisions, and the run goes on in the next execution as the same run, nothing done twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ido.journal import SqliteJournal
from tests.temporal.servers import Worker, environment, project_copy

# b fails twice, then succeeds (counted per run: the side log is shared): three decisions,
# and so three points where the run may be handed over.
STEP = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: {name}}}
spec:
  provider: {provider}
  requires: ['{requires}']
  effects: {{{provider}.done: true}}
  cost: 0.1
  timeout: 60s
  idempotent: true
  run: {{shell: [sh, -c, '{script}']}}
"""
LOG = 'echo "{provider} $IDO_IDEMPOTENCY_KEY" >> "$SIDE_LOG"'
FLAKY = '; run=$(echo "$IDO_IDEMPOTENCY_KEY" | cut -d/ -f1); [ $(grep -c "^b $run/" "$SIDE_LOG") -gt 2 ]'
INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: flaky}
spec:
  goal: ["state.a.done", "state.b.done", "state.c.done"]
  limits: {backoff: 10ms}
"""


def _catalog(folder: Path) -> Path:
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    steps = [("step-a", "a", "!state.a.done", LOG), ("flaky-b", "b", "state.a.done", LOG + FLAKY)]
    steps.append(("step-c", "c", "state.b.done", LOG))
    for name, provider, requires, script in steps:
        run = script.format(provider=provider)
        text = STEP.format(name=name, provider=provider, requires=requires, script=run)
        (folder / "capabilities" / f"{name}.yaml").write_text(text)
    (folder / "intents" / "flaky.yaml").write_text(INTENT)
    return folder


def _run(folder: Path, address: str, queue: str, env: dict[str, str]) -> str:
    """`ido run flaky --temporal` to its end; the run's id."""
    command = [sys.executable, "-m", "ido", "run", "flaky", "--temporal", address]
    command += ["--task-queue", queue, "--heartbeat-timeout", "4"]
    done = subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "achieved: run " in done.stdout, done.stdout
    return done.stdout.split("achieved: run ")[1].split(",")[0]


def _journal(folder: Path, run_id: str) -> tuple[list[str], list[Any]]:
    """The run as imported here: its event kinds, and its decisions' triggers and plans."""
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        events = journal.events(run_id)
        assert journal.run(run_id).outcome == "achieved"
    decisions = [
        (e.data["trigger"], [s["capability"] for s in e.data["result"]["plan"]["steps"]])
        for e in events
        if e.kind == "decided"
    ]
    return [e.kind for e in events], decisions


def _steps(side: Path, run_id: str) -> list[str]:
    """The steps the run performed: name and idempotency key without the run id."""
    lines = [line.split() for line in side.read_text().splitlines()]
    return [f"{name} {key.split('/', 1)[1]}" for name, key in lines if key.startswith(run_id)]


def _executions(address: str, run_id: str, at_least: int) -> int:
    """How many executions the run's workflow id has (visibility lags a little)."""
    from temporalio.client import Client

    async def count() -> int:
        client = await Client.connect(address)
        deadline = time.monotonic() + 30
        while True:
            found = [w async for w in client.list_workflows(f'WorkflowId = "{run_id}"')]
            if len(found) >= at_least or time.monotonic() > deadline:
                return len(found)
            await asyncio.sleep(0.2)

    return asyncio.run(count())


def test_a_run_continued_as_new_at_each_decision_ends_as_one_that_never_was(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """With a threshold of one event, the workflow asks for a hand-over at every write:
    the run continues as new before each of its decisions, yet ends with the outcome,
    journal, decisions and steps of the same run pursued in one execution."""
    folder = _catalog(tmp_path / "p")
    side = tmp_path / "side.log"
    env = environment(SIDE_LOG=str(side))
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    worker = workers(folder, queue, env)
    plain = _run(folder, temporal_server, queue, env)
    chained = _run(folder, temporal_server, queue, {**env, "IDO_TEMPORAL_CONTINUE_AFTER": "1"})
    assert _journal(folder, chained) == _journal(folder, plain)
    assert _steps(side, chained) == _steps(side, plain)
    assert [s.split()[0] for s in _steps(side, plain)] == ["a", "b", "b", "b", "c"]
    assert _executions(temporal_server, plain, 1) == 1
    # Before decisions 1, 2 and 3: four executions of one workflow id.
    assert _executions(temporal_server, chained, 4) == 4
    log = worker.log.read_text()
    assert log.count(f"run {chained} (flaky) handed over") == 3, log
    assert log.count(f"carried on run {chained}") == 3, log
    assert f"handed over: run {plain}" not in log and "Traceback" not in log, log
    explained = subprocess.run(
        [sys.executable, "-m", "ido", "explain", chained],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert f"run {chained} · intent flaky · achieved" in explained.stdout, explained.stderr
    assert "resumed" not in explained.stdout  # nothing of the hand-overs shows


def test_a_worker_killed_at_a_hand_over_leaves_the_run_to_another_without_a_step_twice(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """The worker is killed (SIGKILL) as soon as it has handed the run over after b's
    first failure: another worker takes the run up in the workflow's next execution.
    Step a, done before, is not done again, nor c; a b cut short by the kill is performed
    again only under its own idempotency key."""
    folder = _catalog(tmp_path / "p")
    side = tmp_path / "side.log"
    env = environment(SIDE_LOG=str(side), IDO_TEMPORAL_CONTINUE_AFTER="1")
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    first = workers(folder, queue, env)
    command = [sys.executable, "-m", "ido", "run", "flaky", "--temporal", temporal_server]
    command += ["--task-queue", queue, "--heartbeat-timeout", "4"]
    client = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while first.log.read_text().count("handed over") < 2:  # before decision 2
            assert client.poll() is None, client.communicate()
            assert time.monotonic() < deadline, first.log.read_text()
            time.sleep(0.01)
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        second = workers(folder, queue, env)
        out, err = client.communicate(timeout=180)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err + out
    run_id = out.split("achieved: run ")[1].split(",")[0]
    second.wait_for(f"run {run_id} (flaky) achieved")
    steps = _steps(side, run_id)
    names = [s.split()[0] for s in steps]
    assert names.count("a") == 1 and names.count("c") == 1, steps
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        events = journal.events(run_id)
    kinds = [e.kind for e in events]
    assert kinds.count("run_started") == 1 and kinds[-1] == "run_finished", kinds
    ended = [e.data["step"] for e in events if e.kind == "action_finished"]
    assert len(ended) == len(set(ended)), ended  # each step ended once
    keys = [s.split()[1] for s in steps if s.startswith("b ")]
    started = {
        e.data["idempotency_key"].split("/", 1)[1] for e in events if e.kind == "action_started"
    }
    assert set(keys) <= started, (keys, started)
    assert len(keys) - len(set(keys)) <= 1, keys  # at most the one cut short, again


def test_a_blocked_run_continues_as_new_only_once_its_verdict_came(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """A run handed over before every decision blocks for approval: `ido run` says so, as
    in one execution; approved here and resumed, the workflow continues as new after the
    wait, not during it, and the run is achieved with each step performed once."""
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    workers(project_copy(tmp_path / "worker"), queue)
    here = project_copy(tmp_path / "client")
    env = environment(IDO_TEMPORAL_CONTINUE_AFTER="1")

    def ido(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ido", *args]
        return subprocess.run(
            command, cwd=here, env=env, capture_output=True, text=True, timeout=180, check=False
        )

    address = ["--temporal", temporal_server]
    done = ido("run", "fulfil-large-order", *address, "--task-queue", queue)
    assert done.returncode == 3, done.stdout + done.stderr
    run_id = done.stdout.split("blocked: run ")[1].split(",")[0]
    waited = _executions(temporal_server, run_id, 2)  # handed over before decision 1
    assert ido("approve", run_id, "--by", "alice").returncode == 0
    resumed = ido("resume", run_id, *address)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"achieved: run {run_id}" in resumed.stdout
    assert _executions(temporal_server, run_id, waited + 1) > waited
    with SqliteJournal(here / ".ido" / "ido.db") as journal:
        kinds = [e.kind for e in journal.events(run_id)]
    assert kinds.count("approval_given") == 1 and kinds.count("run_resumed") == 1, kinds
    assert kinds.count("action_finished") == 4, kinds  # each step once, after the approval
