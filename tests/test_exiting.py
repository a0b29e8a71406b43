"""Leaving without the interpreter's teardown keeps what a normal exit does that matters."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ido import exiting


def _leaving(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """Run `body` in a Python process of its own, then `leave(SystemExit(CODE))`."""
    script = tmp_path / "leaving.py"
    script.write_text(
        textwrap.dedent(
            """\
            import atexit, sys, threading, time
            from ido.exiting import leave
            marker = sys.argv[1]
            atexit.register(lambda: open(marker, "w").write("atexit ran"))
            """
        )
        + textwrap.dedent(body)
    )
    return subprocess.run(
        [sys.executable, str(script), str(tmp_path / "marker")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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


class _Closed(io.StringIO):
    def flush(self) -> None:
        raise BrokenPipeError("the reader went away")


class _Left(Exception):
    pass


def test_output_that_cannot_be_flushed_fails_a_successful_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As Python's own exit does when stdout is a pipe closed early (`| head`): 120."""
    statuses: list[int] = []

    def exit_now(status: int) -> None:
        statuses.append(status)
        raise _Left

    monkeypatch.setattr(exiting.os, "_exit", exit_now)
    monkeypatch.setattr(sys, "stdout", _Closed())
    for code, status in ((0, exiting.FLUSH_FAILED), (3, 3)):
        with pytest.raises(_Left):
            exiting.leave(SystemExit(code))
        assert statuses.pop() == status
