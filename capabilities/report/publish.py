"""Publish the rendered report into a folder and keep that folder's index.json current."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capabilities.report import workspace
from ido import ActionContext

INDEX = "index.json"


def _publish(ctx: ActionContext, folder: str) -> dict[str, Any]:
    source = workspace.build_file(ctx.state)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"no rendered report at {source}; render it first") from None
    target = workspace.root(ctx.state) / folder
    path = target / source.name
    workspace.write_atomically(path, text)
    return {
        "dir": str(target),
        "path": str(path),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def to_site(ctx: ActionContext) -> dict[str, Any]:
    """Copy the rendered report into `<workspace>/site`, where readers look first."""
    return _publish(ctx, "site")


def to_outbox(ctx: ActionContext) -> dict[str, Any]:
    """Copy the rendered report into `<workspace>/outbox`, for someone to publish by hand."""
    return _publish(ctx, "outbox")


def update_index(ctx: ActionContext) -> dict[str, Any]:
    """Add or replace the report's entry in index.json next to where it was published."""
    report = workspace.report(ctx.state)
    publication = report.get("publication")
    if not isinstance(publication, Mapping) or "dir" not in publication:
        raise ValueError("state.report.publication is missing: publish the report first")
    index = Path(str(publication["dir"])) / INDEX
    entries: dict[str, Any] = {}
    if index.exists():
        try:
            entries = json.loads(index.read_text(encoding="utf-8"))["reports"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{index} is not a report index: {exc}") from None
        if not isinstance(entries, dict):
            raise ValueError(f"{index} is not a report index: 'reports' is not a mapping")
    entries[str(report["name"])] = {
        "title": report.get("title", report["name"]),
        "file": Path(str(publication["path"])).name,
        "sha256": publication.get("sha256"),
        "run_id": ctx.run_id,
    }
    workspace.write_atomically(index, json.dumps({"reports": entries}, indent=2, sort_keys=True))
    return {"index": str(index), "entries": len(entries)}
