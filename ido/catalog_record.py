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

import functools
import hashlib
import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ido.model import Capability, RunBinding


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
    text = json.dumps(spec, sort_keys=True, default=str)
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


def binding_of(declared: Mapping[str, Any]) -> dict[str, Any] | None:
    """A capability's binding as `run.model_dump(mode="json", exclude={"secrets"})` gives
    it, read off its `declared_spec` (which leaves out the fields at their defaults: they
    are put back); None when it declares none."""
    run = declared.get("run")
    if run is None:
        return None
    whole = _with_defaults(RunBinding, run)
    whole.pop("secrets", None)
    return whole


def _with_defaults(model: type[BaseModel], dumped: Mapping[str, Any]) -> dict[str, Any]:
    """`dumped` (a `model` dumped to JSON leaving out the fields at their defaults) with
    them put back, in the models within it too."""
    whole: dict[str, Any] = {}
    for name, default in _defaults(model).items():
        if name not in dumped:
            whole[name] = default
            continue
        value = dumped[name]
        inner = _model_in(model.model_fields[name].annotation)
        whole[name] = _with_defaults(inner, value) if inner and isinstance(value, dict) else value
    return whole


@functools.cache
def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Each field of `model` and its default as JSON (None for a required one, which a dump
    never leaves out)."""
    return {
        name: None
        if field.is_required()
        else to_jsonable_python(field.get_default(call_default_factory=True))
        for name, field in model.model_fields.items()
    }


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (`HttpBinding | None`: HttpBinding); None if it holds none."""
    for kind in (annotation, *typing.get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


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
