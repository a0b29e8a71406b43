"""A decision's rejected capabilities as an explanation lists them: one line each, or on a
big catalog, those rejected for the same reason as one line (`rejected_lines`); and what
each decision of a run said of one capability (`why_not`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ido.explain_calls import _action_line
from ido.text import some

REASON_WORDS = {
    "denied": "denied by",
    "unreachable": "unreachable",
    "irrelevant": "not needed",
    "dominated": "dominated",
    "over_budget": "over budget",
    "over_deadline": "over deadline",
    "too_unreliable": "too unreliable",
}

GROUP_PAST = 20
"""Past this many rejections (those not needed for the goal aside, which are not listed),
a decision's are told in groups, in at most as many lines (`rejection_groups`): a catalog
of 1,000 capabilities listed some 480, one a line, in every decision."""

NAMES_SHOWN = 3
"""The names a grouped line shows before it counts the rest."""


def rejection_line(rejection: Mapping[str, Any]) -> str:
    """`pay-us: denied by residency/pii-stays-in-eu: PII …`, as a decision lists it; the
    rule's owner beside it when the explanation named one (`owned_rejections`)."""
    words = REASON_WORDS.get(rejection["reason"], rejection["reason"])
    rule = _rule_of(rejection)
    if rule:
        return f"{rejection['capability']}: {words} {rule}: {rejection['detail']}"
    return f"{rejection['capability']}: {words}: {rejection['detail']}"


def owned_rejections(result: Mapping[str, Any], owners: Mapping[str, str]) -> dict[str, Any]:
    """A decision's `result` with the owner of each rejection's rule beside it (`owner`),
    where its policy names one (`owners`: the decision's `policy_owners`): whom an on-call
    reader asks of a capability a rule ruled out. A rejection of no rule, an intent's own
    rule, or a policy without an owner is left as recorded."""
    rejections = result.get("rejections")
    if not owners or not rejections:
        return dict(result)
    marked = []
    for r in rejections:
        owner = owners.get(str(r.get("rule") or "").partition("/")[0])
        marked.append({**r, "owner": owner} if owner is not None else r)
    return {**result, "rejections": marked}


def _rule_of(rejection: Mapping[str, Any]) -> str | None:
    """A rejection's rule as a line names it: `residency/pii (owner compliance)`."""
    rule = rejection.get("rule")
    return with_owner(rule, rejection.get("owner")) if rule else rule


OWN_REASONS = "each for a reason of its own"
"""What a line of one reason and rule says of capabilities left with details all different."""

OWN_RULES = "by rules and for reasons of their own"
"""What a line of one reason says of capabilities left with rules all different (a catalog
with more deny rules than a decision has lines)."""

Group = tuple[str, str | None, str | None, list[str]]
"""(reason, rule: "" for none, None for several; detail: None for several; capabilities)."""


def rejection_groups(rejections: Sequence[Mapping[str, Any]]) -> list[Group]:
    """A big decision's rejections (those not needed for the goal aside) as (reason, rule,
    detail, capabilities): one per reason, rule and detail shared, the largest first, and
    once `GROUP_PAST` would be passed, one per reason and rule for the rest, or per reason
    when there are more rules than that. A group of the rest keeps the rule and detail its
    capabilities share (a single one is its own line): None for those they do not."""
    same: dict[tuple[str, str, str], list[str]] = {}
    for r in rejections:
        if r["reason"] != "irrelevant":
            key = (r["reason"], r.get("rule") or "", r["detail"])
            same.setdefault(key, []).append(r["capability"])
    ranked = sorted(same.items(), key=lambda kv: -len(kv[1]))  # (stable: first seen first)
    # a line per reason and rule can itself pass GROUP_PAST (a deny rule a capability)
    width = 2 if len({key[:2] for key in same}) <= GROUP_PAST else 1
    kept = 0
    while kept < len(ranked):  # keep the largest while the rest fit a line per reason (rule)
        rest = {key[:width] for key, _ in ranked[kept + 1 :]}
        if kept + 1 + len(rest) > GROUP_PAST:
            break
        kept += 1
    folded: dict[tuple[str, ...], list[tuple[tuple[str, str, str], list[str]]]] = {}
    for key, names in ranked[kept:]:
        folded.setdefault(key[:width], []).append((key, names))
    groups: list[Group] = [(*key, names) for key, names in ranked[:kept]]
    for members in sorted(folded.values(), key=lambda ms: -sum(len(n) for _, n in ms)):
        reason, rule, detail = members[0][0]
        names = [name for _, ns in members for name in ns]
        rules = {key[1] for key, _ in members}
        shared = len(members) == 1  # (one key: the rule and detail its capabilities share)
        groups.append(
            (reason, rule if len(rules) == 1 else None, detail if shared else None, names)
        )
    return groups


