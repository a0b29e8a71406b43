"""The Typer app ido's commands are made with: every mistake in a command's options is
told with its usage line and a hint, as click tells the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer._click.core import Context  # (Typer's own click, not the click package)
from typer._click.exceptions import UsageError
from typer.core import TyperCommand
from typer.models import CommandFunctionType


class IdoCommand(TyperCommand):
    """A command whose option parser's errors carry the command's context: Typer's parser
    raises "Option '--catalog' requires an argument." without it, and that one mistake was
    told as a bare `Error:` line, without the usage and `Try 'ido validate -h' for help.`
    that every other usage mistake gets."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as error:
            if error.ctx is None:
                error.ctx, error.cmd = ctx, ctx.command
            raise


class IdoTyper(typer.Typer):
    """A Typer app whose commands are `IdoCommand`s unless a command asks for another."""

    def command(
        self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(*args, cls=cls or IdoCommand, **kwargs)
