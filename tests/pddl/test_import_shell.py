"""`ido import-pddl --shell COMMAND`: every capability it writes runs COMMAND with its PDDL
action's name and arguments, so an imported problem runs under `ido run` as it stands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.loading import load_catalog

DOMAIN = """\
(define (domain depot-run)
  (:requirements :strips :typing :action-costs)
  (:types truck place)
  (:predicates (at ?t - truck ?p - place) (road ?a ?b - place))
  (:functions (total-cost) - number)
  (:action drive :parameters (?t - truck ?a ?b - place)
    :precondition (and (at ?t ?a) (road ?a ?b))
    :effect (and (not (at ?t ?a)) (at ?t ?b) (increase (total-cost) 1))))
"""
PROBLEM = """\
(define (problem trip) (:domain depot-run)
  (:objects Truck-1 - truck Depot Place-A far - place)
  (:init (at Truck-1 Depot) (road Depot Place-A) (road Place-A far) (= (total-cost) 0))
  (:goal (at Truck-1 far))
  (:metric minimize (total-cost)))
"""
DISPATCH = """\
import sys
with open("dispatched.log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
"""


def imported(tmp_path: Path, *shell: str) -> tuple[int, str, Path]:
    """`ido import-pddl` of DOMAIN and PROBLEM into `tmp_path/o` with `shell` flags."""
    (tmp_path / "d.pddl").write_text(DOMAIN)
    (tmp_path / "p.pddl").write_text(PROBLEM)
    out = tmp_path / "o"
    args = ["import-pddl", str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"), "-o", str(out)]
    done = CliRunner().invoke(app, [*args, *shell])
    return done.exit_code, done.output, out


def test_each_capability_runs_the_command_with_its_call(tmp_path: Path) -> None:
    """The binding is the command, then the action and its arguments as the plan file writes
    them: a capability's name holds them only lossily (`drive-truck-1-depot-place-a`)."""
    code, output, out = imported(tmp_path, "--shell", "python dispatch.py --fleet 'north eu'")
    assert code == 0, output
    assert f"run it: cd {out} && ido run trip" in output
    catalog = load_catalog([out])
    runs = {c.metadata.description: c.spec.run for c in catalog.capabilities.values()}
    first = runs["(drive truck-1 depot place-a)"]
    assert first is not None and first.shell == [
        *("python", "dispatch.py", "--fleet", "north eu"),
        *("drive", "truck-1", "depot", "place-a"),
    ]


def test_an_imported_problem_runs_with_ido_run(tmp_path: Path) -> None:
    """Without `--shell`, `ido run` of an import failed for want of bindings, and giving each
    of its capabilities one meant editing the written file (which a later `--force` import
    overwrote); with it, the run performs the plan's calls in order."""
    code, output, out = imported(tmp_path, "--shell", "python dispatch.py")
    assert code == 0, output
    (out / "dispatch.py").write_text(DISPATCH)
    environment = {**os.environ, "IDO_JOURNAL": str(tmp_path / "ido.db")}
    run = subprocess.run(
        [sys.executable, "-m", "ido", "run", "trip", "--quiet"],
        cwd=out,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "achieved" in run.stdout
    dispatched = (out / "dispatched.log").read_text().splitlines()
    assert dispatched == ["drive truck-1 depot place-a", "drive truck-1 place-a far"]


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("", "give a command, such as 'bin/dispatch.sh'"),
        ("bin/dispatch.sh 'north", "No closing quotation"),
        ("bin/dispatch.sh ${TOKEN}", "'${TOKEN}' is not a secret reference"),
    ],
)
def test_a_command_that_is_no_binding_is_a_usage_error(
    tmp_path: Path, command: str, said: str
) -> None:
    """Told before anything is written, as loading the catalog would tell it afterwards."""
    code, output, out = imported(tmp_path, "--shell", command)
    assert code == 2 and said in output and "--shell" in output
    assert not out.exists()


@pytest.mark.parametrize("name", ["${env:home}", "--force", "${x}"])
def test_a_name_the_command_would_read_otherwise_is_refused(tmp_path: Path, name: str) -> None:
    """ido's reader takes any word for a PDDL name. Passed to the command as it stands, an
    object `${env:home}` made the capability read the environment (and another `${…}`
    made the written catalog fail to load), and `--force` reached the command as its
    option: the import refuses it, naming it, and writes nothing."""
    (tmp_path / "d.pddl").write_text(DOMAIN)
    (tmp_path / "p.pddl").write_text(PROBLEM.replace("far", name))
    out = tmp_path / "o"
    args = ["import-pddl", str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"), "-o", str(out)]
    done = CliRunner().invoke(app, [*args, "--shell", "python dispatch.py"])
    assert done.exit_code == 2, done.output
    assert repr(name) in done.output and "not a PDDL name" in done.output, done.output
    assert "Traceback" not in done.output and not out.exists()
    plain = CliRunner().invoke(app, args)  # without --shell, no command reads it
    assert plain.exit_code == 0, plain.output