def rejected_lines(
    rejections: Sequence[Mapping[str, Any]], run: str | None = None, every_name: bool = False
) -> list[str]:
    """The lines of a decision's rejections (those not needed for the goal aside): one
    each, or past `GROUP_PAST`, a line per group (`rejection_groups`). A grouped line names
    its first capabilities and counts the rest (`every_name`: names them all, as a page
    searched in a browser needs); the last line says how to ask of any one (`run`)."""
    useful = [
        {**r, "rule": _rule_of(r), "owner": None} for r in rejections if r["reason"] != "irrelevant"
    ]  # (a group of one rule is of one owner: the owner is told with the rule)
    if len(useful) <= GROUP_PAST:
        return [rejection_line(r) for r in useful]
    lines = []
    for reason, rule, detail, names in rejection_groups(useful):
        if detail is not None:
            lines.append(_same_line((reason, rule, detail), names, every_name))
            continue
        if rule is None:  # (several rules: "denied", not "denied by")
            words = REASON_WORDS.get(reason, reason).removesuffix(" by")
            lines.append(f"{_names(names, every_name)}: {words}, {OWN_RULES}")
            continue
        words = " ".join(filter(None, (REASON_WORDS.get(reason, reason), rule)))
        lines.append(f"{_names(names, every_name)}: {words}, {OWN_REASONS}")
    ask = f"ido explain {run} --why-not NAME" if run else "--format json lists each"
    return [*lines, f"why any one of the {len(useful):,} was rejected: {ask}"]


def _same_line(key: tuple[str, str | None, str], names: list[str], every_name: bool) -> str:
    reason, rule, detail = key
    if len(names) == 1:
        return rejection_line({"capability": names[0], "reason": reason, "rule": rule,
                               "detail": detail})  # fmt: skip
    return rejection_line(
        {"capability": _names(names, every_name), "reason": reason, "rule": rule, "detail": detail}
    )


def _names(names: list[str], every_name: bool) -> str:
    """`36 capabilities (aux-107, aux-207, aux-218 and 33 more)`."""
    shown = some(names, len(names) if every_name else NAMES_SHOWN, counted=True)
    return f"{len(names):,} capabilities ({shown})"


def policy_lines(
    hits: Sequence[Mapping[str, Any]],
    every_name: bool = False,
    owners: Mapping[str, str] | None = None,
) -> list[str]:
    """A decision's policy verdicts, one a line with its id; past `GROUP_PAST`, one line
    per verdict, rule and message shared (the ids: `--why-not NAME` or `--format json`),
    a verdict alone of its own listed as before (`every_name`: as `rejected_lines`).
    `owners`: who answers for each policy (the decision's `policy_owners`), named beside
    its rules."""
    if owners:
        hits = [{**h, "rule": owned(h["rule"], owners)} for h in hits]
    if len(hits) <= GROUP_PAST:
        return [_policy_line(h) for h in hits]
    same: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for h in hits:
        same.setdefault((h["verdict"], h["rule"], h["message"]), []).append(h)
    return [
        f"{verdict} {_names([h['subject'] for h in alike], every_name)}: {rule}: {message}"
        if len(alike) > 1
        else _policy_line(alike[0])
        for (verdict, rule, message), alike in sorted(same.items(), key=lambda kv: -len(kv[1]))
    ]


def owned(rule: str, owners: Mapping[str, str]) -> str:
    """`rule` (`policy/rule-id`) with its policy's owner, when it names one:
    `spend/big-plan (owner finance)`."""
    return with_owner(rule, owners.get(rule.partition("/")[0]))


def with_owner(rule: str, owner: str | None) -> str:
    """A rule with who answers for it, when its policy names someone (every line that
    names a rule's owner says it so)."""
    return rule if not owner else f"{rule} (owner {owner})"


def _policy_line(h: Mapping[str, Any]) -> str:
    return f"{h['id']} {h['verdict']} {h['subject']}: {h['rule']}: {h['message']}"


