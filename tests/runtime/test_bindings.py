"""Performing capability bindings for real: Python callables, argv subprocesses, HTTP on loopback."""

from __future__ import annotations

import json
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ido.model import Capability
from ido.runtime import bindings, process_tree, stopping
from ido.runtime.bindings import perform
from ido.runtime.context import ActionContext
from ido.state import MAX_DEPTH
from ido.testing import serve_on_loopback
from ido.text import printable


def capability(run: dict[str, Any], timeout: str = "5s") -> Capability:
    return Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "thing"},
            "spec": {"provider": "p", "effects": {"done": True}, "timeout": timeout, "run": run},
        }
    )


def context(timeout: float = 5.0) -> ActionContext:
    # A run id of this test process's own: a shell step's timeout kills every process with
    # the step's run id and key (`kill_step`), so a fixed "r1" here killed the steps of the
    # same tests run at once by another pytest on this machine.
    return ActionContext(
        f"r1-{os.getpid()}", "intent", "thing", "p", 1, 1, "r1/1/1", timeout, {"order": {"id": "9"}}
    )


def test_python_binding_output_and_failure(project: Path) -> None:
    """A Python binding's returned mapping is the output; an exception is a failure with its message."""
    ok = perform(capability({"python": "fakesvc.impl:call"}), context(), project)
    assert ok.ok and ok.output == {"by": "p", "key": "r1/1/1"}
    (project / "fakesvc" / "bad.py").write_text("def call(ctx):\n    raise ValueError('nope')\n")
    bad = perform(capability({"python": "fakesvc.bad:call"}), context(), project)
    assert not bad.ok and bad.error == "ValueError: nope"
    (project / "fakesvc" / "mute.py").write_text("def call(ctx):\n    raise RuntimeError\n")
    mute = perform(capability({"python": "fakesvc.mute:call"}), context(), project)
    assert mute.error == "RuntimeError"  # not "RuntimeError: "


def test_python_binding_missing_module_is_a_failure_not_a_crash(project: Path) -> None:
    """An unimportable module fails the step with a readable reason."""
    outcome = perform(capability({"python": "nosuch.mod:fn"}), context(), project)
    assert not outcome.ok and "cannot import nosuch.mod" in (outcome.error or "")


def test_python_binding_timeout(project: Path) -> None:
    """A Python binding that outlives the capability's timeout fails as timed out."""
    (project / "fakesvc" / "slow.py").write_text("import time\ndef call(ctx):\n    time.sleep(2)\n")
    outcome = perform(capability({"python": "fakesvc.slow:call"}, "100ms"), context(0.1), project)
    assert not outcome.ok and outcome.timed_out


def test_shell_binding_gets_argv_env_and_stdin(project: Path) -> None:
    """A shell binding runs argv without a shell, with the idempotency key in its environment."""
    script = (
        "import json, os, sys; d = json.load(sys.stdin); "
        "print(json.dumps({'key': os.environ['IDO_IDEMPOTENCY_KEY'], 'id': d['state']['order']['id'], 'arg': sys.argv[1]}))"
    )
    outcome = perform(
        capability({"shell": ["python3", "-c", script, "$(touch pwned)"]}), context(), project
    )
    assert outcome.ok, outcome.error
    assert outcome.output == {"key": "r1/1/1", "id": "9", "arg": "$(touch pwned)"}
    assert not (project / "pwned").exists()


def test_shell_binding_nonzero_exit_and_timeout(project: Path) -> None:
    """A non-zero exit fails with the last line of stderr; a slow command times out."""
    failed = perform(
        capability({"shell": ["python3", "-c", "import sys; sys.exit('disk full')"]}),
        context(),
        project,
    )
    assert not failed.ok and failed.error == "exit code 1: disk full"
    silent = perform(capability({"shell": ["python3", "-c", "exit(3)"]}), context(), project)
    assert silent.error == "exit code 3"  # not "exit code 3: ", an empty reason after it
    slow = perform(
        capability({"shell": ["python3", "-c", "import time; time.sleep(5)"]}, "200ms"),
        context(0.2),
        project,
    )
    assert not slow.ok and slow.timed_out
    missing = perform(capability({"shell": ["/no/such/program"]}), context(), project)
    assert not missing.ok and "cannot start /no/such/program" in (missing.error or "")


