"""`ido resume` goes on with the catalog the run was started with (`ido run --catalog`),
where it loaded this folder's alone: "no catalog found", or another catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ido.journal.sqlite import SqliteJournal
from tests.crashes import killed_when, started

SHOP = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay}
spec:
  provider: payco
  requires: ["!state.x.paid"]
  effects: {x.paid: true}
  cost: 0.30
  idempotent: true
  run: {shell: ["true"]}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: go}
spec:
  given: {x: {paid: false}}
  goal: ["state.x.paid"]
"""


FREEZE = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: freeze}
spec:
  enforced: true
  rules:
    - {id: no-pay, effect: deny, when: "capability.name == 'pay'", message: pay is frozen.}
"""


def _cut(folder: Path) -> str:
    """A run of `go` from `folder/shop` (`--catalog shop`), killed with pay in flight."""
    (folder / "shop").mkdir()
    (folder / "shop" / "all.yaml").write_text(SHOP)
    return killed_when(folder, ("run", "go", "--catalog", "shop"), started("pay"))


def _ido(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "IDO_JOURNAL"}
    cmd = [sys.executable, "-m", "ido", *args]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, check=False)


def test_a_run_started_with_a_catalog_is_resumed_with_it(tmp_path: Path) -> None:
    run_id = _cut(tmp_path)
    done = _ido(tmp_path, "resume", run_id)
    assert done.returncode == 0, done
    assert "achieved" in done.stdout, done.stdout
    shop = str((tmp_path / "shop").resolve())
    said = f"catalog: {shop} besides this folder's, as run {run_id} was started"
    assert said in done.stderr, done.stderr


def test_a_run_is_resumed_with_its_catalog_from_another_folder(tmp_path: Path) -> None:
    run_id = _cut(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    journal = str(tmp_path / ".ido" / "ido.db")
    done = _ido(elsewhere, "resume", run_id, "--journal", journal)
    assert done.returncode == 0 and "achieved" in done.stdout, done


def test_a_catalog_no_longer_there_is_named_with_the_run(tmp_path: Path) -> None:
    run_id = _cut(tmp_path)
    (tmp_path / "shop").rename(tmp_path / "moved")
    refused = _ido(tmp_path, "resume", run_id)
    assert refused.returncode == 2, refused
    shop = str((tmp_path / "shop").resolve())
    assert f"run {run_id} was started with --catalog {shop}, and {shop} is no longer" in (
        refused.stderr
    )
    assert (tmp_path / ".ido" / "ido.db").exists()
    done = _ido(tmp_path, "resume", run_id, "--catalog", "moved")
    assert done.returncode == 0 and "achieved" in done.stdout, done
    assert "as run" not in done.stderr  # (a --catalog given: it is the one)


def test_a_catalog_given_as_a_link_is_followed_again_on_resume(tmp_path: Path) -> None:
    """`--catalog shop`, shop a link to release-1: the run recorded release-1, so shop moved
    on to release-2 (release-1 removed) refused the resume, naming a folder never typed,
    where this folder's own linked catalog is followed as it is now."""
    (tmp_path / "release-1").mkdir()
    (tmp_path / "release-1" / "all.yaml").write_text(SHOP)
    (tmp_path / "shop").symlink_to("release-1")
    run_id = killed_when(tmp_path, ("run", "go", "--catalog", "shop"), started("pay"))
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as store:
        first = store.started(run_id)
    assert first is not None and first.data["catalog_paths"] == [str(tmp_path.resolve() / "shop")]
    (tmp_path / "release-1").rename(tmp_path / "release-2")
    (tmp_path / "shop").unlink()
    (tmp_path / "shop").symlink_to("release-2")
    done = _ido(tmp_path, "resume", run_id)
    assert done.returncode == 0 and "achieved" in done.stdout, done


def test_a_run_started_with_this_folders_catalog_says_nothing_of_it(tmp_path: Path) -> None:
    """And a folder of policies added here since the run started is loaded (a freeze)."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "all.yaml").write_text(SHOP)
    run_id = killed_when(tmp_path, ("run", "go"), started("pay"))
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as store:
        first = store.started(run_id)
    assert first is not None
    assert first.data["catalog_paths"] == []  # (this folder's: loaded as every command does)
    done = _ido(tmp_path, "resume", run_id)
    assert done.returncode == 0 and "achieved" in done.stdout, done
    assert "catalog:" not in done.stderr, done.stderr


def test_this_folders_policies_added_since_the_run_started_apply(tmp_path: Path) -> None:
    """The run's `--catalog` is loaded again with this folder's catalog as it is now: a
    freeze put in policies/ after the run started governs its resume."""
    run_id = _cut(tmp_path)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "freeze.yaml").write_text(FREEZE)
    done = _ido(tmp_path, "resume", run_id)
    assert done.returncode == 1, done
    assert "freeze/no-pay" in done.stdout, done.stdout


def test_each_run_records_its_own_intent_file_alone(tmp_path: Path) -> None:
    """`ido run go.yaml also.yaml`: the run of go records go.yaml, not also.yaml, so
    also.yaml gone since does not refuse the resume of a run that never needed it."""
    pay, go = SHOP.split("---\n")
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "pay.yaml").write_text(pay)
    (tmp_path / "go.yaml").write_text(go)
    (tmp_path / "also.yaml").write_text(go.replace("name: go", "name: also"))
    done = _ido(tmp_path, "run", "go.yaml", "also.yaml")
    assert done.returncode == 0, done
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as store:
        runs = {r.intent: r.id for r in store.runs()}
        recorded = {
            intent: first.data["catalog_paths"]
            for intent, run_id in runs.items()
            if (first := store.started(run_id)) is not None
        }
    assert recorded == {
        "go": [str((tmp_path / "go.yaml").resolve())],
        "also": [str((tmp_path / "also.yaml").resolve())],
    }
    (tmp_path / "also.yaml").unlink()
    again = _ido(tmp_path, "resume", runs["go"])
    assert "no longer there" not in again.stderr, again.stderr


def test_an_ended_run_is_refused_as_ended_not_for_its_catalog_gone(tmp_path: Path) -> None:
    """`ido resume` of an achieved run whose `--catalog` was moved since asked for the
    catalog (exit 2), then, given it, said the run had ended: it says so at once."""
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "all.yaml").write_text(SHOP)
    assert _ido(tmp_path, "run", "go", "--catalog", "shop").returncode == 0
    (tmp_path / "shop").rename(tmp_path / "moved")
    refused = _ido(tmp_path, "resume", "last")
    assert refused.returncode == 2, refused
    assert "already ended (achieved)" in refused.stderr, refused.stderr
    assert "no longer there" not in refused.stderr
