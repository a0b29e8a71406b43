"""Which process carries a run on: recorded as a run starts or resumes, and looked up to
tell a run that is running from one that was interrupted."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ido.runtime.procfs import ended, started, stat_fields

if TYPE_CHECKING:  # (the bindings mark calls carried: they do not load the journal)
    from ido.journal.records import Event


def host() -> dict[str, Any]:
    """Where this process runs, recorded when a run starts or resumes."""
    return dict(_host(os.getpid()))


@functools.lru_cache(maxsize=4)
def _host(pid: int) -> dict[str, Any]:
    return {"pid": pid, "host": socket.gethostname(), "since": started(stat_fields(pid))}


_carried: dict[str, int] = {}
"""The runs a runtime of this process carries on now, or a call of which is still in
flight here (`carried`), each with how many hold it."""
_carried_lock = threading.Lock()


@contextlib.contextmanager
def carried(run_id: str) -> Iterator[None]:
    """This process carries run `run_id` on while inside (one of its threads does): it is
    then its live owner to another runtime of this process too (`live_owner`). Counted:
    a Python call of the run, on its worker thread, holds it too, and outlives a run
    stopped under it (a thread cannot be killed)."""
    with _carried_lock:
        _carried[run_id] = _carried.get(run_id, 0) + 1
    try:
        yield
    finally:
        with _carried_lock:
            if _carried[run_id] > 1:
                _carried[run_id] -= 1
            else:
                del _carried[run_id]


def last_owner(events: Sequence[Event]) -> dict[str, Any] | None:
    """The process the run's last start or resume recorded (`pid`, `host`, `since`), unless
    it gave the run up since (and may live on: a runner); None when none is recorded."""
    owners = [e for e in events if e.kind in ("run_started", "run_resumed", "run_released")]
    if not owners or owners[-1].kind == "run_released":
        return None
    owner = owners[-1].data.get("process")
    return owner if isinstance(owner, dict) else None


def elsewhere(events: Sequence[Event]) -> str | None:
    """The host of another machine the run's last process ran on (`live_owner` cannot
    tell whether it still does); None when it ran here, or no process is recorded."""
    owner = last_owner(events)
    host = owner.get("host") if owner is not None else None
    return str(host) if host is not None and host != socket.gethostname() else None


def live_owner(events: list[Event]) -> int | None:
    """The process on this machine that carries the run on now, if any: a run that has
    not ended and has one is running, not interrupted. This process is one only while a
    runtime of it carries the run on (`carried`): a thread resuming a run another thread
    of it was in the middle of performed its step again."""
    owner = last_owner(events)
    if owner is None or owner.get("host") != socket.gethostname():
        return None
    pid = owner.get("pid")
    if pid == os.getpid():
        with _carried_lock:
            return pid if events[0].run_id in _carried else None
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    fields = stat_fields(pid)
    if ended(fields):  # killed, and not reaped yet: it still answers a signal
        return None
    if owner.get("since") is not None and started(fields) != owner.get("since"):
        return None  # the pid was reused by another process
    return pid
