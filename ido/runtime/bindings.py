"""Perform a capability's `run` binding (python, shell argv, http) with its timeout."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from ido.errors import ExecutionError
from ido.exiting import needs_teardown
from ido.model import Capability
from ido.model.capability_spec import OWN_PYTHON
from ido.runtime import stopping
from ido.runtime.context import ActionContext
from ido.runtime.draining import Drain, feed
from ido.runtime.owners import carried
from ido.runtime.printed import Mask, masking
from ido.runtime.process_tree import (
    KILLED_WAIT_SECONDS,
    LINGER_SECONDS,
    _holding,
    _kill_all,
    _kill_tree,
    kill_step,
)
from ido.secrets import Environ, Secrets, unresolved
from ido.state import TooDeep, from_json, json_safe
from ido.text import failure, printable, shortened

MAX_OUTPUT = 1_000_000
"""The most bytes ido reads of what a shell or HTTP binding gives back, or of an HTTP
observer's reply: each is kept in the state, and journaled with it."""


@dataclass(frozen=True)
class Outcome:
    """What happened when a binding ran."""

    ok: bool
    output: Any = None
    error: str | None = None
    timed_out: bool = False
    duration: float = 0.0
    note: str | None = None
    """What a call that succeeded gave back that was not kept, and why (too long, not a
    JSON object): the run goes on, its `output` path unset."""
    cut_short: bool = False
    """A replayed call that an interruption cut short in the recording, which its resume
    then found not done (its effects observed not to hold), or a person's approved repeat
    cut short again: it may have been made, and is counted so, but tells nothing of its
    provider (`ido.scenario.recorded`)."""


ERROR_CHARS = 500
"""The most characters of a failed call's message kept: it is journaled with the step and
told as the step ends and in the next decision's trigger (an exception carrying a
3 MB response body was all of them, three times over with retries). Cut once, for every
binding, in `perform`: after secrets are masked (a secret cut in two is masked no more)."""


ASYNC_WORDS = (
    "is an async function: ido calls it as a plain one, and got a coroutine it cannot await "
    "(write a plain function, `return asyncio.run(...)` in it)"
)
"""What a Python binding or observer that is `async def` is told: calling it only made a
coroutine, reported as `returned coroutine, not a mapping`, with Python's warning that it
was never awaited."""


_loaded: dict[tuple[str, str, str], tuple[ModuleType, Callable[..., Any]]] = {}


