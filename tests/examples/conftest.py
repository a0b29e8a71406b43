"""Fixtures for the shipped examples: the project's own catalog and calls to its bindings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ido.loading import Catalog, load_catalog
from ido.runtime.bindings import Outcome, load_callable, perform
from ido.runtime.context import ActionContext

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIRS = ("capabilities", "policies", "intents")


@pytest.fixture(scope="session")
def root() -> Path:
    """The project folder, where `ido` runs and `capabilities` is importable from."""
    return ROOT


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The catalog that ships in the project's capabilities/, policies/ and intents/."""
    return load_catalog([ROOT / d for d in CATALOG_DIRS], base=ROOT)


@pytest.fixture(autouse=True)
def _no_demo_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's exported IDO_DEMO_FAIL must not leak into the tests."""
    monkeypatch.delenv("IDO_DEMO_FAIL", raising=False)


@pytest.fixture
def make_context(catalog: Catalog) -> Callable[..., ActionContext]:
    """Build the ActionContext the runtime would pass when performing a capability."""

    def build(name: str, state: Mapping[str, Any], key: str = "r-test/1/1") -> ActionContext:
        capability = catalog.capabilities[name]
        return ActionContext(
            run_id="r-test",
            intent="test",
            capability=name,
            provider=capability.spec.provider,
            step=1,
            attempt=1,
            idempotency_key=key,
            timeout=capability.spec.timeout,
            state=state,
        )

    return build


@pytest.fixture
def invoke(catalog: Catalog, make_context: Callable[..., ActionContext]) -> Callable[..., Any]:
    """Call a capability's `run.python` function directly, so its exceptions propagate."""

    def call(name: str, state: Mapping[str, Any], key: str = "r-test/1/1") -> Any:
        run = catalog.capabilities[name].spec.run
        assert run is not None and run.python is not None, f"{name} has no python binding"
        return load_callable(run.python, ROOT)(make_context(name, state, key))

    return call


@pytest.fixture
def call(catalog: Catalog, make_context: Callable[..., ActionContext]) -> Callable[..., Outcome]:
    """Perform a capability's binding (python or shell) as the runtime does; never raises."""

    def perform_named(name: str, state: Mapping[str, Any]) -> Outcome:
        return perform(catalog.capabilities[name], make_context(name, state), ROOT)

    return perform_named
