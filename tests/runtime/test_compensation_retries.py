"""A compensation that fails is tried again, with backoff, while repeating it is safe."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
from pathlib import Path

from ido.journal import SqliteJournal
from tests.runtime.test_resume import ido, ledger
from tests.runtime.test_resume_compensation import INTENT, SAGA, saga

# unpack (idempotent) fails its first call, after it wrote it down: a provider blip
BLIP = """
def unpack(ctx):
    if not any(line.startswith("blip ") for line in _lines()):
        _write("blip", ctx.idempotency_key)
        raise RuntimeError("warehouse API 503")
    _write("unpack", ctx.idempotency_key)
"""


def refunds(project: Path, body: str) -> None:
    """Make the saga's refund do `body` (indented code) instead of succeeding."""
    calls = project / "svc" / "saga.py"
    calls.write_text(calls.read_text().replace('    _write("refund", ctx.idempotency_key)', body))


def refund_times_out(tmp_path: Path) -> Path:
    """The saga, its refund (not idempotent) made and then timing out (after 200 ms): its
    outcome unknown."""
    project = saga(tmp_path)
    shop = project / "capabilities" / "shop.yaml"
    shop.write_text(
        SAGA.replace(
            '  cost: 0.1\n  run: {python: "svc.saga:refund"}',
            '  cost: 0.1\n  timeout: 200ms\n  run: {python: "svc.saga:refund"}',
        )
    )
    refunds(
        project, '    _write("refund", ctx.idempotency_key)\n    import time\n    time.sleep(3)'
    )
    return project


def events_of(project: Path) -> list[tuple[str, dict[str, object]]]:
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        return [(e.kind, e.data) for e in journal.events(row.id)]


def test_an_idempotent_compensation_that_failed_once_is_done_on_its_next_attempt(
    tmp_path: Path,
) -> None:
    """The unpack failed once (a provider blip) and the parcel stayed packed, the run's
    reason said so, and only a person could undo it, outside ido. Now it is tried again
    under the same idempotency key, and explain says it was done on attempt 2."""
    project = saga(tmp_path)
    calls = project / "svc" / "saga.py"
    text = calls.read_text()
    start = text.rindex("def unpack(ctx):")
    end = text.rindex("def ship(ctx):")
    calls.write_text(text[:start] + BLIP.lstrip() + "\n\n" + text[end:])
    failed = ido(project, "run", "deliver")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "not undone" not in failed.stdout, failed.stdout
    lines = [line.split() for line in ledger(project)]
    (blip,) = [key for kind, key in lines if kind == "blip"]
    (unpack,) = [key for kind, key in lines if kind == "unpack"]
    assert blip == unpack  # the same key: a provider that honours it unpacks once
    told = ido(project, "explain", "last").stdout
    assert "compensation: unpack could not undo pack (step 2) on attempt 1: failed:" in told
    assert "compensation: unpack undid pack (step 2): done on attempt 2" in told, told
    assert "compensation: refund undid charge (step 1): done\n" in told
    kinds = [kind for kind, _ in events_of(project)]
    assert kinds.count("compensation_retried") == 1 and kinds.count("compensation_finished") == 2


def test_a_compensation_whose_call_timed_out_is_not_tried_again_unless_idempotent(
    tmp_path: Path,
) -> None:
    """A refund (not idempotent) that timed out may have been made: tried again, it could
    refund twice. It is left undone, as before, for a person."""
    project = refund_times_out(tmp_path)
    failed = ido(project, "run", "deliver")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    started = [
        d for k, d in events_of(project) if k == "action_started" and d["capability"] == "refund"
    ]
    assert len(started) == 1
    assert "charge (step 1) is not undone: refund failed" in failed.stdout


def test_limits_max_compensation_attempts_bounds_the_attempts_and_backoff_spaces_them(
    tmp_path: Path,
) -> None:
    """Each retry waits the intent's `limits.backoff`, doubled per failure of its
    capability, as a plan's retry does: its start records the wait (`waited`), and
    `max_compensation_attempts: 2` stops at two."""
    project = saga(tmp_path)
    limited = INTENT.replace(
        "limits: {max_attempts: 1}",
        "limits: {max_attempts: 1, backoff: 10ms, max_compensation_attempts: 2}",
    )
    (project / "intents" / "deliver.yaml").write_text(limited)
    refunds(project, '    raise RuntimeError("refunds are down")')
    failed = ido(project, "run", "deliver")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    events = events_of(project)
    started = [d for k, d in events if k == "action_started" and d["capability"] == "refund"]
    assert [d.get("waited", False) for d in started] == [False, True]
    assert [d["backoff"] for d in started] == [0.0, 0.01]
    (retried,) = [d for k, d in events if k == "compensation_retried"]
    assert retried["backoff"] == 0.01 and retried["attempt"] == 1
    assert "charge (step 1) is not undone: refund failed 2 times" in failed.stdout