def load_callable(reference: str, base: Path) -> Callable[..., Any]:
    """Import `package.module:function`, with the project folder `base` importable.

    Found functions are remembered (resolving the folder and the import cost more than a
    no-op binding), for as long as their module stays in `sys.modules`.
    """
    module_name, _, attr = reference.partition(":")
    key = (reference, str(base), "" if base.is_absolute() else os.getcwd())
    known = _loaded.get(key)
    if known is not None:
        module, found = known
        # Still the module imported, and the function in it (not rebound by a patch).
        current = getattr(module, attr, None)
        if sys.modules.get(module_name) is module and current is found:
            return known[1]
    root = str(base.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    needs_teardown(f"imported {module_name}")  # user code may rely on the interpreter's
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import runs user code; any failure is the binding's
        raise ExecutionError(f"cannot import {module_name}: {failure(exc)}") from None
    elsewhere = imported_elsewhere(module, Path(root))
    if elsewhere is not None:
        raise ExecutionError(f"{reference}: {elsewhere}")
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ExecutionError(f"{reference}: {module_name} has no function {attr}")
    _loaded[key] = (module, fn)
    return fn  # type: ignore[no-any-return]


def imported_elsewhere(module: ModuleType, root: Path) -> str | None:
    """Why `module` is not the project's own, when the project folder `root` holds a file
    of that name but this process imported the name from another folder earlier (a second
    project with its own `capabilities` package, in one pytest session): calling it would
    run the other project's code. None when it is the project's, or the project has none."""
    parts = module.__name__.split(".")
    own = [root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")]
    mine = next((f for f in own if f.is_file()), None)
    found = getattr(module, "__file__", None)
    if mine is None or (found is not None and Path(found).resolve() == mine.resolve()):
        return None
    return (
        f"{module.__name__} is already imported from {found or 'elsewhere'}, not from this"
        f" project's {mine} (one process holds one module of a name: give each project's"
        " package a name of its own, or run them in separate processes)"
    )


def missing_secret(capability: Capability, environ: Environ) -> tuple[str, str] | None:
    """The `${env:NAME}` the capability's binding names that `environ` leaves unset or empty,
    as (NAME, "not set" or "empty"): a call could not even be made (`perform` fails it
    before sending anything). None when every one resolves, or there is no binding."""
    binding = capability.spec.run
    if binding is None or binding.python is not None:
        return None
    if binding.shell is not None:
        return unresolved(binding.shell, environ)
    assert binding.http is not None
    http = binding.http
    return unresolved([http.url, http.json_body, dict(http.headers)], environ)


def perform(
    capability: Capability,
    ctx: ActionContext,
    base: Path,
    environ: Environ | None = None,
    named: frozenset[str] = frozenset(),
) -> Outcome:
    """Run the binding; never raises: every failure is an Outcome with `ok=False`.

    `${env:NAME}` references are resolved from `environ` (default: the process environment)
    just for the call; the secrets they resolve to, and the values of the `named` variables
    (every secret the catalog names: `catalog_secrets`), are masked in the outcome's error,
    and in its output as in data the rules read (`Secrets.mask_data`), so the journal never
    sees them.
    """
    binding = capability.spec.run
    started = time.monotonic()
    if binding is None:
        return Outcome(False, error=f"{capability.name} has no run binding")
    secrets = Secrets(os.environ if environ is None else environ, named=named)
    secrets.uses(binding.secrets)
    try:
        if binding.python is not None:
            outcome = _python(binding.python, ctx, base, secrets.text_mask())
        elif binding.shell is not None:
            outcome = _shell(secrets.expand(binding.shell), ctx, base, secrets)
        else:
            assert binding.http is not None
            outcome = _http(
                binding.http.method,
                secrets.expand(binding.http.url),
                secrets.expand(binding.http.json_body),
                secrets.expand(dict(binding.http.headers)),
                ctx,
                secrets,
            )
    except ExecutionError as exc:
        outcome = Outcome(False, error=str(exc))
    error = secrets.mask(outcome.error)  # masked first: then cut
    return Outcome(
        outcome.ok,
        secrets.mask_data(outcome.output),
        None if error is None else shortened(printable(error), ERROR_CHARS),
        outcome.timed_out,
        time.monotonic() - started,
        outcome.note or _nothing_kept(capability, outcome),
    )


def _nothing_kept(capability: Capability, outcome: Outcome) -> str | None:
    """The note of a call that succeeded and gave back nothing, for a capability that
    declares an `output`: its path is left unset, and the step that later read it failed
    with a bare `KeyError: 'record'`, nothing saying why."""
    path = capability.spec.output
    if not outcome.ok or outcome.output is not None or path is None:
        return None
    return f"it gave back nothing, and {path} is left unset"


Reply = tuple[bool, Any]
"""What a Python binding did: (True, what it returned) or (False, the error)."""


Job = tuple[Callable[..., Any], ActionContext, Mask, "queue.SimpleQueue[Reply]"]


IDLE_WORKERS = 64


class _Workers:
    """Threads that perform Python bindings, each kept for another call once it is done
    (starting a thread costs more than a no-op binding). A thread cannot be killed: one
    whose call outlives its timeout is told to stop when the call ends, and never reused.
    """

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[Job | None]] = []
        self._lock = threading.Lock()

    def call(self, fn: Callable[..., Any], ctx: ActionContext, mask: Mask) -> Reply | None:
        """Call `fn(ctx)` on a worker, what it prints masked with `mask`
        (`ido.runtime.printed`); None when it did not end within `ctx.timeout`."""
        stopping.check()
        with self._lock:
            jobs = self._idle.pop() if self._idle else None
        if jobs is None:
            jobs = queue.SimpleQueue()
            threading.Thread(
                target=self._work, args=(jobs,), name="ido:binding", daemon=True
            ).start()
        reply: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        jobs.put((fn, ctx, mask, reply))
        try:
            answer = stopping.get(reply, ctx.timeout)
        except queue.Empty:
            jobs.put(None)  # the worker ends once the call does
            return None
        except BaseException:  # stopped: the same
            jobs.put(None)
            raise
        with self._lock:
            if len(self._idle) < IDLE_WORKERS:
                self._idle.append(jobs)
                return answer
        jobs.put(None)
        return answer

    @staticmethod
    def _work(jobs: queue.SimpleQueue[Job | None]) -> None:
        while (job := jobs.get()) is not None:
            fn, ctx, mask, reply = job
            try:
                # The run is carried on here while its call is: one stopped under a call
                # still going (Ctrl-C) is not resumed in this process to repeat it.
                with carried(ctx.run_id):
                    with masking(mask):  # (what it printed written before it is answered)
                        answer = fn(ctx)
                    reply.put((True, answer))
            except BaseException as exc:  # the binding's failure, reported as an outcome
                reply.put((False, failure(exc)))
            del job, fn, ctx, mask, reply
            answer = None


_workers = _Workers()


def _python(reference: str, ctx: ActionContext, base: Path, mask: Mask) -> Outcome:
    with masking(mask):  # (what its module prints when imported, a configured key say)
        fn = load_callable(reference, base)
    answer = _workers.call(fn, ctx, mask)
    if answer is None:
        return Outcome(False, error=f"timed out after {ctx.timeout:g}s", timed_out=True)
    ok, output = answer
    if not ok:
        return Outcome(False, error=output)  # (cut in `perform`)
    if inspect.iscoroutine(output):
        output.close()  # never awaited: closed, lest Python warn of it at exit
        return Outcome(False, error=f"{reference} {ASYNC_WORDS}")
    if output is not None and not isinstance(output, Mapping):
        return Outcome(False, error=f"{reference} returned {type(output).__name__}, not a mapping")
    try:  # a Mapping that is no dict (MappingProxyType) JSON would write as its repr
        return Outcome(True, output=None if output is None else json_safe(dict(output)))
    except TooDeep as exc:
        return Outcome(True, note=f"its output was {exc}, and not kept")
    except (TypeError, ValueError) as exc:  # keys JSON cannot hold, a value holding itself
        return Outcome(True, note=f"its output was not what JSON can carry ({exc}), and not kept")


def _env(ctx: ActionContext) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        IDO_RUN_ID=ctx.run_id,
        IDO_INTENT=ctx.intent,
        IDO_CAPABILITY=ctx.capability,
        IDO_IDEMPOTENCY_KEY=ctx.idempotency_key,
        IDO_STEP=str(ctx.step),
        IDO_ATTEMPT=str(ctx.attempt),
    )
    if ctx.traceparent is not None:
        env["TRACEPARENT"] = ctx.traceparent  # the environment carrier OpenTelemetry reads
    return env


