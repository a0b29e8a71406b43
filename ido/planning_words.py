"""How a long decision's progress reaches a person: after a second, now and then, in words.

The planners report (`ido.planner.progress`); this, at the edge, reads the clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from ido.planner import progress
from ido.planner.progress import Listener

AFTER = 1.0  # seconds a decision plans before `Throttled` passes a report on
GAP = 2.0  # seconds at least between two reports passed on
BEAT = 0.5  # seconds between two looks of `beating` at a quiet decision


class Throttled:
    """A listener that passes reports on to `show` only once the decision has planned for
    `after` seconds (`AFTER`), and then at most one each `gap` seconds (`GAP`), with
    `seconds` (since it was made) added: a quick decision says nothing, a long one a line
    now and then. Reports may come from several threads (CP-SAT's alternatives, solved
    side by side); one at a time is passed on. `tick` says the latest report again, with
    the time now, when a gap has passed without one (see `beating`)."""

    def __init__(
        self,
        show: Listener,
        *,
        after: float | None = None,
        gap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._show = show
        self._gap = GAP if gap is None else gap
        self._clock = clock
        self._started = clock()
        self._next = self._started + (AFTER if after is None else after)
        self._latest: Mapping[str, object] = {}
        self._lock = threading.Lock()

    def __call__(self, data: Mapping[str, object]) -> None:
        with self._lock:
            self._latest = data
            self._pass_on(data)

    def tick(self) -> None:
        """Say the latest report again (or only how long it has planned, before the first),
        if it is time to say something: a single long CP-SAT solve or model call reports
        only as it starts."""
        with self._lock:
            self._pass_on(self._latest)

    def _pass_on(self, data: Mapping[str, object]) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._gap
        self._show({**data, "seconds": now - self._started})


@contextmanager
def beating(listener: Throttled | None, every: float | None = None) -> Iterator[None]:
    """While the block runs, `tick` `listener` every `every` seconds (`BEAT`) from a thread of its
    own, so a decision that plans on quietly still says so now and then. What the listener
    raises there (a broken pipe) stops the beat and is raised again as the block ends, on
    the deciding thread, as a report's would be; an error of the block's own comes first."""
    if listener is None:
        yield
        return
    done = threading.Event()
    failed: list[BaseException] = []
    every = BEAT if every is None else every

    def beat() -> None:
        try:
            while not done.wait(every):
                listener.tick()
        except BaseException as exc:  # raised again on the deciding thread, below
            failed.append(exc)

    thread = threading.Thread(target=beat, name="ido-planning-words", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    if failed:
        raise failed[0]


@contextmanager
def telling(listener: Throttled | None) -> Iterator[None]:
    """While the block runs (a decision), what the planners report on this thread goes to
    `listener` (`progress.listening`), and is said again while they are quiet (`beating`)."""
    with beating(listener), progress.listening(listener):
        yield


def describe(data: Mapping[str, object]) -> str:
    """A report in words: `planning 3.1s: exact search, 120,000 of 200,000 states expanded`
    (of the most its budget allows); a catalog's loading, `loading 4.0s: …` (`_loading`)."""
    told = data.get("seconds", 0.0)
    seconds = told if isinstance(told, (int, float)) else 0.0
    head = f"planning {seconds:.1f}s"
    left_out = data.get("without")
    which = ""
    if isinstance(left_out, list) and left_out:
        which = f" for an alternative without {', '.join(map(str, left_out))}"
        candidate = data.get("candidate")
        if isinstance(candidate, list) and len(candidate) == 2:
            which += f" (candidate {candidate[0]} of {candidate[1]})"
    if data.get("stage") == "search":
        expanded = data["expanded"]
        if not expanded:  # as it starts (said again while it works up to its first count)
            return f"{head}: exact search{which} started"
        most = data.get("most")
        of = f" of {most:,}" if isinstance(most, int) else ""
        return f"{head}: exact search{which}, {expanded:,}{of} states expanded"
    if data.get("stage") == "cpsat":
        return (
            f"{head}: CP-SAT solve{which}, plans of up to {data['steps']} steps "
            f"over {data['capabilities']:,} capabilities"
        )
    if data.get("stage") == "grounding":
        actions = data.get("actions")
        so_far = f", {actions:,} actions so far" if isinstance(actions, int) else ""
        return f"{head}: reading and grounding {data.get('problem')}{so_far}"
    if data.get("stage") == "loading":
        return _loading(data, seconds)
    if data.get("stage") == "preparing":
        return f"{head}: preparing {data['capabilities']:,} capabilities for the planner"
    if data.get("stage") == "writing":
        return f"{head}: writing {data['resources']:,} resources to {data['file']}"
    if data.get("stage") == "llm":
        return f"{head}: asking the model {data['model']} (call {data['call']})"
    return head


def _loading(data: Mapping[str, object], seconds: float) -> str:
    """A large catalog's loading in words: reading a file's documents, checking its
    resources one by one, then the checks across them all (references, conditions)."""
    head, count, file = f"loading {seconds:.1f}s", data.get("resources"), data.get("file")
    counted = f"{count:,}" if isinstance(count, int) else "?"
    if data.get("step") == "reading":
        return f"{head}: reading {file}, {counted} documents read"
    if data.get("step") == "checking":
        of = data.get("of")
        total = f" of {of:,}" if isinstance(of, int) else ""
        return f"{head}: checking the resources of {file}, {counted}{total} checked"
    return f"{head}: checking the references and conditions of {counted} resources"
