"""Leaving the `ido` process without the interpreter's teardown.

When a Python process ends normally, the interpreter frees every module and object one by
one. Once ido has loaded pydantic, its models and a catalog, that takes 50–90 ms: most of
the time `ido runs` or `ido explain` spends after it has printed, and for `ido run
--processes` a wait at the end of the command (its workers, which import the bindings,
tear down as usual). ido's own code does not rely on it: its
commands close their journal and flush their telemetry themselves. So the entry point
(`ido.__main__`) leaves by `os._exit`, after what a normal exit does that matters here:
the `atexit` handlers run, a `SystemExit` message is printed and the standard streams are
flushed.

The exit is the normal one whenever something may rely on the teardown: code that is not
ido's was imported into the process (a Python binding or observer, which may leave a file
unflushed or a temporary file to be removed by a finalizer: `needs_teardown`), a thread
that is not a daemon still runs (Python waits for it), or a profiler or tracer is on
(cProfile and coverage write what they found on the way out).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

FLUSH_FAILED = 120
"""The exit status when output cannot be flushed on the way out of an exit that would
have succeeded (Python's own exit gives 120 whatever the status)."""

_needed: list[str] = []
_owned: list[bool] = []
_crashing: list[str] = []


def command(run: Callable[[], object]) -> NoReturn:
    """Run the command line `run` as the process the `ido` command owns (the entry point
    `ido.__main__`, a spare worker `ido.spare`), not as code that called ido: `settle`
    applies, and the process ends by `leave`."""
    _owned.append(True)
    try:
        run()
    except SystemExit as done:
        leave(done)
    leave(SystemExit(0))


def settle() -> None:
    """In a process the `ido` command owns, leave what is loaded by now (modules, models,
    the catalog: alive until the process ends) out of Python's garbage collections
    (`gc.freeze`, after collecting what is garbage already), so that neither the
    collections during the runs nor the one at exit walk through it again: the teardown
    of a worker that ran Python bindings takes about 10 ms instead of 80. Objects made
    later are collected as usual, and what the bindings' own modules and classes hold is
    finalized at exit; an object a binding hangs on a module or class loaded before (say
    an attribute set on `logging` or on an ido module) may not be."""
    if _owned:
        gc.collect()
        gc.freeze()


def needs_teardown(why: str) -> None:
    """Ask for the normal exit of this process (`why`: what may rely on it)."""
    if not _needed:
        _needed.append(why)


def teardown_crashes(why: str) -> None:
    """Leave this process without the teardown even where `needs_teardown` asked for it:
    the teardown would abort it (`why`). The atexit handlers still run, and the standard
    streams are flushed; garbage is collected first, for the finalizers it has."""
    if not _crashing:
        _crashing.append(why)


def leave(done: SystemExit) -> NoReturn:
    """End the process as `raise done` would, without the teardown when nothing needs it
    (or when it would crash the process: `teardown_crashes`)."""
    if (_needed and not _crashing) or _threads_running() or _watched():
        raise done
    if _needed:
        gc.collect()
    code = done.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # SystemExit("message"): printed, status 1
        status = 1
        if sys.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(f"{code}\n")
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`), a closed stream
            status = status or FLUSH_FAILED
    os._exit(status & 0xFF)


def _watched() -> bool:
    """Whether a profiler or tracer (cProfile, coverage, a debugger) is on."""
    return sys.getprofile() is not None or sys.gettrace() is not None


def _threads_running() -> bool:
    """Whether a thread other than this one that Python would wait for is still running."""
    main = threading.current_thread()
    return any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate())
