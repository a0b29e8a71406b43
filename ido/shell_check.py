"""Check that shell bindings name a program that can start here: a script that is not
there or not executable, or a command not on PATH, failed only when its step came (a
deploy after an hour of training), and `ido validate` said ok."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ido.errors import Problem
from ido.loading.catalog import Catalog, problem_at
from ido.model.capability_spec import OWN_PYTHON, SCRIPT_RUNNERS


def check_shell_programs(catalog: Catalog, base: Path) -> list[Problem]:
    """A warning for each capability whose `run.shell` program cannot start in `base` (the
    project folder, where calls run): a path not there or not executable, or a name not on
    PATH. Only warnings: the program may be installed where ido runs. `python`/`python3`
    (ido's own interpreter) and a program named by `${env:…}` are not checked."""
    warnings = []
    for capability in catalog.capabilities.values():
        run = capability.spec.run
        if run is None or not run.shell:
            continue
        program = run.shell[0]
        if program in OWN_PYTHON or "${" in program:
            continue
        said = _cannot_start(program, base)
        if said is not None:
            where = ("spec", "run", "shell", 0)
            warnings.append(problem_at(catalog, capability, where, said, base))
    return warnings


def _cannot_start(program: str, base: Path) -> str | None:
    """Why `program` cannot start from `base`, or None when it can."""
    if "/" not in program:
        if shutil.which(program) is not None:
            return None
        if (base / program).is_file():  # the project's script, which no call looks for there
            return (
                f"program '{program}' is not on PATH here: every call fails; a name without "
                "a / is looked for on PATH only, not in the project folder: write "
                f"./{program} for the project's script"
            )
        beside = Path(sys.executable).parent  # (`.venv/bin/ido` run, the venv not activated)
        if shutil.which(program, path=str(beside)) is not None:
            return (
                f"program '{program}' is not on PATH here: every call fails; it is in ido's "
                f"virtualenv, {beside}, which is not on PATH (not activated): write "
                f"{beside / program}, or activate it"
            )
        return (
            f"program '{program}' is not on PATH here: every call fails unless it is "
            "installed where ido runs"
        )
    path = base / program
    if not path.exists():
        return f"{program} is not there: every call fails until it is{_home(program)}"
    if path.is_dir():
        return f"{program} is a folder, not a program: every call fails"
    if os.access(path, os.X_OK):
        return None
    runner = SCRIPT_RUNNERS.get(path.suffix)
    instead = f", or run it as [{runner}, {program}]" if runner else ""
    return (
        f"{program} is not executable: every call fails (Permission denied); "
        f"chmod +x {program}{instead}"
    )


def _home(program: str) -> str:
    """What `~` is in a shell binding's program, which no shell expands: a folder of that
    name where calls run, not the home folder a terminal would read."""
    if not program.startswith("~"):
        return ""
    meant = os.path.expanduser(program)
    instead = f", {meant}" if meant != program else ""
    return f"; no shell reads the list, so ~ is not the home folder: write the full path{instead}"
