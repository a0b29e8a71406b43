"""The `ido` command imports what the command asked for, not what others need: `ido runs`
and `ido explain` are typed often, and their start was mostly imports
(benchmarks/cli_startup.py measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app

PROBE = (
    "import atexit, json, sys; "
    "out, argv = sys.argv[1], json.loads(sys.argv[2]); "
    "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules)))); "
    "sys.argv = ['ido', *argv]; "
    "from ido.__main__ import main; main()"
)
"""`ido ARGV` as the `ido` command runs it (`ido.__main__`), writing down the modules it
imported on its way out (`ido.exiting` runs the atexit handlers)."""

NOT_FOR_A_GLANCE = ("asyncio", "ido.fanout", "ido.journal", "ido.model")
"""Made lazy: asyncio (the Temporal commands'), the workers of `ido run --processes`, the
journal (for the commands that open one) and the models (pydantic's, ~60 ms)."""


def _imported(project: Path, argv: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = project / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), json.dumps(argv)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done, set(json.loads(out.read_text()))


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["runs", "--help"], ["-h"]])
def test_a_glance_imports_neither_the_journal_nor_the_models(
    project: Path, argv: list[str]
) -> None:
    """`ido --version` and the help pages imported asyncio, the journal and the workers'
    module with every command's module; now each command imports these when it runs."""
    done, imported = _imported(project, argv)
    assert done.returncode == 0, done.stderr
    assert "ido" in done.stdout
    assert imported.isdisjoint(NOT_FOR_A_GLANCE), imported & set(NOT_FOR_A_GLANCE)


@pytest.mark.parametrize("argv", [["runs"], ["explain", "last"]])
def test_runs_and_explain_read_the_journal_without_the_models(
    project: Path, argv: list[str]
) -> None:
    """`ido runs` loaded every model (pydantic's) for how a wait and an outcome read, and
    `ido explain` for how a duration reads; now they read the journal alone."""
    assert CliRunner().invoke(app, ["run", "ship-order"]).exit_code == 0
    done, imported = _imported(project, argv)
    assert done.returncode == 0, done.stderr
    assert "ship-order" in done.stdout and "achieved" in done.stdout, done.stdout
    assert "ido.journal" in imported  # (the probe sees what the command imported)
    assert imported.isdisjoint({"asyncio", "ido.fanout", "ido.model"}), imported


NOT_FOR_PDDL = (
    "yaml",
    "sqlite3",
    "ido.journal.sqlite",
    "ido.runtime.bindings",
    "concurrent.futures",
)
"""What `ido plan --pddl` never uses: YAML (the problem is ground in memory), the journal's
SQLite, the bindings that run steps and observers, and the threads of alternatives."""


def test_planning_a_pddl_problem_imports_no_yaml_journal_or_bindings(tmp_path: Path) -> None:
    """`ido plan --pddl` imported PyYAML, SQLite and the journal's writes, the bindings
    that run capabilities and observers, and a thread pool, though it reads no YAML, opens
    no journal, runs nothing and (with `--alternatives 0`) solves once; now it does not."""
    domain, problem = tmp_path / "d.pddl", tmp_path / "p.pddl"
    domain.write_text(
        "(define (domain lamp) (:predicates (on))"
        " (:action switch :parameters () :precondition (not (on)) :effect (on)))"
    )
    problem.write_text("(define (problem p1) (:domain lamp) (:init) (:goal (on)))")
    argv = ["plan", "--pddl", str(domain), str(problem), "--planner", "search"]
    done, imported = _imported(tmp_path, [*argv, "--alternatives", "0"])
    assert done.returncode == 0, done.stderr
    assert "switch" in done.stdout, done.stdout
    assert "ido.planner.search" in imported  # (the probe sees what the command imported)
    assert imported.isdisjoint(NOT_FOR_PDDL), imported & set(NOT_FOR_PDDL)


OTHER_COMMANDS = tuple(
    f"ido.cli.{module}" for module in ("approvals", "explain", "journal", "replay", "resume",
                                       "run", "schema", "temporal", "validate", "verify",
                                       "health", "policy", "scenario")
)  # fmt: skip
"""The modules of the commands other than `ido plan` (and `import-pddl`, whose module
holds what a PDDL plan prints)."""

NOT_FOR_A_SEARCH = (
    "ortools",
    "ido.planner.cpsat",
    "litellm",
    "opentelemetry",
    "asyncio",
    *OTHER_COMMANDS,
)
"""What planning by search needs neither: CP-SAT (and ido's planner on it), the model
planners, tracing, asyncio."""


def test_a_command_imports_its_own_module_not_every_command_s(tmp_path: Path) -> None:
    """`ido plan --pddl` imported the modules of all 22 commands (`ido replay`'s, `ido
    approvals'`, the Temporal worker's ...) and Typer made all their options, before
    planning, and ido's CP-SAT planner to tell its errors when planning by search; now the
    app is made with the command asked for alone, and CP-SAT's errors told if it ran."""
    domain, problem = tmp_path / "d.pddl", tmp_path / "p.pddl"
    domain.write_text(
        "(define (domain lamp) (:predicates (on))"
        " (:action switch :parameters () :precondition (not (on)) :effect (on)))"
    )
    problem.write_text("(define (problem p1) (:domain lamp) (:init) (:goal (on)))")
    argv = ["plan", "--pddl", str(domain), str(problem), "--planner", "search"]
    done, imported = _imported(tmp_path, [*argv, "--alternatives", "0"])
    assert done.returncode == 0, done.stderr
    assert "switch" in done.stdout, done.stdout
    assert "ido.cli.plan" in imported  # (the probe sees what the command imported)
    roots = {name.split(".")[0] for name in imported} | imported
    assert roots.isdisjoint(NOT_FOR_A_SEARCH), roots & set(NOT_FOR_A_SEARCH)


def test_the_help_still_lists_every_command(project: Path) -> None:
    """Made with every command when no command is named, `ido --help` lists them all."""
    done, _ = _imported(project, ["--help"])
    assert done.returncode == 0, done.stderr
    from ido.cli import COMMANDS

    listed = [name for name, *_ in COMMANDS if f"\n  {name} " in done.stdout]
    assert listed == [name for name, *_ in COMMANDS], done.stdout


def test_ido_cli_has_the_app_and_no_other_name_it_does_not_define(tmp_path: Path) -> None:
    """`ido.cli.app` is made when first asked for, by a module `__getattr__`, which made
    every name of `ido.cli` exist for mypy: `from ido.cli import mian` type-checked. Now
    `app` alone is declared, and a name the module lacks is a type error again."""
    from mypy import api

    probe = tmp_path / "probe.py"
    probe.write_text("from ido.cli import COMMANDS, app, mian\n\nprint(COMMANDS, app, mian)\n")
    said, _, status = api.run([str(probe)])
    assert status == 1, said
    assert said.count("error:") == 1 and 'has no attribute "mian"' in said, said
