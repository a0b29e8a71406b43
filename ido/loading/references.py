"""What resources name checked against the catalog: policies, observers, capabilities,
rules cited, approved and expected to fire; a missing one's file in a folder not read
pointed at."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ido.approvals import PROPOSE, UNKNOWN_RULE
from ido.conditions import ConditionError
from ido.errors import Problem
from ido.loading.catalog import Catalog, problem_at, scenario_intent
from ido.loading.files import named_yaml
from ido.model import Policy, PolicyTest, Resource, Scenario
from ido.model.rules import Rule
from ido.policy import EFFECTS, is_plan_rule
from ido.yamlsrc import FieldPath

Replaced = Mapping[str, str]
"""Folders of the project (by name, under `base`) a command reads others in place of, each
with what a missing resource found there is told (`ido replay --policies DIR`: `{"policies":
"a replay given other policies (--policies DIR) needs it in DIR too"}`)."""


HOMES = {"Intent": "intents", "Policy": "policies"}
"""The catalog folder each kind is read from by default (the rest: capabilities/)."""


def _unread(read: set[Path], base: Path, kind: str, name: str, replaced: Replaced) -> str:
    """A hint when a folder of the project that is not in the catalog holds a file named
    after a missing resource and declaring its kind: `observers/stock.yaml`, a folder ido
    does not read unless asked, is where a new user puts an observer. `read`: the files
    the catalog was loaded from; `replaced`: folders the command read others in place of."""
    declares = re.compile(rf"^kind:\s*{kind}\s*$", re.MULTILINE)
    home = HOMES.get(kind, "capabilities")

    def first(f: Path) -> tuple[bool, bool, Path]:
        # the folder the command read another in place of, then the kind's own, before a
        # copy kept beside them (`old/`): the first by name sent the user there
        return f.parent.name not in replaced, f.parent.name != home, f

    try:
        found = sorted(
            (
                f
                for f in base.glob(f"*/{name}.*")
                if named_yaml(f)  # (`stock.YAML` too)
                and not f.parent.name.startswith(".")
                and f.is_file()
                and f.resolve() not in read
                and declares.search(f.read_text(encoding="utf-8", errors="replace"))
            ),
            key=first,
        )
    except OSError:  # a folder or file it may not read: no hint
        return ""
    if not found:
        return ""
    folder = found[0].parent.name
    unread = f"{folder}/{found[0].name} is not in the catalog"
    if folder in replaced:
        return f" ({unread}: {replaced[folder]})"
    if folder == home:
        return f" ({unread}: give --catalog {folder})"
    return f" ({unread}: give --catalog {folder}, or move it into {home}/)"


def _check_references(catalog: Catalog, base: Path, replaced: Replaced) -> list[Problem]:
    problems: list[Problem] = []

    def at(resource: Resource, path: FieldPath, message: str) -> None:
        problems.append(problem_at(catalog, resource, path, message, base))

    read: set[Path] = set()  # the catalog's files, resolved once, when a hint is looked for

    def missing(resource: Resource, path: FieldPath, kind: str, name: str) -> None:
        if (kind, name) in catalog.broken:  # there, and why it did not load is told
            return
        known = sorted(catalog.table(kind))
        hint = f"; known: {', '.join(known)}" if known else f"; no {kind} is loaded"
        if not read:
            read.update(origin.file.resolve() for origin in catalog.origins.values())
        at(
            resource,
            path,
            f"{kind} '{name}' not found{hint}{_unread(read, base, kind, name, replaced)}",
        )

    for intent in catalog.intents.values():
        for i, name in enumerate(intent.spec.policies):
            if name not in catalog.policies:
                missing(intent, ("spec", "policies", i), "Policy", name)
        for i, name in enumerate(intent.spec.observers):
            if name not in catalog.observers:
                missing(intent, ("spec", "observers", i), "Observer", name)
    for capability in catalog.capabilities.values():
        undo = capability.spec.compensate
        if undo is not None and undo not in catalog.capabilities:
            missing(capability, ("spec", "compensate"), "Capability", undo)
    for test in catalog.policy_tests.values():
        for i, name in enumerate(test.spec.policies):
            if name not in catalog.policies:
                missing(test, ("spec", "policies", i), "Policy", name)
        for i, case in enumerate(test.spec.cases):
            if case.capability is not None and case.capability not in catalog.capabilities:
                missing(test, ("spec", "cases", i, "capability"), "Capability", case.capability)
            for j, name in enumerate(case.plan or ()):
                if name not in catalog.capabilities:
                    missing(test, ("spec", "cases", i, "plan", j), "Capability", name)
    providers = sorted({c.spec.provider for c in catalog.capabilities.values()})
    for scenario in catalog.scenarios.values():
        for path, kind, name in _scenario_references(scenario):
            if name not in catalog.table(kind):
                missing(scenario, path, kind, name)
        for name, behaviour in scenario.spec.world.capabilities.items():
            found = catalog.capabilities.get(name)
            if behaviour.output is not None and found is not None and not found.spec.output:
                at(
                    scenario,
                    ("spec", "world", "capabilities", name, "output"),
                    f"capability '{name}' has no output path, so what its calls return is "
                    "not kept: give it one (spec.output), or leave this out",
                )
        for i, fault in enumerate(scenario.spec.faults):
            if fault.provider is not None and fault.provider not in providers:
                listed = ", ".join(providers) or "none"
                at(
                    scenario,
                    ("spec", "faults", i, "provider"),
                    f"no capability has provider '{fault.provider}'; providers: {listed}",
                )
        for i, cite in enumerate(scenario.spec.expect.cites):
            policy, _, rule_id = cite.partition("/")
            where = ("spec", "expect", "cites", i)
            if " " not in cite and "/" in cite and policy in catalog.policies:
                rules = catalog.policies[policy].spec.rules
                message = _rule_problem(rules, policy, rule_id, effects=EFFECTS)
                if message is not None:
                    at(scenario, where, message)
            elif RULE_REF.fullmatch(cite) and policy not in catalog.policies:
                missing(scenario, where, "Policy", policy)
            elif INTENT_RULE_REF.fullmatch(cite):
                message = _intent_rule_problem(catalog, scenario, cite, effects=EFFECTS)
                if message is not None:
                    at(scenario, where, message)
        for i, answer in enumerate(scenario.spec.approvals):
            if ("Policy", answer.rule.partition("/")[0]) in catalog.broken:
                continue  # there, and why it did not load is told
            message = _answer_problem(catalog, scenario, answer.rule)
            if message is not None:
                at(scenario, ("spec", "approvals", i, "rule"), message)
    return problems


INTENT_RULE_REF = re.compile(r"intent:[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*")
"""A rule of an intent, as it is cited: `intent:NAME/rule`."""


def _answer_problem(catalog: Catalog, scenario: Scenario, ref: str) -> str | None:
    """Why a scenario's approval for `ref` can answer no request, if it cannot: a misspelt
    rule left the run blocked, told only as an unmet `outcome`. `ref` is a `require_approval`
    rule of a policy (`policy/rule`) or of the scenario's intent (`intent:NAME/rule`), or
    one of ido's own (`mode/propose`, `resume/outcome-unknown`)."""
    if ref in (PROPOSE, UNKNOWN_RULE):
        return None
    owner, _, rule_id = ref.partition("/")
    if not rule_id:  # a bare id: requests name a rule with where it stands
        named = _rule_names(catalog.policies.values())
        return _not_a_rule_id(ref, named, write="policy/rule (or intent:NAME/rule)")
    if owner.startswith("intent:"):
        return _intent_rule_problem(catalog, scenario, ref, ("require_approval",))
    policy = catalog.policies.get(owner)
    if policy is None:
        known = ", ".join(sorted(catalog.policies)) or "none"
        return f"'{ref}' names no policy rule: write policy/rule (policies: {known})"
    return _rule_problem(policy.spec.rules, owner, rule_id, ("require_approval",))


