"""`ido schema`: the JSON Schema of each resource kind."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ido.cli.common import _guard
from ido.errors import IdoError, writing


@_guard
def schema(
    kind: Annotated[
        str | None,
        typer.Argument(help="Intent, Capability, Policy, Observer, Scenario or PolicyTest."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every kind's schema into this folder.")
    ] = None,
) -> None:
    """Print the JSON Schema of a resource kind (or write all with --out)."""
    from ido.model import KINDS
    from ido.schemas import kind_named, schema_text

    if out is not None and kind is not None:
        raise typer.BadParameter(
            "--out writes every kind's schema; name no KIND with it", param_hint="KIND"
        )
    if out is not None:
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
        for name in KINDS:
            file = out / f"{name.lower()}.schema.json"
            with writing(file):
                file.write_text(schema_text(name), encoding="utf-8")
        typer.echo(f"wrote {len(KINDS)} schemas to {out}")
        return
    if kind is None:
        typer.echo("kinds: " + ", ".join(KINDS) + " (ido schema KIND prints one)")
        return
    found = kind_named(kind)
    if found is None:
        raise IdoError(f"unknown kind '{kind}'; use one of {', '.join(KINDS)}")
    typer.echo(schema_text(found), nl=False)
