"""The HTML decision report (`ido explain RUN --format html`): one self-contained file.

Built from the same run view as the text report (`ido.explain.run_view`): a plan graph
(each decision's chosen plan as a lane of steps laid out by what they wait for, coloured
by what happened; the alternatives that lost, dashed; replans as arrows from the step that
set them off), a timeline of actions, decisions and approvals, and a card per decision.
Everything is inline (CSS and SVG, no script, no network), and every text is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any

from ido.explain import asked_of, event_line, in_order, outcome_of, stages, summary
from ido.explain_calls import failed_spend, model_spend, outcome_kind, shown
from ido.explain_decisions import decision_parts, waits_of
from ido.journal.records import epoch
from ido.model import format_duration
from ido.text import printable, shortened


def escape(text: str) -> str:
    """`text` as the page shows it: HTML escaped, and what would reorder the text shown
    after it (a direction override in an intent's name) or shows nothing (a control
    character) written out as the text report writes it (`printable`)."""
    return html.escape(printable(text))


NODE_W, NODE_H, GAP_X, GAP_Y, LABEL_W = 170, 52, 40, 14, 120
WIDTH = "<W>"
"""Where the graph's width goes once it is known: text from the journal, escaped, never
holds a "<" (a placeholder it could hold, "{W}", rewrote a provider named tmpl-{W})."""

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;
  color:#1d2430;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5a6473;margin-bottom:16px}
.outcome{font-weight:600;padding:1px 8px;border-radius:10px}
.outcome.achieved{background:#d9f2e1;color:#14532d}
.outcome.failed{background:#fde2e1;color:#7f1d1d}
.outcome.blocked,.outcome.interrupted{background:#fdf0d5;color:#78350f}
.outcome.shadow{background:#e5e7eb}
.outcome.running{background:#dbeafe;color:#1e3a8a}
svg{background:#fff;border:1px solid #dde2ea;border-radius:6px;max-width:100%;height:auto}
.scroll{overflow-x:auto} .scroll svg{max-width:none}
svg text{font:12px system-ui,sans-serif;fill:#1d2430}
svg .small{font-size:10.5px;fill:#5a6473}
.node rect{stroke-width:1.5;rx:6}
svg .fact{fill:#0f5132}
.node.ok rect{fill:#d9f2e1;stroke:#16a34a}
.node.failed rect{fill:#fde2e1;stroke:#dc2626}
.node.interrupted rect{fill:#fdf0d5;stroke:#d97706}
.node.running rect{fill:#dbeafe;stroke:#2563eb}
.node.planned rect{fill:#eef2f7;stroke:#94a3b8}
.node.alt rect{fill:#fff;stroke:#94a3b8;stroke-dasharray:4 3}
.edge{stroke:#64748b;stroke-width:1.3;fill:none}
.replan{stroke:#dc2626;stroke-width:1.6;fill:none;stroke-dasharray:6 4}
.lane{fill:#f6f8fb}
.bar.ok{fill:#22c55e}
.bar.failed{fill:#ef4444}
.bar.interrupted{fill:#f59e0b}
.bar.running{fill:#3b82f6}
.bar.compensation{fill:#6366f1}
.tick{stroke:#cbd5e1}
.decision-mark{stroke:#6366f1;stroke-width:1.5}
.approval-mark{fill:#d97706}
.card{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:12px 16px;
  margin:12px 0}
.card h3{margin:0 0 6px;font-size:15px}
.card h4{margin:10px 0 2px;font-size:13px;color:#334155}
.card ul{margin:2px 0 0 18px;padding:0}
.card li{margin:1px 0}
.events li{margin:2px 0}
"""