def why_not(
    view: Mapping[str, Any], name: str, catalog: Collection[str] | None
) -> list[dict[str, Any]] | None:
    """What each decision of a run (`view`, as `ido.explain.run_view` makes it) said of
    capability `name`, as {"decision", "trigger", "said": [lines]}: chosen (and what came
    of it), in an alternative, or rejected and why, or else why a capability goes unnamed;
    then what the run believed of it, the policies' verdicts on it, the errors evaluating
    its conditions. None when no decision names it and the run's catalog (`catalog`: its
    names, None when the run recorded none) does not hold it."""
    if (
        catalog is not None
        and name not in catalog
        and not any(_names_it(d, name) for d in view["decisions"])
    ):
        return None
    known = catalog is not None
    told = []
    done: str | None = None  # where it succeeded: a later plan without it lost nothing
    for d in view["decisions"]:
        said = _said(d, name, known, done)
        told.append({"decision": d["number"], "trigger": d["trigger"], "said": said})
        ok = [a for a in d.get("actions", []) if a.get("capability") == name and a.get("ok")]
        if ok and done is None:
            done = f"decision {d['number']} (step {ok[0].get('step')})"
    return told


def _names_it(d: Mapping[str, Any], name: str) -> bool:
    """Whether decision `d` names capability `name` as one: chosen, weighed, rejected,
    believed of or a policy's subject (a word of an evaluation error's text is none)."""
    from ido.catalog_record import mentioned_by

    subjects = {h.get("subject") for h in d.get("policy", [])}
    return name in mentioned_by(d) or name in d.get("beliefs", {}) or name in subjects


def why_not_lines(told: Sequence[Mapping[str, Any]], name: str, run: str) -> list[str]:
    """`why_not`'s answer as `ido explain RUN --why-not NAME` prints it."""
    lines = [f"{name} in run {run}:"]
    for entry in told:
        lines.append(f"decision {entry['decision']} · trigger: {entry['trigger']}")
        lines += [f"  {line}" for line in entry["said"]]
    return lines if told else [f"{name} in run {run}: the run made no decision"]


def known_names(view: Mapping[str, Any], catalog: Collection[str] | None) -> list[str]:
    """Every capability a run's decisions name, and those of its catalog, sorted: what a
    name asked of and not found may have meant."""
    from ido.catalog_record import mentioned_by

    named = set(catalog or ()).union(*(mentioned_by(d) for d in view["decisions"]))
    return sorted(named)


def _said(d: Mapping[str, Any], name: str, known: bool, done: str | None = None) -> list[str]:
    """What decision `d` said of capability `name`, a line each; where it neither chose it,
    nor weighed it in an alternative, nor rejected it, why (`_unnamed`; `done`: where an
    earlier decision's step of it succeeded)."""
    result = d["result"]
    said: list[str] = []
    steps = [s["capability"] for s in (result.get("plan") or {}).get("steps", [])]
    if name in steps:
        numbers = ", ".join(str(i) for i, s in enumerate(steps, start=1) if s == name)
        said.append(f"chosen: step {numbers} of the plan")
        said += [_action_line(a) for a in d.get("actions", []) if a.get("capability") == name]
    for a in [] if steps.count(name) else result.get("alternatives", []):
        if name in {s["capability"] for s in (a.get("plan") or {}).get("steps", [])}:
            said.append(f"in an alternative, {a['score_delta']:+.3f} score: {a['why']}")
    said += [rejection_line(r) for r in result.get("rejections", []) if r["capability"] == name]
    if not said:
        said.append(_unnamed(result, known, done))
    belief = d.get("beliefs", {}).get(name)
    if isinstance(belief, dict):  # (older runs recorded a bare number, said by explain)
        said.append(f"belief: {belief['why']}")
    owners = d.get("policy_owners") or {}  # as the decision's policy lines name them
    said += [
        f"policy decision {h['id']}: {h['verdict']} by {owned(h['rule'], owners)}: {h['message']}"
        for h in d.get("policy", [])
        if h.get("subject") == name
    ]
    of = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
    errors = list(result.get("condition_errors", [])) + list(d.get("policy_errors", []))
    said += [f"evaluation error: {e}" for e in errors if of.search(e)]
    return said


def _unnamed(result: Mapping[str, Any], known: bool, done: str | None = None) -> str:
    """Why a decision chose, weighed and rejected a capability nowhere (`known`: the run's
    catalog holds it; else the run recorded none to check the name against; `done`: an
    earlier step of it succeeded, which a replan after a later failure plans on from)."""
    what = "not chosen, not rejected" if known else "named nowhere (no catalog recorded)"
    if done is not None and result["status"] not in ("satisfied", "infeasible"):
        return f"{what}: done: it succeeded in {done}"
    if result["status"] == "satisfied":
        return f"{what}: nothing was planned, the goal already held"
    if result["status"] == "infeasible":
        return f"{what}: no plan reached the goal: {result.get('reason') or 'no plan'}"
    if result.get("proven_optimal"):
        return f"{what}: every plan with it scores no better than the chosen one"
    return f"{what}: the plan found (not proven the best) does not use it"
