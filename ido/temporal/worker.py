"""A worker: takes runs from a task queue and pursues them on this folder's catalog."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ido.loading.catalog import Catalog
from ido.runtime import stopping
from ido.temporal.activity import Pursuit
from ido.temporal.client import TemporalError, _why, connect, watch_server
from ido.temporal.security import PLAIN, Security
from ido.temporal.workflow import IdoRun

THROTTLE = timedelta(milliseconds=200)
"""The SDK sends an activity's heartbeats at most this often. Its own default, 80 % of
the heartbeat timeout, leaves a beat a fifth of it to arrive in (0.4 s of a 2 s timeout):
an attempt alive on a busy machine was given up, and its run passed to another worker."""


GRACE = timedelta(seconds=10)
"""How long the runs of a worker told to stop have to stop and say so before the SDK
cancels them. Cancelled at once (the SDK's default), a run's last writes were cut off with
the loop's traceback, and the worker hung until they timed out; its run waited for the
heartbeat timeout before another worker took it."""


def sandbox() -> SandboxedWorkflowRunner:
    """The workflow's sandbox, Temporal's default: `IdoRun`'s module is imported afresh
    in it and held to its rules (no clock, randomness or I/O). Passing ido's modules
    through would leave the workflow's own code unchecked: it imports none of them."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default)


def ido_worker(
    client: Client, task_queue: str, pursuit: Pursuit, pool: ThreadPoolExecutor, concurrency: int
) -> Worker:
    """The SDK's worker of `ido worker` (and of `benchmarks/temporal_overhead.py`):
    `IdoRun` in its sandbox, `pursuit`'s runs on `pool`, `concurrency` at once."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[IdoRun],
        activities=[pursuit.pursue],
        activity_executor=pool,
        max_concurrent_activities=concurrency,
        workflow_runner=sandbox(),
        # A workflow task waits this long for the worker that ran the workflow last
        # before any worker takes it: a dead worker's runs move on sooner (default 5 s).
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
        max_heartbeat_throttle_interval=THROTTLE,
        graceful_shutdown_timeout=GRACE,
    )


async def serve(
    address: str,
    namespace: str,
    task_queue: str,
    catalog: Catalog,
    base: Path,
    say: Callable[[str], None],
    concurrency: int = 4,
    security: Security = PLAIN,
) -> None:
    """Run a worker until SIGINT or SIGTERM: then the runs it carries stop (left to
    another worker, which resumes them) and it leaves."""
    client = await connect(address, namespace, quiet=False, security=security)
    loop = asyncio.get_running_loop()
    pursuit = Pursuit(catalog, base, client, loop, say)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ido:run") as pool:
        worker = ido_worker(client, task_queue, pursuit, pool, concurrency)
        task = asyncio.current_task()
        leaving: list[asyncio.Task[None]] = []

        def leave() -> None:
            """The runs stop at their next step (a shell step's process killed) and tell
            their workflows, which pass them on at once; a second signal leaves now."""
            stopping.stop()
            if not leaving:
                leaving.append(loop.create_task(worker.shutdown()))
            elif task is not None:
                task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, leave)
        say(f"worker on {address}, task queue {task_queue}, namespace {namespace}{security.over()}")
        watching = loop.create_task(watch_server(client, address, say))
        try:
            await worker.run()
        except asyncio.CancelledError:
            pass
        except RuntimeError as exc:  # the SDK's (a namespace not found, a lost server)
            raise TemporalError(
                f"the worker on {address} (namespace {namespace}) stopped: {_why(str(exc))}"
            ) from None
        finally:
            watching.cancel()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            stopping.reset()
