"""The hash chain over each run's events, and checking it (`ido verify`).

Each event row holds `hash`: SHA-256 over the previous event's hash (empty for a run's
first chained event) and the event as stored (run id, number, time, kind, data text),
each part prefixed by its length in bytes so no two events encode alike. One chain per
run, not one for the journal: `ido prune` removes and `--archive` moves whole runs, which
would cut a journal-wide chain at every prune, while a run's chain moves with it intact;
and runs side by side (`--concurrency`, several processes) each link to their own last
event, read in the commit that holds SQLite's write lock.

Pure: the journal hands the rows over, the CLI prints what is found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from ido.journal.catalogs import named
from ido.journal.catalogs import problem as catalog_problem


def link(prev: str, run_id: str, seq: int, at: str, kind: str, data: str) -> str:
    """An event's hash, chained to `prev` (the run's event before it; "" for its first)."""
    digest = hashlib.sha256()
    for part in (prev, run_id, str(seq), at, kind, data):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(encoded))
        digest.update(encoded)
    return digest.hexdigest()


class Link(NamedTuple):
    """One event row as the chain reads it: `data` the stored JSON text, `hash` None for
    an event recorded before chaining (a journal older than schema 5). A tuple: `ido
    verify` makes one per event, a frozen dataclass in two and a half times as long."""

    seq: int
    at: str
    kind: str
    data: str
    hash: str | None


@dataclass(frozen=True)
class Checked:
    """What checking one run found. `status`: `intact` (its chain holds, and its row says
    what its events do), `unchained` (recorded before chaining: nothing to check), or
    `broken`, with the first event that does not match (`seq`, `kind`, `at`; `seq` None
    when the run's row is what disagrees) and `problem` in words."""

    run_id: str
    status: str
    events: int
    head_seq: int = 0
    head: str | None = None
    unchained: int = 0
    """Events recorded before chaining at the start of a run chained after them."""
    seq: int | None = None
    kind: str | None = None
    at: str | None = None
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """As `ido verify --format json` lists it: the run under `run`, as its heads do."""
        found = dict(self.__dict__)
        return {"run": found.pop("run_id"), **found}

    def said(self) -> str:
        """The finding in words, for a broken run."""
        where = (
            f"event {self.seq} ({self.kind} at {self.at})" if self.seq is not None else "its row"
        )
        return f"run {self.run_id}, {where}: {self.problem}"


@dataclass(frozen=True)
class Row:
    """What a run's row says, checked against its events (`runs` is not chained: it is
    the events' summary, rewritten as the run ends, blocks or resumes)."""

    intent: str
    started_at: str
    ended_at: str | None
    outcome: str | None
    reason: str | None
    cost: float
    recorded: str = ""
    """When the run was recorded, by this world's clock (`RunRow.recorded`)."""


def check(
    run_id: str,
    row: Row,
    links: Sequence[Link],
    chained_since: str | None = None,
    catalog: str | Callable[[str], str | None] | None = None,
) -> Checked:
    """Check a run's chain, then the catalog its start names, then its row against its
    events; the first mismatch found. `chained_since`: when the journal began chaining
    (`CHAINED_SINCE`); a run recorded since whose events have no hash had them removed.
    `catalog`: the stored text of the catalog digests the run's start names (`catalog_of`;
    None: none, or not in the journal), or what reads it given its key."""
    prev = ""
    expected = 1
    chained = False
    unchained = 0

    def broken(at: Link, problem: str) -> Checked:
        kind, when = (v if isinstance(v, str) else repr(v) for v in (at.kind, at.at))
        return Checked(
            run_id, "broken", len(links), 0, None, unchained, at.seq, kind, when, problem
        )

    for event in links:
        wrong = _not_as_written(event)
        if wrong is not None:
            return broken(event, f"{wrong}: the journal was edited by hand")
        if event.seq != expected:
            one = event.seq == expected + 1
            gone = f"event {expected} is" if one else f"events {expected} to {event.seq - 1} are"
            return broken(event, f"{gone} missing before it: removed from the journal")
        expected = event.seq + 1
        if event.hash is None:
            if chained:
                return broken(
                    event,
                    "it has no hash, though the events before it are chained: its hash was removed",
                )
            unchained += 1
            continue
        chained = True
        if link(prev, run_id, event.seq, event.at, event.kind, event.data) != event.hash:
            return broken(
                event,
                "it does not match its hash: its time, kind or data was changed after "
                "it was recorded, or it was moved, or the event before it was rewritten "
                "and hashed afresh",
            )
        prev = event.hash
    if (
        not chained
        and links
        and chained_since is not None
        and str(row.recorded) >= chained_since  # (text, but for a row edited by hand)
    ):
        return broken(
            links[0],
            "the run's events have no hashes, though it was recorded after the journal "
            f"began chaining ({chained_since}): their hashes were removed, or an older ido "
            "recorded it (the first, which writes any journal whatever its version, or one "
            "that had it open as it was upgraded), before the journal refused such runs",
        )
    if not links and chained_since is not None and str(row.recorded) >= chained_since:
        return Checked(
            run_id,
            "broken",
            0,
            problem="the run has no events, though it was recorded after the journal began "
            f"chaining ({chained_since}) and ido records its start with it: they were removed",
        )
    if not chained:
        return Checked(run_id, "unchained", len(links), unchained=unchained)
    started = _started(links)  # read once: its catalog, and the intent the row must say
    key = None if started is None else named(links[0].kind, started)
    if callable(catalog):  # (read only for a run that names one)
        catalog = None if key is None else catalog(key)
    wrong = None if key is None else _catalog_problem(key, catalog)
    if wrong is not None:  # (the key is chained: the stored map must be what it digests)
        return broken(links[0], wrong)
    last = links[-1]
    found = _row_problem(row, links, started or {})
    if found is not None:
        return Checked(run_id, "broken", len(links), 0, None, unchained, problem=found)
    return Checked(run_id, "intact", len(links), last.seq, last.hash, unchained)


def catalog_of(links: Sequence[Link]) -> str | None:
    """The key of the catalog digests a run's start names (`ido.journal.catalogs`); None
    when it names none (its map in the event, as an ido before schema 6 recorded it)."""
    started = _started(links)
    return None if started is None else named(links[0].kind, started)


def _started(links: Sequence[Link]) -> dict[str, Any] | None:
    """The data of a run's first event, read (`_data`); None when its first event is
    missing or not text."""
    if not links or links[0].seq != 1 or not isinstance(links[0].data, str):
        return None
    return _data(links[0].data)


@lru_cache(maxsize=8)
def _catalog_problem(key: str, text: str | None) -> str | None:
    """`catalog_problem`, digested once per catalog: the runs of one catalog name the
    same row, and a 41,229-capability catalog's text is 2 MB (`ido verify` reads each
    text once, one object, which hashes once as a key here)."""
    return catalog_problem(key, text)


def _not_as_written(event: Link) -> str | None:
    """What in an event is not of the type ido writes (SQLite keeps what it is given:
    `UPDATE events SET data = CAST(data AS BLOB)`), in words; None if nothing."""
    if type(event.seq) is int and type(event.at) is type(event.kind) is type(event.data) is str:
        return None  # (as ido writes every event: said at once)
    if not isinstance(event.seq, int):
        return f"its number is not a number ({event.seq!r})"
    for name, value in (("time", event.at), ("kind", event.kind), ("data", event.data)):
        if not isinstance(value, str):
            return f"its {name} is not text but {type(value).__name__}"
    return None


def _row_problem(row: Row, links: Sequence[Link], started: dict[str, Any]) -> str | None:
    """Where the run's row disagrees with its chained events, in words; None if nowhere.
    `started`: the first event's data, read."""
    if isinstance(row.cost, bool) or not isinstance(row.cost, (int, float)):
        return f"it says the run cost {row.cost!r}, not a number: the journal was edited by hand"
    first = links[0]
    if first.kind == "run_started" and first.at != row.started_at:
        return f"it says the run started at {row.started_at}, its first event at {first.at}"
    if first.kind == "run_started":
        intent = started.get("intent")
        if isinstance(intent, dict):  # the intent as it was loaded
            intent = intent.get("metadata", {}).get("name")
        if isinstance(intent, str) and intent != row.intent:
            return f"it says the run is of intent {row.intent}, its first event {intent}"
    ended: tuple[str | None, str | None, str | None, float | None] = (None, None, None, None)
    for event in links:  # the row as the journal's writes leave it (`finish_run`, `take_over`)
        if event.kind == "run_finished":
            data = _data(event.data)
            ended = (event.at, data.get("outcome"), data.get("reason"), data.get("cost"))
        elif event.kind == "run_resumed" and ended[1] in ("blocked", "failed"):
            ended = (None, None, None, None)
    at, outcome, reason, cost = ended
    if outcome != row.outcome:
        told = f"outcome {outcome}" if outcome is not None else "that it has not ended"
        return f"it says outcome {row.outcome}, but its events say {told}"
    if outcome is None:
        return None
    if at != row.ended_at:
        return f"it says the run ended at {row.ended_at}, its run_finished event at {at}"
    if reason != row.reason:
        return f"its reason is not the one its run_finished event recorded ({reason!r})"
    if cost is not None and (not isinstance(cost, (int, float)) or float(cost) != row.cost):
        shown = f"{cost:g}" if isinstance(cost, (int, float)) else repr(cost)
        return f"it says the run cost {row.cost:g}, its run_finished event {shown}"
    return None


def _data(text: str) -> dict[str, Any]:
    """An event's data as stored; {} for text that is not a JSON object (one rewritten
    and chained again by hand: the row is then told apart from what it records)."""
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def against(listed: tuple[int, str], links: Sequence[Link]) -> str | None:
    """Where a run disagrees with the head listed for it (its event `seq` and that event's
    hash, from `ido verify --heads` earlier); None when the event is still there with the
    same hash, so the chain vouches for every event up to it."""
    seq, head = listed
    held = next((e for e in links if e.seq == seq), None)
    if held is None:
        last = links[-1].seq if links else 0
        return f"the list has its event {seq}, the journal its events up to {last} only: removed"
    if held.hash != head:
        return (
            f"its event {seq} does not have the hash listed for it: the run was changed and "
            "chained again since the list was made"
        )
    return None
