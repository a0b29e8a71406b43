"""A subprocess's pipes read to their end on threads, keeping a bounded part of each.

`Popen.communicate` keeps everything a process writes: a shell binding that printed 800 MB
(a verbose tool, `yes`) held 3 GB of ido's memory, though ido keeps at most a megabyte of
output and the last line of an error. A `Drain` reads its pipe as the process writes (so
the process never blocks on a full pipe) and keeps the first `head` bytes and the last
`TAIL_BYTES`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import IO

TAIL_BYTES = 65_536
"""How much of the end of a pipe is kept: its last line (what an error quotes) and more."""

CHUNK = 65_536


class Drain:
    """Reads one pipe to its end on a daemon thread, from a duplicate of its descriptor
    (the pipe object may be closed meanwhile, and its number taken by another file)."""

    def __init__(self, stream: IO[bytes], head: int) -> None:
        self._head_size = head
        self.head = bytearray()
        self._tail = bytearray()
        self.size = 0
        fd = os.dup(stream.fileno())
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()

    def _read(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, CHUNK):
                self.size += len(chunk)
                room = self._head_size - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                self._tail += chunk
                del self._tail[:-TAIL_BYTES]
        except OSError:
            pass  # the pipe is gone: what was read is what there is
        finally:
            os.close(fd)

    def ended(self, seconds: float) -> bool:
        """Wait up to `seconds` for the pipe's end; whether it came."""
        self._thread.join(max(0.0, seconds))
        return not self._thread.is_alive()

    def last_text(self, unsure: int) -> str:
        """The end of what the pipe carried, as text: whole when it was no longer than
        what is kept, else from the first line that begins in the kept tail (a line cut
        short could hold part of a secret, which masking would no longer find). When no
        line begins there (its last line is longer than the tail), that line cut at its
        start, without its first `unsure` characters: as many as the longest form of a
        secret (`Secrets.longest`), so no part of one cut in two is left."""
        if self.size <= len(self.head) + len(self._tail):
            return bytes(self.head + self._tail).decode("utf-8", "replace")
        first, newline, rest = bytes(self._tail).partition(b"\n")
        if newline and rest.strip():
            return rest.decode("utf-8", "replace")
        return first.decode("utf-8", "replace")[unsure:]


def feed(stream: IO[bytes], data: bytes) -> None:
    """Write `data` to a process's stdin on a daemon thread, then close it; the pipe object
    is closed at once (nothing is buffered in it), the thread writing to a duplicate. A
    process that exits without reading it all, or never reads, is no error."""
    fd = os.dup(stream.fileno())
    stream.close()

    def write() -> None:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            pass  # it stopped reading (exited, or was killed)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)

    threading.Thread(target=write, daemon=True).start()
