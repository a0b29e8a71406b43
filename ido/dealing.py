"""Dealing intents out to the workers of `ido run --processes` as they ask (see
`ido.fanout`): `Dealer` in the command, `Dealt` in a worker. A deal is one line of indexes
into the worker's own list of intents, on its stdin; a worker asks for more with `MORE`
on its stdout."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Generic, TypeVar

from ido.runtime import stopping

T = TypeVar("T")

DEFAULT_CONCURRENCY = 4
"""`ido run --concurrency` unless given (here, not in `ido.fanout`, so that the command's
options are made without importing what starts workers)."""

MORE = "--- ido worker: more ---"
"""What a worker prints when it has no intent left to start, to be dealt more."""


Replies = list[tuple[int, str]]
"""Deals to send: (worker, its line)."""


class Dealer:
    """In the command: the intents, dealt out to the workers as they ask.

    `order` holds each intent of the command line, in its order, as its index in the
    workers' own lists; `most` is how many runs each worker runs at once. A deal is at most
    that many, and fewer as the intents run out (a quarter of those left, for two workers),
    so that no worker holds many not started while another has nothing left to do.

    A worker is let go as soon as it is ready, and one intent is held back for each worker
    not let go yet: with few intents, a worker ready first does not take them all while
    the others are still loading. A worker that asks when all the intents left are held
    back is answered once one of those workers is let go (`start`) or never will be
    (`drop`). Each method returns the deals to send: a line of indexes, space-separated,
    or an empty line once all are dealt.
    """

    def __init__(self, order: Sequence[int], most: Sequence[int]) -> None:
        self._order = list(order)
        self._most = list(most)
        self._next = 0
        self._loading = set(range(len(most)))  # not let go yet: one intent held for each
        self._asking: list[int] = []  # asked, not answered yet
        self._left: set[int] = set()  # ended: dealt nothing more
        self._given: list[list[int]] = [[] for _ in most]  # per worker, what it was dealt
        self._lock = threading.Lock()

    def start(self, worker: int) -> Replies:
        """`worker` (numbered from 0) is let go: its first deal, and those it frees."""
        with self._lock:
            self._loading.discard(worker)
            if worker not in self._left:  # it may have died as it was let go
                self._asking.insert(0, worker)
            return self._answers()

    def ask(self, worker: int) -> Replies:
        """`worker` has no intent left to start."""
        with self._lock:
            if worker not in self._left:
                self._asking.append(worker)
            return self._answers()

    def drop(self, worker: int) -> Replies:
        """`worker` has ended, or will never be let go: what was held back for it is dealt
        to the others, and it is dealt nothing more (a question of its is forgotten)."""
        with self._lock:
            self._left.add(worker)
            self._loading.discard(worker)
            self._asking = [w for w in self._asking if w != worker]
            return self._answers()

    def given(self, worker: int) -> list[int]:
        """What `worker` was dealt, as the indexes its lines carried."""
        with self._lock:
            return list(self._given[worker])

    def undealt(self) -> list[int]:
        """The intents no worker was dealt (every worker ended first), as indexes."""
        with self._lock:
            return self._order[self._next :]

    def _answers(self) -> Replies:
        replies = []
        while self._asking:
            left = len(self._order) - self._next
            free = left - len(self._loading)
            if left and free <= 0:
                break  # held back: answered when a worker still loading settles
            worker = self._asking.pop(0)
            size = min(free, max(1, min(self._most[worker], free // (2 * len(self._most)))))
            dealt = self._order[self._next : self._next + size]
            self._next += len(dealt)
            self._given[worker] += dealt
            replies.append((worker, " ".join(map(str, dealt))))
        return replies


class Dealt(Generic[T]):
    """In a worker: the intents the command deals to it, taken one at a time by the threads
    that run them. The first deal follows "go" on `channel` (the worker's stdin, see
    `wait_for_go`); when none is left to start, the taker says `MORE` and reads the next
    deal (a line of indexes into `items`). An empty line, or the channel closed, means no
    more: the command has dealt them all, or is stopping. Once this process is stopping
    (Ctrl-C), nothing more is taken."""

    def __init__(self, items: Sequence[T], say: Callable[[str], None], channel: IO[str]) -> None:
        self._items = items
        self._say = say
        self._channel = channel
        self._ready: deque[T] = deque()
        self._asked = True  # the first deal comes without asking
        self._over = False
        self._lock = threading.Lock()

    def take(self) -> T | None:
        """The next intent to run, or None when there is none left (this worker's runs
        end once those started do)."""
        with self._lock:
            while not self._ready and not self._over and not stopping.coming(0):
                if not self._asked:
                    self._say(MORE)
                words = self._channel.readline().split()
                self._asked = False
                self._over = not words
                self._ready.extend(self._items[int(word)] for word in words)
            if stopping.coming(0) or not self._ready:
                return None
            return self._ready.popleft()

    def left(self) -> list[T]:
        """The intents dealt and not taken (this process is stopping: none will be)."""
        with self._lock:
            return list(self._ready)
