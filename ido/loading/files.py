"""The YAML files of a catalog: folders walked (hidden ones left out, links followed once),
and what stood in the way told."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ido.errors import Problem

YAML_SUFFIXES = (".yaml", ".yml")
"""The endings of a YAML file's name, in any case: `freeze.YAML` (as Windows tools save it)
was passed over, and the change freeze its enforced policy declares went unapplied."""


def named_yaml(path: Path | str) -> bool:
    """Whether `path` is named as a YAML file (`.yaml` or `.yml`, in any case)."""
    return str(path).lower().endswith(YAML_SUFFIXES)


def yaml_under(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The YAML files under `folder`, recursively, sorted, as `folder` names them, and what
    stood in the way: a folder that cannot be read, a link that leads nowhere (named like
    YAML, or not: `policies/shared`, a link to an unmounted folder of shared policies, was
    skipped). Left out silently, they would leave an enforced policy out of the catalog.
    Hidden files and folders are left out (see `yaml_files`), and a folder named like YAML
    too. Links to folders are followed, each folder walked once (a link back up is no loop).
    """
    found: list[Path] = []
    problems: list[Problem] = []

    def refused(error: OSError) -> None:
        said = error.strerror or str(error)
        problems.append(Problem(str(error.filename), None, "", f"cannot read folder: {said}"))

    seen: set[str] = set()
    for at, dirs, names in os.walk(folder, onerror=refused, followlinks=True):
        real = os.path.realpath(at)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # not even walked
        for name in names:
            path = Path(at, name)
            if name.startswith("."):
                continue
            if not named_yaml(path):  # (by its name alone, but for a link)
                if path.is_symlink() and not path.exists():  # a folder's, for all one knows
                    target = os.readlink(path)
                    said = f"a link to {target}, which does not exist"
                    problems.append(Problem(str(path), None, "", said))
                continue
            if path.is_dir():
                continue
            if path.is_file():
                found.append(path)
            elif path.is_symlink():
                target = os.readlink(path)
                problems.append(Problem(str(path), None, "", f"a link to {target}, not a file"))
            else:
                problems.append(Problem(str(path), None, "", "not a file"))  # a FIFO, …
    return sorted(found), problems


def yaml_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders into their YAML files (recursively, sorted); missing paths are problems.

    Hidden files and folders inside a folder (`.venv`, `.git`, `.cache`) are left out: a
    catalog pointed at a project's root must not read every YAML file of its virtualenv.
    A hidden path named itself is read."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            under, stood = yaml_under(path)
            files.extend(under)
            problems.extend(stood)
        elif path.is_file():
            files.append(path)
        else:
            what = "not a file or folder" if path.exists() else "no such file or folder"
            problems.append(Problem(str(path), None, "", what))  # a device, a socket, …
    unique = list(dict.fromkeys(f.resolve() for f in files))
    return unique, problems


def inside(path: Path, paths: Iterable[Path]) -> bool:
    """True when `path` lies in one of the folders among `paths` (loading them loads it)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(p.resolve()) for p in paths if p.is_dir())
