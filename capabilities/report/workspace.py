"""Where the publish-report capabilities read and write, derived from the run's state."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_DIR = ".ido/work"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def root(state: Mapping[str, Any]) -> Path:
    """The workspace folder: `state.workspace.dir`, else `.ido/work` (relative to the cwd)."""
    workspace = state.get("workspace") or {}
    return Path(str(workspace.get("dir") or DEFAULT_DIR))


def report(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """The report description in `state.report`, checked to have a safe file name."""
    found = state.get("report")
    if not isinstance(found, Mapping):
        raise ValueError("state.report is missing: give the report's name, title and rows")
    name = str(found.get("name", ""))
    if not _SAFE_NAME.match(name):
        raise ValueError(f"state.report.name {name!r} is not a plain file name")
    return found


def build_file(state: Mapping[str, Any]) -> Path:
    """The rendered report, before it is published: `<workspace>/build/<name>.md`."""
    return root(state) / "build" / f"{report(state)['name']}.md"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