def _intent_rule_problem(
    catalog: Catalog, scenario: Scenario, ref: str, effects: Sequence[str]
) -> str | None:
    """Why `ref`, `intent:NAME/rule`, is no rule of the scenario's intent with one of
    `effects`, if it is not (None too when the intent is missing: told where it is named)."""
    named = scenario.spec.intent
    name = named if isinstance(named, str) else scenario.name
    spec = scenario_intent(catalog, scenario)
    if spec is None:
        return None
    owner, _, rule_id = ref.partition("/")
    if owner != f"intent:{name}":
        return f"'{ref}' is not a rule of this scenario's intent: write intent:{name}/RULE"
    return _rule_problem(spec.rules, owner, rule_id, effects)


def _rule_problem(
    rules: Sequence[Rule], owner: str, rule_id: str, effects: Sequence[str]
) -> str | None:
    """Why `owner/rule_id` is none of `rules` with one of `effects`, naming those that are."""
    found = next((r for r in rules if r.id == rule_id), None)
    if found is not None and found.effect in effects:
        return None
    fitting = ", ".join(sorted(f"{owner}/{r.id}" for r in rules if r.effect in effects))
    listed = f"{owner} {'has' if len(effects) > 1 else 'asks with'} {fitting or 'none'}"
    if found is None:
        return f"rule '{owner}/{rule_id}' not found; {listed}"
    return f"rule '{owner}/{rule_id}' is a {found.effect} rule, so it asks no approval; {listed}"