def test_bytes_that_are_not_utf8_are_read_with_replacement_characters(project: Path) -> None:
    """They raised UnicodeDecodeError out of the step: a traceback, and the run left
    interrupted, its resume crashing again on every try."""
    write = 'import sys; sys.stdout.buffer.write(b\'{"a": "x\\xff"}\'); '
    ok = perform(capability({"shell": ["python3", "-c", write]}), context(), project)
    assert ok.ok and ok.output == {"a": "x\ufffd"}, ok
    fail = write.replace("stdout", "stderr") + "sys.exit(3)"
    failed = perform(capability({"shell": ["python3", "-c", fail]}), context(), project)
    assert not failed.ok and failed.error == 'exit code 3: {"a": "x\ufffd"}', failed


def test_what_a_terminal_would_act_on_in_an_error_is_written_out(project: Path) -> None:
    """A binding's stderr reached `ido run` and `ido explain` raw: a window title was set
    and the screen cleared where the error was shown."""
    said = "import sys; sys.exit('\\x1b]0;PWNED\\x07\\x1b[2Jdisk full')"
    failed = perform(capability({"shell": ["python3", "-c", said]}), context(), project)
    assert failed.error == "exit code 1: \\x1b]0;PWNED\\x07\\x1b[2Jdisk full"
    assert failed.error is not None and failed.error.isprintable()
    kept = "pas d\u2019espace\u00a0: 👩\u200d💻"  # a no-break space and an emoji's joiner
    assert printable(kept) == kept
    assert printable("a\u202eb") == "a\\u202eb"  # it would show what follows reversed


