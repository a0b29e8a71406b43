"""The workflow weighs each write once, with what its update's validator made of it, and
a worker that replays the history (which runs no validator) weighs the writes the same."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Replayer
from temporalio.worker import Worker as SdkWorker

from ido.errors import JournalError
from ido.temporal.client import journal_of, record
from ido.temporal.codec import CONVERTER
from ido.temporal.worker import sandbox
from ido.temporal.workflow import HANDED_OVER, MOST_BYTES, NAME, PURSUE, IdoRun


def _observed(rows: int) -> list[Any]:
    data = [{"sku": f"sku-{i:06d}", "qty": i % 97, "bin": f"B{i % 40}"} for i in range(rows)]
    return ["append", ["r", "observed", "2026-12-07T08:00:00.000+00:00", {"rows": data}]]


def test_a_replayed_workflow_weighs_its_writes_as_the_one_that_took_them(
    temporal_server: str,
) -> None:
    """Small writes, and one whose JSON no longer fits as it is (weighed compressed in the
    validator, its stream handed to the handler): the weight the workflow holds is the
    one a replay (no validators, no cache) makes of the same writes."""
    asyncio.run(_weighed(temporal_server))


async def _weighed(address: str) -> None:
    client = await Client.connect(address, data_converter=CONVERTER)
    queue, run_id = f"ido-weigh-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    ops = [_observed(20), _observed(12_000), _observed(40_000), _observed(25)]
    assert len(json.dumps(ops[2], separators=(",", ":"))) > MOST_BYTES  # (not as it is)
    release = asyncio.Event()

    @activity.defn(name=PURSUE)
    async def pursue(task: dict[str, Any]) -> dict[str, Any]:
        handle = client.get_workflow_handle(task["run_id"])
        for at, op in enumerate(ops):
            await record(handle, task["attempt"], at, op)
        await release.wait()
        return {"run_id": task["run_id"], "outcome": "achieved"}

    task = {"run_id": run_id, "intent": "i", "catalog_digest": "d"}
    acts = SdkWorker(client, task_queue=queue, activities=[pursue])
    cached = SdkWorker(client, task_queue=queue, workflows=[IdoRun], workflow_runner=sandbox())
    async with acts:
        async with cached:
            handle = await client.start_workflow(NAME, task, id=run_id, task_queue=queue)
            for _ in range(600):
                held = await journal_of(handle)
                if len(held["ops"]) == len(ops):
                    break
                await asyncio.sleep(0.1)
            taken = held["weight"]
        replaying = SdkWorker(
            client,
            task_queue=queue,
            workflows=[IdoRun],
            workflow_runner=sandbox(),
            max_cached_workflows=0,  # every task replays the history from its start
        )
        async with replaying:
            replayed = (await journal_of(handle))["weight"]
            release.set()
            await asyncio.wait_for(handle.result(), 60)
    assert held["ops"] == ops
    assert taken == replayed == IdoRun({"carried": {"ops": ops}}).weight
    assert 0 < taken < MOST_BYTES


def _step(i: int) -> list[Any]:
    return ["append", ["r", "step", "2026-12-07T08:00:00.000+00:00", {"i": i}]]


def _hashes(rows: int, seed: int, start: int = 0) -> list[Any]:
    data = [hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(start, rows)]
    return ["append", ["r", "observed", "2026-12-07T08:00:00.000+00:00", {"rows": data}]]


def test_the_histories_of_a_run_with_refused_repeated_and_racing_writes_replay(
    temporal_server: str,
) -> None:
    """Each validator hands its work to its handler: histories where some validators
    refused (an attempt given up, a write out of place, another write at a held place,
    one past the cap), some writes came again (same update id, or another), two raced for
    one place, the run continued as new, and another worker with no cache took over after
    an attempt died, replay without a nondeterminism error, and weigh as they were taken."""
    asyncio.run(_raced(temporal_server))


async def _raced(address: str) -> None:
    client = await Client.connect(address, data_converter=CONVERTER)
    queue, run_id = f"ido-race-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    refused: list[str] = []
    attempts: list[int] = []
    weights: list[tuple[int, int]] = []

    async def send(handle: Any, attempt: int, at: int, op: list[Any]) -> bool:
        try:
            await record(handle, attempt, at, op)
        except JournalError as exc:
            refused.append(str(exc))
            return False
        return True

    @activity.defn(name=PURSUE)
    async def pursue(task: dict[str, Any]) -> dict[str, Any]:
        handle = client.get_workflow_handle(task["run_id"])
        attempt, at = task["attempt"], len(task["ops"])
        attempts.append(attempt)
        if len(attempts) == 1:
            for i in range(60):
                assert await send(handle, attempt, at + i, _step(i))
            at += 60
            assert not await send(handle, attempt + 5, at, _step(-1))  # given up
            assert not await send(handle, attempt, at + 5, _step(-2))  # out of place
            assert await send(handle, attempt, at, _step(100))
            assert await send(handle, attempt, at, _step(100))  # its reply lost: once
            write = {"attempt": attempt, "at": at, "op": _step(100)}
            await handle.execute_update("record", write, id="another", result_type=dict)
            assert not await send(handle, attempt, at, _step(101))  # another, held place
            raced = await asyncio.gather(*[send(handle, attempt, at + 1, _step(k)) for k in (1, 2)])
            assert sorted(raced) == [False, True]
            return {"run_id": task["run_id"], "outcome": HANDED_OVER, "trigger": "t"}
        if len(attempts) == 2:  # past the JSON that fits as it is: weighed compressed
            assert await send(handle, attempt, at, _hashes(10_000, 1))
            assert await send(handle, attempt, at + 1, _hashes(25_000, 2))
            # (its rows end the one before: it compresses to little on the stream that took it)
            assert await send(handle, attempt, at + 2, _hashes(25_000, 2, 24_900))
            held = await journal_of(handle)
            weights.append((held["weight"], IdoRun({"carried": {"ops": held["ops"]}}).weight))
            raise RuntimeError("the worker died")
        assert await send(handle, attempt, at, _step(200))
        assert not await send(handle, attempt, at + 1, _hashes(60_000, 3))  # past the cap
        return {"run_id": task["run_id"], "outcome": "achieved"}

    task = {"run_id": run_id, "intent": "i", "catalog_digest": "d"}
    async with SdkWorker(client, task_queue=queue, activities=[pursue]):
        cached = SdkWorker(client, task_queue=queue, workflows=[IdoRun], workflow_runner=sandbox())
        async with cached:
            await client.start_workflow(NAME, task, id=run_id, task_queue=queue)
            for _ in range(600):
                if len(attempts) >= 2 and weights:
                    break
                await asyncio.sleep(0.1)
        replaying = SdkWorker(
            client,
            task_queue=queue,
            workflows=[IdoRun],
            workflow_runner=sandbox(),
            max_cached_workflows=0,
        )
        async with replaying:
            handle = client.get_workflow_handle(run_id)
            result = await asyncio.wait_for(handle.result(), 60)
            held = await journal_of(handle)
    assert attempts == [1, 2, 3] and len(refused) == 5, refused
    assert weights[0][0] == weights[0][1] > MOST_BYTES // 2
    assert held["ops"] == result["ops"] and len(result["ops"]) == 67  # (with run_released)
    assert held["weight"] == IdoRun({"carried": {"ops": result["ops"]}}).weight
    histories = [
        await client.get_workflow_handle(run_id, run_id=execution.run_id).fetch_history()
        async for execution in client.list_workflows(f"WorkflowId = '{run_id}'")
    ]
    assert len(histories) == 2  # (continued as new once)
    replayer = Replayer(workflows=[IdoRun], workflow_runner=sandbox(), data_converter=CONVERTER)
    for history in histories:
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, replayed.replay_failure
