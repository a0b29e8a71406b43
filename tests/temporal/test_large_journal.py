"""A run's journal larger than the 2 MB Temporal takes per payload: ido's codec sends it
compressed (each attempt's input, a continued execution's, the workflow's result), so a
run whose observations weigh megabytes ends on a worker as it does locally; one whose
journal does not compress below the limit that remains stops, saying so."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker as SdkWorker

from ido.journal import SqliteJournal
from ido.temporal.codec import CONVERTER
from ido.temporal.worker import sandbox
from ido.temporal.workflow import NAME, PURSUE, IdoRun
from tests.temporal.servers import Worker, environment

STEP = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: step-{name}}}
spec:
  provider: {name}
  requires: ['{requires}']
  effects: {{{name}.done: true}}
  cost: 0.1
  timeout: 60s
  idempotent: true
  run: {{shell: [sh, -c, 'true']}}
"""
OBSERVER = """\
apiVersion: ido/v1
kind: Observer
metadata: {{name: {name}}}
spec: {{python: "stock:{name}", at: {name}}}
"""
INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: big}
spec:
  goal: ["state.a.done", "state.b.done", "state.c.done"]
  observers: [rows]
"""
# An observation of 0.6 MB of JSON: rows like an inventory API's, which compress as such
# replies do; NOISE makes it 0.7 MB of random bytes in base64, which do not. The run
# journals it with its state before each step: four times, and once more as the report.
STOCK = """\
import base64, os, random

def rows():
    if os.environ.get("NOISE"):
        return {"blob": base64.b64encode(random.Random(7).randbytes(520_000)).decode()}
    return {"rows": [{"sku": f"sku-{i:06d}", "qty": i % 97, "bin": f"B{i % 40}"}
                     for i in range(12_000)]}
"""


def _catalog(folder: Path) -> Path:
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    for name, requires in (("a", "!state.a.done"), ("b", "state.a.done"), ("c", "state.b.done")):
        text = STEP.format(name=name, requires=requires)
        (folder / "capabilities" / f"step-{name}.yaml").write_text(text)
    (folder / "capabilities" / "rows.yaml").write_text(OBSERVER.format(name="rows"))
    (folder / "intents" / "big.yaml").write_text(INTENT)
    (folder / "stock.py").write_text(STOCK)
    return folder


def _ido(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _journal(folder: Path, run_id: str) -> tuple[list[str], list[Any], list[Any], int]:
    """The run as journaled here: its event kinds, its decisions' triggers and plans, its
    observers' reports, and the weight of its events' data as JSON."""
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        events = journal.events(run_id)
        assert journal.run(run_id).outcome == "achieved"
    decisions = [
        (e.data["trigger"], [s["capability"] for s in e.data["result"]["plan"]["steps"]])
        for e in events
        if e.kind == "decided"
    ]
    reports = [e.data for e in events if e.kind.startswith("observ")]  # and the states
    weight = sum(len(json.dumps(e.data)) for e in events)
    return [e.kind for e in events], decisions, reports, weight


def test_a_run_whose_journal_weighs_megabytes_ends_on_a_worker_as_it_does_locally(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """3 MB of observations journaled, far over Temporal's 2 MB per payload: the run is handed
    over before each decision (the whole journal carried into each execution), and
    `ido run --temporal` imports the same journal a local run writes."""
    folder = _catalog(tmp_path / "p")
    env = environment(IDO_TEMPORAL_CONTINUE_AFTER="1")
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    worker = workers(folder, queue, env)
    address = ["--temporal", temporal_server, "--task-queue", queue]
    remote = _ido(folder, env, "run", "big", *address)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    local = _ido(folder, env, "run", "big")
    assert local.returncode == 0, local.stdout + local.stderr
    there = _journal(folder, remote.stdout.split("achieved: run ")[1].split(",")[0])
    here = _journal(folder, local.stdout.split("achieved: run ")[1].split(",")[0])
    assert there[:3] == here[:3]
    assert len(there[2]) == 4 and there[3] > 2_500_000, there[3]
    log = worker.log.read_text()
    assert "handed over" in log and "Traceback" not in log, log


def test_a_journal_that_does_not_compress_below_the_limit_stops_the_run_saying_so(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """Random bytes compress to no less: past 1.5 MB of writes as sent, the workflow
    refuses the next write, the run stops before its next step, and `ido run` says why."""
    folder = _catalog(tmp_path / "p")
    env = environment(NOISE="1")
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    workers(folder, queue, env)
    done = _ido(folder, env, "run", "big", "--temporal", temporal_server, "--task-queue", queue)
    assert done.returncode == 1, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert re.search(
        r"the run.s workflow history is full \(1\.\d MB of writes compressed;", said
    ), said
    assert "a run this long must run locally (ido run)" in said and "Traceback" not in said
    # Its workflow, replayed to answer (it failed from the attempt's refusal, which its
    # history holds, not from what only the refusing worker knew), gives what it holds.
    run_id = said.split("started run ")[1].split()[0]
    pulled = _ido(folder, env, "temporal", "pull", run_id, "--temporal", temporal_server)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        kinds = [e.kind for e in journal.events(run_id)]
    assert kinds.count("observed") == 1 and "action_finished" in kinds, kinds


def test_a_worker_without_the_codec_leaves_a_compressed_run_to_one_with_it(
    temporal_server: str,
) -> None:
    """An older ido's worker (no codec) cannot read a run whose input came compressed:
    its workflow task fails, saying the encoding, and nothing of the run is done or
    written; a worker of this ido then carries the run, its journal whole."""
    asyncio.run(_old_worker(temporal_server))


async def _old_worker(address: str) -> None:
    @activity.defn(name=PURSUE)
    async def pursue(task: dict[str, Any]) -> dict[str, Any]:
        return {"run_id": task["run_id"], "outcome": "achieved", "held": len(task["ops"])}

    old = await Client.connect(address)  # the SDK's converter alone, as before the codec
    new = await Client.connect(address, data_converter=CONVERTER)
    queue, run_id = f"ido-old-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    ops = [["start_run", [run_id, "i", "2026-01-01T00:00:00.000+00:00", {"x": "y" * 5_000}]]]
    task = {"run_id": run_id, "intent": "i", "catalog_digest": "d", "carried": {"ops": ops}}
    runner = sandbox()
    async with SdkWorker(old, task_queue=queue, workflows=[IdoRun], activities=[pursue],
                      workflow_runner=runner):  # fmt: skip
        handle = await new.start_workflow(NAME, task, id=run_id, task_queue=queue)
        failed = ""
        for _ in range(300):
            events = [e async for e in handle.fetch_history_events()]
            for e in events:
                if e.HasField("workflow_task_failed_event_attributes"):
                    failed = str(e.workflow_task_failed_event_attributes.failure)
            if failed:
                break
            await asyncio.sleep(0.1)
        assert "Unknown payload encoding binary/zlib" in failed, failed
        assert not any(e.HasField("activity_task_scheduled_event_attributes") for e in events)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    async with SdkWorker(new, task_queue=queue, workflows=[IdoRun], activities=[pursue],
                      workflow_runner=runner):  # fmt: skip
        result = await asyncio.wait_for(handle.result(), 60)
    assert result["outcome"] == "achieved" and result["held"] == 1 and result["ops"] == ops
