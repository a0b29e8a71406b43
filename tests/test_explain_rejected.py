"""A decision on a big catalog lists its rejections grouped by reason, and `ido explain RUN
--why-not NAME` still tells why any one capability lost (`ido.explain_rejected`)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.explain_rejected import (
    GROUP_PAST,
    owned_rejections,
    policy_lines,
    rejected_lines,
    rejection_groups,
    rejection_line,
    why_not,
)

SCHEMA_5 = Path(__file__).parent / "journal" / "schema5.sql"
runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def denied(name: str) -> dict[str, Any]:
    return {"capability": name, "reason": "denied", "rule": "gate/no-bad", "detail": "Bad is off."}


def unreachable(name: str) -> dict[str, Any]:
    detail = f"precondition never holds: state.vault.{name}"
    return {"capability": name, "reason": "unreachable", "rule": None, "detail": detail}


def counted(lines: list[str]) -> int:
    """How many capabilities the lines account for: a grouped line counts its own."""
    found = (re.match(r"([\d,]+) capabilities \(", line) for line in lines)
    return sum(int(m[1].replace(",", "")) if m else 1 for m in found)


def test_a_few_rejections_are_listed_one_a_line_as_before() -> None:
    """Up to `GROUP_PAST` rejections read as they always did, one a line, in order."""
    said = [denied(f"bad-{i}") for i in range(GROUP_PAST)]
    assert rejected_lines(said, "r1") == [rejection_line(r) for r in said]


def test_many_rejections_for_one_reason_are_one_line_counting_every_capability() -> None:
    """30 capabilities denied by one rule read as one line, not 30; unreachable ones, each
    for its own precondition, are listed while the lines last, the rest as one line of
    that reason; every capability is counted, and the last line says how to ask of one."""
    said = [denied(f"bad-{i}") for i in range(30)] + [unreachable(f"k{i}") for i in range(40)]
    said += [{"capability": "x", "reason": "irrelevant", "rule": None, "detail": "not needed"}]
    lines = rejected_lines(said, "r20261207-1")
    assert (
        lines[0]
        == "30 capabilities (bad-0, bad-1, bad-2 and 27 more): denied by gate/no-bad: Bad is off."
    )
    assert len(lines) == GROUP_PAST + 1
    assert lines[-2] == (
        "22 capabilities (k18, k19, k20 and 19 more): unreachable, each for a reason of its own"
    )
    assert lines[1] == "k0: unreachable: precondition never holds: state.vault.k0"
    assert counted(lines[:-1]) == 70  # the one not needed for the goal is not listed, as before
    assert lines[-1] == "why any one of the 70 was rejected: ido explain r20261207-1 --why-not NAME"
    assert rejected_lines(said)[-1].endswith(": --format json lists each")  # `ido plan`: no run


def test_a_grouped_line_of_a_rule_names_its_policy_s_owner() -> None:
    """The owner of the policy whose rule denied 30 capabilities is named on their one line,
    as on a line of one; a rejection of no rule names none."""
    result = {"rejections": [denied(f"bad-{i}") for i in range(30)] + [unreachable("k0")]}
    marked = owned_rejections(result, {"gate": "security"})["rejections"]
    lines = rejected_lines(marked, "r20261207-1")
    assert lines[0] == (
        "30 capabilities (bad-0, bad-1, bad-2 and 27 more): denied by gate/no-bad "
        "(owner security): Bad is off."
    )
    assert lines[1] == "k0: unreachable: precondition never holds: state.vault.k0"
    assert rejected_lines(marked[:1]) == [
        "bad-0: denied by gate/no-bad (owner security): Bad is off."
    ]
    assert owned_rejections(result, {"other": "x"}) == result  # not this policy's owner


def test_an_html_page_names_every_capability_a_grouped_line_holds() -> None:
    """A page is searched by name in a browser: its grouped lines name each capability."""
    said = [denied(f"bad-{i}") for i in range(30)]
    page = "\n".join(rejected_lines(said, "r1", every_name=True))
    assert all(re.search(rf"\bbad-{i}\b", page) for i in range(30))
    assert "more" not in page


def test_many_policy_verdicts_of_one_rule_are_one_line() -> None:
    """A deny rule over 25 capabilities read as 25 lines of the same rule and message."""
    hits = [
        {"id": f"pd-{i}", "verdict": "deny", "subject": f"bad-{i}", "rule": "gate/no-bad",
         "message": "Bad is off."}
        for i in range(25)
    ]  # fmt: skip
    assert policy_lines(hits) == [
        "deny 25 capabilities (bad-0, bad-1, bad-2 and 22 more): gate/no-bad: Bad is off."
    ]
    assert policy_lines(hits[:2]) == [
        "pd-0 deny bad-0: gate/no-bad: Bad is off.",
        "pd-1 deny bad-1: gate/no-bad: Bad is off.",
    ]


def test_why_not_of_a_run_that_recorded_no_catalog_says_it_could_not_check_the_name() -> None:
    """A run recorded before catalogs were: a name no decision holds is answered, said to
    be named nowhere, not refused as unknown."""
    decision = {"number": 1, "trigger": "run started", "actions": [], "policy": []}
    decision["result"] = {"status": "planned", "proven_optimal": True, "rejections": []}
    told = why_not({"decisions": [decision]}, "pay-eu", None)
    assert told == [
        {
            "decision": 1,
            "trigger": "run started",
            "said": ["named nowhere (no catalog recorded): every plan with it scores no better "
                     "than the chosen one"],
        }
    ]  # fmt: skip
    assert why_not({"decisions": [decision]}, "pay-eu", {"ship"}) is None


CAPABILITY = """\
---
apiVersion: ido/v1
kind: Capability
metadata: {{name: {name}}}
spec:
  provider: {provider}
  requires: [{requires}]
  effects: {{{effects}: true}}
  cost: {cost}
  latency: {latency}
  run: {{shell: ["true"]}}
