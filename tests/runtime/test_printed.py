"""What a Python binding or observer prints while it runs is written masked
(`ido.runtime.printed`), however it writes it and whatever calls it makes."""

from __future__ import annotations

import contextlib
import io
import sys

from ido.runtime.printed import masking


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
