"""`ido runner` as a service starts it: the journal it watches made in the folder it was
given, and the runs left interrupted named, which it does not continue."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal
from ido.runner import Runner
from ido.runtime.procfs import started, stat_fields
from ido.runtime.stopping import Terminated

cli = CliRunner()


def ido(*args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def record(journal: Path, run_id: str, process: object = None, outcome: str | None = None) -> None:
    """A run of ship-order, not ended unless `outcome`, its start naming `process` as the
    one carrying it on (none: a process that is gone)."""
    at = f"2026-12-07T12:00:{run_id[-2:]}.000+00:00"
    with SqliteJournal(journal) as store:
        store.start_run(run_id, "ship-order", at, {"process": process} if process else {})
        if outcome is not None:
            store.finish_run(run_id, outcome, None, 1.0, 1.0, at)


@pytest.fixture
def alive() -> Iterator[dict[str, object]]:
    """A process on this machine, as a run's start names the one carrying it on."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        fields = stat_fields(process.pid)
        yield {"pid": process.pid, "host": socket.gethostname(), "since": started(fields)}
    finally:
        process.kill()
        process.wait()


def test_a_runner_started_before_any_run_makes_the_journal_and_watches_it(
    project: Path,
) -> None:
    """Started by systemd or Kubernetes on an empty volume, it stopped with exit 2 (`no
    journal at …`) and was restarted in a loop until a first run made the journal."""
    journal = project / "state" / "ido.db"
    journal.parent.mkdir()
    code, out, err = ido("runner", "--once", "--journal", str(journal))
    assert code == 0, out + err
    assert f"no journal at {journal} yet: made an empty one to watch" in out
    assert journal.exists() and journal.stat().st_mode & 0o777 == 0o600
    code, out, err = ido("run", "ship-order", "--journal", str(journal))
    assert code == 0, out + err  # a run records into the journal the runner made


def test_a_runner_started_in_a_project_where_nothing_has_run_makes_the_default_journal(
    project: Path,
) -> None:
    """`ido runner` in a new project said `no journal at .ido/ido.db, and no folder .ido to
    make it in`, exit 2, where `ido run` makes that folder: it is no wrong path."""
    code, out, err = ido("runner", "--once")
    assert (code, err) == (0, ""), out + err
    assert "no journal at .ido/ido.db yet: made an empty one to watch" in out
    assert (project / ".ido").stat().st_mode & 0o777 == 0o700
    assert (project / ".ido" / "ido.db").stat().st_mode & 0o777 == 0o600


def test_a_journal_in_a_folder_that_is_not_there_is_still_a_wrong_path(project: Path) -> None:
    code, out, err = ido("runner", "--once", "--journal", str(project / "nope" / "x.db"))
    assert code == 2, out
    assert "no journal at " in err and "and no folder " in err and "nothing to watch" in err
    assert not (project / "nope").exists()


def test_the_runner_names_a_run_left_interrupted_as_it_starts(project: Path) -> None:
    """A runner stopped by a deploy (SIGTERM) mid-run left it interrupted; the next runner
    said nothing of it, and it waited for an `ido resume` nobody knew to type."""
    journal = project / ".ido" / "ido.db"
    journal.parent.mkdir()
    record(journal, "r01", outcome="achieved")
    record(journal, "r02")  # its process is gone
    code, out, err = ido("runner", "--once")
    assert code == 0, out + err
    assert err == (
        "warning: run r02 is left interrupted, and the runner continues blocked runs only: "
        "continue it with ido resume r02\n"
    )


def test_the_runner_names_a_few_interrupted_runs_and_not_those_running(
    project: Path, alive: dict[str, object]
) -> None:
    journal = project / "j.db"
    for n in range(1, 6):
        record(journal, f"r0{n}")
    record(journal, "r06", alive)  # carried on now by another process: not interrupted
    code, out, err = ido("runner", "--once", "--journal", str(journal), "--quiet")
    assert code == 0, out + err
    assert err == (
        "warning: runs r05, r04, r03 and more are left interrupted, and the runner continues "
        "blocked runs only: continue each with ido resume RUN (ido runs --outcome interrupted "
        f"--journal {journal} lists them)\n"
    )


def test_a_runner_with_nothing_interrupted_warns_of_nothing(project: Path) -> None:
    journal = project / "j.db"
    record(journal, "r01", outcome="blocked")
    code, out, err = ido("runner", "--once", "--journal", str(journal))
    assert (code, err) == (0, ""), out + err


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGHUP, 128 + signal.SIGHUP)]
)
def test_a_watching_runner_says_which_signal_stopped_it_and_fails_on_sighup(
    project: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int
) -> None:
    """It said "runner stopped", exit 0, after SIGHUP too: a `systemctl kill -s HUP` or a stray
    `kill -HUP` stopped a service under `Restart=on-failure` for good, and its log did not
    say why. SIGTERM, the stop asked for, still ends it with exit 0."""
    journal = project / "j.db"
    record(journal, "r01", outcome="achieved")

    def hung_up(self: Runner) -> None:
        raise Terminated(signum)

    monkeypatch.setattr(Runner, "poll", hung_up)
    result = cli.invoke(app, ["runner", "--journal", str(journal)])
    assert result.exit_code == code, result.output
    name = signal.Signals(signum).name
    assert result.stdout.endswith(f"runner stopped (terminated by {name})\n"), result.output


