"""`ido explain` for a terminal: the text report's content in tables and colour (rich).

The plain text report (`ido.explain`) stays what pipes, files and tests read; this one is
for people at a TTY, or anyone who asks with `--color always`. It shows the same facts.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ido.explain import asked_of, event_line, in_order, nothing_decided, outcome_of, summary
from ido.explain_calls import failed_spend, model_spend, outcome_kind
from ido.explain_decisions import EVALUATION_ERRORS, decision_parts, waits_of
from ido.explain_rejected import GROUP_PAST
from ido.model import format_duration
from ido.planner.limit_words import shown_probability
from ido.text import printable

OUTCOME_STYLE = {
    "achieved": "bold green",
    "failed": "bold red",
    "blocked": "bold yellow",
    "shadow": "bold cyan",
    "running": "bold blue",
}
ACTION_MARK = {
    "ok": ("✓", "green"),
    "failed": ("✗", "red"),
    "interrupted": ("…", "yellow"),
    "running": ("▶", "blue"),
}
"""How each kind of action outcome (`ido.explain.outcome_kind`) is marked: as the HTML
report colours it."""
BEFORE = ("observed", "beliefs", "no plan")
AFTER = ("constraints", EVALUATION_ERRORS)
TABLES = ("chosen", "alternatives", "rejected", "policy decisions", "what happened")
"""The parts drawn as tables; every other part of the text report is shown as a section
(the model's calls went missing when only named sections were)."""


def render_tty(view: dict[str, Any], width: int = 120) -> str:
    """The report with ANSI colours and table borders, `width` columns wide."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, color_system="standard")
    run = view["run"]
    outcome = outcome_of(run)
    console.print(_shown(summary(view), style=OUTCOME_STYLE.get(outcome, "bold yellow")))
    if run["reason"]:
        console.print(
            _shown(f"reason: {run['reason']}", style="red" if outcome == "failed" else "")
        )
    spend = failed_spend(view)
    if spend is not None:
        console.print(_shown(spend, style="yellow"))
    if said := model_spend(view):
        console.print(_shown(said))
    if said := nothing_decided(view):
        console.print(_shown(said, style="yellow"))
    after_decision = False
    told: dict[str, int] = {}  # the evaluation errors shown, each once (`decision_parts`)
    for what, d in in_order(view):
        if what == "event":
            if after_decision:  # set apart from the decision's last table
                console.print()
            console.print(_shown(event_line(d), style="yellow"))
            after_decision = False
            continue
        after_decision = True
        console.print()
        console.rule(
            _shown(
                f"decision {d['number']} · {d['trigger']} · planner {d['planner']}",
                style="bold",
            ),
            align="left",
        )
        _decision(console, d, asked_of(view), told)
    return out.getvalue()


def _decision(console: Console, d: dict[str, Any], run: str | None, told: dict[str, int]) -> None:
    parts = decision_parts(d, run, told=told)
    result = d["result"]
    plan = result.get("plan")
    _sections(console, parts, BEFORE)
    if result["status"] == "planned" and plan:
        head = parts["chosen"][0]
        after = waits_of(plan)
        table = Table(title=_shown(f"chosen: {head}"), title_justify="left", show_edge=False)
        for column in ("#", "capability", "provider", "cost", "latency", "reliability", "after"):
            table.add_column(column, justify="right" if column in ("#", "cost") else "left")
        for i, (step, waits) in enumerate(zip(plan["steps"], after), start=1):
            table.add_row(
                _shown(str(i)),
                _shown(step["capability"], style="bold"),
                _shown(step["provider"]),
                _shown(f"{step['cost']:,.2f}"),
                _shown(format_duration(step["latency"])),
                _shown(shown_probability(step["reliability"])),
                _shown(", ".join(str(w + 1) for w in waits) or "-"),
            )
        console.print(table)
    elif "chosen" in parts:
        console.print(_shown(parts["chosen"][0], style="green"))
    _sections(console, parts, AFTER)
    shown = {*BEFORE, *AFTER, *TABLES}
    _sections(console, parts, tuple(title for title in parts if title not in shown))
    if result.get("alternatives"):
        table = Table(title="alternatives", title_justify="left", show_edge=False)
        table.add_column("score", justify="right")
        table.add_column("why it lost")
        for a in result["alternatives"]:
            table.add_row(_shown(f"{a['score_delta']:+.3f}"), _shown(a["why"]))
        console.print(table)
    for line in parts.get("alternatives", []):
        if line.startswith("not settled"):  # a solve that gave up: said, not tabled
            console.print(_shown(f"  alternative {line}", style="yellow"))
    if "rejected" in parts:
        table = Table(title="rejected", title_justify="left", show_edge=False)
        table.add_column("capability")
        table.add_column("why")
        for line in parts["rejected"]:
            name, _, why = line.partition(": ")
            table.add_row(_shown(name), _shown(why, style="dim"))
        console.print(table)
    if d.get("policy") and len(d["policy"]) > GROUP_PAST:  # a line per rule, not per hit
        _sections(console, parts, ("policy decisions",))
    elif d.get("policy"):
        console.print(_policy_table(d["policy"]))
    if "what happened" in parts:
        console.print(_shown("what happened:", style="bold"))
        for action, line in zip(d["actions"], parts["what happened"]):
            mark, style = ACTION_MARK[outcome_kind(action)]
            console.print(_shown(f"  {mark} {line}", style=style))


def _shown(text: str, style: str = "") -> Text:
    """`text` as the report shows it: what a terminal would act on written out
    (`printable`), as the plain report does; the colours are the report's own. A journal's
    text (an intent's name, a comment, an observed value) may hold an escape sequence."""
    return Text(printable(text), style=style)


def _policy_table(hits: list[dict[str, Any]]) -> Table:
    """The policy decisions with their messages: what an avoid, prefer or approval rule
    says is shown nowhere else. Long ids and messages fold onto the next line rather than
    end in "…": a rule id cut short names no rule."""
    table = Table(title="policy decisions", title_justify="left", show_edge=False)
    for column in ("decision id", "verdict", "about", "rule"):
        table.add_column(column, overflow="fold")
    table.add_column("message", overflow="fold", ratio=1)  # takes the width the others leave
    for hit in hits:
        style = "red" if hit["verdict"] == "deny" else "yellow"
        table.add_row(
            _shown(hit["id"]),
            _shown(hit["verdict"], style=style),
            _shown(hit["subject"]),
            _shown(hit["rule"]),
            _shown(hit["message"], style="dim"),
        )
    return table


def _sections(console: Console, parts: dict[str, list[str]], titles: tuple[str, ...]) -> None:
    for title in titles:
        if title in parts:
            console.print(_shown(f"{title}:", style="bold"))
            for item in parts[title]:
                console.print(_shown(f"  {item}", style="red" if title == "no plan" else ""))
