"""Render a report to Markdown: from a template in a subprocess, or plain in-process."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

from capabilities.report import workspace
from ido import ActionContext

DEFAULT_TEMPLATE = Path(__file__).with_name("template.md")


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of `rows`, with the first row's keys as columns."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _rows(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = report.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("state.report.rows must be a list of mappings")
    return rows


def _written(path: Path, text: str, renderer: str) -> dict[str, Any]:
    workspace.write_atomically(path, text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return {"path": str(path), "sha256": digest, "renderer": renderer}


def render_template(state: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the report's template (`state.report.template`) and write the build file."""
    report = workspace.report(state)
    source = Path(str(report.get("template") or DEFAULT_TEMPLATE))
    try:
        template = Template(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"template not found: {source}") from None
    rows = _rows(report)
    try:
        text = template.substitute(
            title=report.get("title", report["name"]), table=table(rows), count=len(rows)
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(f"template {source} has a bad placeholder: {exc}") from None
    return _written(workspace.build_file(state), text, "template")


def render_plain(ctx: ActionContext) -> dict[str, Any]:
    """Write the build file without a template: a title and the table, nothing else."""
    report = workspace.report(ctx.state)
    rows = _rows(report)
    text = f"# {report.get('title', report['name'])}\n\n{table(rows)}\n"
    return _written(workspace.build_file(ctx.state), text, "plain")


def main() -> int:
    """Entry point of `python -m capabilities.report.render`: ido's JSON on stdin, JSON out."""
    try:
        payload = json.load(sys.stdin)
        result = render_template(payload.get("state") or {})
    except (OSError, ValueError, KeyError) as exc:
        print(f"render-report: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
