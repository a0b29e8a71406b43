"""A Prometheus observer: one PromQL value as a fact, against a Prometheus API on loopback."""

from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import ObserverError
from ido.loading import load_catalog
from ido.observe import observe
from ido.testing import Replying, serve_on_loopback

SUCCESS = {"status": "success", "data": {"resultType": "vector", "result": []}}


def vector(*values: str) -> dict[str, Any]:
    series = [{"metric": {"job": f"db{i}"}, "value": [1.8e9, v]} for i, v in enumerate(values)]
    return {"status": "success", "data": {"resultType": "vector", "result": series}}


class Prometheus(Replying):
    """Answers /api/v1/query with `reply`, keeping each request's form and headers."""

    reply: ClassVar[Any] = vector("0.42")
    status: ClassVar[int] = 200
    asked: ClassVar[list[tuple[str, dict[str, list[str]], dict[str, str]]]] = []
    stall: ClassVar[threading.Event | None] = None

    def do_POST(self) -> None:
        form = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        Prometheus.asked.append((self.path, urllib.parse.parse_qs(form), dict(self.headers)))
        if Prometheus.stall is not None:
            Prometheus.stall.wait(10)
        self.send_json(Prometheus.reply, Prometheus.status)


@pytest.fixture
def prometheus(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PROM_TOKEN", "prom-s3cret-token")
    Prometheus.reply, Prometheus.status, Prometheus.asked = vector("0.42"), 200, []
    Prometheus.stall = None
    with serve_on_loopback(Prometheus) as url:
        yield url
    if Prometheus.stall is not None:
        Prometheus.stall.set()


def observer(project: Path, url: str, extra: str = "") -> Any:
    (project / "capabilities" / "db-load.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: db-load}\nspec:\n"
        f"  prometheus:\n    url: '{url}'\n"
        "    query: 'avg(rate(busy_seconds_total{job=\"db\"}[5m]))'\n"
        "    headers: {Authorization: 'Bearer ${env:PROM_TOKEN}'}\n"
        f"  at: db.load\n{extra}"
    )
    return load_catalog(["capabilities"]).observers["db-load"]


def test_the_query_s_one_value_is_the_fact_at_its_path(project: Path, prometheus: str) -> None:
    found = observe(observer(project, f"{prometheus}/"), project / "capabilities", project)
    assert found == {"db": {"load": 0.42}}
    ((path, form, headers),) = Prometheus.asked
    assert path == "/api/v1/query"
    assert form == {"query": ['avg(rate(busy_seconds_total{job="db"}[5m]))']}
    assert headers["Authorization"] == "Bearer prom-s3cret-token"


def test_a_server_under_a_path_with_a_query_string_is_asked_there(
    project: Path, prometheus: str
) -> None:
    """A Prometheus behind a proxy (`http://host/prometheus?tenant=eu`) is asked at
    `/prometheus/api/v1/query?tenant=eu`, not after the query string."""
    found = observe(
        observer(project, f"{prometheus}/prometheus?tenant=eu"), project / "capabilities", project
    )
    assert found == {"db": {"load": 0.42}}
    assert Prometheus.asked[0][0] == "/prometheus/api/v1/query?tenant=eu"


def test_a_scalar_query_is_one_value_too(project: Path, prometheus: str) -> None:
    Prometheus.reply = {"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}
    found = observe(observer(project, prometheus), project / "capabilities", project)
    assert found == {"db": {"load": 3.0}}


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [
        (vector("NaN"), 200, "the query's value is NaN (no value: a division by zero, say)"),
        (vector("+Inf"), 200, "the query's value is +Inf, which a rule cannot compare"),
        (vector(), 200, "the query matched no series (no value to read: check its labels"),
        (vector("1", "2", "3"), 200, "the query gave 3 series, and an observer reads one"),
        (
            {"status": "success", "data": {"resultType": "matrix", "result": []}},
            200,
            "the query gave a matrix, not one value",
        ),
        (
            {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"},
            400,
            'HTTP 400 Bad Request from {url}/api/v1/query: {{"status": "error", '
            '"errorType": "bad_data", "error": "parse error at char 5"}}',
        ),
        ({"hello": "world"}, 200, "{url}/api/v1/query: not a Prometheus API reply (no data)"),
    ],
)
def test_what_is_not_one_finite_value_fails_the_observation_saying_why(
    project: Path, prometheus: str, reply: Any, status: int, reason: str
) -> None:
    """NaN, no series or several would have been a fact a rule reads wrongly (a NaN load is
    never over 0.8): the observation fails, and the observer's last report stands."""
    Prometheus.reply, Prometheus.status = reply, status
    with pytest.raises(ObserverError) as info:
        observe(observer(project, prometheus), project / "capabilities", project)
    assert info.value.reason.startswith(reason.format(url=prometheus)), info.value.reason


def test_a_prometheus_that_does_not_answer_fails_at_the_timeout(
    project: Path, prometheus: str
) -> None:
    Prometheus.stall = threading.Event()
    try:
        with pytest.raises(ObserverError) as info:
            observe(observer(project, prometheus, "  timeout: 300ms\n"), project, project)
    finally:
        Prometheus.stall.set()
    assert info.value.reason == "timed out after 0.3s"


def test_a_prometheus_observer_needs_the_fact_it_sets(project: Path) -> None:
    (project / "capabilities" / "db-load.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: db-load}\nspec:\n"
        "  prometheus: {url: 'http://prom:9090', query: up}\n"
    )
    done = CliRunner().invoke(app, ["validate"])
    assert done.exit_code == 2
    assert "db-load.yaml" in done.output
    assert "a prometheus observer reports one number: name the fact it sets with at" in (
        done.output
    )


def test_a_rule_reads_the_value_in_a_run_and_a_nan_fails_closed(
    project: Path, prometheus: str
) -> None:
    """The deny reads `state.db.load`: 0.9 denies pay-cheap-eu; NaN leaves no value, and
    the rule, which cannot be evaluated, denies too (fails closed)."""
    observer(project, prometheus)
    (project / "policies" / "load.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: load}\nspec:\n  rules:\n"
        "    - id: busy\n      effect: deny\n"
        "      when: \"capability.name == 'pay-cheap-eu' && state.db.load > 0.8\"\n"
        "      message: the cheap provider's database is busy\n"
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text()
        .replace("policies: [residency]", "policies: [residency, load]")
        .replace("spec:\n", "spec:\n  observers: [db-load]\n", 1)
    )
    runner = CliRunner()
    Prometheus.reply = vector("0.9")
    busy = runner.invoke(app, ["plan", "ship-order"])
    assert busy.exit_code == 0, busy.output
    assert "pay-cheap-eu: denied by load/busy" in busy.output
    assert "1. pay-pricey-eu" in busy.output
    Prometheus.reply = vector("0.1")
    idle = runner.invoke(app, ["plan", "ship-order"])
    assert "1. pay-cheap-eu" in idle.output
    Prometheus.reply = vector("NaN")
    unknown = runner.invoke(app, ["plan", "ship-order"])
    assert "observer db-load failed: the query's value is NaN" in unknown.output
    assert "1. pay-pricey-eu" in unknown.output


@pytest.mark.parametrize(
    "reply",
    [
        {"status": "error", "errorType": "bad_data", "error": "parse error " + "x" * 50_000},
        vector("not a number " + "x" * 50_000),
        vector("9" * 50_000),
    ],
    ids=["an-error-in-a-200", "a-value-not-a-number", "a-value-too-large"],
)
def test_a_long_reply_is_quoted_short_in_the_failure(
    project: Path, prometheus: str, reply: Any
) -> None:
    """The failure is journaled and shown: a reply's error or value of 50,000 characters
    was quoted whole (an HTTP observer's error says the first 200)."""
    Prometheus.reply = reply
    with pytest.raises(ObserverError) as info:
        observe(observer(project, prometheus), project / "capabilities", project)
    assert len(info.value.reason) < 600, len(info.value.reason)
