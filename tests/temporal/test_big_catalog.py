"""A run of a big catalog on Temporal: its start names the catalog's digests by their
SHA-256 (as the local journal stores them) rather than carrying them into every attempt's
input, each worker puts them back from its own catalog, and the import from the catalog's
folder stores them in the local `catalogs` table, as a local run does."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

from ido.journal import SqliteJournal
from ido.temporal.workflow import MOST_BYTES
from tests.temporal.servers import Worker, environment

CAPABILITIES = 12_000
"""With names of 120 characters (the most): their digests are 1.7 MB of JSON, 0.9 MB
compressed, and the run's decision, which names each capability it rejects, as much:
together more than the whole journal a workflow holds (`MOST_BYTES`)."""
FINISH = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: finish}
spec:
  provider: p
  requires: ["!state.done"]
  effects: {done: true}
  run: {shell: ["true"]}
"""
OTHER = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: {name}}}
spec:
  provider: q
  requires: ["state.never"]
  effects: {{x{n}: true}}
  cost: {cost}
  run: {{shell: ["true"]}}
"""
INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: big}
spec:
  goal: ["state.done"]
"""


def _catalog(folder: Path) -> Path:
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    docs = [FINISH]
    for i in range(CAPABILITIES):
        name = "c-" + hashlib.sha512(str(i).encode()).hexdigest()[:118]
        docs.append(OTHER.format(name=name, n=i % 50, cost=1 + i % 7))
    (folder / "capabilities" / "many.yaml").write_text("---\n".join(docs))
    (folder / "intents" / "big.yaml").write_text(INTENT)
    return folder


