"""One warning per collector outage, instead of the OTLP exporters' line per retry and batch.

The exporters log every failed attempt (`Transient error … retrying in 2.28s`, though ido
never waits for the retry) and nothing when an export is cut short at exit. `ExportWatch`
takes those records off standard error, masked, and tells the command once, in its own
words, until an export succeeds again; `ido.tracing` calls `cut_short` when the exporters
did not finish within its wait at exit.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable

from ido.secrets import mask_all
from ido.text import shortened

_TRANSIENT = re.compile(r"Transient error (.*?) encountered while exporting (\w+)", re.S)
_FAILED = re.compile(r"Failed to export (\w+) batch code: (\S+), reason: (.*)", re.S)
_GAVE_UP = re.compile(r"Failed to export (\w+) batch due to timeout")
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"'()\[\]]+)")
LONGEST = 200
"""The most characters of the exporter's own words a warning quotes."""


class ExportWatch(logging.Filter):
    """Turns the exporters' log records into one `tell` per outage (a logging filter that
    lets none of them through)."""

    def __init__(
        self, tell: Callable[[str], None], endpoints: Iterable[str], secrets: Iterable[str]
    ) -> None:
        super().__init__()
        self._tell = tell
        self._where = " and ".join(endpoints) or "the collector"
        self._secrets = list(secrets)
        self._failing = False
        self._lock = threading.Lock()

    @property
    def failing(self) -> bool:
        """Whether the last word of the exporters was a failure (told already)."""
        return self._failing

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        said = str(mask_all(record.getMessage(), self._secrets))
        signal, reason = _reason(said)
        self._once(f"could not export {signal} to {self._where}: {reason}")
        return False

    def exported(self) -> None:
        """An export succeeded: the next failure is a new outage, told again."""
        self._failing = False

    def cut_short(self, seconds: float) -> None:
        """The exporters had not finished when ido stopped waiting for them at exit."""
        self._once(
            f"{self._where} did not take the last spans and metrics within {seconds:g} s "
            "(they were dropped)"
        )

    def _once(self, what: str) -> None:
        with self._lock:
            if self._failing:
                return
            self._failing = True
        self._tell(f"telemetry: {what}; runs go on without it")


def _reason(said: str) -> tuple[str, str]:
    """The signal (`spans`, `metrics`) and the reason, short, in an exporter's record."""
    if found := _TRANSIENT.search(said):
        return found.group(2), _short(found.group(1))
    if found := _FAILED.search(said):
        code, reason = found.group(2), found.group(3)
        return found.group(1), _short(reason if code == "None" else f"HTTP {code} {reason}")
    if found := _GAVE_UP.search(said):
        return found.group(1), "timed out"
    return "telemetry", _short(said)


def _short(text: str) -> str:
    """`Connection refused` for urllib3's three lines that end in it; else the start."""
    if found := _ERRNO.search(text):
        return found.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return shortened(" ".join(text.split()), LONGEST)