def test_a_watching_runner_names_the_ido_it_is(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an upgrade, a service's log did not say which ido watched the journal, and
    told it to stop with Ctrl-C, which a service is never sent."""
    journal = project / "j.db"
    record(journal, "r01", outcome="achieved")

    def stopped(self: Runner) -> None:
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(Runner, "poll", stopped)
    result = cli.invoke(app, ["runner", "--journal", str(journal)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"watching {journal} for runs that may go on (ido {version('ido')}; Ctrl-C or SIGTERM "
        "stops it)\n"
    ), result.output


def test_a_probe_with_once_beside_a_watching_runner_exits_0_and_says_why(project: Path) -> None:
    """`ido runner --once` as a cron check or probe beside the runner failed, exit 2
    (`another ido runner already watches …`), whenever the runner was up. It now exits 0,
    naming the runner that continues the runs; a second runner that watches is still refused."""
    from ido.runner import hold_lock

    journal = project / ".ido" / "ido.db"
    record(journal, "r-01", outcome="achieved")
    lock = hold_lock(journal)
    assert lock is not None
    with lock:
        code, out, err = ido("runner", "--once")
        assert code == 0, out + err
        assert f"another ido runner watches .ido/ido.db (process {os.getpid()})" in out
        assert ido("runner", "--interval", "0.05")[0] == 2  # two runners on one journal


def test_runner_check_says_whether_a_runner_watches_the_journal(project: Path) -> None:
    """`ido runner --check` is the probe: exit 0 while a runner watches the journal, 1
    when none does, and it continues nothing."""
    from ido.runner import hold_lock

    journal = project / ".ido" / "ido.db"
    record(journal, "r-01")
    code, out, _ = ido("runner", "--check")
    assert (code, out.strip()) == (1, "no ido runner watches .ido/ido.db")
    lock = hold_lock(journal)
    assert lock is not None
    with lock:
        code, out, _ = ido("runner", "--check")
        assert (code, out.strip()) == (
            0,
            f"an ido runner watches .ido/ido.db (process {os.getpid()})",
        )
    code, _, err = ido("runner", "--check", "--once")
    assert code == 2 and "--check continues nothing" in err


def test_a_run_interrupted_while_the_runner_watches_is_named_when_it_notices(
    project: Path,
) -> None:
    """A run a signal stopped while the runner watched was named only at the runner's next
    start, maybe days later. The runner now names it at its next look (from the
    `run_interrupted` the run recorded), once."""
    journal = project / ".ido" / "ido.db"
    record(journal, "r-01")
    told: list[str] = []
    with SqliteJournal(journal) as store:
        watcher = Runner(store, lambda _: True, lambda: 0.0, lambda e: told.append(e.run_id))
        watcher.poll()  # the first look: what was there before is the next start's to name
        at = "2026-12-07T12:01:00.000+00:00"
        store.append("r-01", "run_interrupted", at, {"signal": "SIGTERM", "steps": [1]})
        watcher.poll()
        watcher.poll()
    assert told == ["r-01"]


def test_a_run_interrupted_and_continued_before_the_runner_looks_is_not_named(
    project: Path,
) -> None:
    """The runner named every `run_interrupted` since its last look, also of a run resumed
    meanwhile (by `ido resume`, on another host) or stopped twice: `continue it with ido
    resume` of a run already going on, or said twice. It names a run still left as the
    signal left it, once."""
    journal = project / ".ido" / "ido.db"
    record(journal, "r-01")
    record(journal, "r-02")
    told: list[str] = []
    with SqliteJournal(journal) as store:
        watcher = Runner(store, lambda _: True, lambda: 0.0, lambda e: told.append(e.run_id))
        watcher.poll()
        at = "2026-12-07T12:01:00.000+00:00"
        store.append("r-01", "run_interrupted", at, {"signal": "SIGTERM", "steps": [1]})
        store.append("r-01", "run_resumed", at, {"process": {"pid": 1, "host": "elsewhere"}})
        store.append("r-02", "run_interrupted", at, {"signal": "SIGINT", "steps": [1]})
        store.append("r-02", "run_interrupted", at, {"signal": "SIGINT", "steps": [1]})
        watcher.poll()
    assert told == ["r-02"]