FIXABLE = (
    '    if not Path("fixed").exists():\n'
    '        _write("refused", ctx.idempotency_key)\n'
    '        raise RuntimeError("refunds are down")\n'
    '    _write("refund", ctx.idempotency_key)'
)


def test_ido_compensate_tries_again_what_a_failed_run_left_undone(tmp_path: Path) -> None:
    """A refund that failed after every attempt left the customer charged, and the only
    way out was by hand, outside ido. `ido compensate RUN` lists it (`--dry-run`), tries
    it again once the provider is mended, journaled as the run's events, and refuses a run
    with nothing left to undo."""
    project = saga(tmp_path)
    refunds(project, FIXABLE)
    assert ido(project, "run", "deliver").returncode == 1
    listed = ido(project, "compensate", "last", "--dry-run")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    said = "refund, undoing charge (step 1): it failed: RuntimeError: refunds are down"
    assert said in listed.stdout, listed.stdout
    assert len(events_of(project)) == len(events_of(project))  # (read twice: nothing written)
    still = ido(project, "compensate", "last")  # not mended yet: three more attempts
    assert still.returncode == 1, still.stdout + still.stderr
    assert still.stdout.count("is not undone: refund failed 3 times") == 1, still.stdout
    (project / "fixed").write_text("")
    done = ido(project, "compensate", "last")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "undoing again charge (step 1)" in done.stdout
    assert "not undone" not in done.stdout, done.stdout
    kinds = [line.split()[0] for line in ledger(project)]
    assert kinds.count("refused") == 6 and kinds.count("refund") == 1 and "unpack" in kinds
    told = ido(project, "explain", "last").stdout
    assert "ido compensate: undoing again charge (step 1)" in told, told
    assert "compensation: refund undid charge (step 1): done" in told
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
    assert row.outcome == "failed" and "used up by ship" in str(row.reason)
    assert "not undone" not in str(row.reason)
    again = ido(project, "compensate", "last")
    assert again.returncode != 0
    assert "failed with nothing left undone: every compensation it ran was done" in again.stderr
    replayed = ido(project, "replay", "last")
    assert replayed.returncode == 0 and "identical" in replayed.stdout, replayed.stdout


def test_ido_compensate_refuses_a_run_that_did_not_fail(tmp_path: Path) -> None:
    project = saga(tmp_path)
    packs = INTENT.replace('goal: ["state.order.shipped"]', 'goal: ["state.parcel.packed"]')
    (project / "intents" / "deliver.yaml").write_text(packs)
    assert ido(project, "run", "deliver").returncode == 0
    refused = ido(project, "compensate", "last", "--dry-run")
    assert refused.returncode != 0
    said = "ended achieved; only a failed run's compensations left undone can be tried again"
    assert said in refused.stderr, refused.stderr


def test_ido_compensate_killed_midway_is_finished_by_ido_resume(tmp_path: Path) -> None:
    """Killed after each of its commits in turn, `ido compensate` leaves the run
    interrupted; `ido resume` finishes undoing it, refunding once."""
    failed = saga(tmp_path / "failed")
    refunds(failed, FIXABLE)
    assert ido(failed, "run", "deliver").returncode == 1
    (failed / "fixed").write_text("")
    reference = tmp_path / "reference"
    shutil.copytree(failed, reference)
    before = len(events_of(reference))
    assert ido(reference, "compensate", "last").returncode == 0
    commits = len(events_of(reference)) - before
    crashed = 0
    for n in range(1, commits):
        project = tmp_path / f"crash-{n}"
        shutil.copytree(failed, project)  # (the journal, closed, with its -wal file if any)
        killed = ido(project, "compensate", "last", IDO_CRASH_AFTER_EVENTS=str(n))
        if killed.returncode != -signal.SIGKILL:  # (fewer commits than events)
            continue
        crashed += 1
        resumed = ido(project, "resume", "last")
        assert resumed.returncode == 1, (n, resumed.stdout, resumed.stderr)
        kinds = [line.split()[0] for line in ledger(project)]
        assert kinds.count("refund") == 1, (n, kinds)
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            assert "not undone" not in str(journal.runs()[0].reason), n
    assert crashed >= 3


