"""What a run records of its catalog when it starts, and how a replay tells from it which
capabilities were added, removed or changed since.

A run's decisions name only the capabilities in play (planned, an alternative, rejected),
so a capability a what-if brings into play (a rule that now denies it, a cheaper plan that
now uses it) read as "added" though it was in the catalog all along. A run records the
digest of every capability's declaration at its start (`run_started`'s `capabilities`),
and a replay compares those with the catalog as it stands: real additions, removals and
changes. A run recorded before keeps none: what its decisions tell is all there is, and a
capability they never named is said to be that, not said to be added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ido.approval_asking import spec_digests
from ido.model import Capability
from ido.state import sorted_json


def declared_spec(capability: Capability) -> dict[str, Any]:
    """What `capability` declares, as JSON: its spec but its description (words for people
    change nothing it does), each field at its default left out, so a field added to ido
    since the run does not make every capability read as changed. The one dump of a
    capability a runtime makes: its approvals' `spec_digests` read its binding off it."""
    return capability.spec.model_dump(mode="json", exclude={"description"}, exclude_defaults=True)


def declaration_digest(capability: Capability, declared: Mapping[str, Any] | None = None) -> str:
    """A short digest of what `capability` declares (`declared_spec`; `declared`: that,
    dumped already)."""
    spec = declared_spec(capability) if declared is None else declared
    text = sorted_json(spec)  # (`json.dumps(spec, sort_keys=True, default=str)`'s text)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def catalog_digests(
    capabilities: Mapping[str, Capability],
    declared: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """Each capability's `declaration_digest`, by name, in name order (`declared`: each
    one's `declared_spec`, by name, dumped already)."""
    return {
        name: declaration_digest(capabilities[name], (declared or {}).get(name))
        for name in sorted(capabilities)
    }


def start_digests(
    capabilities: Mapping[str, Capability],
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """What a runtime works out of its catalog when it is made: each capability's
    `spec_digests` (what an approval of a plan with it is given for) and the catalog's
    `catalog_digests` (what a run records of it at its start), from one dump of each
    (`declared_spec`): two dumps, which leave out different fields, took a third longer.
    Each dump is let go at once (a map of 41,229 of them held the collector scanning)."""
    specs: dict[str, dict[str, str]] = {}
    declared: dict[str, str] = {}
    for name, capability in capabilities.items():
        spec = declared_spec(capability)
        specs[name] = spec_digests(capability, spec)
        declared[name] = declaration_digest(capability, spec)
    return specs, dict(sorted(declared.items()))  # (in name order, as `catalog_digests`)


@dataclass(frozen=True)
class CatalogChange:
    """How the catalog a replay has differs from the run's.

    `known`: read from the digests the run recorded of its catalog, so `added`, `removed`
    and `changed` are exactly that. Else (a run recorded before it kept them) read from
    what its decisions named: `removed` are those they named that the catalog lacks,
    `changed` those a plan step shows declared otherwise on the same history, and
    `unnamed` those the replayed decision names that no decision of the run did (added
    since, or in the catalog and not in play then: the journal cannot tell)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    known: bool = True
    unnamed: tuple[str, ...] = ()


def recorded_change(
    recorded: Mapping[str, str], capabilities: Mapping[str, Capability]
) -> CatalogChange | None:
    """The change from the catalog a run recorded (`recorded`: its digests) to
    `capabilities`, or None when there is none."""
    now = catalog_digests(capabilities)
    added = tuple(n for n in now if n not in recorded)
    removed = tuple(sorted(n for n in recorded if n not in now))
    changed = tuple(n for n in now if n in recorded and recorded[n] != now[n])
    if not (added or removed or changed):
        return None
    return CatalogChange(added, removed, changed)


def told_change(
    mentioned: Iterable[str],
    recorded: Mapping[str, Any],
    replayed: Mapping[str, Any],
    capabilities: Mapping[str, Capability],
) -> CatalogChange | None:
    """What the decisions tell of how the catalog changed, for a run that recorded no
    digests of it (`mentioned`: the capabilities its decisions up to `recorded` named), or
    None when they tell of none. A step declared otherwise shows as other cost, latency,
    reliability or provider on the same history: the beliefs come from the same evidence."""
    named = set(mentioned)
    unnamed = tuple(sorted(mentioned_by(replayed) - named))
    removed = tuple(sorted(name for name in named if name not in capabilities))
    was, now = _steps(recorded), _steps(replayed)
    changed = tuple(sorted(n for n in was.keys() & now.keys() if was[n] != now[n]))
    if not (unnamed or removed or changed):
        return None
    return CatalogChange((), removed, changed, known=False, unnamed=unnamed)


def mentioned_by(decision: Mapping[str, Any]) -> set[str]:
    """The capabilities a decision names: in its plan, its alternatives and its
    rejections (a policy denial among them)."""
    result = decision.get("result") or {}
    names = {s["capability"] for p in _plans(decision) for s in p.get("steps", [])}
    return names | {r["capability"] for r in result.get("rejections", [])}


def _plans(decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    result = decision.get("result") or {}
    plans = [result.get("plan")] + [a.get("plan") for a in result.get("alternatives", [])]
    return [p for p in plans if p]


STEP_DECLARED = ("provider", "cost", "latency", "reliability")


def _steps(decision: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Per capability in a decision's plans, what its steps show of its declaration."""
    return {
        s["capability"]: tuple(s.get(k) for k in STEP_DECLARED)
        for p in _plans(decision)
        for s in p.get("steps", [])
    }
