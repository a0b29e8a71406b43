"""What grounding a PDDL problem into a checked catalog leaves undone for speed: the
cycle collector, which would walk every object it makes, is held off while it runs."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ido.errors import PddlError
from ido.pddl import pddl_catalog

DOMAIN = """\
(define (domain hops) (:requirements :strips :typing) (:types node)
 (:predicates (at ?n - node) (link ?a ?b - node))
 (:action hop :parameters (?a ?b - node) :precondition (and (at ?a) (link ?a ?b))
  :effect (and (at ?b) (not (at ?a)))))
"""


def problem(nodes: int) -> str:
    names = " ".join(f"n{i}" for i in range(nodes))
    links = " ".join(f"(link n{i} n{i + 1})" for i in range(nodes - 1))
    return (
        f"(define (problem line) (:domain hops) (:objects {names} - node)\n"
        f" (:init (at n0) {links}) (:goal (at n{nodes - 1})))\n"
    )


@contextmanager
def collections(inside: set[str]) -> Iterator[list[str]]:
    """Which of the functions named `inside` each collection in the block ran from (the
    innermost), the collector made to run at every chance (a threshold of one new
    object): with it on, any of them that makes objects sees some."""
    seen: list[str] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        frame = sys._getframe(1)
        while phase == "start" and frame is not None:
            if frame.f_code.co_name in inside:
                seen.append(frame.f_code.co_name)
                return
            frame = frame.f_back

    thresholds = gc.get_threshold()
    gc.callbacks.append(note)
    gc.set_threshold(1)
    try:
        yield seen
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(note)


def grounded(tmp_path: Path, domain: str, nodes: int) -> Callable[[], object]:
    (tmp_path / "d.pddl").write_text(domain)
    (tmp_path / "p.pddl").write_text(problem(nodes))
    return lambda: pddl_catalog(tmp_path / "d.pddl", tmp_path / "p.pddl")


def test_the_collector_is_held_off_while_a_problem_becomes_a_catalog(tmp_path: Path) -> None:
    """No collection while it reads, grounds and checks; the collector is on again after
    (and the same watch sees collections in code that runs with it on)."""
    build = grounded(tmp_path, DOMAIN, 6)
    work = {"load_pddl", "to_resources", "load_documents"}
    assert gc.isenabled()
    with collections(work | {"lists"}) as seen:
        catalog, name, _ = build()  # type: ignore[misc]

        def lists() -> None:
            gc.collect(0)

        lists()
    assert seen and set(seen) == {"lists"}
    assert gc.isenabled()
    assert len(catalog.capabilities) == 5 and name == "line"


def test_the_collector_is_on_again_after_a_problem_is_refused(tmp_path: Path) -> None:
    build = grounded(tmp_path, DOMAIN.replace("(at ?b)", "(at ?c)"), 3)
    with pytest.raises(PddlError):
        build()
    assert gc.isenabled()


def test_a_problem_becomes_a_catalog_without_leaving_cycles_to_collect(tmp_path: Path) -> None:
    """What grounding made and no longer needs is freed as it goes: none of it waits in a
    cycle for the collector (each parameter search of an action used to: its own closure
    held it, with the atoms reached so far), which would then have to walk and free it."""
    grounded(tmp_path, DOMAIN, 6)
    gc.collect()
    gc.disable()
    try:
        catalog, _, _ = pddl_catalog(tmp_path / "d.pddl", tmp_path / "p.pddl")
        left = gc.collect()
    finally:
        gc.enable()
    assert left == 0
    assert len(catalog.capabilities) == 5
