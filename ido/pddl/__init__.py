"""PDDL in: read a domain and problem, ground them, and write them as an ido catalog."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ido.errors import PddlError, WriteError, writing
from ido.loading.catalog import Catalog
from ido.loading.files import named_yaml
from ido.loading.load import load_documents
from ido.model.fields import MOST_STEPS
from ido.pddl.convert import rounded_costs, to_resources
from ido.pddl.domain_file import read_domain
from ido.pddl.ground import GroundTask, ground
from ido.pddl.problem_file import read_problem
from ido.planner import progress
from ido.planner.collector import held_off
from ido.yamlsrc import dump_documents

__all__ = ["Imported", "import_pddl", "load_pddl", "pddl_catalog", "rounded_costs"]


@dataclass(frozen=True)
class Imported:
    """Where an import wrote its catalog, and what it holds."""

    capabilities: Path
    intent: Path
    intent_name: str
    actions: int
    rounded: str | None = None
    """What to warn of when action costs are finer than the planners count (`rounded_costs`)."""


def load_pddl(domain: Path, problem: Path) -> GroundTask:
    """Read and ground a domain and problem; raises PddlError naming file, line and feature."""
    return ground(read_domain(domain), read_problem(problem))


def pddl_catalog(
    domain: Path, problem: Path, max_steps: int = MOST_STEPS
) -> tuple[Catalog, str, str | None]:
    """The catalog `import_pddl` would write, checked as its files would be when loaded
    but without writing them (errors name the problem file), its intent's name, and what
    to warn of as `import_pddl` does (`Imported.rounded`)."""
    with held_off():  # (what it makes lives as long as the catalog: no cycle to collect)
        task = load_pddl(domain, problem)
        *capabilities, intent = to_resources(task, max_steps)
        loaded = load_documents([*capabilities, intent], problem, base=problem.parent)
    return loaded, str(intent["metadata"]["name"]), _rounded(task)


def _rounded(task: GroundTask) -> str | None:
    """What to warn of when `task`'s action costs are finer than the planners count."""
    return rounded_costs((a.call, a.cost) for a in task.actions)


def import_pddl(
    domain: Path,
    problem: Path,
    out: Path,
    max_steps: int = MOST_STEPS,
    force: bool = False,
    shell: tuple[str, ...] = (),
) -> Imported:
    """Write `out/capabilities/<problem>.yaml` and `out/intents/<problem>.yaml`; with `shell`
    (an argv), each capability's `run` is it followed by its action's name and arguments.

    Ground actions belong to one problem (its objects), so each problem needs its own `out`.
    A file already there that says something else (edited since, or another import) is
    overwritten only with `force`; otherwise nothing is written. An `out` that holds another
    problem's import is refused, `force` or not: the catalog would not load; so is a file to
    write that is a symbolic link (its target would be written).
    """
    task = load_pddl(domain, problem)
    documents = to_resources(task, max_steps, shell)
    *capabilities, intent = documents
    name = intent["metadata"]["name"]
    if not capabilities:
        raise PddlError(
            f"{problem}: no action of problem {name} changes anything; nothing to write"
        )
    # A file of one resource must be named after it; several share the problem's name.
    stem = capabilities[0]["metadata"]["name"] if len(capabilities) == 1 else name
    cap_file = out / "capabilities" / f"{stem}.yaml"
    intent_file = out / "intents" / f"{name}.yaml"
    header = f"{_HEADER}{domain.name} {problem.name}: the ground actions of {name}\n"
    progress.report(stage="writing", file=cap_file.name, resources=len(documents))
    files = (
        (cap_file, header + dump_documents(capabilities)),
        (intent_file, dump_documents([intent])),
    )
    _refuse_another_import(cap_file)
    _refuse_links(files)
    if not force:
        _refuse_changes(files)
    for folder in (out, cap_file.parent, intent_file.parent):  # all made before any file
        with writing(folder):
            folder.mkdir(parents=True, exist_ok=True)
    for file, text in files:
        with writing(file):
            file.write_text(text, encoding="utf-8")
    return Imported(cap_file, intent_file, name, len(capabilities), _rounded(task))


def _refuse_links(files: tuple[tuple[Path, str], ...]) -> None:
    """A usage error when a file to write is a symbolic link, `force` or not: written, the
    link's target was (`--force` overwrote whatever file it named, and a link to no file
    made one there), not the catalog's own file."""
    for file, _ in files:
        if file.is_symlink():
            raise WriteError(
                f"{file} is a symbolic link (to {os.readlink(file)}); import-pddl writes a"
                " file of its own there, never through a link: remove it, or give another --out"
            )


def _refuse_changes(files: tuple[tuple[Path, str], ...]) -> None:
    """A usage error when a file to write is already there and says something else."""
    for file, text in files:
        try:
            there = file.read_text(encoding="utf-8") if file.is_file() else None
        except (OSError, UnicodeDecodeError):
            there = ""  # there, and not what would be written
        if there is not None and there != text:
            raise WriteError(
                f"{file} is already there and differs from what this import writes; "
                "pass --force to overwrite it, or give another --out"
            )


_HEADER = "# ido import-pddl "
"""How each capabilities file an import writes begins (the header names the PDDL files)."""


def _refuse_another_import(cap_file: Path) -> None:
    """A usage error when `cap_file`'s folder holds another import's capabilities: the
    ground actions the problems share (`unstack-d-b`) would be declared twice, so the
    catalog would not validate, nor plan either problem."""
    folder = cap_file.parent
    try:
        others = sorted(f for f in folder.iterdir() if named_yaml(f) and f.name != cap_file.name)
    except OSError:
        return  # a folder that cannot be read is said when the import writes to it
    for other in others:
        try:  # (one that cannot be read, a folder named x.yaml, ends no more than itself)
            with other.open(encoding="utf-8", errors="replace") as text:
                first = text.readline()
        except OSError:
            continue
        if first.startswith(_HEADER):
            written = first.removeprefix(_HEADER).split(":", 1)[0]
            raise WriteError(
                f"{folder.parent} already holds another import ({other}, of {written}); "
                "its capabilities would be declared twice. Give each problem its own --out"
            )
