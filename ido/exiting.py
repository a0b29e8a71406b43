"""Leaving the `ido` process without the interpreter's teardown.

When a Python process ends normally, the interpreter frees every module and object one by
one. Once ido has loaded pydantic, its models and a catalog, that takes 50–90 ms: most of
the time `ido explain` spends after it has printed, and, for `ido run --processes`, a wait
at the end of every worker and then of the command. Nothing of ido's depends on it: the
commands close their journal and flush their telemetry themselves. So the console entry
point leaves by `os._exit`, after doing what a normal exit does that matters: the `atexit`
handlers run and the standard streams are flushed. While a thread that is not a daemon
still runs, Python would wait for it, and a profiler or tracer may write its findings on
the way out: then the exit is the normal one.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

FLUSH_FAILED = 120
"""The exit status when the standard streams cannot be flushed (as Python's own exit)."""


def leave(done: SystemExit) -> NoReturn:
    """End the process as `raise done` would, without the teardown."""
    if _threads_running() or _watched():
        raise done
    code = done.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): printed, status 1
        sys.stderr.write(f"{code}\n")
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`), a closed stream
            status = status or FLUSH_FAILED
    os._exit(status & 0xFF)


def _watched() -> bool:
    """Whether a profiler or tracer (cProfile, coverage, a debugger) is on: it may write
    what it found on the normal way out."""
    return sys.getprofile() is not None or sys.gettrace() is not None


def _threads_running() -> bool:
    """Whether a thread other than this one that Python would wait for is still running."""
    main = threading.current_thread()
    return any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate())
