"""The workflow weighs each write once, with what its update's validator made of it, and
a worker that replays the history (which runs no validator) weighs the writes the same."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker as SdkWorker

from ido.temporal.client import journal_of, record
from ido.temporal.codec import CONVERTER
from ido.temporal.worker import sandbox
from ido.temporal.workflow import MOST_BYTES, NAME, PURSUE, IdoRun


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
