"""Traces and metrics as the OTEL_* variables ask for them, and the errors of malformed ones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from ido.errors import IdoError


@contextmanager
def _telemetry() -> Iterator[Any]:
    """Traces and metrics as the OTEL_* variables configure them (None: not asked for),
    exported at the end in at most two seconds."""
    if not any(name.startswith("OTEL_") for name in os.environ):
        yield None  # nothing asked for: opentelemetry is not even imported
        return
    _check_telemetry()
    from ido.tracing.config import TelemetryConfigError
    from ido.tracing.exporters import from_environment

    try:
        telemetry = from_environment(tell=_say)
    except ValueError as exc:  # the SDK's own checks, as it builds the exporters
        raise TelemetryConfigError(_malformed(exc)) from None
    try:
        yield telemetry
    finally:
        if telemetry is not None:
            telemetry.shutdown()


def _say(warning: str) -> None:
    """One line on standard error (from the exporters' thread, too)."""
    typer.echo(f"warning: {warning}", err=True)


def _check_telemetry() -> None:
    """The errors of malformed OTEL_* variables, without building exporters (`ido run
    --processes` checks once, before its workers start; `_telemetry` first)."""
    if not any(name.startswith("OTEL_") for name in os.environ):
        return
    try:
        from ido.tracing.config import TelemetryConfigError, settings
    except ValueError as exc:  # the SDK reads some OTEL_* variables as it is imported
        raise IdoError(_malformed(exc)) from None
    try:
        settings(os.environ)
    except ValueError as exc:
        raise TelemetryConfigError(_malformed(exc)) from None


def _malformed(exc: Exception) -> str:
    """The SDK's refusal of an OTEL_* variable, naming the variable where the message
    names its setting (`max_export_batch_size must be …`: OTEL_BSP_MAX_EXPORT_BATCH_SIZE)."""
    said = str(exc)
    named: dict[str, int] = {}  # variable → the most of its words the message names
    for name in (n for n in os.environ if n.startswith("OTEL_")):
        words = name.lower().split("_")[1:]
        for i in range(len(words) - 1):  # two words at least
            if "_".join(words[i:]) in said.lower():
                named[name] = len(words) - i
                break
    most = max(named.values(), default=0)
    found = sorted(name for name, count in named.items() if count == most)
    if len(found) == 1:
        return f"{found[0]} is malformed: {said}"
    if found:  # `OTEL_BSP_…` and `OTEL_BLRP_…` end alike: one of them
        return f"one of {', '.join(found)} is malformed: {said}"
    return f"an OTEL_* variable is malformed: {said}"