def _rule_names(policies: Iterable[Policy]) -> list[str]:
    """The rules of `policies`, as they are named: `policy/rule`."""
    return [f"{p.name}/{r.id}" for p in policies for r in p.spec.rules]


def _not_a_rule_id(ref: str, named: Iterable[str], write: str, like: str = "") -> str:
    """`ref`, a rule's id without its policy, told as no rule id: with the rule of `named`
    that has that id (the first), else `like`, as an example of what to write."""
    same = next((n for n in sorted(named) if n.endswith(f"/{ref}")), like)
    return f"'{ref}' is not a rule id: write {write}" + (f", like {same}" if same else "")


RULE_REF = re.compile(r"[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*")
"""A cite written as a rule id, `policy/rule` (other cites are text a trigger contains)."""


def _scenario_references(scenario: Scenario) -> Iterable[tuple[FieldPath, str, str]]:
    spec = scenario.spec
    if isinstance(spec.intent, str):
        yield ("spec", "intent"), "Intent", spec.intent
    else:
        for i, name in enumerate(spec.intent.policies):
            yield ("spec", "intent", "policies", i), "Policy", name
        for i, name in enumerate(spec.intent.observers):
            yield ("spec", "intent", "observers", i), "Observer", name
    for name in spec.world.capabilities:
        yield ("spec", "world", "capabilities", name), "Capability", name
    for i, fault in enumerate(spec.faults):
        if fault.capability is not None:
            yield ("spec", "faults", i, "capability"), "Capability", fault.capability
        if fault.policy is not None:
            yield ("spec", "faults", i, "policy"), "Policy", fault.policy
    for key in ("used", "never_used"):
        for i, name in enumerate(getattr(spec.expect, key)):
            yield ("spec", "expect", key, i), "Capability", name
    for i, answer in enumerate(spec.approvals):
        if answer.capability is not None:
            yield ("spec", "approvals", i, "capability"), "Capability", answer.capability


def _check_expectations(catalog: Catalog, base: Path) -> list[Problem]:
    """What is wrong with the rule ids policy tests expect to fire (a rule that could never
    fire there made the case fail with only "expected [...], fired []")."""
    problems: list[Problem] = []
    for test in catalog.policy_tests.values():
        for i, case in enumerate(test.spec.cases):
            for effect in EFFECTS:
                for j, ref in enumerate(getattr(case.expect, effect) or ()):
                    message = _expectation_problem(
                        catalog, test, case.plan is not None, effect, ref
                    )
                    if message is not None:
                        path = ("spec", "cases", i, "expect", effect, j)
                        problems.append(problem_at(catalog, test, path, message, base))
    return problems


def _expectation_problem(
    catalog: Catalog, test: PolicyTest, about_plan: bool, effect: str, ref: str
) -> str | None:
    """Why the rule `ref` cannot fire as `effect` in a case of `test`, if it cannot."""
    name, _, rule_id = ref.partition("/")
    under = test.spec.policies
    if not rule_id:
        named = _rule_names(catalog.policies[p] for p in under if p in catalog.policies)
        return _not_a_rule_id(ref, named, write="policy/rule", like=f"{under[0]}/rule")
    policy = catalog.policies.get(name)
    enforced = policy is not None and policy.spec.enforced  # evaluated in every test too
    if name not in under and not enforced:
        listed = ", ".join(under)
        return f"policy '{name}' is not among this test's policies ({listed}); add it to policies"
    if policy is None:  # told where the test names it
        return None
    rule = next((r for r in policy.spec.rules if r.id == rule_id), None)
    if rule is None:  # (every effect is one a test may expect: only a missing rule is told)
        return _rule_problem(policy.spec.rules, name, rule_id, effects=EFFECTS)
    if rule.effect != effect:
        return f"rule '{ref}' is a {rule.effect} rule, so it never fires as {effect}"
    try:
        plan_rule = is_plan_rule(rule)
    except ConditionError:
        return None  # told where the rule stands
    if plan_rule and not about_plan:
        return f"rule '{ref}' reads plan: it fires only in a case with plan, not capability"
    if about_plan and not plan_rule:
        return f"rule '{ref}' is about one capability: it fires only in a case with capability"
    return None
