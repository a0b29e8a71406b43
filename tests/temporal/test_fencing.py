"""The workflow's side of the journal contract, on a real dev server: a write is taken
once, at its place, from the attempt carrying the run only, and its sender hears when it
is not (here the activity is the test's own, so that the writes come when told)."""

from __future__ import annotations

import asyncio
import base64
import random
import uuid
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from ido.errors import JournalError
from ido.temporal.client import record
from ido.temporal.codec import CONVERTER
from ido.temporal.worker import sandbox
from ido.temporal.workflow import NAME, PURSUE, REFUSED, IdoRun, _full

OP = ["append", ["r-f", "note", "2026-01-01T00:00:00.000+00:00", {"n": 1}]]


def test_the_workflows_own_code_is_held_to_the_sandboxs_rules() -> None:
    """Passed through, `ido.temporal.workflow` would be the module imported outside the
    sandbox: a clock read or an `open` in it would go unnoticed, and replays diverge."""
    restrictions = sandbox().restrictions
    assert not restrictions.passthrough_all_modules
    for name in ("ido", "ido.temporal", "ido.temporal.workflow"):
        assert name not in restrictions.passthrough_modules


def test_writes_are_taken_once_in_place_and_only_from_the_attempt_carrying_the_run(
    temporal_server: str,
) -> None:
    asyncio.run(_writes(temporal_server))


async def _writes(address: str) -> None:
    client = await Client.connect(address, data_converter=CONVERTER)
    queue, run_id = f"ido-fence-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    started, stop = asyncio.Event(), asyncio.Event()
    heard: list[str] = []

    @activity.defn(name=PURSUE)
    async def pursue(task: dict[str, Any]) -> dict[str, Any]:
        started.set()
        await stop.wait()  # the writes are made meanwhile, as a worker's would be
        raise ApplicationError(heard[0], type=REFUSED, non_retryable=True)  # as `pursue` does

    runner = sandbox()
    task = {"run_id": run_id, "intent": "i", "catalog_digest": "d", "heartbeat": 30.0}
    async with Worker(
        client, task_queue=queue, workflows=[IdoRun], activities=[pursue], workflow_runner=runner
    ):
        handle = await client.start_workflow(NAME, task, id=run_id, task_queue=queue)
        await asyncio.wait_for(started.wait(), 60)
        await record(handle, 1, 0, OP)
        await record(handle, 1, 0, OP)  # its reply lost, sent again: taken once
        with pytest.raises(JournalError, match="write 3 is out of place: 1 are held"):
            await record(handle, 1, 3, OP)
        with pytest.raises(JournalError, match="write 0 is not the one"):
            await record(handle, 1, 0, ["append", ["r-f", "other", "x", {}]])
        with pytest.raises(JournalError, match="attempt 0 was given up; attempt 1 carries"):
            await record(handle, 0, 1, OP)  # a zombie attempt hears it, and stops
        # 3 MB of JSON that compresses well is taken (it weighs what it compresses to),
        big = ["append", ["r-f", "note", "x", {"text": "y" * 3_000_000}]]
        await record(handle, 1, 1, big)
        # and 2.2 MB that does not (random bytes in base64: 1.7 MB compressed) is refused,
        # said before the server would refuse it as a payload over 2 MB.
        noise = base64.b64encode(random.Random(7).randbytes(1_650_000)).decode()
        huge = ["append", ["r-f", "note", "x", {"text": noise}]]
        with pytest.raises(JournalError, match=r"history is full \(1\.7 MB of writes compressed"):
            try:
                await record(handle, 1, 2, huge)
            except JournalError as exc:
                heard.append(str(exc))
                raise
        held = await handle.query("journal", result_type=dict)
        assert held["ops"] == [OP, big]
        stop.set()
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert "must run locally" in str(failed.value.cause)  # not 20 attempts more


def test_a_history_is_full_before_temporal_refuses_it() -> None:
    """The workflow refuses a write, saying why, before the server's own limits would
    refuse it without a word to the run: 2 MB per payload (all the writes are the next
    attempt's input), 2,000 updates per workflow, 50,000 events."""
    assert _full(1_000, 100, 500) is None
    assert "(1.6 MB of writes compressed;" in str(_full(1_600_000, 100, 500))
    assert "(1900 writes;" in str(_full(1_000, 1_900, 9_500))
    assert _full(1_000, 1_899, 9_495) is None
    assert "(40001 events;" in str(_full(1_000, 100, 40_001))
    assert "must run locally" in str(_full(1_000, 1_900, 9_500))