def _alive(pid: int) -> bool:
    """Whether process `pid` still runs, told without ido's own /proc reading: it answers
    signal 0, and its state in /proc/PID/stat is not a zombie's (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return stat[stat.rindex(")") + 1 :].split()[0] not in ("Z", "X")


def _ends(pid: int) -> bool:
    """Whether `pid` stops running within a few seconds (a killed process is reaped by
    its new parent when that gets to it)."""
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_a_timed_out_shell_binding_ends_what_it_started(project: Path, tmp_path: Path) -> None:
    """`sh -c "sleep 30; …"` timed out, and its `sleep` went on running (a retry could then
    repeat what it does). The `sleep` holds no output open: the call does not wait for it."""
    pidfile = tmp_path / "child.pid"
    script = f"sleep 30 >/dev/null 2>&1 & echo $! > {pidfile}; wait"
    outcome = perform(capability({"shell": ["sh", "-c", script]}, "300ms"), context(0.3), project)
    assert not outcome.ok and outcome.timed_out
    child = int(pidfile.read_text())
    try:
        assert _ends(child)
    finally:
        process_tree._kill_all([child])  # (left running only when the test fails)


def test_a_timed_out_shell_binding_ends_what_it_left_to_run_on_its_own(
    project: Path, tmp_path: Path
) -> None:
    """A shell that started a job holding no output and exited at once (`sh -c "(sleep 3;
    charge) >/dev/null &"`, a daemon's double fork) left it another process's child, out of
    the step's tree: the step timed out and counted as not done, and the job went on to
    charge, and a retry charged again. It has the step's environment: it is ended too."""
    pidfile = tmp_path / "job.pid"
    leave = f"sleep 30 </dev/null >/dev/null 2>&1 & echo $! > {pidfile}"
    script = f"sh -c '{leave}'; sleep 30"
    run_id = f"r-left-{os.getpid()}"  # (its own: a timeout ends every process of the step)
    ctx = ActionContext(run_id, "intent", "thing", "p", 1, 1, f"{run_id}/1/1", 2.0, {})
    outcome = perform(capability({"shell": ["sh", "-c", script]}, "2s"), ctx, project)
    assert not outcome.ok and outcome.timed_out
    job = int(pidfile.read_text())
    try:
        assert _ends(job)
    finally:
        process_tree._kill_all([job])  # (left running only when the test fails)


def test_a_job_left_holding_the_output_after_the_binding_exited_is_ended(
    project: Path, tmp_path: Path
) -> None:
    """`sh -c "sleep 30 & echo '{…}'"` exited at once, but its `sleep` held the output open:
    the call counted as timed out after its whole timeout, and the `sleep` (another
    process's child by then) went on running."""
    pidfile = tmp_path / "job.pid"
    script = f"sleep 30 & echo $! > {pidfile}; echo '{{\"ok\": 1}}'"
    outcome = perform(capability({"shell": ["sh", "-c", script]}, "20s"), context(20.0), project)
    assert outcome.ok and outcome.output == {"ok": 1} and not outcome.timed_out, outcome
    job = int(pidfile.read_text())
    assert _ends(job)


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Handler.seen.append(
            {"path": self.path, "key": self.headers["Idempotency-Key"], "body": body}
        )
        status = 503 if self.path == "/down" else 200
        payload = json.dumps({"accepted": True}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen.clear()
    with serve_on_loopback(_Handler) as url:
        yield url


def test_http_binding_posts_json_with_idempotency_key(server: str, project: Path) -> None:
    """An HTTP binding sends its JSON body and an Idempotency-Key header; a 2xx JSON reply is the output."""
    outcome = perform(
        capability({"http": {"url": f"{server}/charge", "json": {"amount": 3}}}), context(), project
    )
    assert outcome.ok and outcome.output == {"accepted": True}
    assert _Handler.seen == [{"path": "/charge", "key": "r1/1/1", "body": {"amount": 3}}]


def test_an_output_too_long_or_not_an_object_is_not_kept_and_a_note_says_why(
    server: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP reply past the limit became no output without a word (and a shell one had
    no limit); text that is no JSON object was dropped silently too."""
    monkeypatch.setattr(bindings, "MAX_OUTPUT", 10)
    replied = perform(capability({"http": {"url": f"{server}/charge"}}), context(), project)
    assert replied.ok and replied.output is None  # {"accepted": true}: 18 bytes
    assert replied.note == "its output was over 10 bytes, and not kept"
    printed = ["python3", "-c", "print('{\"a\": 1234567890}')"]
    long = perform(capability({"shell": printed}), context(), project)
    assert long.ok and long.output is None and long.note == replied.note
    said = perform(capability({"shell": ["python3", "-c", "print('ok')"]}), context(), project)
    assert said.ok and said.note == "its output was not a JSON object, and not kept"
    quiet = perform(capability({"shell": ["python3", "-c", "pass"]}), context(), project)
    assert quiet.ok and quiet.output is None and quiet.note is None


def test_http_binding_error_status_fails(server: str, project: Path) -> None:
    """A 5xx reply fails the step with the status in the reason."""
    outcome = perform(capability({"http": {"url": f"{server}/down"}}), context(), project)
    assert not outcome.ok and outcome.error is not None and "HTTP 503" in outcome.error


def test_http_binding_unreachable_server_fails(project: Path) -> None:
    """A refused connection is a failure, not an exception."""
    outcome = perform(capability({"http": {"url": "http://127.0.0.1:9/x"}}), context(), project)
    assert not outcome.ok and outcome.error is not None


def test_a_shell_step_killed_by_a_signal_is_a_failed_attempt(project: Path) -> None:
    """A subprocess that dies of SIGKILL is a failure naming the signal, not a runtime crash."""
    argv = ["python", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    outcome = perform(capability({"shell": argv}), context(), project)
    assert not outcome.ok
    assert outcome.error == "killed by SIGKILL"


class _DeepReply(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        payload = ('{"a":' * 599 + "{}" + "}" * 599).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_an_output_nested_too_deep_is_not_kept_and_a_note_says_why(project: Path) -> None:
    """An HTTP reply 600 levels deep was kept, and crashed the run later; a Python
    binding's 5,000-level value, or one with keys JSON cannot hold, crashed `perform`."""
    with serve_on_loopback(_DeepReply) as url:
        replied = perform(capability({"http": {"url": f"{url}/deep"}}), context(), project)
    too_deep = (
        f"its output was nested deeper than {MAX_DEPTH} levels (the most ido reads), and not kept"
    )
    assert replied.ok and replied.output is None and replied.note == too_deep
    (project / "fakesvc" / "odd.py").write_text(
        "def deep(ctx):\n    d = {}\n    for _ in range(5000):\n        d = {'a': d}\n    return d\n"
        "def keys(ctx):\n    return {(1, 2): 'pair'}\n"
    )
    returned = perform(capability({"python": "fakesvc.odd:deep"}), context(), project)
    assert returned.ok and returned.output is None and returned.note == too_deep
    keyed = perform(capability({"python": "fakesvc.odd:keys"}), context(), project)
    assert keyed.ok and keyed.output is None
    assert keyed.note is not None and keyed.note.startswith(
        "its output was not what JSON can carry"
    )


def test_an_argument_the_system_refuses_fails_the_step(project: Path) -> None:
    """A NUL in an argument (loading refuses it in YAML; a binding built in code may still
    hold one) raised ValueError out of the step: a traceback, the step left in flight."""
    thing = capability({"shell": ["echo"]})
    assert thing.spec.run is not None
    run = thing.spec.run.model_copy(update={"shell": ["echo", "a\0b"]})
    nul = thing.model_copy(update={"spec": thing.spec.model_copy(update={"run": run})})
    outcome = perform(nul, context(), project)
    assert not outcome.ok and outcome.error == "cannot start echo: embedded null byte"


def test_a_call_stopped_at_its_timeout_does_not_go_on_to_its_next_command(
    project: Path,
) -> None:
    """Its processes were killed children first: `sleep`'s death woke `sh`, which ran the
    next command before its own kill came (four runs in ten), so a call that timed out had
    charged anyway, and its retry charged again."""
    done = project / "done.log"
    script = f"sleep 1.5; echo charged >> {done}"
    for _ in range(10):
        outcome = perform(
            capability({"shell": ["sh", "-c", script]}, "200ms"), context(0.2), project
        )
        assert outcome.timed_out
    time.sleep(1.8)  # what survived its kill would have written by now
    assert not done.exists()


def test_a_process_that_may_not_be_signalled_does_not_hang_the_step(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process below the call that ido may not signal (it changed its user, `sudo`)
    raised PermissionError out of the kill, before any was killed: the shell, stopped,
    was waited on for ever."""
    real_kill = os.kill
    refused: list[int] = []

    def kill(pid: int, sig: int) -> None:
        if sig == bindings.signal.SIGSTOP and pid != os.getpid() and not refused:
            refused.append(pid)
            raise PermissionError(1, "Operation not permitted")
        real_kill(pid, sig)

    monkeypatch.setattr(bindings.os, "kill", kill)
    started = time.monotonic()
    slow = perform(
        capability({"shell": ["sh", "-c", "sleep 3; echo '{}'"]}, "300ms"), context(0.3), project
    )
    assert slow.timed_out and refused
    assert time.monotonic() - started < 2.5  # not waiting out the sleep, nor for ever


def test_killing_ends_though_processes_keep_coming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: a process ido may not stop that keeps starting short-lived ones
    made the search for more go on for ever."""
    import itertools
    import subprocess

    sleeper = subprocess.Popen(["sleep", "30"])
    fresh = itertools.count(10**7)
    monkeypatch.setattr(process_tree, "_descendants", lambda pid: [next(fresh)])
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if pid >= 10**7:
            raise PermissionError(1, "Operation not permitted")
        real_kill(pid, sig)

    monkeypatch.setattr(process_tree.os, "kill", kill)
    process_tree._kill_tree(sleeper.pid)
    assert sleeper.wait(5) == -process_tree.signal.SIGKILL


def test_a_module_of_the_same_name_from_another_project_is_not_called(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second project whose `fakesvc.impl` this process already imported from the first
    fails its step naming both files, instead of running the first project's code."""
    assert perform(capability({"python": "fakesvc.impl:call"}), context(), project).ok
    other = tmp_path_factory.mktemp("other")
    (other / "fakesvc").mkdir()
    (other / "fakesvc" / "__init__.py").write_text("")
    (other / "fakesvc" / "impl.py").write_text("def call(ctx):\n    return {'by': 'other'}\n")
    outcome = perform(capability({"python": "fakesvc.impl:call"}), context(), other)
    assert not outcome.ok
    assert f"not from this project's {other / 'fakesvc' / 'impl.py'}" in (outcome.error or "")
    assert str(project / "fakesvc" / "impl.py") in (outcome.error or "")


def test_an_exception_whose_message_cannot_be_read_fails_the_step_at_once(
    project: Path,
) -> None:
    """A binding raised an exception whose `__str__` raises: its worker died, and the step
    waited out its timeout and was told as timed out (for a step that is not idempotent, an
    outcome a person must settle). It fails now, at once, with what could be read."""
    (project / "fakesvc" / "garbled.py").write_text(
        "class Garbled(Exception):\n"
        "    def __str__(self):\n"
        "        raise ValueError('no')\n\n"
        "def call(ctx):\n"
        "    raise Garbled()\n"
    )
    outcome = perform(capability({"python": "fakesvc.garbled:call"}), context(), project)
    assert not outcome.ok and not outcome.timed_out
    assert outcome.error == "Garbled: (its message could not be read: str() raised ValueError)"


def test_a_mapping_that_is_not_a_dict_is_kept_as_an_object(project: Path) -> None:
    """A binding returning a read-only mapping (`MappingProxyType`) succeeded with its
    repr, `"{'id': 'c1'}"`, as the output: a string where later steps read `.id`."""
    (project / "fakesvc" / "frozen.py").write_text(
        "from types import MappingProxyType\n\n"
        "def call(ctx):\n"
        "    return MappingProxyType({'id': 'c1'})\n"
    )
    outcome = perform(capability({"python": "fakesvc.frozen:call"}), context(), project)
    assert outcome.ok and outcome.output == {"id": "c1"}


def test_a_huge_exception_message_is_cut_as_a_shell_binding_s_is(project: Path) -> None:
    """An exception carrying a 3 MB body was kept whole: journaled with the step, printed
    as it ended and again in the next decision's trigger. It is cut like a shell
    binding's error, to `ERROR_CHARS` characters."""
    (project / "fakesvc" / "loud.py").write_text(
        "def call(ctx):\n    raise ValueError('x' * 3_000_000)\n"
    )
    outcome = perform(capability({"python": "fakesvc.loud:call"}), context(), project)
    assert not outcome.ok and outcome.error is not None
    assert len(outcome.error) == bindings.ERROR_CHARS
    assert outcome.error.startswith("ValueError: xxx") and outcome.error.endswith("…")


def test_a_shell_binding_s_output_is_read_as_it_comes_not_held_whole(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A binding that printed 800 MB to stdout and 300 MB to stderr held 3 GB of ido's
    memory (`communicate` kept it all), though a megabyte of output and the last line of
    an error are all ido keeps; with `yes` it could take the machine's. The error still
    quotes the last line, and a secret in it is still masked."""
    monkeypatch.setenv("IDO_TEST_DRAIN_TOKEN", "tok-drain-123")
    script = (
        "import sys; sys.stdout.write('a' * 30_000_000); "
        "sys.stderr.write('b' * 30_000_000 + chr(10) + 'last line ' + sys.argv[1]); sys.exit(1)"
    )
    argv = ["python3", "-c", script, "${env:IDO_TEST_DRAIN_TOKEN}"]
    tracemalloc.start()
    try:
        outcome = perform(capability({"shell": argv}, "60s"), context(60.0), project)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not outcome.ok and outcome.error == "exit code 1: last line ***"
    assert peak < 10_000_000, f"{peak:,} bytes held"
    printed = ["python3", "-c", "import sys; sys.stdout.write('{} ' + ' ' * 3_000_000)"]
    long = perform(capability({"shell": printed}, "60s"), context(60.0), project)
    assert long.ok and long.output is None
    assert long.note == f"its output was over {bindings.MAX_OUTPUT:,} bytes, and not kept"


def test_an_async_binding_is_told_to_be_a_plain_function(project: Path) -> None:
    """An `async def` binding failed as "returned coroutine, not a mapping", and Python
    warned that the coroutine was never awaited (an error under pytest's `-W error`)."""
    (project / "fakesvc" / "aio.py").write_text("async def call(ctx):\n    return {}\n")
    outcome = perform(capability({"python": "fakesvc.aio:call"}), context(), project)
    assert outcome.error == f"fakesvc.aio:call {bindings.ASYNC_WORDS}"


def test_a_call_giving_back_nothing_for_a_declared_output_says_the_path_is_left_unset(
    project: Path,
) -> None:
    """A binding declared `output: order.receipt` and returned None: the step succeeded
    with nothing said, and the step that read `order.receipt` failed with a bare KeyError."""
    (project / "fakesvc" / "silent.py").write_text("def call(ctx):\n    return None\n")
    plain = capability({"python": "fakesvc.silent:call"})
    declared = Capability.model_validate(
        {
            **plain.model_dump(by_alias=True),
            "spec": {**plain.spec.model_dump(), "output": "order.receipt"},
        }
    )
    outcome = perform(declared, context(), project)
    assert outcome.ok and outcome.note == "it gave back nothing, and order.receipt is left unset"
    assert perform(plain, context(), project).note is None


def test_an_import_error_whose_message_cannot_be_read_fails_the_step(project: Path) -> None:
    """A module whose import raised an exception whose `__str__` raises: formatting the
    "cannot import" message raised again, out of `perform`, which never raises."""
    (project / "fakesvc" / "broken.py").write_text(
        "class Odd(Exception):\n"
        "    def __str__(self):\n"
        "        raise RuntimeError('no')\n\n"
        "raise Odd()\n"
    )
    outcome = perform(capability({"python": "fakesvc.broken:call"}), context(), project)
    assert not outcome.ok
    assert outcome.error == (
        "cannot import fakesvc.broken: Odd: (its message could not be read: str() raised "
        "RuntimeError)"
    )


def test_every_binding_s_error_is_cut_the_same_way(project: Path) -> None:
    """A shell binding's last line was cut with no "…", and an import error not at all:
    each binding cut its own. Every failed call's error is now cut once, with "…"."""
    (project / "fakesvc" / "huge.py").write_text(f"raise ImportError('{'x' * 3000}')\n")
    imported = perform(capability({"python": "fakesvc.huge:call"}), context(), project)
    said = "import sys; print('y' * 3000, file=sys.stderr); sys.exit(2)"
    shell = perform(capability({"shell": ["python", "-c", said]}), context(), project)
    for outcome in (imported, shell):
        assert outcome.error is not None and len(outcome.error) == bindings.ERROR_CHARS
        assert outcome.error.endswith("…"), outcome.error


def test_an_interrupt_while_the_pipes_are_set_up_still_ends_the_step(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM (taken as Ctrl-C) landing after the step's process started but before its
    output was being read skipped the kill: the `with Popen` then waited on the process
    for good, and `ido run` hung until the step ended by itself (60 s), one time in about
    fifteen (`Terminated` is no plain KeyboardInterrupt, which `Popen` waits on for 0.25 s
    only). The interrupt now kills the step wherever it lands."""
    import signal
    import threading

    from ido.runtime.stopping import Terminated

    pidfile = tmp_path / "sh.pid"

    def interrupted(*_: object) -> None:
        deadline = time.monotonic() + 10
        # (the shell makes the file before it writes its id: an empty file is not yet one)
        while not (pidfile.exists() and pidfile.read_text().strip()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(bindings, "Drain", interrupted)
    script = f'echo $$ > "{pidfile}"; sleep 60'
    raised: list[BaseException] = []

    def call() -> None:
        try:
            perform(capability({"shell": ["sh", "-c", script]}, "120s"), context(120), project)
        except BaseException as exc:  # (what reached the caller)
            raised.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "the step's process was waited on, not killed"
    assert [type(e) for e in raised] == [Terminated]
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


_DIES_OF_SIGINT = ["python", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGINT)"]


def test_a_shell_step_dead_of_sigint_alone_is_a_failed_attempt(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subprocess that dies of SIGINT while ido is not interrupted failed, once the
    grace for ido's own Ctrl-C to come has passed."""
    monkeypatch.setattr(bindings, "SIGINT_GRACE_SECONDS", 0.2)
    stopping.reset()
    outcome = perform(capability({"shell": _DIES_OF_SIGINT}), context(), project)
    assert not outcome.ok and outcome.error == "killed by SIGINT"


def test_a_ctrl_c_that_reaches_ido_late_still_interrupts_the_step(project: Path) -> None:
    """A terminal's Ctrl-C reaches the step's process and ido's; ido's main thread, on a
    loaded machine, took it over a second later, and the step had been failed ("killed by
    SIGINT") by then instead of left interrupted for `ido resume`."""
    stopping.reset()
    late = threading.Timer(2.0, stopping.stop)
    late.start()
    try:
        with pytest.raises(stopping.Stopped):
            perform(capability({"shell": _DIES_OF_SIGINT}), context(), project)
    finally:
        late.cancel()
        stopping.reset()