"""


@pytest.fixture
def big(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project of 46 capabilities for one goal: `do-it` serves it, `slow-but-cheap` is
    its alternative, 30 are denied by one rule, 5 can never run, 10 serve another goal."""
    for folder in ("capabilities", "policies", "intents"):
        (tmp_path / folder).mkdir()
    rows = [("do-it", "good", "", "order.done", 1.0, "100ms")]
    rows += [("slow-but-cheap", "good", "", "order.done", 0.9, "5s")]
    rows += [(f"bad-{i}", "bad", "", "order.done", 0.1, "100ms") for i in range(30)]
    rows += [
        (f"locked-{i}", "good", "'state.vault.open'", "order.done", 0.1, "1s") for i in range(5)
    ]
    rows += [(f"extra-{i}", "good", "", "other.done", 0.1, "1s") for i in range(10)]
    (tmp_path / "capabilities" / "big.yaml").write_text(
        "".join(
            CAPABILITY.format(name=n, provider=p, requires=r, effects=e, cost=c, latency=t)
            for n, p, r, e, c, t in rows
        )
    )
    (tmp_path / "policies" / "gate.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: gate}\nspec:\n  rules:\n"
        "    - id: no-bad\n      effect: deny\n"
        "      when: \"capability.provider == 'bad'\"\n      message: Bad is off.\n"
    )
    (tmp_path / "intents" / "big.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: big}\nspec:\n"
        "  given: {vault: {open: false}}\n  goal: ['state.order.done']\n"
        "  objective: {cost: 1.0, latency: 1.0}\n  policies: [gate]\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_explain_of_a_big_catalog_groups_and_why_not_answers_for_each(big: Path) -> None:
    """`ido explain` listed 35 rejected lines and 30 policy lines of one rule; now a line
    each per reason. `--why-not` tells of any one capability: chosen, weighed, denied,
    unreachable, not needed; a name the run does not know is refused with a near one."""
    code, out = ido("run", "big", "--quiet")
    assert code == 0, out
    code, out = ido("explain", "last")
    assert code == 0, out
    run = re.search(r"run (r\S+)", out)
    assert run is not None
    assert "    30 capabilities (bad-0, bad-1, bad-10 and 27 more): denied by gate/no-bad: " in out
    assert "    deny 30 capabilities (bad-0, bad-1, bad-10 and 27 more): gate/no-bad: " in out
    assert f"why any one of the 35 was rejected: ido explain {run[1]} --why-not NAME" in out
    assert "bad-7" not in out
    code, out = ido("explain", "last", "--color", "always")  # a terminal's tables
    assert code == 0 and "deny 30 capabilities (bad-0, bad-1, bad-10 and 27 more)" in out
    assert "bad-7" not in out

    code, out = ido("explain", "last", "--why-not", "bad-7")
    assert code == 0, out
    assert out.splitlines()[:3] == [
        f"bad-7 in run {run[1]}:",
        "decision 1 · trigger: run started",
        "  bad-7: denied by gate/no-bad: Bad is off.",
    ]
    assert re.search(r"^  policy decision pd-\w+: deny by gate/no-bad: Bad is off\.$", out, re.M)
    _, out = ido("explain", "last", "--why-not", "do-it")
    assert "  chosen: step 1 of the plan\n  do-it: succeeded in " in out
    _, out = ido("explain", "last", "--why-not", "slow-but-cheap")
    assert "  in an alternative, +" in out and "slow-but-cheap instead of do-it" in out
    _, out = ido("explain", "last", "--why-not", "locked-3")
    assert "  locked-3: unreachable: precondition never holds: state.vault.open" in out
    _, out = ido("explain", "last", "--why-not", "extra-4")
    assert "  extra-4: not needed: " in out

    code, out = ido("explain", "last", "--why-not", "bad-77")
    assert code == 2
    assert f"no capability 'bad-77' in run {run[1]}" in out and "did you mean bad-7" in out
    code, out = ido("explain", "last", "--why-not", "bad-7", "--format", "html")
    assert code == 2 and "--why-not is told as text or json, not html" in out
    code, out = ido("explain", "last", "--why-not", "bad-7", "--format", "json")
    assert json.loads(out)["decisions"][0]["said"][0] == "bad-7: denied by gate/no-bad: Bad is off."

    page = big / "report.html"
    assert ido("explain", "last", "--format", "html", "-o", str(page))[0] == 0
    assert all(
        f"bad-{i}," in page.read_text() or f"bad-{i})" in page.read_text() for i in range(30)
    )


def test_why_not_reads_a_journal_an_older_ido_wrote(tmp_path: Path) -> None:
    """A run journaled by the ido of schema 5: `--why-not` answers from it as it is."""
    journal = tmp_path / "old.db"
    with sqlite3.connect(journal) as db:
        db.executescript(SCHEMA_5.read_text())
    code, out = ido("explain", "last", "--journal", str(journal), "--why-not", "charge-paypal-us")
    assert code == 0, out
    assert out.splitlines()[2] == (
        "  charge-paypal-us: denied by eu-data-residency/pii-stays-in-eu: PII of EU customers "
        "is processed in the EU only."
    )
    _, out = ido("explain", "last", "--journal", str(journal), "--why-not", "ship-ups")
    assert "  in an alternative, +0.428 score: " in out


def test_rejections_each_of_its_own_rule_stay_within_the_lines_and_keep_their_detail() -> None:
    """21 capabilities, each denied by a rule of its own, read as 21 lines of "1
    capabilities (c0): denied by p/r0, each for a reason of its own" (a line each, the
    detail lost, more lines than one a line); 40 read as 40. Now a group of one is its own
    line as before, groups that share a detail keep it, and past `GROUP_PAST` rules the
    rest of a reason is one line: never more than `GROUP_PAST` lines and the ask."""
    own = [
        {"capability": f"c{i}", "reason": "denied", "rule": f"p/r{i}", "detail": f"m{i}."}
        for i in range(40)
    ]
    lines = rejected_lines(own, "r1")
    assert len(lines) <= GROUP_PAST + 1
    assert not any(line.startswith("1 capabilities") for line in lines)
    assert lines[0] == "c0: denied by p/r0: m0."
    assert lines[-2] == (
        "21 capabilities (c19, c20, c21 and 18 more): denied, by rules and for reasons of their own"
    )
    assert counted(lines[:-1]) == 40
    assert len(rejection_groups(own)) <= GROUP_PAST  # a span's events, one a group
    # 25 rules denying two capabilities each, for one message: a line read "2 capabilities
    # (p0-0, p0-1): denied by p/r0, each for a reason of its own" of two that share one
    pairs = [
        {"capability": f"p{i}-{j}", "reason": "denied", "rule": f"p/r{i}", "detail": "Off."}
        for i in range(25)
        for j in range(2)
    ]
    lines = rejected_lines(pairs, "r1")
    assert len(lines) <= GROUP_PAST + 1 and counted(lines[:-1]) == 50
    assert lines[0] == "2 capabilities (p0-0, p0-1): denied by p/r0: Off."
    assert not any(line.startswith("2 capabilities") and "own" in line for line in lines)
    # what is left of a reason, all for one detail, keeps it
    triples = [{**p, "capability": f"{p['capability']}-{k}"} for p in pairs for k in (0, 1)]
    locked = [unreachable("k0"), unreachable("k1")]
    locked = [{**r, "detail": "precondition never holds: state.vault.open"} for r in locked]
    lines = rejected_lines(triples + locked, "r1")
    assert "2 capabilities (k0, k1): unreachable: precondition never holds: state.vault.open" in (
        lines
    )
    assert len(lines) <= GROUP_PAST + 1 and counted(lines[:-1]) == 102


def test_policy_verdicts_alone_of_their_rule_keep_their_ids_and_a_page_names_each() -> None:
    """Past 20 verdicts, a verdict alone of its rule and message read `deny c0: p/r0: m`,
    its decision id dropped for no line saved; and the HTML page named only the first
    three capabilities of a rule's line. Now one alone is listed as before, with its id,
    and a page's grouped line names every capability."""
    hits = [
        {"id": f"pd-{i}", "verdict": "deny", "subject": f"bad-{i}", "rule": "gate/no-bad",
         "message": "Bad is off."}
        for i in range(25)
    ] + [{"id": "pd-x", "verdict": "deny", "subject": "odd", "rule": "p/r", "message": "M."}]  # fmt: skip
    lines = policy_lines(hits)
    assert lines == [
        "deny 25 capabilities (bad-0, bad-1, bad-2 and 22 more): gate/no-bad: Bad is off.",
        "pd-x deny odd: p/r: M.",
    ]
    page = "\n".join(policy_lines(hits, every_name=True))
    assert all(re.search(rf"\bbad-{i}\b", page) for i in range(25)) and "more" not in page


def test_why_not_of_a_capability_done_before_a_replan_says_so() -> None:
    """A step that succeeded, then a replan after the next one failed: the second decision
    of the done capability read only "not chosen, not rejected: every plan with it scores
    no better than the chosen one", as if it had lost on score; it now says it was done."""

    def action(capability: str, ok: bool) -> dict[str, Any]:
        return {"capability": capability, "step": 1, "ok": ok, "attempt": 1, "duration": 0.1,
                "error": None if ok else "RuntimeError: down", "decision": 1}  # fmt: skip

    def decision(number: int, steps: list[str], actions: list[dict[str, Any]]) -> dict[str, Any]:
        plan = {"steps": [{"capability": s} for s in steps]}
        result = {"status": "planned", "proven_optimal": True, "rejections": [], "plan": plan}
        return {"number": number, "trigger": "t", "actions": actions, "policy": [],
                "result": result}  # fmt: skip

    view = {
        "decisions": [
            decision(1, ["load", "ship"], [action("load", True), action("ship", False)]),
            decision(2, ["ship"], []),
        ]
    }
    told = why_not(view, "load", {"load", "ship"})
    assert told is not None
    assert told[1]["said"] == [
        "not chosen, not rejected: done: it succeeded in decision 1 (step 1)"
    ]
    # one that failed, or was never performed, is told as before
    told = why_not(view, "ship", {"load", "ship"})
    assert told is not None and told[1]["said"] == ["chosen: step 1 of the plan"]


def test_why_not_of_a_word_of_an_evaluation_error_is_no_capability() -> None:
    """`--why-not requires` (or `Key`, `map`: words of an evaluation error's text) was
    answered as a capability of the run, each decision saying "not chosen, not rejected:
    every plan with it scores no better" of it; only what a decision names as a capability
    (chosen, weighed, rejected, believed of, a policy's subject) is one now."""
    error = 'requires of locked-0: state.gate.g0: Key not found in map : "g0"'
    rejection = unreachable("locked-0")
    decision = {"number": 1, "trigger": "run started", "actions": [], "policy": []}
    decision["result"] = {"status": "planned", "proven_optimal": True,
                          "rejections": [rejection], "condition_errors": [error]}  # fmt: skip
    view = {"decisions": [decision]}
    for word in ("requires", "Key", "map", "of"):
        assert why_not(view, word, {"locked-0", "do-it"}) is None, word
    told = why_not(view, "locked-0", {"locked-0", "do-it"})
    assert told is not None and told[0]["said"][-1] == f"evaluation error: {error}"


def test_the_why_not_hint_names_the_journal_explain_read(big: Path) -> None:
    """Explaining a run of a journal a plain `ido explain` would not read, the hint to ask
    of any one capability names it with `--journal` (it read `ido explain r… --why-not
    NAME`, which looks in `.ido/ido.db` and finds no such run); JSON stays the view."""
    journal = big / "elsewhere.db"
    code, out = ido("run", "big", "--quiet", "--journal", str(journal))
    assert code == 0, out
    code, out = ido("explain", "last", "--journal", str(journal))
    run = re.search(r"run (r\S+)", out)
    assert code == 0 and run is not None, out
    hint = f"ido explain {run[1]} --journal {journal} --why-not NAME"
    assert f"why any one of the 35 was rejected: {hint}" in out, out
    code, out = ido("explain", "last", "--journal", str(journal), "--format", "json")
    assert code == 0 and "asked_with" not in out
    code, out = ido(*hint.split()[1:-1], "bad-7")
    assert code == 0 and "  bad-7: denied by gate/no-bad: Bad is off." in out, out
