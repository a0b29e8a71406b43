"""What a Python binding or observer prints while it runs is written masked
(`ido.runtime.printed`), however it writes it and whatever calls it makes."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

from ido import secrets as secrets_module
from ido.model import Capability
from ido.runtime.bindings import perform
from ido.runtime.context import ActionContext
from ido.runtime.printed import masking
from ido.secrets import held_secret


def _outer(text: str) -> str:
    return text.replace("outer-pw", "***")


def _inner(text: str) -> str:
    return text.replace("inner-pw", "###")


def test_a_call_made_inside_a_call_leaves_the_outer_one_masked() -> None:
    """A binding that runs a call of its own (`ido.run` of a sub-intent, an observer):
    when the inner call ended, the outer one's prints went out unmasked and what it had
    printed of a line before was lost. Both are written, masked, in the order printed, and
    the inner call's prints are masked with the outer call's secrets too."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), masking(_outer):
        print("outer-pw before ", end="")
        with masking(_inner):
            print("inner-pw and outer-pw")
        print("outer-pw after")
    assert out.getvalue() == "*** before ### and ***\n*** after\n"


def test_writelines_is_masked_as_write_is() -> None:
    """`sys.stdout.writelines` went to the stream as it was, a token in it too."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), masking(_outer):
        sys.stdout.writelines(["token ", "outer-pw", "\n", "outer-", "pw"])
    assert out.getvalue() == "token ***\n***"


def test_a_binding_printing_line_by_line_reads_its_secrets_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each line a Python binding printed was masked with its secrets looked up again: a
    `_FILE` secret's file read again for every line, and a binding that printed a line at a
    time took 12 times as long as unmasked. They are looked up when the call starts."""
    (tmp_path / "pw").write_text("s3cr3t-from-file")
    (tmp_path / "chatty_ops.py").write_text(
        "import pathlib\n\ndef run(ctx):\n"
        "    pw = pathlib.Path(ctx.state['path']).read_text()\n"
        "    for i in range(200):\n"
        "        print('line', i, pw)\n"
        "    return {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reads: list[str] = []

    def held(path: str) -> str | None:
        reads.append(path)
        return held_secret(path)

    monkeypatch.setattr(secrets_module, "held_secret", held)
    binding = Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "chatty"},
            "spec": {
                "provider": "p",
                "effects": {"done": True},
                "run": {"python": "chatty_ops:run"},
            },
        }
    )
    path = str(tmp_path / "pw")
    ctx = ActionContext("r1", "intent", "chatty", "p", 1, 1, "r1/1/1", 30.0, {"path": path})
    outcome = perform(binding, ctx, tmp_path, {"PW_FILE": path}, frozenset({"PW_FILE"}))
    assert outcome.ok, outcome
    printed = capsys.readouterr().out
    assert printed.count("***") == 200 and "s3cr3t" not in printed
    assert len(reads) < 20, len(reads)


def test_a_progress_bar_a_call_redraws_is_shown_while_it_runs() -> None:
    """A bar redrawn after a carriage return (tqdm's) never ends a line: it was held until
    64 KiB of it were drawn, and showed nothing for most of the call. Each drawing is
    written, masked, once the next one starts."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), masking(_outer):
        for done in range(1, 4):
            sys.stdout.write(f"\r{done}/3 outer-pw")
            sys.stdout.flush()
        assert out.getvalue() == "\r1/3 ***\r2/3 ***\r"
    assert out.getvalue() == "\r1/3 ***\r2/3 ***\r3/3 ***"


def test_what_a_binding_module_prints_when_imported_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A binding's module is imported at its first call, and what it printed then (the key
    it was configured with) went out unmasked: it is masked as what the call prints is."""
    (tmp_path / "configured_ops.py").write_text(
        "import os\n\nprint('configured with', os.environ['PSP_TOKEN'])\n\n"
        "def run(ctx):\n    return {}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    binding = Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "configured"},
            "spec": {
                "provider": "p",
                "effects": {"done": True},
                "run": {"python": "configured_ops:run", "secrets": ["PSP_TOKEN"]},
            },
        }
    )
    ctx = ActionContext("r1", "intent", "configured", "p", 1, 1, "r1/1/1", 30.0, {})
    monkeypatch.setenv("PSP_TOKEN", "s3cr3t")
    outcome = perform(binding, ctx, tmp_path, {"PSP_TOKEN": "s3cr3t"})
    assert outcome.ok, outcome
    assert capsys.readouterr().out == "configured with ***\n"


def test_the_streams_are_put_back_as_they_were_when_no_call_runs() -> None:
    """`sys.stdout` and `sys.stderr` were left wrapped for good after the first call: the
    host of the Python API found other objects than it had set, of another class. They
    are put back, the very objects, when the last call running ends (not before: another
    thread's call still prints through them)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with masking(_outer):
            wrapped = sys.stdout
            assert wrapped is not out
            with masking(_inner):
                assert sys.stdout is wrapped
            assert sys.stdout is wrapped
            print("outer-pw")
        assert sys.stdout is out and sys.stderr is err
    assert out.getvalue() == "***\n"


def test_a_binding_prints_nothing_without_failing_where_there_is_no_stdout() -> None:
    """A process without standard output (`pythonw`, a service started without it) has
    `sys.stdout` None, and `print` writes nothing there: wrapped, it raised, and the
    binding that printed failed. It is left None."""
    err = io.StringIO()
    before = sys.stdout
    try:
        sys.stdout = None
        with contextlib.redirect_stderr(err), masking(_outer):
            print("outer-pw")
            print("outer-pw", file=sys.stderr)
            assert sys.stdout is None
    finally:
        sys.stdout = before
    assert err.getvalue() == "***\n"


def test_a_line_left_unended_on_a_stream_kept_from_an_earlier_call_is_written() -> None:
    """A binding's module that kept `sys.stdout` as it found it in a first call (`out =
    sys.stdout`) and wrote to it in a later one: what it left of a line there was lost,
    as only the streams in `sys` at the later call's start were finished."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        with masking(_outer):
            kept = sys.stdout
        with masking(_outer):
            kept.write("outer-pw unended")
    assert out.getvalue() == "*** unended"


def test_bytes_written_by_mistake_fail_that_write_only() -> None:
    """`click.echo` tries `write(b"")` to learn whether a stream takes bytes, and catches
    the TypeError: the call that tried it is not failed for it when it ends, and what it
    printed is written as before."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), masking(_outer):
        with contextlib.suppress(TypeError):
            sys.stdout.write(b"")  # type: ignore[arg-type]  # (the mistake under test)
        print("outer-pw")
    assert out.getvalue() == "***\n"
