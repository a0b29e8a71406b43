"""What the journal keeps of an event's data: read back as `json.dumps(..., default=str)`
wrote it, for the odd values observers and bindings can return too."""

from __future__ import annotations

import enum
import math
from pathlib import Path

from ido.journal import SqliteJournal
from ido.state import digest

AT = "2026-11-23T00:00:00.000+00:00"


class Ratio(float):
    """A float subclass, as numpy's float64 is."""


class Colour(enum.Enum):
    RED = 1


def test_odd_values_read_back_as_json_wrote_them_and_keep_their_digest(tmp_path: Path) -> None:
    """NaN and infinities stay floats, a float subclass stays a number, a plain enum and a
    path become their `str`, integers past 64 bits stay whole: replay re-decides from the
    state read back, and its digest must match the one recorded."""
    state = {
        "load": Ratio(0.25),
        "spare": math.nan,
        "peak": math.inf,
        "colour": Colour.RED,
        "where": Path("/tmp/x"),
        "big": 2**70,
    }
    journal = SqliteJournal(tmp_path / "j.db")
    journal.start_run("r", "intent", AT, {})
    journal.append_many("r", [("observed", AT, {"state": state})])
    back = journal.events("r")[1].data["state"]
    journal.close()
    assert back["load"] == 0.25 and type(back["load"]) is float
    assert math.isnan(back["spare"]) and back["peak"] == math.inf
    assert back["colour"] == "Colour.RED" and back["where"] == "/tmp/x"
    assert back["big"] == 2**70
    assert digest(back) == digest(state)
