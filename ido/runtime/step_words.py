"""Word now and then of a step that runs long, for a run's listener: not journaled.

A training job or a deploy can take minutes between its `▶` line and its `✓`, and a run
said nothing meanwhile: whoever watched could not tell a slow step from a hung ido. The
listener is told `step_running` once a step has run `AFTER` seconds, then every `GAP`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

Listener = Callable[[str, Mapping[str, Any]], None]

AFTER = 10.0  # seconds a step runs before its first word
GAP = 30.0  # seconds between two words of one step
BEAT = 1.0  # seconds between two looks at the steps in flight

STARTS = ("action_started", "action_repeated", "action_again")


class StepWatch:
    """A listener that passes every event on, one at a time, and keeps the steps in flight
    (from their start to their `action_finished`), which a thread of its own looks at while
    there are any: a step past `after` seconds, and `gap` seconds after its last word, is
    said (`step_running`, with `seconds` since it started)."""

    def __init__(
        self,
        show: Listener,
        *,
        after: float | None = None,
        gap: float | None = None,
        beat: float | None = None,
        expected: Callable[[str], float | None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._show = show
        self._expected = expected  # a capability's declared latency, said beside its time
        self._after = AFTER if after is None else after
        self._gap = GAP if gap is None else gap
        self._beat = BEAT if beat is None else beat
        self._clock = clock
        self._lock = threading.Lock()  # the run's events and the beat's words: one at a time
        self._running: dict[int, dict[str, Any]] = {}  # step → its event, started, next word
        self._thread: threading.Thread | None = None

    def __call__(self, kind: str, data: Mapping[str, Any]) -> None:
        with self._lock:
            if kind in STARTS and isinstance(data.get("step"), int):
                now = self._clock()
                said = {**data, "expected": self._expected(str(data.get("capability")))}
                self._running[data["step"]] = {
                    "data": said,
                    "since": now,
                    "next": now + self._after,
                }
                self._beating()
            elif kind == "action_finished" and isinstance(data.get("step"), int):
                self._running.pop(data["step"], None)
            elif kind == "run_finished":
                self._running.clear()
            self._show(kind, data)

    def clear(self) -> None:
        """Forget the steps in flight: the run stopped (Ctrl-C, an error) and says no more."""
        with self._lock:
            self._running.clear()

    def tick(self) -> None:
        """Say each step in flight whose time to be said has come."""
        with self._lock:
            now = self._clock()
            for entry in sorted(self._running.values(), key=lambda e: e["data"]["step"]):
                if now < entry["next"]:
                    continue
                entry["next"] = now + self._gap
                self._show("step_running", {**entry["data"], "seconds": now - entry["since"]})

    def _beating(self) -> None:
        """Start the thread that looks at the steps in flight, unless it runs already; it
        ends once none is left."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._beat_on, name="ido-step-words", daemon=True)
        self._thread.start()

    def _beat_on(self) -> None:
        while True:
            time.sleep(self._beat)
            with self._lock:
                if not self._running:
                    self._thread = None
                    return
            try:
                self.tick()
            except Exception:  # words are a courtesy: a listener's failure never stops a run
                self.clear()
