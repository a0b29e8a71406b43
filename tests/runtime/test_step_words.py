"""Word of a step that runs long: passed to the run's listener now and then, never journaled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ido.cli.progress import _progress_lines
from ido.loading import load_catalog
from ido.runtime import step_words
from ido.runtime.local import LocalRuntime
from ido.runtime.step_words import StepWatch
from ido.testing import MemoryJournal

SLOW = '''\
"""Runs until the run's listener has said that it is still running (a file appears)."""
import os, time


def call(ctx):
    for _ in range(2000):  # 20 s at most: without a word, the step fails and so does the test
        if os.path.exists("said"):
            return {"by": ctx.provider}
        time.sleep(0.01)
    raise RuntimeError("nobody said that the step was still running")
'''


def test_a_long_step_is_said_to_be_running_and_the_journal_keeps_no_word_of_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A training job ran for minutes between its start and its end with not a line between;
    the listener now hears `step_running` (the step, its capability, its declared latency)
    while it runs, and `ido run` prints it. The step here waits for that word to end."""
    monkeypatch.setattr(step_words, "AFTER", 0.0)
    monkeypatch.setattr(step_words, "BEAT", 0.01)
    (project / "fakesvc" / "slow.py").write_text(SLOW)
    catalog_file = project / "capabilities" / "catalog.yaml"
    text = catalog_file.read_text()
    at = text.index("metadata: {name: ship}")
    catalog_file.write_text(text[:at] + text[at:].replace("fakesvc.impl:call", "fakesvc.slow:call"))
    heard: list[tuple[str, dict[str, Any]]] = []

    def listener(kind: str, data: Any) -> None:
        heard.append((kind, dict(data)))
        if kind == "step_running":
            (project / "said").write_text("")

    journal = MemoryJournal()
    catalog = load_catalog(["capabilities", "policies", "intents"])
    runtime = LocalRuntime(catalog, journal, base=project, listener=listener)
    report = runtime.run(catalog.intents["ship-order"])
    assert report.outcome == "achieved", report.reason
    # Words of ship's step only: with a word due at once, a busy machine also has words
    # of the quick steps before it (`step_words` rightly says any step it sees running).
    kinds = [
        kind if kind != "step_running" or data["capability"] == "ship" else "other word"
        for kind, data in heard
    ]
    running = [data for kind, data in heard if kind == "step_running"]
    shipping = [data for data in running if data["capability"] == "ship"]
    called = {data["capability"] for kind, data in heard if kind == "action_started"}
    assert shipping and {d["capability"] for d in running} <= called
    assert shipping[0]["expected"] == 1.0 and shipping[0]["seconds"] >= 0.0
    started = kinds.index("action_started", kinds.index("action_finished"))
    assert started < kinds.index("step_running") < kinds.index("action_finished", started)
    assert "step_running" not in [e.kind for e in journal.events(report.run_id)]
    line = _progress_lines("step_running", {**shipping[0], "seconds": 754.2})
    assert line == ["  … ship still running, 12m34s (expected 1s)"]


def test_a_step_is_said_after_a_while_then_now_and_then_until_it_ends() -> None:
    """Not at once (a quick step says nothing), then every `gap` seconds, and never after
    its end; every event passes on as it came."""
    now = [0.0]
    heard: list[tuple[str, dict[str, Any]]] = []
    watch = StepWatch(
        lambda kind, data: heard.append((kind, dict(data))),
        after=10.0,
        gap=30.0,
        beat=3600.0,  # its own thread never looks: the test ticks
        expected={"train": 40.0}.get,
        clock=lambda: now[0],
    )
    watch("action_started", {"step": 2, "capability": "train", "attempt": 1})
    said = []
    for at in (5.0, 10.0, 20.0, 39.0, 40.0, 41.0):
        now[0] = at
        before = len(heard)
        watch.tick()
        said += [(at, data["seconds"], data["expected"]) for _, data in heard[before:]]
    assert said == [(10.0, 10.0, 40.0), (40.0, 40.0, 40.0)]
    watch("action_finished", {"step": 2, "capability": "train", "ok": True})
    now[0] = 100.0
    watch.tick()
    kinds = [kind for kind, _ in heard]
    assert kinds == ["action_started", "step_running", "step_running", "action_finished"]


def test_a_step_made_again_on_resume_is_watched_as_one_started() -> None:
    """An idempotent step cut short, made again by `ido resume`, ran its whole length
    without a word: it had no `action_started` of its own to watch from."""
    told: list[tuple[str, dict[str, Any]]] = []
    now = [0.0]
    watch = StepWatch(lambda k, d: told.append((k, dict(d))), after=10.0, clock=lambda: now[0])
    watch("action_again", {"step": 6, "capability": "migrate-us-east", "attempt": 1})
    now[0] = 11.0
    watch.tick()
    watch.clear()
    assert [k for k, _ in told] == ["action_again", "step_running"]
    assert told[1][1]["seconds"] == 11.0
