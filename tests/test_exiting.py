"""Leaving without the interpreter's teardown keeps what a normal exit does that matters."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido import exiting
from ido.cli import app


def _leaving(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run `body` in a Python process of its own (output buffered, as to a pipe), which
    ends with `leave(...)`. Its module holds a file it wrote to and never flushed: only the
    interpreter's teardown writes that out (see `_torn_down`)."""
    script = tmp_path / "leaving.py"
    script.write_text(
        textwrap.dedent(
            """\
            import atexit, os, sys, threading, time
            from ido.exiting import leave, needs_teardown
            marker = sys.argv[1]
            atexit.register(lambda: open(marker, "w").write("atexit ran"))
            held = open(marker + ".held", "w")
            held.write("written at teardown")
            """
        )
        + textwrap.dedent(body)
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "marker")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def _torn_down(tmp_path: Path) -> bool:
    return (tmp_path / "marker.held").read_text() == "written at teardown"


def test_the_code_buffered_output_and_atexit_handlers_survive(tmp_path: Path) -> None:
    done = _leaving(
        tmp_path,
        """\
        sys.stdout.write("no newline, still buffered")
        sys.stderr.write("to stderr")
        leave(SystemExit(3))
        """,
    )
    assert done.returncode == 3
    assert done.stdout == "no newline, still buffered"
    assert done.stderr == "to stderr"
    assert (tmp_path / "marker").read_text() == "atexit ran"
    assert not _torn_down(tmp_path)


@pytest.mark.parametrize(
    "before",
    [
        "needs_teardown('a binding was imported')\n",
        "sys.setprofile(lambda *args: None)\n",
        "sys.settrace(lambda *args: None)\n",
    ],
)
def test_the_exit_is_the_normal_one_when_something_may_rely_on_the_teardown(
    tmp_path: Path, before: str
) -> None:
    """Code that is not ido's was imported, or a profiler or tracer is on."""
    done = _leaving(tmp_path, before + "sys.stdout.write('out')\nleave(SystemExit(4))\n")
    assert done.returncode == 4
    assert done.stdout == "out"
    assert (tmp_path / "marker").read_text() == "atexit ran"
    assert _torn_down(tmp_path)


def test_a_teardown_that_would_crash_is_skipped_even_where_a_binding_asked_for_it(
    tmp_path: Path,
) -> None:
    """`ido worker`: the Temporal SDK's threads abort the interpreter's teardown."""
    body = """\
        from ido.exiting import teardown_crashes
        needs_teardown('a binding was imported')
        teardown_crashes('the teardown aborts')
        sys.stdout.write('out')
        leave(SystemExit(4))
        """
    done = _leaving(tmp_path, textwrap.dedent(body))
    assert done.returncode == 4 and done.stdout == "out"
    assert (tmp_path / "marker").read_text() == "atexit ran"
    assert not _torn_down(tmp_path)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (256 + 4, 4)])
def test_the_status_is_the_one_sys_exit_gives(
    tmp_path: Path, code: int | None, status: int
) -> None:
    done = _leaving(tmp_path, f"leave(SystemExit({code!r}))\n")
    assert done.returncode == status, done.stderr


def test_a_message_goes_to_stderr_with_status_1(tmp_path: Path) -> None:
    done = _leaving(tmp_path, "leave(SystemExit('the journal is locked'))\n")
    assert done.returncode == 1
    assert done.stderr == "the journal is locked\n"


def test_a_thread_still_running_is_waited_for_as_by_a_normal_exit(tmp_path: Path) -> None:
    """Python waits for a running thread that is not a daemon; so does leaving then."""
    done = _leaving(
        tmp_path,
        """\
        def late():
            time.sleep(0.3)
            print("the thread finished", flush=True)
        threading.Thread(target=late).start()
        leave(SystemExit(5))
        """,
    )
    assert done.returncode == 5
    assert done.stdout == "the thread finished\n"
    assert _torn_down(tmp_path)


def test_closed_standard_streams_are_no_reason_to_fail(tmp_path: Path) -> None:
    """Started with stdout and stderr closed (`ido runs >&- 2>&-`), Python has None for them."""
    done = _leaving(tmp_path, "sys.stdout = sys.stderr = None\nleave(SystemExit('gone'))\n")
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr == ""


class _Closed(io.StringIO):
    def flush(self) -> None:
        raise BrokenPipeError("the reader went away")


class _Left(Exception):
    pass


def test_output_that_cannot_be_flushed_fails_a_successful_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Status 120 when stdout is a pipe closed early (`| head`), unless already failing."""
    statuses: list[int] = []

    def exit_now(status: int) -> None:
        statuses.append(status)
        raise _Left

    monkeypatch.setattr(exiting.os, "_exit", exit_now)
    monkeypatch.setattr(exiting, "_watched", lambda: False)  # under coverage or a debugger
    monkeypatch.setattr(exiting, "_threads_running", lambda: False)
    monkeypatch.setattr(exiting, "_needed", [])
    monkeypatch.setattr(sys, "stdout", _Closed())
    for code, status in ((0, exiting.FLUSH_FAILED), (3, 3)):
        with pytest.raises(_Left):
            exiting.leave(SystemExit(code))
        assert statuses.pop() == status


def _wrap_binding(project: Path, setup: str, each_call: str) -> None:
    """The project's binding, with `setup` run on import and `each_call` before each call."""
    impl = project / "fakesvc" / "impl.py"
    wrapper = f"_call = call\n\ndef call(ctx):\n    {each_call}\n    return _call(ctx)\n"
    impl.write_text(impl.read_text() + "\n" + textwrap.dedent(setup) + wrapper)


def _ido_run(project: Path) -> None:
    """`ido run ship-order` as a command of its own (output buffered, as to a pipe)."""
    done = subprocess.run(
        [sys.executable, "-m", "ido", "run", "ship-order", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
        cwd=project,
    )
    assert done.returncode == 0, done.stderr


def test_what_a_python_binding_left_buffered_in_a_file_is_written(project: Path) -> None:
    """A binding's module keeps a file open and never flushes it: the normal exit closes it."""
    _wrap_binding(
        project,
        """
        _AUDIT = open(os.path.join(os.path.dirname(__file__), "audit.log"), "a")
        """,
        '_AUDIT.write(ctx.capability + "\\n")',
    )
    _ido_run(project)
    audited = (project / "fakesvc" / "audit.log").read_text().splitlines()
    assert audited and len(audited) == len(set(audited))


def test_what_is_loaded_is_left_out_of_collections_only_in_the_ido_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`gc.freeze` in code that merely called ido (tests, an embedding) would keep its
    garbage for good."""
    before = gc.get_freeze_count()
    exiting.settle()
    assert gc.get_freeze_count() == before
    monkeypatch.setattr(exiting, "_owned", [True])
    try:
        exiting.settle()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_a_run_of_the_ido_command_freezes_and_one_in_this_process_does_not(
    project: Path,
) -> None:
    _wrap_binding(
        project,
        "import gc\n",
        'log = os.open(os.path.join(os.path.dirname(__file__), "frozen.log"), '
        "os.O_WRONLY | os.O_APPEND | os.O_CREAT); "
        'os.write(log, f"{gc.get_freeze_count()}\\n".encode()); os.close(log)',
    )
    _ido_run(project)
    frozen = project / "fakesvc" / "frozen.log"
    assert all(int(n) > 0 for n in frozen.read_text().split())
    frozen.unlink()
    result = CliRunner().invoke(app, ["run", "ship-order", "--quiet"])
    assert result.exit_code == 0, result.output
    assert {int(n) for n in frozen.read_text().split()} == {0}