def _payload(ctx: ActionContext) -> dict[str, Any]:
    data = asdict(ctx)
    data["state"] = dict(ctx.state)
    return data


def _shell(argv: list[str], ctx: ActionContext, base: Path, secrets: Secrets) -> Outcome:
    # `python`/`python3` means ido's own interpreter, so project virtualenvs just work.
    program = sys.executable if argv[0] in OWN_PYTHON else argv[0]
    try:
        payload = json.dumps(_payload(ctx), default=str)
        done = _subprocess([program, *argv[1:]], payload, ctx, base, secrets.longest())
    except subprocess.TimeoutExpired:
        return Outcome(False, error=f"timed out after {ctx.timeout:g}s", timed_out=True)
    except OSError as exc:
        return Outcome(False, error=f"cannot start {argv[0]}: {exc.strerror or exc}")
    except ValueError as exc:  # a NUL in an argument (loading refuses it) or the environment
        return Outcome(False, error=f"cannot start {argv[0]}: {exc}")
    if -done.returncode in stopping.STOPPING_SIGNALS and stopping.coming(SIGINT_GRACE_SECONDS):
        # Ctrl-C in a terminal (or SIGTERM to the whole group) reaches the subprocess too:
        # the step was interrupted along with the run (left for `ido resume` to settle),
        # not failed by its provider.
        stopping.check()
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return Outcome(False, error=f"killed by {name}")
    if done.returncode != 0:
        # Masked before its last line is taken: a secret in two lines is masked no more.
        said: str = secrets.mask(done.stderr_end or done.stdout_end)
        tail = said.strip().splitlines()[-1:]
        error = f"exit code {done.returncode}"
        return Outcome(False, error=f"{error}: {tail[0]}" if tail else error)  # (cut in `perform`)
    return _kept(done.stdout)


SIGINT_GRACE_SECONDS = 5.0
"""How long a step whose subprocess died of SIGINT (or SIGTERM, SIGHUP) waits to learn
whether ido is being interrupted too (the same Ctrl-C), before it counts as failed. The
wait ends as soon as ido is; it is long because the main thread takes the signal only
when it is next scheduled, which on a loaded machine took over a second (then a terminal's
Ctrl-C failed the step instead of leaving it for `ido resume`)."""


class Ran(NamedTuple):
    """What a shell binding's process did: its exit code, the start of its stdout (up to
    one byte past `MAX_OUTPUT`: then it is too long to keep) and the ends of its stdout and
    stderr, as text (what an error quotes)."""

    returncode: int
    stdout: bytes
    stdout_end: str
    stderr_end: str


