"""How the journal writes an event's data: orjson, read back as `json` would have written it."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ido.journal import SqliteJournal, _text

AT = "2026-11-23T00:00:00.000+00:00"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
data = st.dictionaries(
    st.text(),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    ),
    max_size=6,
)


def _as_json_wrote_it(value: dict[str, Any]) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@settings(max_examples=300, deadline=None)
@given(data)
def test_event_data_reads_back_as_json_would_have_written_it(value: dict[str, Any]) -> None:
    assert json.loads(_text(value)) == _as_json_wrote_it(value)


@dataclasses.dataclass
class Parcel:
    weight: int


def test_what_orjson_refuses_or_does_not_know_is_written_as_json_would() -> None:
    """Integers past 64 bits and lone surrogates fall back to `json`; dataclasses, paths,
    sets and times go to `str`, as they did; NaN is written as null."""
    odd: dict[str, Any] = {
        "big": 2**70,
        "surrogate": "\ud800",
        "parcel": Parcel(3),
        "path": Path("/tmp/x"),
        "set": {1},
        "keys": {1: "a", None: "b"},
    }
    for key, value in odd.items():
        assert json.loads(_text({key: value})) == json.loads(
            json.dumps({key: value}, default=str)
        ), key
    assert json.loads(_text({"n": math.nan})) == {"n": None}


def test_odd_data_lands_in_the_journal_and_reads_back(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    journal.start_run("r", "intent", AT, {"big": 2**70, "name": "é"})
    journal.append_many("r", [("observed", AT, {"surrogate": "\ud800", "n": 1})])
    events = journal.events("r")
    assert events[0].data == {"big": 2**70, "name": "é"}
    assert events[1].data == {"surrogate": "\ud800", "n": 1}
    journal.close()
    with sqlite3.connect(tmp_path / "j.db") as db:
        text = db.execute("SELECT data FROM events WHERE kind='observed'").fetchone()[0]
    assert json.loads(text) == {"n": 1, "surrogate": "\ud800"}
