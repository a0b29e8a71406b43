"""Inputs the benchmark scripts' tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def unsupported_pddl(tmp_path: Path) -> tuple[Path, Path]:
    """A PDDL domain and problem `ido plan --pddl` refuses at once: the domain requires
    `:durative-actions`, which ido does not read."""
    domain, problem = tmp_path / "domain.pddl", tmp_path / "problem.pddl"
    domain.write_text(
        "(define (domain d) (:requirements :strips :durative-actions) (:predicates (p))\n"
        " (:action a :parameters () :precondition () :effect (p)))\n"
    )
    problem.write_text("(define (problem q) (:domain d) (:init) (:goal (p)))\n")
    return domain, problem