def _subprocess(argv: list[str], payload: str, ctx: ActionContext, base: Path, unsure: int) -> Ran:
    """Run `argv` with `payload` on its stdin until it exits or `ctx.timeout` passes,
    looking every `stopping.POLL_SECONDS` whether to stop; on timeout or stop the process
    is killed, and with it what it started and still parents (`sh -c "sleep 30; …"` left
    its `sleep` running, and a retry could repeat its work), and every process left with
    the step's environment (`kill_step`: one a shell that exited left running). Its
    output is read as it comes and kept in part (`ido.runtime.draining`): all of it was
    held in memory. A last line cut at its start loses its first `unsure` characters
    (`Drain.last_text`).

    The process stays in ido's process group, so that a signal to the group (Ctrl-C, a
    closed terminal, `timeout`, `kill %1`) reaches it as it reaches ido.

    Once the process has exited, what it left in the background that still holds its
    output open (`sh -c "sleep 300 & echo '{}'"`) is killed after `LINGER_SECONDS`: the
    call is over, and waiting on the output made it a timeout. (Such a job has another
    parent by then; it is found by the pipe it holds, `_holding`.)"""
    with subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(ctx),
        cwd=base,
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        deadline = time.monotonic() + ctx.timeout
        exited: float | None = None  # when the process was first seen to have exited
        try:  # (from the start: Ctrl-C or SIGTERM may land while the pipes are set up)
            feed(process.stdin, payload.encode("utf-8", "replace"))
            out, err = Drain(process.stdout, MAX_OUTPUT + 1), Drain(process.stderr, 0)
            while True:
                left = deadline - time.monotonic()
                if _ended(process, (out, err), max(0.0, min(stopping.POLL_SECONDS, left))):
                    break
                stopping.check()
                if left <= 0:
                    raise subprocess.TimeoutExpired(argv, ctx.timeout)
                if process.poll() is not None:
                    exited = exited or time.monotonic()
                    if time.monotonic() - exited >= LINGER_SECONDS:
                        _kill_all(_holding(process))
        except BaseException:
            if process.returncode is None:  # reaped, its id may be another's now
                _kill_tree(process.pid)
            _kill_all(_holding(process))  # a background job it left, with another parent
            kill_step(ctx.run_id, ctx.idempotency_key)  # one left holding no output too
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(KILLED_WAIT_SECONDS)  # one ido may not kill is not waited for
            raise
    return Ran(process.returncode, bytes(out.head), out.last_text(unsure), err.last_text(unsure))


def _ended(process: subprocess.Popen[bytes], drains: tuple[Drain, ...], seconds: float) -> bool:
    """Wait up to `seconds` for the process to exit and each of its pipes to end (as
    `communicate` waits); whether they all did."""
    until = time.monotonic() + seconds
    if not all(drain.ended(until - time.monotonic()) for drain in drains):
        return False
    try:
        process.wait(max(0.0, until - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


def _http(
    method: str,
    url: str,
    body: Any,
    headers: dict[str, str],
    ctx: ActionContext,
    secrets: Secrets,
) -> Outcome:
    # Here: a run without HTTP bindings does not load the HTTP client.
    from ido.runtime.fetching import fetch

    payload = _payload(ctx) if body is None and method != "GET" else body
    data = None if payload is None else json.dumps(payload, default=str).encode()
    sent = {"Content-Type": "application/json", "Idempotency-Key": ctx.idempotency_key}
    if ctx.traceparent is not None:
        sent["traceparent"] = ctx.traceparent
    sent.update(headers)
    fetched = fetch(
        method, url, sent, data=data, timeout=ctx.timeout, limit=MAX_OUTPUT, secrets=secrets
    )
    if fetched.error is not None:
        return Outcome(False, error=fetched.error, timed_out=fetched.timed_out)
    return _kept(fetched.body)


def _kept(body: bytes) -> Outcome:
    """A call that succeeded, with what it gave back as its output when that is a JSON
    object of at most `MAX_OUTPUT` bytes; else no output, and a note saying why."""
    if len(body) > MAX_OUTPUT:
        return Outcome(True, note=f"its output was over {MAX_OUTPUT:,} bytes, and not kept")
    text = body.decode("utf-8", "replace")
    if not text.strip():
        return Outcome(True)
    try:
        value = from_json(text)
    except TooDeep as exc:
        return Outcome(True, note=f"its output was {exc}, and not kept")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return Outcome(True, note="its output was not a JSON object, and not kept")
    return Outcome(True, output=value)
