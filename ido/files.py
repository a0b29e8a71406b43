"""Whether two names are one file: what an output that must not overwrite an input (the
journal, a file planned from) is checked with."""

from __future__ import annotations

import os
from pathlib import Path


def same_file(name: Path, other: Path) -> bool:
    """Whether `name` names the file `other` does: the same path once links are followed
    (neither need be there yet), or, both there, one file on disk (a hard link, another
    spelling on a disk that ignores case)."""
    try:
        if name.resolve() == other.resolve():
            return True
        return name.exists() and os.path.samefile(name, other)
    except (OSError, RuntimeError):  # (not there; or a loop of links, on Python 3.11)
        return False
