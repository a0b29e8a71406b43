"""The HTML decision report: self-contained, escaped, and rendered for real in headless
Chromium (Debian's, driven by Playwright): no errors, the graph and timeline are drawn, and
the page is not blank."""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.report_html import render_html

cli = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def report(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The report of a run that replans once: cheappay fails, priceypay pays, ship ships."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert cli.invoke(app, ["run", "ship-order"]).exit_code == 0
    result = cli.invoke(app, ["explain", "last", "--format", "html", "-o", "report.html"])
    assert result.exit_code == 0, result.output
    return project / "report.html"


def test_the_report_is_one_self_contained_file(report: Path) -> None:
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+", page)) - {"http://www.w3.org"}
    assert urls == set(), urls  # nothing to fetch: it opens offline
    assert page.count("<g class='node ok'") == 2  # pay-pricey-eu, ship
    assert page.count("<g class='node failed'") == 1  # pay-cheap-eu
    assert "class='replan'" in page
    assert "<section class='card' id='decision-2'>" in page


def test_every_text_from_the_journal_is_escaped() -> None:
    view: dict[str, Any] = {
        "run": {
            "id": "r1",
            "intent": "<script>alert(1)</script>",
            "outcome": "failed",
            "reason": "<img src=x onerror=alert(2)>",
            "cost": 0.0,
            "duration": 1.0,
            "started_at": "2026-11-23T10:00:00.000+00:00",
            "ended_at": "2026-11-23T10:00:01.000+00:00",
        },
        "decisions": [],
        "events": [],
    }
    page = render_html(view)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_explain_refuses_an_unwritable_output_and_an_unknown_format(
    report: Path, tmp_path: Path
) -> None:
    result = cli.invoke(
        app, ["explain", "last", "-f", "html", "-o", str(tmp_path / "no" / "r.html")]
    )
    assert result.exit_code == 2 and "folder" in result.output and "does not exist" in result.output
    result = cli.invoke(app, ["explain", "last", "-f", "pdf"])
    assert result.exit_code == 2
    result = cli.invoke(app, ["explain", "r-unknown", "-f", "html"])
    assert result.exit_code == 2 and "not found" in result.output


def pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (8-bit RGB or RGBA)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width, height = 8, b"", 0, 0
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        kind, chunk = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            data += chunk
        pos += 12 + size
    return width, height, zlib.decompress(data)


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)
def test_the_report_renders_in_chromium_without_errors(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(report.resolve().as_uri())
            page.wait_for_load_state("load")
            graph = page.locator("#plan-graph")
            assert graph.is_visible()
            assert page.locator("#plan-graph g.node").count() >= 5  # 3 planned + alternatives
            assert page.locator("#plan-graph .replan").count() == 1
            assert page.locator("#timeline rect.bar").count() == 3
            assert page.locator("section.card").count() == 2
            box = graph.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 80
            shot = graph.screenshot()
        finally:
            browser.close()
    assert problems == []
    width, height, raw = pixels(shot)
    assert width > 300 and height > 80
    # A blank graph is one or two colours; a drawn one has the nodes' fills, strokes and text.
    distinct = len(set(raw[i : i + 3] for i in range(0, min(len(raw), 2_000_000), 3)))
    assert distinct > 50, distinct


def test_explain_on_a_terminal_uses_tables_and_colour(report: Path) -> None:
    coloured = cli.invoke(app, ["explain", "last", "--color", "always"]).output
    assert "\x1b[" in coloured  # ANSI colour
    shown = re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert "┃ capability" in shown and "policy decisions" in shown
    assert "✗ pay-cheap-eu: failed" in shown and "✓ ship: succeeded" in shown
    plain = cli.invoke(app, ["explain", "last"]).output  # not a terminal: plain text
    assert "\x1b[" not in plain and "┃" not in plain
    assert cli.invoke(app, ["explain", "last", "--color", "sometimes"]).exit_code == 2


def test_text_that_looks_like_markup_is_shown_as_it_is(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace("provider: carrier", 'provider: "carrier [/] [bold]x"')
    )
    assert cli.invoke(app, ["run", "ship-order"]).exit_code == 0
    result = cli.invoke(app, ["explain", "last", "--color", "always"])
    assert result.exit_code == 0, result.output
    assert "carrier [/] [bold]x" in re.sub(r"\x1b\[[0-9;]*m", "", result.output)


def test_an_interrupted_action_is_drawn_inside_the_timeline() -> None:
    from ido.report_html import timeline

    view: dict[str, Any] = {
        "run": {"started_at": "2026-11-23T10:00:00.000+00:00", "ended_at": None},
        "decisions": [
            {
                "number": 1,
                "trigger": "run started",
                "at": "2026-11-23T10:00:01.000+00:00",
                "actions": [
                    {
                        "capability": "ship",
                        "started_at": "2026-11-23T10:00:05.000+00:00",
                        "ok": None,
                    }
                ],
            }
        ],
        "events": [],
    }
    svg = timeline(view)
    (x,) = re.findall(r"<rect class='bar interrupted' x='([0-9.]+)'", svg)
    assert float(x) <= 900 - 20


def test_compensations_are_marked_in_the_timeline() -> None:
    from ido.report_html import timeline

    at = "2026-11-23T10:00:0{}.000+00:00"
    view: dict[str, Any] = {
        "run": {"started_at": at.format(0), "ended_at": at.format(9)},
        "decisions": [
            {
                "number": 1,
                "trigger": "run started",
                "at": at.format(1),
                "actions": [
                    {
                        "capability": "pay",
                        "step": 1,
                        "started_at": at.format(2),
                        "at": at.format(3),
                        "ok": True,
                    },
                    {
                        "capability": "refund",
                        "step": 3,
                        "started_at": at.format(5),
                        "at": at.format(6),
                        "ok": True,
                    },
                ],
            }
        ],
        "events": [
            {
                "kind": "compensation_finished",
                "at": at.format(6),
                "step": 3,
                "capability": "refund",
                "undoes": "pay",
                "undoes_step": 1,
                "ok": True,
                "error": None,
            }
        ],
    }
    svg = timeline(view)
    assert svg.count("compensation'") == 1 and "↺ refund" in svg and "↺ pay" not in svg


def test_a_silent_failure_is_not_reported_as_a_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe says it charged, the order is not paid: the text said "succeeded" and the
    graph drew the step green, with facts that never became true; the terminal report
    marked it with a green ✓."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    journal = str(tmp_path / "kept.db")
    done = cli.invoke(
        app, ["scenario", "run", "-q", "scenarios/silent-charge.yaml", "--journal", journal]
    )
    assert done.exit_code == 0, done.output
    told = cli.invoke(app, ["explain", "last", "--journal", journal]).output
    assert (
        "charge-stripe-eu: reported success in 800ms, but its effects did not show: "
        "order.paid is False, expected True" in told
    ), told
    page = cli.invoke(app, ["explain", "last", "--journal", journal, "--format", "html"]).output
    first = page.index("data-capability='charge-stripe-eu'")
    node = page[page.rindex("<g ", 0, first) : page.index("</g>", first)]
    assert "node failed" in node and "order.paid" not in node, node
    assert "class='replan'" in page
    coloured = cli.invoke(app, ["explain", "last", "--journal", journal, "--color", "always"])
    (line,) = [ln for ln in coloured.output.splitlines() if "charge-stripe-eu: reported" in ln]
    assert "✗ charge-stripe-eu" in line and "\x1b[31m" in line, line  # red, as the graph


def test_text_values_are_shown_as_written_with_what_acts_on_a_terminal_escaped() -> None:
    """ "Café 🚀" was shown as "Caf\\u00e9 \\ud83d\\ude80" in every format."""
    from ido.explain_calls import shown

    assert shown({"name": "Café 🚀"}) == '{"name": "Café 🚀"}'
    assert shown("a\u202eb\x1b[2J") == '"a\\u202eb\\u001b[2J"'  # JSON escapes the ESC
    assert shown("a\u202eb") == '"a\\u202eb"'  # reorders what follows: escaped


def test_text_from_the_journal_that_looks_like_the_width_placeholder_stays_as_written() -> None:
    """The graph's width went in last by replacing "{W}" everywhere: a provider named
    tmpl-{W} was drawn as tmpl-322."""
    from ido.report_html import plan_graph

    step = {"capability": "pay", "provider": "tmpl-{W}", "cost": 1.0, "latency": 1.0}
    decision = {
        "number": 1,
        "trigger": "run started {W}",
        "result": {"status": "planned", "plan": {"steps": [step], "after": [[]]}},
        "actions": [],
    }
    svg = plan_graph([decision])
    assert "tmpl-{W}" in svg and "run started {W}"[:12] in svg
    assert "tmpl-3" not in svg and "<W>" not in svg


def test_each_step_is_drawn_as_it_went_and_the_replan_leaves_the_failure_it_names() -> None:
    """A plan charge → drive → charge whose second charge failed drew both charges failed
    (state was kept per capability); and with two steps side by side failing, the replan
    arrow left the last one in the plan, not the first to fail (the one the replan names)."""
    from ido.report_html import NODE_H, plan_graph

    def step(name: str) -> dict[str, Any]:
        return {"capability": name, "provider": "p", "cost": 1.0, "latency": 1.0}

    def done(name: str, n: int, ok: bool, at: str) -> dict[str, Any]:
        return {"capability": name, "step": n, "ok": ok, "at": at, "effects": {f"x.{n}": True}}

    chain = {
        "number": 1,
        "trigger": "run started",
        "result": {
            "status": "planned",
            "plan": {"steps": [step("charge"), step("drive"), step("charge")]},
        },
        "actions": [
            done("charge", 1, True, "2026-12-06T05:00:01"),
            done("drive", 2, True, "2026-12-06T05:00:02"),
            done("charge", 3, False, "2026-12-06T05:00:03"),
        ],
    }
    svg = plan_graph([chain])
    assert re.findall(r"<g class='node (\w+)' data-capability='charge'", svg) == ["ok", "failed"]
    side = {
        "number": 1,
        "trigger": "run started",
        "result": {
            "status": "planned",
            "plan": {"steps": [step("label"), step("pack")], "after": [[], []]},
        },
        "actions": [
            done("label", 1, False, "2026-12-06T05:00:01"),  # failed first: the replan's
            done("pack", 2, False, "2026-12-06T05:00:02"),
        ],
    }
    replanned = {"status": "planned", "plan": {"steps": [step("label-by-hand")]}}
    again = {"number": 2, "trigger": "step 1 label failed", "result": replanned}
    svg = plan_graph([side, again])
    nodes = dict(re.findall(r"data-capability='([\w-]+)'><rect x='\d+' y='(\d+)'", svg))
    (start,) = re.findall(r"class='replan' d='M\d+,(\d+)", svg)
    assert int(start) == int(nodes["label"]) + NODE_H, svg  # the bottom of label's node


def test_the_terminal_report_shows_every_part_the_plain_one_does() -> None:
    """The model's section ("fell back to cpsat") and alternatives that were not settled
    were missing from the coloured report."""
    from ido.explain_decisions import decision_parts
    from ido.explain_tty import render_tty

    llm = {"planner": "llm", "model": None, "verdict": "no model configured", "calls": []}
    llm["fallback"] = "cpsat"
    decision: dict[str, Any] = {
        "number": 1,
        "trigger": "run started",
        "planner": "llm",
        "observed": {},
        "result": {
            "status": "infeasible",
            "reason": "no plan reaches the goal",
            "solver": {"llm": llm, "alternatives_unsettled": ["without ship: gave up"]},
        },
        "actions": [],
    }
    run = {"id": "r1", "intent": "i", "outcome": "failed", "reason": None, "cost": 0.0}
    shown = re.sub(
        r"\x1b\[[0-9;]*m",
        "",
        render_tty({"run": {**run, "duration": None}, "decisions": [decision], "events": []}),
    )
    for lines in decision_parts(decision).values():
        for line in lines:
            assert line in shown, line
    assert "fell back to cpsat" in shown and "without ship: gave up" in shown


def test_timeline_bars_show_the_calls_not_the_waits_around_them() -> None:
    """An interrupted step settled on resume was drawn red ("failed") where the graph drew
    it amber; a bar began at the step's start, a backoff wait before the call included;
    and a step settled on resume stretched over the time the run lay stopped."""
    from ido.report_html import timeline

    at = "2026-12-06T10:00:{:02d}.000+00:00"
    view: dict[str, Any] = {
        "run": {"started_at": at.format(0), "ended_at": at.format(40)},
        "decisions": [
            {
                "number": 1,
                "trigger": "run started",
                "at": at.format(0),
                "actions": [
                    {
                        "capability": "wait",
                        "started_at": at.format(0),
                        "backoff": 10.0,
                        "at": at.format(11),
                        "duration": 1.0,
                        "ok": True,
                    },
                    {
                        "capability": "cut",
                        "started_at": at.format(12),
                        "at": at.format(38),
                        "duration": None,
                        "ok": False,
                        "resumed": "interrupted",
                    },
                    {
                        "capability": "again",
                        "started_at": at.format(12),
                        "at": at.format(40),
                        "duration": 2.0,
                        "ok": True,
                        "resumed": "repeated",
                    },
                ],
            }
        ],
        "events": [],
    }
    svg = timeline(view)
    bars = re.findall(r"<rect class='bar (\w+)' x='([0-9.]+)' y='[0-9.]+' width='([0-9.]+)'", svg)
    scale = (900 - 170 - 20) / 40
    (wait, cut, again) = bars
    assert wait[0] == "ok" and float(wait[1]) == pytest.approx(170 + 10 * scale, abs=0.1)
    assert float(wait[2]) == pytest.approx(1 * scale, abs=0.1)
    assert cut[0] == "interrupted"
    assert float(again[1]) == pytest.approx(170 + 38 * scale, abs=0.1)
    assert float(again[2]) == pytest.approx(2 * scale, abs=0.1)
    # A backoff waited before the start was recorded (`waited`) is no part of the gap.
    first = view["decisions"][0]["actions"][0]
    first.update(started_at=at.format(10), waited=True)
    (waited, _, _) = re.findall(
        r"<rect class='bar (\w+)' x='([0-9.]+)' y='[0-9.]+' width='([0-9.]+)'", timeline(view)
    )
    assert float(waited[1]) == pytest.approx(170 + 10 * scale, abs=0.1)
    assert float(waited[2]) == pytest.approx(1 * scale, abs=0.1)


def column(table: str, n: int) -> str:
    """The text of column `n` of a rich table's body rows, folded lines joined again."""
    rows = [line.split("│") for line in table.splitlines() if line.count("│") >= n]
    return "".join(row[n].strip() for row in rows)


def test_the_terminal_s_policy_table_shows_each_rule_and_message_whole() -> None:
    """The table had no message column (what an avoid or approval rule says was shown
    nowhere) and cut a long rule id at 80 columns ("eu-data-residency/pii-stays-in…")."""
    from ido.explain_tty import render_tty

    hit = {
        "id": "pd-41b3e3f95554",
        "verdict": "avoid",
        "subject": "charge-paypal-us",
        "rule": "eu-data-residency/pii-stays-in-eu-whenever-it-can",
        "message": "PII of EU customers is processed in the EU only.",
    }
    decision: dict[str, Any] = {
        "number": 1,
        "trigger": "run started",
        "planner": "cpsat",
        "observed": {},
        "policy": [hit],
        "result": {"status": "infeasible", "reason": "no plan reaches the goal"},
        "actions": [],
    }
    run = {"id": "r1", "intent": "i", "outcome": "failed", "reason": None, "cost": 0.0}
    view = {"run": {**run, "duration": None}, "decisions": [decision], "events": []}
    for width in (80, 120):
        shown = re.sub(r"\x1b\[[0-9;]*m", "", render_tty(view, width=width))
        table = shown[shown.index("policy decisions") :]
        assert "…" not in table
        assert column(table, 3) == hit["rule"], table
        assert column(table, 4).replace(" ", "") == hit["message"].replace(" ", ""), table


def test_a_provider_from_an_older_journal_cannot_forge_lines_of_the_explanation() -> None:
    """Before providers were checked on load, a provider holding a line break and escape
    sequences forged lines of `ido explain` and acted on the terminal."""
    from ido.explain import render
    from ido.explain_tty import render_tty

    step = {
        "capability": "pay",
        "provider": "evil\n  chosen:\n    FORGED\x1b[2J",
        "cost": 1.0,
        "latency": 1.0,
        "reliability": 0.99,
    }
    plan = {"steps": [step], "cost": 1.0, "latency": 1.0, "success_probability": 0.99}
    decision: dict[str, Any] = {
        "number": 1,
        "trigger": "run started",
        "planner": "cpsat",
        "observed": {},
        "result": {"status": "planned", "proven_optimal": True, "plan": {**plan, "score": 1.0}},
        "actions": [],
    }
    run = {"id": "r1", "intent": "i", "outcome": "achieved", "reason": None, "cost": 1.0}
    view = {"run": {**run, "duration": 1.0}, "decisions": [decision], "events": []}
    for shown in (render(view, "text"), render(view, "md"), render_tty(view, width=200)):
        assert "\x1b[2J" not in shown and "FORGED" in shown
        assert not any(line.lstrip().startswith("FORGED") for line in shown.splitlines())
    assert "pay (evil\\n  chosen:\\n    FORGED\\x1b[2J): cost 1.00" in render(view, "text")


def test_an_approval_stands_apart_between_the_decisions_it_came_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the approval lines ran straight on from the first decision's last
    table, and the HTML page listed them after every card."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    journal = str(tmp_path / "kept.db")
    argv = ["scenario", "run", "-q", "scenarios/large-order-approved.yaml", "--journal", journal]
    assert cli.invoke(app, argv).exit_code == 0
    coloured = cli.invoke(app, ["explain", "last", "--journal", journal, "--color", "always"])
    lines = re.sub(r"\x1b\[[0-9;]*m", "", coloured.output).splitlines()
    asked = next(i for i, line in enumerate(lines) if line.startswith("approval needed for"))
    assert lines[asked - 1] == "", lines[asked - 2 : asked + 1]
    page = cli.invoke(app, ["explain", "last", "--journal", journal, "--format", "html"]).output
    approved = page.index("<li>approved by finance")
    cards = [m.start() for m in re.finditer(r"<section class='card'", page)]
    assert len(cards) == 2 and cards[0] < approved < cards[1], (cards, approved)


def test_the_html_report_is_not_poured_onto_a_terminal(report: Path) -> None:
    """`ido explain RUN --format html` without `-o` on a terminal poured a page of markup
    over it: refused there, saying how to write it; piped, it is written as before."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        shown = subprocess.run(
            [sys.executable, "-m", "ido", "explain", "last", "--format", "html"],
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert shown.returncode == 2, shown.stderr
    assert "error: the HTML report is a page for a browser, not the terminal: write it" in (
        shown.stderr
    )
    piped = cli.invoke(app, ["explain", "last", "--format", "html"])
    assert piped.exit_code == 0 and piped.stdout.startswith("<!DOCTYPE html>")


def test_decision_labels_close_together_on_the_timeline_are_not_drawn_over_each_other() -> None:
    """Four decisions within 60 ms at the end of a 526 ms run were labelled on top of each
    other (`D2` and `D3` read `DD3`): a label is drawn only clear of the last one drawn."""
    from ido.report_html import spaced

    assert spaced([0.0, 10.0, 30.0, 40.0, 200.0], 24.0) == {0, 2, 4}
    assert spaced([5.0, 5.0, 5.0], 24.0) == {0}
    assert spaced([], 24.0) == set()