def _ido(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _packed(value: object) -> int:
    return len(zlib.compress(json.dumps(value, sort_keys=True).encode()))


def _run_id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split("achieved: run ")[1].split(",")[0]


def test_a_run_of_a_catalog_too_big_for_a_workflow_runs_and_imports_as_a_local_one(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    folder = _catalog(tmp_path / "p")
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    workers(folder, queue)
    there = _run_id(
        _ido(folder, "run", "big", "--temporal", temporal_server, "--task-queue", queue)
    )
    here = _run_id(_ido(folder, "run", "big"))
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        remote, local = journal.events(there), journal.events(here)
    digests = local[0].data["capabilities"]
    assert len(digests) == CAPABILITIES + 1 and remote[0].data["capabilities"] == digests
    decided = [e.data for e in remote if e.kind == "decided"]
    inline = [_packed(digests), *[_packed(d) for d in decided]]
    assert len(decided) == 1 and sum(inline) > MOST_BYTES, inline  # (as before: too big)
    assert [e.kind for e in remote] == [e.kind for e in local]
    with sqlite3.connect(folder / ".ido" / "ido.db") as db:  # stored once, for both runs
        assert db.execute("SELECT count(*) FROM catalogs").fetchone() == (1,)
    assert _ido(folder, "verify").returncode == 0
    # The workflow holds only their digest: an import where neither the journal nor the
    # folder has them is refused, saying where to import it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pulled = _ido(elsewhere, "temporal", "pull", there, "--temporal", temporal_server)
    said = pulled.stdout + pulled.stderr
    assert pulled.returncode == 2 and "Traceback" not in said, said
    assert "import it in the folder of the catalog the run was started with" in said, said


def test_a_run_of_a_big_catalog_given_with_catalog_is_pulled_with_the_same_catalog(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """A catalog outside the folders ido reads by itself (`--catalog`), past the size a
    run's start carries: `ido temporal pull --catalog` finds its digests there, as `ido
    run --catalog` put them; without it, the refusal says to give it."""
    folder = tmp_path / "p"
    (folder / "extra").mkdir(parents=True)
    (folder / "intents").mkdir()
    docs = [FINISH]
    for i in range(800):  # (138 bytes of digests each: past `INLINE_CATALOG` together)
        name = "c-" + hashlib.sha512(str(i).encode()).hexdigest()[:118]
        docs.append(OTHER.format(name=name, n=i % 50, cost=1 + i % 7))
    (folder / "extra" / "many.yaml").write_text("---\n".join(docs))
    (folder / "intents" / "big.yaml").write_text(INTENT)
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    workers(folder, queue, args=("--catalog", "extra"))
    address = ("--temporal", temporal_server)
    started = _ido(
        folder, "run", "big", *address, "--task-queue", queue, "--no-wait", "--catalog", "extra"
    )
    assert started.returncode == 0, started.stdout + started.stderr
    run_id = started.stdout.split("started run ")[1].split(" ")[0]
    bare = _ido(folder, "temporal", "pull", run_id, *address)
    said = bare.stdout + bare.stderr
    assert bare.returncode == 2 and "Traceback" not in said, said
    assert "--catalog" in said, said
    for _ in range(60):
        pulled = _ido(folder, "temporal", "pull", run_id, *address, "--catalog", "extra")
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        if "achieved" in pulled.stdout:
            break
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        events = journal.events(run_id)
    assert len(events[0].data["capabilities"]) == 801 and events[-1].kind == "run_finished"
    assert _ido(folder, "verify").returncode == 0


APPROVAL = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: finish-approval}
spec:
  rules:
    - id: finish-needs-a-person
      effect: require_approval
      when: "capability.name == 'finish'"
      message: Finishing needs a person's approval.
"""
GUARDED = INTENT + "  policies: [finish-approval]\n"


def test_a_blocked_run_of_a_big_catalog_resumes_with_the_digests_its_import_stored(
    tmp_path: Path, temporal_server: str, workers: Callable[..., Worker]
) -> None:
    """A run of a big catalog from `--catalog extra` that waits for approval: `ido resume
    --temporal` reads the workflow's journal (which holds only the digests' SHA-256) to
    find the verdicts to send. The run's import into the local journal stored the digests
    when it ended blocked, so the resume needs no `--catalog`: the verdict reaches the
    workflow, the run is achieved, and its imported journal verifies."""
    folder = tmp_path / "p"
    (folder / "extra").mkdir(parents=True)
    (folder / "intents").mkdir()
    docs = [FINISH]
    for i in range(800):  # (past `INLINE_CATALOG` together, as above)
        name = "c-" + hashlib.sha512(str(i).encode()).hexdigest()[:118]
        docs.append(OTHER.format(name=name, n=i % 50, cost=1 + i % 7))
    (folder / "extra" / "many.yaml").write_text("---\n".join(docs))
    (folder / "extra" / "finish-approval.yaml").write_text(APPROVAL)
    (folder / "intents" / "big.yaml").write_text(GUARDED)
    queue = f"ido-test-{uuid.uuid4().hex[:8]}"
    workers(folder, queue, args=("--catalog", "extra"))
    address = ("--temporal", temporal_server)
    done = _ido(folder, "run", "big", *address, "--task-queue", queue, "--catalog", "extra")
    assert done.returncode == 3, done.stdout + done.stderr
    run_id = done.stdout.split("blocked: run ")[1].split(",")[0]
    approved = _ido(folder, "approve", run_id, "--by", "alice")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    resumed = _ido(folder, "resume", run_id, *address)
    said = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0 and "sent 1 verdict(s)" in said, said
    assert f"achieved: run {run_id}" in resumed.stdout, said
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:
        events = journal.events(run_id)
        assert journal.run(run_id).outcome == "achieved"
    kinds = [e.kind for e in events]
    assert kinds.count("approval_given") == 1 and kinds.count("action_finished") == 1, kinds
    assert len(events[0].data["capabilities"]) == 801  # (the digests stored, put back)
    with sqlite3.connect(folder / ".ido" / "ido.db") as db:
        assert db.execute("SELECT count(*) FROM catalogs").fetchone() == (1,)
    assert _ido(folder, "verify").returncode == 0