def render_html(view: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    run = view["run"]
    outcome = outcome_of(run)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ido · {escape(run['intent'])} · {escape(run['id'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(run['intent'])} <span class='outcome {escape(outcome)}'>"
        f"{escape(outcome)}</span></h1>",
        f"<div class='meta'>{escape(summary(view))}</div>",
    ]
    if run.get("reason"):
        parts.append(f"<p><strong>Reason:</strong> {escape(run['reason'])}</p>")
    for spend in (failed_spend(view), model_spend(view)):
        if spend is not None:
            parts.append(f"<p><strong>Spend:</strong> {escape(spend)}</p>")
    parts += [
        "<h2>Plan graph</h2>",
        f"<div class='scroll'>{plan_graph(view['decisions'])}</div>",
    ]
    parts += ["<h2>Timeline</h2>", timeline(view)]
    parts.append("<h2>Decisions</h2>")
    parts += _cards_and_events(view)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _cards_and_events(view: Mapping[str, Any]) -> list[str]:
    """A card per decision, with the other events between them as the journal holds them
    (`in_order`): an approval given stands between the decisions it came between, as the
    text report shows it, not in a list after them all."""
    parts: list[str] = []
    told: dict[str, int] = {}  # the evaluation errors shown, each once (`decision_parts`)
    for events, run in groupby(in_order(view), key=lambda item: item[0] == "event"):
        if events:
            items = "".join(f"<li>{escape(event_line(d))}</li>" for _, d in run)
            parts.append(f"<ul class='events'>{items}</ul>")
        else:
            parts += [_card(d, asked_of(view), told) for _, d in run]
    return parts


# --- the plan graph -----------------------------------------------------------------------


def plan_graph(decisions: Sequence[dict[str, Any]]) -> str:
    """SVG: a lane per decision with its plan's steps, alternatives and replan arrows."""
    body: list[str] = []
    y = 10
    width = LABEL_W + NODE_W + GAP_X
    previous: tuple[float, float] | None = None  # the step whose failure set off a replan
    for d in decisions:
        lane, height, lane_width, first, failed = _lane(d, y)
        width = max(width, lane_width)
        body.insert(
            0, f"<rect class='lane' x='4' y='{y - 6}' width='{WIDTH}' height='{height + 8}'/>"
        )
        body += lane
        if first is not None and previous is not None:
            fx, fy = previous
            body.append(
                f"<path class='replan' d='M{fx:.0f},{fy:.0f} C{fx:.0f},{fy + 40:.0f} "
                f"{first[0]:.0f},{first[1] - 40:.0f} {first[0]:.0f},{first[1]:.0f}' "
                "marker-end='url(#arrow-red)'><title>replanned</title></path>"
            )
        previous = failed
        y += height + 18
    height = y
    defs = (
        "<defs>"
        "<marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#64748b'/></marker>"
        "<marker id='arrow-red' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#dc2626'/></marker>"
        "</defs>"
    )
    svg = "".join(body).replace(WIDTH, str(width - 8))
    return (
        f"<svg id='plan-graph' xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='Plan graph'>{defs}{svg}</svg>"
    )


def _lane(
    d: dict[str, Any], top: int
) -> tuple[list[str], int, int, tuple[float, float] | None, tuple[float, float] | None]:
    """One decision's lane: its SVG, height, width, the top middle of its first step and
    the bottom middle of the step whose failure ended the lane (if one did)."""
    out = [
        f"<text x='12' y='{top + 16}'>Decision {d['number']}</text>",
        f"<text class='small' x='12' y='{top + 31}'>{escape(shortened(d['trigger'], 18))}</text>",
    ]
    result = d["result"]
    plan = result.get("plan") or {}
    steps = plan.get("steps", [])
    if not steps:
        text = "goal already holds" if result["status"] == "satisfied" else "no plan"
        out.append(f"<text x='{LABEL_W}' y='{top + 22}'>{escape(text)}</text>")
        return out, NODE_H + 8, LABEL_W + 200, None, None
    after = waits_of(plan)
    stage = stages(after)
    row: dict[int, int] = {}
    places: list[tuple[float, float]] = []
    for j in range(len(steps)):
        r = sum(1 for i in range(j) if stage[i] == stage[j])
        row[j] = r
        x = LABEL_W + stage[j] * (NODE_W + GAP_X)
        places.append((x, top + r * (NODE_H + GAP_Y)))
    taken = _actions_of(d, steps)
    failed_at: tuple[float, float] | None = None
    first_failure = ""  # when the failure the replan names ended (the first to end)
    for j, waits in enumerate(after):
        for i in waits:
            (x1, y1), (x2, y2) = places[i], places[j]
            out.append(
                f"<path class='edge' d='M{x1 + NODE_W:.0f},{y1 + NODE_H / 2:.0f} "
                f"L{x2 - 2:.0f},{y2 + NODE_H / 2:.0f}' marker-end='url(#arrow)'/>"
            )
    for j, step in enumerate(steps):
        nx, ny = places[j]
        action = taken[j]
        state = "planned" if action is None else outcome_kind(action)
        ended = "" if action is None else str(action.get("at", ""))
        if state in ("failed", "interrupted") and (failed_at is None or ended < first_failure):
            failed_at, first_failure = (nx + NODE_W / 2, ny + NODE_H), ended
        about = f"{step['provider']} · {step['cost']:,.2f}"
        made = "" if action is None else _made(action)
        out.append(
            f"<g class='node {state}' data-capability='{escape(step['capability'])}'>"
            f"<rect x='{nx:.0f}' y='{ny:.0f}' width='{NODE_W}' height='{NODE_H}'/>"
            f"<text x='{nx + 8:.0f}' y='{ny + 15:.0f}'>{escape(shortened(step['capability'], 22))}"
            f"</text><text class='small' x='{nx + 8:.0f}' y='{ny + 30:.0f}'>"
            f"{escape(about)}</text><text class='small fact' x='{nx + 8:.0f}' "
            f"y='{ny + 44:.0f}'>{escape(shortened(made, 29))}</text>"
            f"<title>{escape(step['capability'])}: {state}"
            f"{escape(': ' + made) if made else ''}</title></g>"
        )
    rows = 1 + max(row.values())
    height = rows * (NODE_H + GAP_Y) - GAP_Y
    right = LABEL_W + (1 + max(stage)) * (NODE_W + GAP_X)
    alternatives = result.get("alternatives", [])
    if alternatives:
        ay = top + height + GAP_Y
        for k, a in enumerate(alternatives):
            ax = LABEL_W + k * (NODE_W + GAP_X)
            label = a["why"].rpartition(": ")[2] or " → ".join(
                s["capability"] for s in a["plan"]["steps"]
            )
            out.append(
                f"<g class='node alt'><rect x='{ax}' y='{ay}' width='{NODE_W}' "
                f"height='{NODE_H}'/><text class='small' x='{ax + 8}' y='{ay + 15}'>"
                f"alternative {k + 1} · {a['score_delta']:+.3f}</text>"
                f"<text class='small' x='{ax + 8}' y='{ay + 30}'>"
                f"{escape(shortened(label, 29))}</text><title>{escape(a['why'])}</title></g>"
            )
        height += NODE_H + GAP_Y
        right = max(right, LABEL_W + len(alternatives) * (NODE_W + GAP_X))
    first = (places[0][0] + NODE_W / 2, places[0][1])
    return out, height, right, first, failed_at


def _actions_of(d: dict[str, Any], steps: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Per step of the decision's plan, the action performed for it (None: not performed):
    a capability the plan holds twice is matched occurrence by occurrence, in the order the
    steps were started."""
    queues: dict[str, list[dict[str, Any]]] = {}
    for action in sorted(d.get("actions", []), key=lambda a: int(a.get("step", 0))):
        queues.setdefault(action["capability"], []).append(action)
    return [queues[s["capability"]].pop(0) if queues.get(s["capability"]) else None for s in steps]


def _made(action: dict[str, Any]) -> str:
    """The facts one action made true (or set), for its node."""
    effects = {} if "silent" in action else action.get("effects") or {}
    if not effects:
        return ""
    return "→ " + ", ".join(
        path if value is True else f"{path}={shown(value)}" for path, value in effects.items()
    )


# --- the timeline -------------------------------------------------------------------------


_LABEL_WIDTH = 24.0
"""How wide a decision's label (`D12`) is drawn on the timeline, in its units."""


def spaced(xs: Sequence[float], width: float) -> set[int]:
    """Which of the marks at `xs` (in order) get a label: each one clear of the last one
    labelled. Decisions a few milliseconds apart on a long run were labelled on top of
    each other (`D2` and `D3` read `DD3`); each mark keeps its line and its tooltip."""
    shown: set[int] = set()
    last = -math.inf
    for n, x in enumerate(xs):
        if x - last >= width:
            shown.add(n)
            last = x
    return shown


def timeline(view: dict[str, Any]) -> str:
    """SVG: a bar per action attempt over the run's time, decisions and approvals marked."""
    run = view["run"]
    start = epoch(run["started_at"])
    actions = [a for d in view["decisions"] for a in d.get("actions", [])]
    moments = [start] + [epoch(d["at"]) for d in view["decisions"]]
    moments += [epoch(a[key]) for a in actions for key in ("started_at", "at") if a.get(key)]
    moments += [epoch(e["at"]) for e in view["events"]]
    if run.get("ended_at"):
        moments.append(epoch(run["ended_at"]))
    span = max(max(moments) - start, 1e-3)
    width, left, row_h = 900, 170, 22
    scale = (width - left - 20) / span
    rows = max(1, len(actions))
    height = 40 + rows * row_h + 30

    def x_of(moment: float) -> float:
        return left + (moment - start) * scale

    out = []
    for k in range(6):
        x = left + k * (width - left - 20) / 5
        out.append(f"<line class='tick' x1='{x:.1f}' y1='24' x2='{x:.1f}' y2='{height - 20}'/>")
        out.append(
            f"<text class='small' x='{x:.1f}' y='{height - 6}' text-anchor='middle'>"
            f"{escape(format_duration(span * k / 5))}</text>"
        )
    marks = [x_of(epoch(d["at"])) for d in view["decisions"]]
    labelled = spaced(marks, _LABEL_WIDTH)
    for n, (d, x) in enumerate(zip(view["decisions"], marks, strict=True)):
        label = f"<text class='small' x='{x + 3:.1f}' y='16'>D{d['number']}</text>"
        out.append(
            f"<line class='decision-mark' x1='{x:.1f}' y1='18' x2='{x:.1f}' "
            f"y2='{height - 20}'><title>decision {d['number']}: "
            f"{escape(d['trigger'])}</title></line>" + (label if n in labelled else "")
        )
    for e in view["events"]:
        if e["kind"].startswith("approval"):
            x = x_of(epoch(e["at"]))
            out.append(
                f"<path class='approval-mark' d='M{x:.1f},24 l5,6 l-5,6 l-5,-6 z'>"
                f"<title>{escape(event_line(e))}</title></path>"
            )
    undoing = {
        e.get("step")
        for e in view["events"]
        if e["kind"] in ("compensation_finished", "compensation_retried")
    }
    for k, action in enumerate(actions):
        y = 40 + k * row_h
        begun, ended = _when(action)
        state = outcome_kind(action)
        undo = action.get("step") in undoing
        label = ("↺ " if undo else "") + shortened(action["capability"], 22)
        out.append(
            f"<text x='8' y='{y + 13}'>{escape(label)}</text>"
            f"<rect class='bar {state}{' compensation' if undo else ''}' "
            f"x='{x_of(begun):.1f}' y='{y + 2}' "
            f"width='{max(3.0, (ended - begun) * scale):.1f}' height='{row_h - 6}'>"
            f"<title>{escape(action['capability'])}: {state}</title></rect>"
        )
    if not actions:
        out.append("<text x='8' y='52'>no action was performed</text>")
    return (
        f"<svg id='timeline' xmlns='http://www.w3.org/2000/svg' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='Timeline'>{''.join(out)}</svg>"
    )


def _when(action: dict[str, Any]) -> tuple[float, float]:
    """When an action's call began and ended, for its bar: after any backoff wait (no part
    of the call; waited after the start was recorded unless the start says `waited`), and
    for a step settled on resume, the call made then (its end less its duration), not the
    time the run lay stopped between start and resume."""
    if action.get("ok") is None or not action.get("at"):  # started, never finished
        begun = epoch(action.get("started_at") or action["at"])
        return begun, begun
    ended = epoch(action["at"])
    took = float(action.get("duration") or 0.0)
    if action.get("resumed") or not action.get("started_at"):
        return ended - took, ended
    waits = 0.0 if action.get("waited") else float(action.get("backoff") or 0.0)  # after it
    begun = epoch(action["started_at"]) + waits
    return min(begun, ended), ended


# --- the decision cards -------------------------------------------------------------------


def _card(d: dict[str, Any], run: str | None, told: dict[str, int] | None = None) -> str:
    sections = []
    for title, items in decision_parts(d, run, every_name=True, told=told).items():
        rows = "".join(f"<li>{escape(item)}</li>" for item in items)
        sections.append(f"<h4>{escape(title.capitalize())}</h4><ul>{rows}</ul>")
    return (
        f"<section class='card' id='decision-{d['number']}'><h3>Decision {d['number']} · "
        f"{escape(d['trigger'])} · planner {escape(d['planner'])}</h3>{''.join(sections)}"
        "</section>"
    )
