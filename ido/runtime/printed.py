"""What a Python binding or observer prints, masked before it reaches ido's output.

A Python binding runs in ido's process: its `print`, and a `logging` handler that writes to
`sys.stderr` as it is when it writes, went to ido's standard output and error (a terminal,
a CI log) as written, a secret it printed too. While one runs (`masking`), what its thread
writes to `sys.stdout` or `sys.stderr` is held until a line ends (at a line break, or at the
carriage return a progress bar is redrawn after), masked, then written: a secret printed in
pieces (`print("token", token)` writes each piece alone) is masked whole. The module of a
binding is imported under it too.
Every other thread writes as before. What the binding writes otherwise (to
`sys.stdout.buffer`, to a file descriptor, from a thread or process it starts, through a
handler that kept the stream it found at its start) is beyond this.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO

Mask = Callable[[str], str]

LONGEST_HELD = 65536
"""The most characters of a line not yet ended held back; beyond, they are written, masked,
as they are (a secret cut there in two is masked no more)."""
_calling = threading.local()
"""The mask of the call the current thread runs (`mask`), and what it wrote of a line not
yet ended, by stream (`held`)."""
_wrapping = threading.Lock()


@dataclass
class _Line:
    """What a call wrote of a line not yet ended, in the pieces it wrote."""

    out: TextIO  # the stream it goes to
    pieces: list[str] = field(default_factory=list)
    size: int = 0


class _MaskedStream:
    """`sys.stdout` or `sys.stderr`, writing what a thread running a call writes masked,
    line by line, and what any other writes as it is."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        mask: Mask | None = getattr(_calling, "mask", None)
        if mask is None:
            return self._stream.write(text)
        if not isinstance(text, str):  # (held, it failed the whole call when it ended)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        line = _calling.held.get(id(self))
        if line is None:
            line = _calling.held[id(self)] = _Line(self._stream)
        line.pieces.append(text)
        line.size += len(text)
        # A line ends at `\n`, and at the `\r` a progress bar is redrawn after (held until
        # 64 KiB of it were drawn, a bar showed nothing for most of its run). The pieces
        # are joined only then: joined at each write, `json.dump` of 4 MB (a piece a value)
        # took 5 times as long as unmasked.
        if "\n" in text or "\r" in text or line.size > LONGEST_HELD:
            written = "".join(line.pieces)
            cut = max(written.rfind("\n"), written.rfind("\r")) + 1
            if len(written) - cut > LONGEST_HELD:
                cut = len(written)
            rest = written[cut:]
            line.pieces, line.size = [rest] if rest else [], len(rest)
            if cut:
                self._stream.write(mask(written[:cut]))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Each of `lines` written as `write` writes it (forwarded as it was, a token in
        them reached the stream unmasked)."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    @property
    def wrapped(self) -> TextIO:
        """The stream written to."""
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Installed:
    """The wrapped streams put in `sys`, and how many calls of the process are running:
    when the last ends, `sys.stdout` and `sys.stderr` are put back as they were."""

    running = 0
    streams: ClassVar[dict[str, _MaskedStream]] = {}


def _wrap_streams() -> None:
    """`sys.stdout` and `sys.stderr`, each wrapped (`_MaskedStream`) unless it is already:
    whoever replaced one since (a test's capture, `redirect_stdout`) gets it wrapped too.
    One that is None (`pythonw`, a service started without it) is left None: `print`
    writes nothing there, where wrapped it raised, and failed the binding that printed."""
    with _wrapping:
        _Installed.running += 1
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, _MaskedStream):
                _Installed.streams[name] = _MaskedStream(stream)
                setattr(sys, name, _Installed.streams[name])


def _unwrapped() -> None:
    """When no call runs any more, `sys.stdout` and `sys.stderr` put back as they were
    (the very objects), unless someone replaced them since. (Left wrapped, the host of the
    Python API found them no longer the objects it had set, nor of their class.)"""
    with _wrapping:
        _Installed.running -= 1
        if _Installed.running:
            return
        for name, stream in _Installed.streams.items():
            if getattr(sys, name) is stream:
                setattr(sys, name, stream.wrapped)
        _Installed.streams.clear()


@contextlib.contextmanager
def masking(mask: Mask) -> Iterator[None]:
    """Within it, what this thread writes to `sys.stdout` and `sys.stderr` is written
    line by line through `mask`; what is left of a line when it ends is written too."""
    _wrap_streams()
    outer: Mask | None = getattr(_calling, "mask", None)
    outer_held: dict[int, _Line] = getattr(_calling, "held", {})
    if outer is not None:  # a call made by a call (a binding running `ido.run`)
        _finish(outer)  # (what the outer one left of a line: first, as printed)
        mask = _both(mask, outer)
    _calling.mask, _calling.held = mask, {}
    try:
        yield
    finally:
        _calling.mask = None
        try:
            _finish(mask)
        finally:  # (the streams put back whatever writing the rest raised)
            _calling.mask, _calling.held = outer, outer_held
            _unwrapped()


def _both(inner: Mask, outer: Mask) -> Mask:
    """`inner`, then `outer`: a call's secrets masked in what a call it made prints too."""
    return lambda text: outer(inner(text))


def _finish(mask: Mask) -> None:
    """Write, masked, what the current call left of a line on each stream it wrote to:
    `sys.stdout` and `sys.stderr` as they were when it started, and a wrapped stream kept
    from an earlier call (a module's `out = sys.stdout`, a logging handler made then), whose
    unended line was lost."""
    lines: dict[int, _Line] = _calling.held
    while lines:
        line = lines.pop(next(iter(lines)))
        with contextlib.suppress(OSError, ValueError):  # (a stream closed meanwhile)
            if rest := "".join(line.pieces):
                line.out.write(mask(rest))
                line.out.flush()
