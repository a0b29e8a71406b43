"""Which process carries a run on: recorded as a run starts or resumes, and looked up to
tell a run that is running from one that was interrupted."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

from ido.journal.records import Event
from ido.runtime.procfs import ended, started, stat_fields


def host() -> dict[str, Any]:
    """Where this process runs, recorded when a run starts or resumes."""
    return dict(_host(os.getpid()))


@functools.lru_cache(maxsize=4)
def _host(pid: int) -> dict[str, Any]:
    return {"pid": pid, "host": socket.gethostname(), "since": started(stat_fields(pid))}


_carried: set[str] = set()
"""The runs a runtime of this process carries on now (`carried`)."""
_carried_lock = threading.Lock()


@contextlib.contextmanager
def carried(run_id: str) -> Iterator[None]:
    """This process carries run `run_id` on while inside (one of its threads does): it is
    then its live owner to another runtime of this process too (`live_owner`)."""
    with _carried_lock:
        _carried.add(run_id)
    try:
        yield
    finally:
        with _carried_lock:
            _carried.discard(run_id)


def live_owner(events: list[Event]) -> int | None:
    """The process on this machine that carries the run on now, if any: a run that has
    not ended and has one is running, not interrupted. This process is one only while a
    runtime of it carries the run on (`carried`): a thread resuming a run another thread
    of it was in the middle of performed its step again."""
    owners = [e for e in events if e.kind in ("run_started", "run_resumed", "run_released")]
    if owners and owners[-1].kind == "run_released":
        return None  # the process that carried it on gave it up (and may live on: a runner)
    owner = owners[-1].data.get("process") if owners else None
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
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