# unpack (idempotent) takes effect but its answer is lost (an error), then ido is killed
# in its second attempt
LOST_THEN_KILLED = """
def unpack(ctx):
    if not any(line.startswith("blip ") for line in _lines()):
        _write("blip", ctx.idempotency_key)
        _write("unpack", ctx.idempotency_key)
        raise RuntimeError("warehouse API 502")
    if not any(line.startswith("crash ") for line in _lines()):
        _write("crash", ctx.idempotency_key)
        os.kill(os.getpid(), signal.SIGKILL)
    if f"unpack {ctx.idempotency_key}" not in _lines():
        _write("unpack", ctx.idempotency_key)
"""


def test_a_retried_compensation_cut_short_is_made_again_under_its_first_key(
    tmp_path: Path,
) -> None:
    """A retry of an idempotent compensation is made under its first attempt's key; killed
    in it, resume made it again under the key of the attempt cut short (RUN/STEP/ATTEMPT),
    a new one to the provider: the unpack (a refund) was made twice."""
    project = saga(tmp_path)
    calls = project / "svc" / "saga.py"
    text = calls.read_text()
    start = text.rindex("def unpack(ctx):")
    end = text.rindex("def ship(ctx):")
    calls.write_text(text[:start] + LOST_THEN_KILLED.lstrip() + "\n\n" + text[end:])
    killed = ido(project, "run", "deliver")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    resumed = ido(project, "resume", "last")
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    lines = [line.split() for line in ledger(project)]
    (blip,) = [key for kind, key in lines if kind == "blip"]
    (crash,) = [key for kind, key in lines if kind == "crash"]
    assert crash == blip
    assert [key for kind, key in lines if kind == "unpack"] == [blip]  # unpacked once
    assert "not undone" not in resumed.stdout, resumed.stdout


def test_ido_compensate_says_a_refund_that_timed_out_may_have_been_made(tmp_path: Path) -> None:
    """A refund (not idempotent) that timed out was listed by `ido compensate --dry-run`
    as one that "failed", and made again with no word that it may have been made already."""
    project = refund_times_out(tmp_path)
    assert ido(project, "run", "deliver").returncode == 1
    listed = ido(project, "compensate", "last", "--dry-run")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    said = "refund, undoing charge (step 1): its outcome is unknown: timed out after 0.2s"
    assert said in listed.stdout, listed.stdout
    before = events_of(project)
    refused = ido(project, "compensate", "last")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"{said}: it may have been made" in refused.stderr, refused.stderr
    assert "with --unknown-too to make it again" in refused.stderr
    assert events_of(project) == before
    assert [line.split()[0] for line in ledger(project)].count("refund") == 1
    done = ido(project, "compensate", "last", "--unknown-too")  # a person checked: not made
    assert "undoing again charge (step 1)" in done.stdout, done.stdout + done.stderr


def test_ido_compensate_does_not_say_nothing_is_left_undone_of_a_skipped_one(
    tmp_path: Path,
) -> None:
    """A refund a deny rule held for was not performed, and the run's reason says the charge
    is not undone; `ido compensate` refused saying "every compensation it ran was done"."""
    project = saga(tmp_path)
    denied = INTENT + (
        "  rules:\n    - {id: frozen, effect: deny, when: \"capability.name == 'refund'\",\n"
        "       message: refunds are frozen}\n"
    )
    (project / "intents" / "deliver.yaml").write_text(denied)
    failed = ido(project, "run", "deliver")
    assert "charge (step 1) is not undone: refund was not performed" in failed.stdout
    refused = ido(project, "compensate", "last", "--dry-run")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "every compensation it ran was done" not in refused.stderr
    assert (
        "failed with nothing ido compensate tries again: charge (step 1) is not undone, its "
        "compensation not performed (a rule denied it"
    ) in refused.stderr, refused.stderr


def test_ido_compensate_refuses_a_run_a_temporal_server_pursues(tmp_path: Path) -> None:
    """A run imported from a Temporal server is carried on by its workflow: undoing it here
    would journal events the workflow does not hold, and run its compensations on this
    machine instead of a worker. `ido compensate` refuses it, naming the server, before
    anything is listed or written."""
    project = saga(tmp_path)
    refunds(project, FIXABLE)
    assert ido(project, "run", "deliver").returncode == 1
    with sqlite3.connect(project / ".ido" / "ido.db") as db:  # as `ido run --temporal` imports it
        (seq, data) = db.execute("SELECT seq, data FROM events ORDER BY seq LIMIT 1").fetchone()
        started = {**json.loads(data), "temporal": {"address": "127.0.0.1:7233"}}
        db.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(started), seq))
    before = events_of(project)
    refused = ido(project, "compensate", "last", "--dry-run")
    assert refused.returncode != 0
    assert "pursued on the Temporal server at 127.0.0.1:7233" in refused.stderr, refused.stderr
    assert "would try again" not in refused.stdout, refused.stdout
    assert events_of(project) == before
