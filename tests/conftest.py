"""Shared fixtures: a small project on disk laid out like a user's (intents/, capabilities/, policies/)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    # A shell starts a background job (`pytest &`) with SIGINT ignored, and every process a
    # test starts would inherit that, so the Ctrl-C tests could not interrupt them. A
    # handler of our own is reset to the default at exec, and Python then installs its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
    # So does `nohup pytest` with SIGHUP, which ido then keeps ignored as it should: the
    # test of a closed terminal waited on a run nothing could stop.
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

CAPABILITIES = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay-cheap-eu}
spec:
  provider: cheappay
  region: eu
  tags: [payments, pii]
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 0.30
  latency: 800ms
  reliability: 0.99
  compensate: refund-eu
  run: {python: "fakesvc.impl:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pay-pricey-eu}
spec:
  provider: priceypay
  region: eu
  tags: [payments, pii]
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 0.80
  latency: 500ms
  reliability: 0.995
  run: {python: "fakesvc.impl:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pay-us}
spec:
  provider: uspay
  region: us
  tags: [payments, pii]
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 0.10
  latency: 300ms
  reliability: 0.999
  run: {python: "fakesvc.impl:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: refund-eu}
spec:
  provider: cheappay
  region: eu
  requires: ["state.order.paid"]
  effects: {order.refunded: true}
  run: {python: "fakesvc.impl:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.order.paid"]
  effects: {order.shipped: true}
  cost: 0.50
  latency: 1s
  reliability: 0.98
  output: shipment
  run: {python: "fakesvc.impl:call"}
"""

POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: residency}
spec:
  rules:
    - id: pii-stays-in-eu
      effect: deny
      when: "'pii' in capability.tags && state.order.region == 'eu' && capability.region != 'eu'"
      message: PII of EU customers is processed in the EU only.
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: ship-order}
spec:
  given: {order: {id: "7", region: eu}}
  goal: ["state.order.paid", "state.order.shipped"]
  constraints: {max_cost: 5.0, deadline: 30s, min_success_probability: 0.9}
  objective: {cost: 1.0, latency: 0.5, risk: 2.0}
  policies: [residency]
"""

IMPL = '''\
"""A fake service: fails for providers listed in FAKESVC_FAIL, counts calls in FAKESVC_LOG."""
import os


def call(ctx):
    log = os.environ.get("FAKESVC_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{ctx.capability} {ctx.idempotency_key}\\n")
    if ctx.provider in os.environ.get("FAKESVC_FAIL", "").split(","):
        raise RuntimeError(f"{ctx.provider} is down")
    return {"by": ctx.provider, "key": ctx.idempotency_key}
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user project in a temporary folder, made the current directory."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "intents").mkdir()
    (tmp_path / "capabilities" / "catalog.yaml").write_text(CAPABILITIES)
    (tmp_path / "policies" / "residency.yaml").write_text(POLICY)
    (tmp_path / "intents" / "ship-order.yaml").write_text(INTENT)
    (tmp_path / "fakesvc").mkdir()
    (tmp_path / "fakesvc" / "__init__.py").write_text("")
    (tmp_path / "fakesvc" / "impl.py").write_text(IMPL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAKESVC_FAIL", raising=False)
    monkeypatch.setenv("FAKESVC_LOG", str(tmp_path / "calls.log"))
    # This copy's `fakesvc`, not one an earlier test left imported (its folder another
    # test's, without this test's own modules), and sys.path as it was afterwards (a
    # Python binding puts its project's folder on it: see `example`).
    monkeypatch.setattr(sys, "path", list(sys.path))
    kept = {name: module for name, module in sys.modules.items() if _fakesvc(name)}
    for name in kept:
        del sys.modules[name]
    yield tmp_path
    for name in [name for name in sys.modules if _fakesvc(name)]:
        del sys.modules[name]
    sys.modules.update(kept)
    os.environ.pop("FAKESVC_FAIL", None)


def _fakesvc(name: str) -> bool:
    return name == "fakesvc" or name.startswith("fakesvc.")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tier runs only when asked for (`pytest -m slow`), never by default."""
    if config.option.markexpr:
        return
    skip = pytest.mark.skip(reason="slow tier: run with pytest -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


ROOT = Path(__file__).resolve().parents[1]


def _ours(name: str) -> bool:
    return name == "capabilities" or name.startswith("capabilities.")


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the order fulfilment example (this repository's own), made the current directory (its Python
    package imported from this copy: one process holds one module of a name)."""
    for folder in ("intents", "capabilities", "policies"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDO_DEMO_FAIL", raising=False)
    # A Python binding puts its project's folder on sys.path: left there, this copy's
    # folder came before the repository's own, whose runs later in the session then
    # imported `capabilities` from here (and failed, "already imported from").
    monkeypatch.setattr(sys, "path", list(sys.path))
    kept = {name: module for name, module in sys.modules.items() if _ours(name)}
    for name in kept:
        del sys.modules[name]
    yield tmp_path
    for name in [name for name in sys.modules if _ours(name)]:
        del sys.modules[name]
    sys.modules.update(kept)
