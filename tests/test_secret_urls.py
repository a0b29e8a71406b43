"""A secret in a URL an error quotes is masked wherever in the URL it stands."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ido.errors import ObserverError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.model import Capability, Observer
from ido.observe import observe
from ido.runtime.bindings import perform
from ido.runtime.context import ActionContext
from ido.runtime.local import LocalRuntime
from ido.testing import Replying, StepClock, serve_on_loopback


class _Hooks(Replying):
    """Fails every call; under `/away/`, redirects to another origin, the rest of the path
    written back with lower-case escapes (as many servers re-encode it)."""

    def _reply(self) -> None:
        if self.path.startswith("/away/"):
            rest = urllib.parse.quote(urllib.parse.unquote(self.path[6:]), safe="").lower()
            self.send_response(302)
            self.send_header("Location", f"http://localhost:1/v2/{rest}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_json({"error": "no such hook"}, 500)


@pytest.fixture
def hooks() -> Iterator[str]:
    with serve_on_loopback(_Hooks) as url:
        yield url


def _binding(url: str) -> Capability:
    return Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "notify"},
            "spec": {"provider": "hooks", "effects": {"told": True}, "run": {"http": {"url": url}}},
        }
    )


def _observer(url: str) -> Observer:
    return Observer.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Observer",
            "metadata": {"name": "hook"},
            "spec": {"http": {"url": url}},
        }
    )


def _failures(url: str, environ: dict[str, str], base: Path) -> list[str]:
    """What a binding's and an observer's failed call to `url` records."""
    context = ActionContext("r1", "notify", "notify", "hooks", 1, 1, "r1/1/1", 5.0, {})
    outcome = perform(_binding(url), context, base, environ)
    assert not outcome.ok and outcome.error is not None
    with pytest.raises(ObserverError) as info:
        observe(_observer(url), base, base, environ)
    return [outcome.error, str(info.value)]


@pytest.mark.parametrize(
    ("path", "secret", "shown"),
    [
        # a short secret glued to other text in the path: masked only as a whole token
        ("/hooks/T0_${env:HOOK}/x", "ab12cd", "/hooks/T0_***/x: "),
        # a value holding a query: its query masked first, the rest was no longer found
        ("/hooks/${env:HOOK}", "T0/B0/xyzsecret?sig=abcdef", "/hooks/***: "),
        # after a redirect, the server's own escapes (`%2f` for the `%2F` ido would write)
        ("/away/${env:HOOK}", "hook/k3y+x", "http://localhost:1/v2/***,"),
    ],
)
def test_a_secret_in_a_url_path_is_masked_in_what_a_failed_call_records(
    hooks: str, tmp_path: Path, path: str, secret: str, shown: str
) -> None:
    """A secret in a binding's or an observer's URL path showed in the failure quoting it."""
    for said in _failures(hooks + path, {"HOOK": secret}, tmp_path):
        assert shown in said, said
        assert "ab12cd" not in said and "xyzsecret" not in said and "k3y" not in said, said


def test_in_a_url_a_secret_is_masked_glued_to_other_text_and_short_ones_stay_tokens() -> None:
    """From 4 characters on, a secret is masked anywhere in a URL; outside URLs, and when
    shorter, as before (a whole token only)."""
    from ido.secrets import mask_urls

    said = "GET https://api.eu.example/T0_ab12/x?k=Ab12 failed; T0_ab12 kept"
    assert mask_urls(said, ["ab12", "eu"]) == (
        "GET https://api.eu.example/T0_***/x?k=Ab12 failed; T0_ab12 kept"
    )
    assert mask_urls("https://h/%2fa%2fb", ["/a/b"]) == "https://h/***"
    assert mask_urls("no url: ab12", ["ab12"]) == "no url: ab12"


def test_a_secret_in_a_url_path_reaches_no_journal_explain_or_trace(
    hooks: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole run whose webhook URL carries its secret in the path, glued to text: the
    journal file, `ido explain` in every format and the spans hold `***`, never it."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from typer.testing import CliRunner

    from ido.cli import app
    from ido.tracing import RunTelemetry

    secret = "wh4x9z"
    monkeypatch.setenv("HOOK", secret)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notify.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: notify}\nspec:\n"
        "  provider: hooks\n  effects: {told: true}\n"
        f"  run: {{http: {{url: '{hooks}/services/T0_${{env:HOOK}}/x'}}}}\n"
    )
    (tmp_path / "tell.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: tell}\n"
        "spec: {goal: ['state.told'], limits: {max_attempts: 1}}\n"
    )
    catalog = load_catalog([tmp_path], base=tmp_path)
    spans = InMemorySpanExporter()
    telemetry = RunTelemetry([SimpleSpanProcessor(spans)], [])
    (tmp_path / ".ido").mkdir()
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as journal:
        runtime = LocalRuntime(
            catalog, journal, base=tmp_path, clock=StepClock(), telemetry=telemetry
        )
        report = runtime.run(catalog.intents["tell"])
        events: list[Any] = journal.events(report.run_id)
    telemetry.shutdown()
    assert report.outcome == "failed"
    assert any("/services/T0_***/x" in json.dumps(e.data) for e in events)
    for path in (tmp_path / ".ido").glob("ido.db*"):
        assert secret.encode() not in path.read_bytes(), path
    runner = CliRunner()
    for fmt in ("text", "md", "json", "html"):
        shown = runner.invoke(app, ["explain", "last", "--format", fmt])
        assert shown.exit_code == 0, shown.output
        said = shown.output.replace("\\", "")  # (markdown escapes `_` and `*`)
        assert secret not in said and "T0_***" in said, fmt
    traced = [s.to_json() for s in spans.get_finished_spans()]
    assert traced and not [s for s in traced if secret in s]
    assert any("T0_***" in s for s in traced)


class _Verbose(Replying):
    """Refuses every request with a JSON error reply longer than ido reads of it."""

    def _reply(self) -> None:
        details = [{"row": i, "problem": "unknown sku"} for i in range(300)]
        self.send_json({"error": "amount must be positive", "details": details}, 422)


def test_a_long_credential_in_the_environment_leaves_an_error_reply_quoted(
    tmp_path: Path,
) -> None:
    """An error reply longer than ido reads of it is quoted without its last characters, as
    many as the longest form of a secret (one cut in two would show). A 4096-bit private key
    named as a credential (`DEPLOY_KEY`), its base64 form longer than all that is read, left
    `HTTP 422` with nothing of what the server said; only a tail that could begin a secret
    is cut now."""
    import base64
    import random

    lines = base64.b64encode(random.Random(7).randbytes(2350)).decode()
    key = "\n".join(
        ["-----BEGIN PRIVATE KEY-----"]
        + [lines[i : i + 64] for i in range(0, len(lines), 64)]
        + ["-----END PRIVATE KEY-----", ""]
    )
    with serve_on_loopback(_Verbose) as url:
        capability = Capability.model_validate(
            {
                "apiVersion": "ido/v1",
                "kind": "Capability",
                "metadata": {"name": "call"},
                "spec": {
                    "provider": "api",
                    "effects": {"done": True},
                    "run": {"http": {"url": url}},
                },
            }
        )
        context = ActionContext("r1", "intent", "call", "api", 1, 1, "r1/1/1", 5.0, {})
        named = frozenset({"DEPLOY_KEY"})
        outcome = perform(capability, context, tmp_path, {"DEPLOY_KEY": key}, named)
    assert outcome.error is not None and "422" in outcome.error, outcome.error
    assert "amount must be positive" in outcome.error, outcome.error
