"""The journal a Temporal workflow holds: a run's writes forwarded one by one, and the same
journal made again from them (no server needed: `send` is a list here)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from ido.catalog_record import catalog_digests
from ido.errors import JournalError
from ido.journal.catalogs import digest_of
from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.state import sorted_json
from ido.temporal.forwarding import INLINE_CATALOG, ForwardingJournal, Op, replayed
from ido.testing import StepClock


def _runtime(project: Path, journal: ForwardingJournal) -> LocalRuntime:
    catalog = load_catalog(["capabilities", "policies", "intents"])
    return LocalRuntime(catalog, journal, base=project, clock=StepClock(), new_id=lambda _: "r-t")


def test_every_write_is_sent_once_and_the_writes_make_the_same_journal(project: Path) -> None:
    """A write that calls another (`finish_run` appends its events) is sent once, as JSON;
    the journal the writes make again holds the run exactly as the runtime wrote it."""
    sent: list[Op] = []
    journal = ForwardingJournal(sent.append)
    rt = _runtime(project, journal)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "achieved"
    assert json.loads(json.dumps(sent)) == sent
    names = [name for name, _ in sent]
    assert names[0] == "start_run" and names[-1] == "finish_run"
    assert names.count("start_run") == 1 and "append" not in names[:1]
    again = replayed(sent)
    assert again.events("r-t") == journal.events("r-t")
    assert again.run("r-t") == journal.run("r-t") and again.run("r-t").outcome == "achieved"


def test_a_write_the_server_did_not_take_stops_the_run_and_the_next_resumes_it(
    project: Path,
) -> None:
    """The run's end (with its last step's outcome) could not be sent: the run stops on a
    JournalError (as on a failed commit), and a runtime seeded with what was sent resumes
    it as `ido resume` would: no step is called again, and the last one, whose outcome is
    not on record and which is not idempotent, waits for a person."""
    sent: list[Op] = []

    def send(op: Op) -> None:
        if op[0] == "finish_run":
            raise ConnectionError("the server went away")
        sent.append(op)

    rt = _runtime(project, ForwardingJournal(send))
    with pytest.raises(JournalError, match=r"could not record finish_run.*went away"):
        rt.run(rt.catalog.intents["ship-order"])
    calls = (project / "calls.log").read_text().splitlines()
    seeded = ForwardingJournal(sent.append)
    seeded.seed(list(sent))
    before = len(sent)
    report = _runtime(project, seeded).resume("r-t")
    assert report.outcome == "blocked" and "resume/outcome-unknown" in str(report.reason)
    assert (project / "calls.log").read_text().splitlines() == calls  # no step again
    assert sent[before][0] == "take_over"  # seeding sent nothing
    assert replayed(sent).events("r-t") == seeded.events("r-t")


def test_a_write_ido_cannot_make_is_a_journal_error_not_a_traceback() -> None:
    """A history holding a write no run of it can take (another program's signal) is said
    as the journal's error, naming the write."""
    start = ["start_run", ["r-t", "ship-order", "2026-01-01T00:00:00.000+00:00", {}, None]]
    with pytest.raises(JournalError, match=r"cannot make.*stale"):
        replayed([start, ["append", ["", "stale", "2026-01-01T00:00:00.000+00:00", {}]]])
    with pytest.raises(JournalError, match="does not know: drop"):
        replayed([start, ["drop", []]])


def test_writes_from_two_threads_are_sent_in_the_order_they_were_made() -> None:
    """The second thread's write, made while the first one's is being sent, waits for it:
    sent first, it would land at the other's place in the workflow (each event's seq there
    another than the runtime's)."""
    second_sent = threading.Event()
    sent: list[Op] = []

    def send(op: Op) -> None:
        if op[1][1] == "first":  # slow to be sent: the other thread writes meanwhile
            second_sent.wait(1.0)  # (with the writes one at a time, it never comes)
        sent.append(op)
        if op[1][1] == "second":
            second_sent.set()

    journal = ForwardingJournal(send)
    journal.start_run("r-t", "ship-order", "2026-01-01T00:00:00.000+00:00", {})
    first = threading.Thread(
        target=journal.append, args=("r-t", "first", "2026-01-01T00:00:01.000+00:00", {})
    )
    first.start()
    while journal.events("r-t")[-1].kind != "first":  # made, and being sent
        time.sleep(0.001)
    journal.append("r-t", "second", "2026-01-01T00:00:02.000+00:00", {})
    first.join()
    assert [name for name, _ in sent] == ["start_run", "append", "append"]
    assert replayed(sent).events("r-t") == journal.events("r-t")


def test_a_big_catalogs_digests_go_by_their_key_and_come_back_from_the_catalog(
    project: Path,
) -> None:
    """Past `INLINE_CATALOG` bytes, the run's start names its catalog digests by the
    SHA-256 of their text (every attempt's input carries the start); the journal is made
    again with them from a catalog that has them, and said wanting without one."""
    others = "---\n".join(
        f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: c-{i:0118d}}}\n"
        f"spec: {{provider: q, effects: {{x: true}}, run: {{shell: ['true']}}}}\n"
        for i in range(1_000)
    )
    (project / "capabilities" / "others.yaml").write_text(others)
    sent: list[Op] = []
    journal = ForwardingJournal(sent.append)
    rt = _runtime(project, journal)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "achieved"
    digests = journal.events("r-t")[0].data["capabilities"]
    assert len(sorted_json(digests)) > INLINE_CATALOG
    start = sent[0][1][3]
    assert "capabilities" not in start and start["catalog_digest"] == digest_of(
        sorted_json(digests)
    )
    assert len(json.dumps(sent[0])) < 5_000
    mine = catalog_digests(rt.catalog.capabilities)
    again = replayed(sent, lambda key: mine if key == start["catalog_digest"] else None)
    assert again.events("r-t") == journal.events("r-t")
    with pytest.raises(JournalError, match=r"neither this journal nor this folder's catalog"):
        replayed(sent)
