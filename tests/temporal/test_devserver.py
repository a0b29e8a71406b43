"""The dev server's ports (`ido.temporal.devserver`), without starting one."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ido.temporal import devserver


def test_the_ports_given_are_free_and_never_among_those_binding_port_0_hands_out() -> None:
    """The dev server picks its own services' ports by binding port 0: a port given to it
    from that range could be picked again for its worker service, which then panicked
    (CI, 2026-12-07). The ports given lie outside it, and can be bound."""
    if not devserver.EPHEMERAL.exists():
        pytest.skip("no ephemeral port range to read (not Linux)")
    low, high = devserver._ephemeral()
    for _ in range(50):
        port = devserver.free_port()
        assert not low <= port <= high, port
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_range_that_leaves_no_room_below_gives_ports_above(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ephemeral ports from 1024: the ports given are above the range instead."""
    (tmp_path / "range").write_text("1024\t50000\n")
    monkeypatch.setattr(devserver, "EPHEMERAL", tmp_path / "range")
    for _ in range(20):
        assert devserver.free_port() > 50_000
