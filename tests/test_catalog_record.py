"""The digests a runtime works out of its catalog at its start (`start_digests`): one dump
of each capability, the same digests as before it was one."""

from __future__ import annotations

from typing import Any

import pytest

from ido.approval_asking import spec_digests
from ido.catalog_record import catalog_digests, start_digests
from ido.model import Capability

BINDINGS: dict[str, dict[str, Any]] = {
    "python": {"python": "pay.stripe:charge", "secrets": ["STRIPE_KEY"]},
    "shell": {"shell": ["ship", "--order", "${env:ORDER}"]},
    "http-defaults": {
        "http": {"url": "https://ship.test/a", "method": "POST", "headers": {}, "json": None}
    },
    "http": {
        "http": {
            "url": "https://ship.test/a",
            "method": "PUT",
            "headers": {"X-Key": "${env:KEY}"},
            "json": {"id": 1},
        }
    },
}
PINNED = {  # (as the ido before one dump worked them out: approvals given then still match)
    "python": ("f6c88a74409b", "5318b2bd408b"),
    "shell": ("1bd1048587b2", "253689f2d881"),
    "http-defaults": ("c9386515af2d", "6aaaa5311615"),
    "http": ("236bddb7f08e", "d61202897f9d"),
    "none": ("74234e98afe7", "4660daef4129"),
}


def capability(name: str, run: dict[str, Any] | None) -> Capability:
    spec: dict[str, Any] = {
        "provider": "p",
        "requires": ["state.a"],
        "effects": {"b": True},
        "cost": 0.5,
    }
    if run is not None:
        spec["run"] = run
    return Capability.model_validate(
        {"apiVersion": "ido/v1", "kind": "Capability", "metadata": {"name": name}, "spec": spec}
    )


@pytest.fixture
def catalog() -> dict[str, Capability]:
    found = {name: capability(name, run) for name, run in BINDINGS.items()}
    return found | {"none": capability("none", None)}


def test_one_dump_gives_the_digests_two_gave(catalog: dict[str, Capability]) -> None:
    """A binding's fields at their defaults (`method: POST`, no headers) are left out of
    the one dump: put back, its digest is the one an approval was given for."""
    specs, declared = start_digests(catalog)
    assert specs == {name: spec_digests(c) for name, c in catalog.items()}
    assert declared == catalog_digests(catalog) and list(declared) == sorted(catalog)
    assert {n: (specs[n]["binding"], declared[n]) for n in catalog} == PINNED


def test_the_binding_digests_of_a_binding_without_one_and_with_secrets() -> None:
    """No binding digests as `null`; a binding's `secrets` are masked, not performed: a
    binding that declares them is the one approved before it did."""
    bare, secret = (
        capability("c", {"python": "pay.stripe:charge"}),
        capability("c", {"python": "pay.stripe:charge", "secrets": ["K"]}),
    )
    specs, _ = start_digests({"bare": bare, "secret": secret})
    assert specs["bare"]["binding"] == specs["secret"]["binding"]
    assert start_digests({"n": capability("n", None)})[0]["n"] == spec_digests(
        capability("n", None)
    )
