"""How far `ido verify` and `ido audit` have got through a big journal, on a terminal."""

from __future__ import annotations

import pytest

import ido.cli.going as going


def test_a_terminal_is_told_how_many_runs_are_gone_through_and_a_pipe_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ido verify` said nothing for 11 s on a journal of 20,000 runs: on a terminal it
    says how far it has got now and then (on standard error); piped, nothing, and the
    runs are not even counted."""
    asked: list[str] = []

    def total() -> int:
        asked.append("counted")
        return 20_000

    monkeypatch.setattr(going, "_is_terminal", lambda stream: False)
    went = going._going_through("verifying", total, after=0.0)
    went(12_000)
    assert capsys.readouterr() == ("", "") and asked == []

    monkeypatch.setattr(going, "_is_terminal", lambda stream: True)
    went = going._going_through("verifying", total, after=0.0)
    went(12_000)
    went(12_001)  # within two seconds of the line before: not said
    out, err = capsys.readouterr()
    assert out == "" and asked == ["counted"]
    assert err.startswith("verifying ") and err.endswith("s: 12,000 of 20,000 runs\n"), err
    assert err.count("\n") == 1
