"""The audit report: what the journal says happened, summed up for a compliance reader.

Runs of scenarios kept in the journal (`ido scenario run --journal`) happened in a
simulated world: they are counted apart and left out of the rest.

Runs by outcome, decisions made, capabilities denied by each policy rule (and apart, those
a limit or a missing binding left out), approvals with who gave
them (or that none was given: a request left past its last wait), when, how long they
waited and who the request was escalated to by then, compensations a policy rule kept
from running, each approved plan checked on resuming (it still held and ran as approved, or
what no longer held), and spend per intent and per provider (a model planner's calls under
`llm:MODEL`), with the total. Narrowed to one rule (`--rule`), the runs it fired in, and
each decision where it did. Pure: it takes runs and their events and returns a document;
the CLI reads the journal and renders it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ido.approvals import PLAN, THE_PLAN, Key, Request, key_of, pending, requests
from ido.errors import JournalError
from ido.explain import markdown_text
from ido.explain_decisions import approved_line
from ido.explain_rejected import with_owner
from ido.journal.records import Event, RunRow, epoch, llm_cost, made_calls, scenario_of, stamp
from ido.model import format_wait
from ido.planner.denials import SECRET_RULE, UNBOUND
from ido.policy import UNEVALUATED
from ido.run_ends import no_plan_of
from ido.run_words import outcome_word
from ido.text import money, printable

READS = frozenset(
    {
        "run_started",
        "run_resumed",
        "decided",
        "action_started",
        "action_finished",
        "approval_required",
        "approval_given",
        "approval_rejected",
        "compensation_skipped",
    }
)
"""The kinds of event the report reads (a run's first event, whichever, for its scenario):
the CLI reads only these of a run that has ended (`observed` and `run_finished` are a
third of a run's events), and every event of one that has not (`Running` may ask)."""

Running = Callable[[RunRow, Sequence[Event]], bool]
"""Whether a run that has not ended is carried on by a process now (the CLI asks
`live_owner`): counted as running, not as interrupted waiting for `ido resume`."""


def audit(
    runs: Iterable[tuple[RunRow, Sequence[Event]]],
    running: Running | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """The report over `runs`, each with its events, gone through once: the CLI hands
    them over one by one (held all at once, 20,000 runs took 1.6 GB). With `rule`
    (`policy/rule-id`), over the runs in which that rule fired only, each decision where
    it did listed (`ruled`)."""
    outcomes: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    unevaluated: Counter[str] = Counter()  # of denials, those that failed closed
    partly: Counter[str] = Counter()  # of denials, those that failed closed on some capabilities
    denied: dict[str, set[str]] = defaultdict(set)
    owners: dict[str, str] = {}  # who answers for each rule that denied, as recorded last
    out_in: Counter[str] = Counter()  # decisions that left capabilities out not by a rule
    kept_out: dict[str, set[str]] = defaultdict(set)
    spend_intent: defaultdict[str, float] = defaultdict(float)
    spend_provider: defaultdict[str, float] = defaultdict(float)
    approvals: list[dict[str, Any]] = []
    stopped: list[dict[str, Any]] = []  # compensations a policy rule kept from running
    checks: list[dict[str, Any]] = []  # approved plans checked on resuming
    ruled_by: list[dict[str, Any]] = []  # the decisions where `rule` fired
    decisions = 0
    no_plan = 0  # of the failed runs, those that found no plan before any step (exit 4)
    simulated = 0
    at: list[RunRow] = []  # the run being gone through, for a malformed event's error
    try:
        for row, events in _each(runs, at):
            if scenario_of(events) is not None:
                simulated += 1  # `ido scenario run --journal`: a simulated world, not this one
                continue
            if rule is not None:
                fired = [hit for e in events if (hit := _fired(rule, row, e)) is not None]
                if not fired:
                    continue
                ruled_by += fired
            alive = running is not None and running(row, events)
            outcomes[outcome_word(row.outcome, alive)] += 1
            no_plan += no_plan_of(row.outcome, events)
            spend_intent[row.intent] += row.cost
            asked: dict[Key, tuple[float, Request]] = {}
            for i, event in enumerate(events):
                data = event.data
                if event.kind == "decided":
                    decisions += 1
                    ruled: set[str] = set()
                    reached: set[str] = set()  # limits and bindings that left some out
                    closed: defaultdict[str, list[bool]] = defaultdict(list)  # per deny of a rule
                    for rejection in data["result"].get("rejections", []):
                        cited = rejection.get("rule")
                        if cited and _policy_rule(cited):
                            ruled.add(cited)
                            denied[cited].add(rejection["capability"])
                        elif cited:  # a limit used up, a binding the run cannot call: no rule
                            kept_out[cited].add(rejection["capability"])
                            reached.add(cited)
                    # Every deny that fired, not only the rejection's first rule: a capability
                    # two rules deny is rejected once, citing one, and is each rule's denial.
                    for hit in data.get("policy", []):
                        if hit["verdict"] == "deny":
                            ruled.add(hit["rule"])
                            denied[hit["rule"]].add(hit["subject"])
                            closed[hit["rule"]].append(_failed_closed(hit, data))
                    denials.update(ruled)
                    owned = data.get("policy_owners") or {}
                    owners.update(
                        (r, owned[p]) for r in ruled if (p := r.partition("/")[0]) in owned
                    )
                    out_in.update(reached)
                    unevaluated.update(r for r in ruled if closed[r] and all(closed[r]))
                    partly.update(r for r in ruled if any(closed[r]) and not all(closed[r]))
                    _add_model_spend(spend_provider, data)
                    if data.get("approved"):  # resumed after an approval: the plan checked
                        checks.append({"run": row.id, "intent": row.intent, **data["approved"]})
                elif event.kind == "action_finished":
                    provider = data.get("provider") or _provider(events, data["step"])
                    spend_provider[provider] += float(data.get("cost", 0.0))
                elif event.kind == "approval_required":
                    since = float(data.get("since", epoch(event.at)))
                    asked.setdefault(key_of(data), (since, requests([event])[0]))
                elif event.kind == "compensation_skipped" and "rule" in data:
                    stopped.append(
                        {
                            "run": row.id,
                            "intent": row.intent,
                            "capability": data["capability"],
                            "undoes": data["undoes"],
                            "rule": data["rule"],
                            "effect": data["effect"],
                            # a person's "no", or a request left past its last wait: not a rule
                            # that still asks (it read "needs approval under …" of a rejection)
                            "refused": data.get("refused"),
                        }
                    )
                elif event.kind == "run_resumed" and data.get("fails"):
                    approvals += _expired(row, events[:i], event)
                elif event.kind in ("approval_given", "approval_rejected"):
                    first, request = asked.get(key_of(data), (None, None))
                    # to the millisecond the journal stamps times to (not 9.408963918685913)
                    waited = round(epoch(event.at) - first, 3) if first is not None else None
                    approvals.append(
                        {
                            "run": row.id,
                            "intent": row.intent,
                            "rule": data["rule"],
                            "capability": data["capability"],
                            "verdict": "approved" if event.kind == "approval_given" else "rejected",
                            "by": data["by"],
                            # who the request was escalated to when the verdict came (None:
                            # within its first wait; any --by may answer, this says to whom)
                            "escalated_to": data.get("escalated_to"),
                            # of a request that needs several people: which approval, of how many
                            "approval": data.get("approval"),
                            "approvers": data.get("approvers", 1),
                            "comment": data.get("comment"),
                            "at": event.at,
                            "waited_seconds": waited,
                            **_asked_for(request),
                        }
                    )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _malformed(at, exc) from None

    return {
        "runs": sum(outcomes.values()),
        "simulated_runs_left_out": simulated,
        "outcomes": dict(sorted(outcomes.items())),
        "no_plan": no_plan,
        "decisions": decisions,
        "denials": {
            rule: {
                "decisions": count,
                **({"owner": owners[rule]} if rule in owners else {}),  # (JSON as before)
                "capabilities": sorted(denied[rule]),
                "unevaluated": unevaluated[rule],
                "partly_unevaluated": partly[rule],
            }
            for rule, count in denials.most_common()
        },
        **{
            key: {
                cited: {"decisions": count, "capabilities": sorted(kept_out[cited])}
                for cited, count in sorted(out_in.items(), key=lambda kv: (-kv[1], kv[0]))
                if cited.startswith("limits.") == (key == "limits_reached")
            }
            for key in ("limits_reached", "not_callable")
        },
        "approvals": approvals,
        "compensations_stopped": stopped,
        "approved_plans_checked": checks,
        "spend_per_intent": _by_amount(spend_intent),
        "spend_per_provider": _by_amount(spend_provider),
        "spend_total": round(sum(spend_intent.values()), 6),
        **({"ruled": ruled_by} if rule is not None else {}),
    }


def _each(
    runs: Iterable[tuple[RunRow, Sequence[Event]]], at: list[RunRow]
) -> Iterator[tuple[RunRow, Sequence[Event]]]:
    """`runs`, keeping in `at` the one being gone through."""
    for row, events in runs:
        at[:] = [row]
        yield row, events


def _malformed(at: list[RunRow], exc: Exception) -> JournalError:
    """A run whose events lack what ido records in them (a journal edited by hand): said,
    not a traceback."""
    what = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
    run = at[0].id if at else "?"
    return JournalError(
        f"run {run}: its events are not as ido records them ({what}); `ido verify` says "
        "whether the journal was edited"
    )


def _policy_rule(cited: str) -> bool:
    """Whether a rejection's `rule` is a policy's rule (`residency/pii-stays-in-eu`,
    `intent:NAME/rule`), not a limit the run reached (`limits.max_attempts`) nor a binding
    it cannot call (`spec.run`, `${env:TOKEN}`): "Denials by rule" tallied those beside
    the rules, as if a policy had denied the capability."""
    return not (cited.startswith("limits.") or cited == UNBOUND or cited.startswith(SECRET_RULE))


_LEFT_OUT = {
    "limits_reached": "Limits reached",
    "not_callable": "Not callable (no run binding, or its environment variable unset)",
}
"""The report's sections of capabilities left out by no policy rule, by their JSON key."""


def _fired(rule: str, row: RunRow, event: Event) -> dict[str, Any] | None:
    """Where `rule` fired in a decision (`event`): the run, the decision, when, and what
    the rule did to what (`{"deny": ["pay-us"], "require_approval": ["ship"]}`); None
    for any other event, or a decision where it did not fire."""
    if event.kind != "decided":
        return None
    did: dict[str, list[str]] = {}
    for hit in event.data.get("policy", []):
        if hit["rule"] == rule:
            subjects = did.setdefault(hit["verdict"], [])  # (made only with a subject in it)
            if hit["subject"] not in subjects:
                subjects.append(hit["subject"])
    if not did:
        return None
    number = event.data.get("number")
    return {"run": row.id, "intent": row.intent, "decision": number, "at": event.at, "did": did}


def render(report: dict[str, Any], fmt: str) -> str:
    """The report as text or Markdown (JSON is the document itself)."""
    md = fmt == "md"

    def head(title: str) -> str:
        return f"## {title}" if md else f"{title}:"

    def item(text: str) -> str:
        """A line of names and comments shown as written: what a terminal would act on
        escaped (a provider named with a line break in a journal from before providers
        were checked), and in Markdown, what would make a link or emphasis."""
        text = printable(text)
        return f"- {markdown_text(text)}" if md else f"  {text}"

    lines = [
        ("# " if md else "")
        + f"Audit: {report['runs']:,} run(s), {report['decisions']:,} decision(s)"
    ]
    scope = _scope(
        report.get("since"), report.get("intent"), report.get("until"), report.get("rule")
    )
    if scope:
        lines.append(f"({markdown_text(scope) if md else scope})")
    if report["simulated_runs_left_out"]:
        simulated = report["simulated_runs_left_out"]
        lines.append(f"({simulated:,} simulated run(s) of scenarios left out)")
    lines += ["", head("Runs by outcome")]
    lines += [
        item(f"{k}: {v:,}" + (_no_plan(report) if k == "failed" else ""))
        for k, v in report["outcomes"].items()
    ] or [item("none")]
    lines += ["", head("Denials by rule")]
    lines += [
        item(
            f"{with_owner(rule, d.get('owner'))}: "
            f"{d['decisions']:,} decision(s), denied {', '.join(d['capabilities'])}"
            + _failing_closed(
                d.get("unevaluated", 0), d.get("partly_unevaluated", 0), d["decisions"]
            )
        )
        for rule, d in report["denials"].items()
    ] or [item("none")]
    for key, title in _LEFT_OUT.items():  # (sections only where something was)
        if report.get(key):
            lines += ["", head(title)]
            for cited, d in report[key].items():
                names = ", ".join(d["capabilities"])
                lines.append(item(f"{cited}: {d['decisions']:,} decision(s), left out {names}"))
    if "ruled" in report:  # `--rule`: each decision where it fired
        rule = printable(report["rule"])  # as typed: shown, not acted on
        lines += ["", head(f"Decisions where {markdown_text(rule) if md else rule} fired")]
        lines += [item(_ruled_line(r)) for r in report["ruled"]] or [item("none")]
    lines += ["", head("Approvals")]
    for a in report["approvals"]:
        waited = "" if a["waited_seconds"] is None else f" after {format_wait(a['waited_seconds'])}"
        why = f": {a['comment']}" if a["comment"] else ""
        to = a.get("escalated_to")
        escalated = f", while escalated to {to}" if to else ""
        if a.get("approval"):
            escalated += f", approval {a['approval']} of {a['approvers']}"
        subject = THE_PLAN if a["capability"] == PLAN else a["capability"]  # not "(plan) (…)"
        by = "unanswered" if a["by"] is None else f"by {a['by']}"  # (an expired request)
        lines.append(
            item(
                f"{a['run']} ({a['intent']}) {subject} ({a['rule']}) {a['verdict']} {by} "
                f"at {a['at']}{waited}{escalated}{_asked_words(a)}{why}"
            )
        )
    if not report["approvals"]:
        lines.append(item("none"))
    if report.get("compensations_stopped"):  # (a section only where a rule stopped one)
        lines += ["", head("Compensations stopped by policy")]
        for c in report["compensations_stopped"]:
            verb = "denied by" if c["effect"] == "deny" else "needs approval under"
            why = c.get("refused") or f"{verb} {c['rule']}"
            lines.append(
                item(f"{c['run']} {c['capability']} (undoing {c['undoes']}): {why}, not done")
            )
    if report.get("approved_plans_checked"):  # (a section only where a run resumed so)
        lines += ["", head("Approved plans checked on resume")]
        lines += [item(f"{c['run']} {approved_line(c)}") for c in report["approved_plans_checked"]]
    total = report.get("spend_total")
    lines += ["", head("Spend per intent" + (f" ({money(total)} in all)" if total else ""))]
    lines += [item(f"{k}: {money(v)}") for k, v in report["spend_per_intent"].items()] or [
        item("none")
    ]
    lines += ["", head("Spend per provider")]
    lines += [item(f"{k}: {money(v)}") for k, v in report["spend_per_provider"].items()] or [
        item("none")
    ]
    return "\n".join(lines) + "\n"


def _scope(
    since: str | None, intent: str | None, until: str | None = None, rule: str | None = None
) -> str:
    """Which runs the report covers, when `--since`, `--until`, `--intent` or `--rule`
    chose some: a report handed on without it read as the whole journal's."""
    if since and until:
        said = [f"runs started from {since} to {until} (UTC)"]
    elif since or until:
        said = [f"runs started on or {'after' if since else 'before'} {since or until} (UTC)"]
    else:
        said = []
    said += [f"of intent {intent}"] if intent else []
    said += [f"in which rule {rule} fired"] if rule else []
    return ", ".join(said)


_DID = {
    "deny": "denied",
    "require_approval": "asked approval for",
    "avoid": "avoided",
    "prefer": "preferred",
}


def _ruled_line(ruled: Mapping[str, Any]) -> str:
    """A decision where the `--rule` fired: `r… (payout-7) decision 1 at 2026-…: denied
    pay-us, pay-swift`."""
    did = "; ".join(
        f"{_DID.get(verdict, verdict)} {', '.join(subjects)}"
        for verdict, subjects in ruled["did"].items()
    )
    return (
        f"{ruled['run']} ({ruled['intent']}) decision {ruled['decision']} at {ruled['at']}: {did}"
    )


def _failed_closed(hit: dict[str, Any], decided: dict[str, Any]) -> bool:
    """Whether a deny fired because its rule could not be evaluated (fail closed), not
    because its condition held: the decision recorded the rule's error."""
    said = f"{hit['rule']}: "
    return UNEVALUATED in hit.get("message", "") and any(
        said in error for error in decided.get("policy_errors", [])
    )


def _failing_closed(unevaluated: int, partly: int, decisions: int) -> str:
    """What a rule's denials owe to errors: it could not be evaluated, so it denied, in
    `unevaluated` decisions every capability it denied there, in `partly` some of them."""
    said = []
    if unevaluated:
        said.append(f"{'all' if unevaluated == decisions else unevaluated} failing closed")
    if partly:
        some = "for some capabilities"
        said.append(f"{partly} {some}" if unevaluated else f"{partly} failing closed {some}")
    return f" ({', '.join(said)}: the {UNEVALUATED})" if said else ""


def _by_amount(spend: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 6) for k, v in sorted(spend.items(), key=lambda kv: (-kv[1], kv[0]))}


def _add_model_spend(spend: defaultdict[str, float], decided: dict[str, Any]) -> None:
    """What a decision's model calls cost (`llm_cost`, as the run's spend counts it), under
    `llm:MODEL` (the name the model's health goes by): spend per provider adds up to spend
    per intent."""
    llm = decided["result"].get("solver", {}).get("llm")
    if made_calls(llm):
        spend[f"llm:{llm.get('model')}"] += llm_cost(decided)


def _expired(row: RunRow, before: Sequence[Event], resumed: Event) -> list[dict[str, Any]]:
    """The requests a run failed on, left unanswered past their last wait, as it resumed
    (`resumed`, with the events `before` it): a verdict nobody gave is a governance event
    too, and the audit said "Approvals: none" of a run that failed on one."""
    now = epoch(resumed.at)
    return [
        {
            "run": row.id,
            "intent": row.intent,
            "rule": request.rule,
            "capability": request.capability,
            "verdict": "expired",
            "by": None,
            "escalated_to": request.escalate[-1][0] if request.escalate else None,
            "approval": None,
            "approvers": request.approvers,
            "comment": None,
            "at": stamp(request.deadline),
            "waited_seconds": round(request.deadline - request.since, 3),
            **_asked_for(request),
        }
        for request in pending(before)
        if request.deadline is not None and request.expired(now)
    ]


def _asked_for(request: Request | None) -> dict[str, Any]:
    """What a verdict was on, beside its rule and capability: the step (of the plan, or of
    the run), the decision whose plan asked, and that plan's cost (a compensation's: its
    own). An auditor could not tell two approvals of one capability apart, nor for how
    much either was given. None each for a verdict whose request the journal lacks; the
    cost None for a request that recorded none (`Request.recorded_cost`)."""
    fields = ("step", "step_of", "decision", "cost")
    if request is None:
        return dict.fromkeys(fields)
    said = request.to_json()  # (its cost as recorded, less float noise)
    return {field: said[field] for field in fields}


def _asked_words(approval: Mapping[str, Any]) -> str:
    """`_asked_for` in words: `, plan step 2 of decision 1, plan cost 1.41`."""
    if approval.get("cost") is None:
        return ""
    step, decision = approval["step"], approval.get("decision")
    if approval["step_of"] == "run":
        return f", step {step}, cost {money(approval['cost'])}"
    of = f" of decision {decision}" if decision is not None else ""
    where = f", plan step {step}{of}" if step else (f", decision {decision}" if of else "")
    return f"{where}, plan cost {money(approval['cost'])}"


def _provider(events: Sequence[Event], step: int) -> str:
    started = next(
        (e.data for e in events if e.kind == "action_started" and e.data["step"] == step), {}
    )
    return str(started.get("provider", "?"))


def _no_plan(report: Mapping[str, Any]) -> str:
    """How many of the failed runs found no plan before they did anything (`ido runs
    --outcome no-plan`), said beside their count: `failed: 5 (2 of them no-plan)`. A report
    of an older ido, without the count, says nothing."""
    count = report.get("no_plan") or 0
    return f" ({count:,} of them no-plan)" if count else ""
