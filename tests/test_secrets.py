"""Secrets: `${env:NAME}` resolved only for the call and masked in everything ido records."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ido.errors import ExecutionError, LoadError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.model import Capability, Observer
from ido.observe import observe
from ido.replay.exact import replay_exact
from ido.replay.what_if import replay_counterfactual
from ido.runtime.bindings import missing_secret, perform
from ido.runtime.context import ActionContext
from ido.runtime.environment import RealEnvironment
from ido.runtime.local import LocalRuntime
from ido.scenario.recorded import AsRecorded
from ido.secrets import Secrets, masked_url, unresolved, url_credentials
from ido.testing import Replying, StepClock, serve_on_loopback

TOKEN = "tok-5f3a9c-very-secret"


def test_expand_replaces_references_in_nested_strings_and_remembers_them() -> None:
    """References in strings, lists and mappings resolve; each value is kept for masking."""
    secrets = Secrets({"A": "alpha", "B": "beta"})
    assert secrets.expand({"h": "x ${env:A}", "l": ["${env:B}", 3]}) == {
        "h": "x alpha",
        "l": ["beta", 3],
    }
    assert secrets.values == {"alpha", "beta"}


def test_a_missing_variable_is_an_execution_error_naming_it() -> None:
    """An unset variable fails the call with its name, never with an empty string."""
    with pytest.raises(ExecutionError, match=r"environment variable NOPE is not set"):
        Secrets({}).expand("${env:NOPE}")


def test_mask_hides_every_value_handed_out_anywhere_in_a_document() -> None:
    """Masking reaches keys, nested values and substrings; other text is left alone."""
    secrets = Secrets({"A": TOKEN})
    secrets.expand("${env:A}")
    masked = secrets.mask({"echo": f"Bearer {TOKEN}", TOKEN: [f"x{TOKEN}y", 1]})
    assert masked == {"echo": "Bearer ***", "***": ["x***y", 1]}


def test_a_placeholder_that_is_not_an_env_reference_is_a_load_error(tmp_path: Path) -> None:
    """`${vault:x}` is refused at load time with the file, line and field."""
    (tmp_path / "call.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: call}\nspec:\n"
        "  provider: p\n  effects: {done: true}\n"
        "  run:\n    http:\n      url: http://127.0.0.1:9/x\n"
        "      headers: {Authorization: 'Bearer ${vault:stripe}'}\n"
    )
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path], base=tmp_path)
    (problem,) = info.value.problems
    assert problem.field == "spec.run.http.headers"
    assert problem.line == 10
    assert "'${vault:stripe}' is not a secret reference" in problem.message


@pytest.mark.parametrize("kind", ["Capability", "Observer"])
def test_a_header_name_http_cannot_carry_is_a_load_error(tmp_path: Path, kind: str) -> None:
    """`X-${env:TEAM}` loaded, sent as written (names are not substituted), and every call
    failed, `ValueError: Invalid header name b'X-${Env:TEAM}'`."""
    headers = "{'X-${env:TEAM}': v, Accept: application/json}"
    spec = (
        f"  provider: p\n  effects: {{done: true}}\n  run:\n    http:\n      url: http://h/x\n"
        f"      headers: {headers}\n"
        if kind == "Capability"
        else f"  http:\n    url: http://h/x\n    headers: {headers}\n"
    )
    (tmp_path / "call.yaml").write_text(
        f"apiVersion: ido/v1\nkind: {kind}\nmetadata: {{name: call}}\nspec:\n{spec}"
    )
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path], base=tmp_path)
    (problem,) = info.value.problems
    assert problem.field.endswith("http.headers")
    assert problem.message.startswith("'X-${env:TEAM}' is not a header name")
    assert problem.message.endswith("${env:NAME} is substituted in header values only")


class _Echo(Replying):
    """Replies with the Authorization header it got, or fails quoting it, as careless APIs do."""

    seen: ClassVar[list[str]] = []

    def _reply(self) -> None:
        auth = self.headers.get("Authorization", "")
        _Echo.seen.append(auth)
        status = 401 if "fail" in self.path else 200
        reason = f"bad credentials {auth}" if status == 401 else "OK"
        self.send_json({"you_sent": auth, "items": {"stock": 3}}, status, reason)


@pytest.fixture
def echo() -> Iterator[str]:
    _Echo.seen.clear()
    with serve_on_loopback(_Echo) as url:
        yield url


def _capability(url: str) -> Capability:
    return _bound({"http": {"url": url, "headers": {"Authorization": "Bearer ${env:TOKEN}"}}})


def _bound(run: dict[str, Any]) -> Capability:
    return Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "call"},
            "spec": {"provider": "api", "effects": {"done": True}, "run": run},
        }
    )


def _context() -> ActionContext:
    return ActionContext("r1", "intent", "call", "api", 1, 1, "r1/1/1", 5.0, {})


def test_an_http_binding_sends_the_secret_and_masks_its_echo(echo: str, tmp_path: Path) -> None:
    """The server receives the real token; the outcome's output only holds `***`."""
    outcome = perform(_capability(f"{echo}/ok"), _context(), tmp_path, {"TOKEN": TOKEN})
    assert _Echo.seen == [f"Bearer {TOKEN}"]
    assert outcome.ok and outcome.output["you_sent"] == "Bearer ***"


def test_an_http_error_quoting_the_secret_is_masked(echo: str, tmp_path: Path) -> None:
    """A failure reason that repeats the credentials is recorded with them masked."""
    outcome = perform(_capability(f"{echo}/fail"), _context(), tmp_path, {"TOKEN": TOKEN})
    assert not outcome.ok and outcome.error is not None
    assert "bad credentials Bearer ***" in outcome.error and TOKEN not in outcome.error


def test_an_http_observer_uses_and_masks_the_secret(echo: str, tmp_path: Path) -> None:
    """An observer's headers resolve the reference; its output is masked before it is state."""
    observer = load_catalog([_observer_file(tmp_path, f"{echo}/stock")], base=tmp_path)
    value = observe(observer.observers["stock"], tmp_path, tmp_path, {"TOKEN": TOKEN})
    assert _Echo.seen == [f"Bearer {TOKEN}"]
    assert value["you_sent"] == "Bearer ***"


def _observer_file(folder: Path, url: str) -> Path:
    path = folder / "stock.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\nspec:\n"
        f"  http: {{url: '{url}', headers: {{Authorization: 'Bearer ${{env:TOKEN}}'}}}}\n"
    )
    return path


def test_a_run_never_writes_the_secret_to_the_journal_file(
    echo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole run with an observer and an HTTP step: the SQLite file holds no token bytes."""
    monkeypatch.setenv("TOKEN", TOKEN)
    _observer_file(tmp_path, f"{echo}/stock")
    (tmp_path / "call.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: call}\nspec:\n"
        "  provider: api\n  requires: ['!state.done']\n  effects: {done: true}\n"
        "  output: reply\n"
        f"  run: {{http: {{url: '{echo}/ok', headers: {{Authorization: 'Bearer ${{env:TOKEN}}'}}}}}}\n"
    )
    (tmp_path / "get-done.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: get-done}\n"
        "spec: {goal: ['state.done'], observers: [stock]}\n"
    )
    catalog = load_catalog([tmp_path], base=tmp_path)
    db = tmp_path / "ido.db"
    with SqliteJournal(db) as journal:
        runtime = LocalRuntime(
            catalog, journal, base=tmp_path, clock=StepClock(), new_id=lambda _: "r-secret"
        )
        report = runtime.run(catalog.intents["get-done"])
        events: list[Any] = journal.events("r-secret")
    assert report.outcome == "achieved"
    assert _Echo.seen == [f"Bearer {TOKEN}"] * len(_Echo.seen) and len(_Echo.seen) >= 2
    assert any("Bearer ***" in json.dumps(e.data) for e in events)
    for path in tmp_path.glob("ido.db*"):
        assert TOKEN.encode() not in path.read_bytes()


def test_a_shell_binding_gets_the_secret_in_argv_and_its_output_is_masked(tmp_path: Path) -> None:
    """An argv item may name a secret; the program sees it, the outcome does not."""
    script = "import json, sys; print(json.dumps({'arg': sys.argv[1]}))"
    shell = _bound({"shell": ["python", "-c", script, "--token=${env:TOKEN}"]})
    outcome = perform(shell, _context(), tmp_path, {"TOKEN": TOKEN})
    assert outcome.ok and outcome.output == {"arg": "--token=***"}


@pytest.mark.parametrize(
    ("secret", "said"),
    [
        (f"{TOKEN}\n", "{}"),  # a secret read from a file ends with its line break
        (f"{TOKEN}\r", "{}"),  # a .env file written on Windows
        (f"user=me\npassword={TOKEN}", "{}"),  # several lines: an error quotes the last
        ("8675309421", "{}"),
        (TOKEN, "{}".join(["x" * 477 + " auth=", ""])),  # cut at 500 characters, in all
        ("p@ss w/rd+\\=", "key={} failed"),  # as a URL encodes it
        ('p"ss\\w', '{{"password": {}}}'),  # as JSON writes it
    ],
)
def test_a_shell_error_quoting_the_secret_in_any_form_is_masked(
    tmp_path: Path, secret: str, said: str
) -> None:
    """Each of these was recorded with the secret, or a part of it, in the clear: the mask
    matched the value exactly, after the error's last line had been cut to 500 characters."""
    script = (
        "import json, sys, urllib.parse; s = sys.argv[1]; "
        "sys.stderr.write(sys.argv[2].replace('{}', s.strip().splitlines()[-1]) + '\\n'); "
        "sys.exit(3)"
    )
    if "key=" in said:
        script = script.replace("s.strip().splitlines()[-1]) +", "urllib.parse.quote(s)) +")
    if "password" in said:
        script = script.replace("s.strip().splitlines()[-1]) +", "json.dumps(s)) +")
    shell = _bound({"shell": ["python", "-c", script, "${env:TOKEN}", said]})
    outcome = perform(shell, _context(), tmp_path, {"TOKEN": secret})
    assert not outcome.ok and outcome.error is not None and outcome.error.startswith("exit code 3")
    assert "***" in outcome.error, outcome.error
    for part in (secret.strip(), TOKEN[:12], "8675309421", "p%40ss", 'p\\"ss'):
        assert part not in outcome.error, outcome.error


@pytest.mark.parametrize("user", ["me", "bot", "ops1"])  # each place of it in base64's 3 bytes
def test_a_secret_inside_a_basic_auth_header_a_server_echoes_is_masked(
    tmp_path: Path, user: str
) -> None:
    """A binding that sends its token as HTTP Basic auth (`requests`' `auth=(user, token)`,
    `curl -u user:$TOKEN`) sends base64 of `user:TOKEN`; a server that quoted the header
    back had it recorded, decodable: only base64 of the token alone was masked, and inside
    the pair it is encoded otherwise unless `user:` is a multiple of 3 bytes long."""
    script = (
        "import base64, json, sys; b = base64.b64encode(f'{sys.argv[2]}:{sys.argv[1]}'.encode())"
        ".decode(); print(json.dumps({'echo': 'Basic ' + b})); "
        "sys.stderr.write(f'401: bad credentials Basic {b}\\n'); sys.exit(int(sys.argv[3]))"
    )
    pair = base64.b64encode(f"{user}:{TOKEN}".encode()).decode()
    for code in ("3", "0"):
        shell = _bound({"shell": ["python", "-c", script, "${env:TOKEN}", user, code]})
        outcome = perform(shell, _context(), tmp_path, {"TOKEN": TOKEN})
        said = outcome.error if code == "3" else outcome.output["echo"]
        assert said is not None and "Basic " in said, outcome
        header = said.split("Basic ", 1)[1]
        assert "***" in header and pair not in said, header
        # what is left in the clear decodes to the user and at most a character of the token
        before, _, after = header.partition("***")
        assert len(before) <= len(base64.b64encode(f"{user}:".encode()).rstrip(b"=")) + 2
        assert len(after) <= 4, header


@pytest.mark.parametrize(
    "quoting",
    [
        "json.dumps({'pw': s}, ensure_ascii=False)",  # as Go's and JavaScript's JSON write it
        "json.dumps({'error': json.dumps({'pw': s})})",  # a JSON body quoted in a JSON log line
        # the same by Go or JavaScript (JSON.stringify of a JSON.stringify'd body), which keep
        # `é` as it is in both, and by one of each
        "json.dumps({'error': json.dumps({'pw': s}, ensure_ascii=False)}, ensure_ascii=False)",
        "json.dumps({'error': json.dumps({'pw': s}, ensure_ascii=False)})",
    ],
)
def test_a_password_quoted_as_json_does_whatever_the_encoder_is_masked(
    tmp_path: Path, quoting: str
) -> None:
    """A password with a quote, a backslash or a letter beyond ASCII is written otherwise
    by a JSON encoder that keeps `é` as it is, and by JSON quoting JSON (`\\\\\\"`): only
    Python's own `json.dumps` of it, once, was masked, and the rest was recorded."""
    script = f"import json, sys; s = sys.argv[1]; sys.stderr.write({quoting} + '\\n'); sys.exit(3)"
    shell = _bound({"shell": ["python", "-c", script, "${env:PW}"]})
    outcome = perform(shell, _context(), tmp_path, {"PW": 'pässwörd"\\-9931'})
    assert outcome.error is not None and "***" in outcome.error, outcome
    assert "9931" not in outcome.error and "ss" not in outcome.error, outcome.error


@pytest.mark.parametrize("said", ["s.encode().hex()", "s.encode().hex().upper()"])
def test_a_secret_dumped_as_hex_is_masked(tmp_path: Path, said: str) -> None:
    """A client that dumps the bytes it sent as hex (`unexpected reply to 7073702d…`) gave
    the token decodable: hex was not among the forms masked."""
    script = f"import sys; s = sys.argv[1]; sys.stderr.write('sent ' + {said} + '\\n'); sys.exit(3)"
    shell = _bound({"shell": ["python", "-c", script, "${env:TOKEN}"]})
    outcome = perform(shell, _context(), tmp_path, {"TOKEN": TOKEN})
    assert outcome.error == "exit code 3: sent ***", outcome


def test_a_numeric_secret_echoed_as_a_json_number_is_masked(tmp_path: Path) -> None:
    script = "import json, sys; print(json.dumps({'account': int(sys.argv[1])}))"
    shell = _bound({"shell": ["python", "-c", script, "${env:TOKEN}"]})
    outcome = perform(shell, _context(), tmp_path, {"TOKEN": "8675309421"})
    assert outcome.ok and outcome.output == {"account": "***"}


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("http://127.0.0.1:${env:TOKEN}/x", "Rg7pQ2vXz9"),  # not a port: InvalidURL
        ("http://127.0.0.1:9/x?key=${env:TOKEN}", "p@ss w+rd"),  # a space: InvalidURL
        ("http://127.0.0.1:9/x?key=${env:TOKEN}", "pässwörd-ü"),  # cannot be encoded
    ],
)
def test_an_http_call_http_client_refuses_fails_the_step_with_the_secret_masked(
    tmp_path: Path, url: str, secret: str
) -> None:
    """These raised out of `perform` (a traceback quoting the secret; the run left
    interrupted) where every failure must be an outcome."""
    outcome = perform(_bound({"http": {"url": url}}), _context(), tmp_path, {"TOKEN": secret})
    assert not outcome.ok and outcome.error is not None
    assert secret not in outcome.error and "***" in outcome.error, outcome.error


@pytest.mark.parametrize("kind", ["Capability", "Observer"])
def test_a_user_and_password_in_a_url_are_a_load_error(tmp_path: Path, kind: str) -> None:
    """`http://deploy:${env:PW}@127.0.0.1:8080/x` loaded, and every call failed as
    `[Errno -2] Name or service not known`: Python's HTTP client sends no credentials from
    a URL, and read them as part of the host."""
    url = "http://deploy:${env:PW}@127.0.0.1:8080/x?k=a@b"
    spec = (
        f"  provider: p\n  effects: {{done: true}}\n  run:\n    http:\n      url: '{url}'\n"
        if kind == "Capability"
        else f"  http:\n    url: '{url}'\n"
    )
    (tmp_path / "call.yaml").write_text(
        f"apiVersion: ido/v1\nkind: {kind}\nmetadata: {{name: call}}\nspec:\n{spec}"
    )
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path], base=tmp_path)
    (problem,) = info.value.problems
    assert problem.field.endswith("http.url")
    assert problem.message.startswith("a user and password before '@' are not sent")
    fine = url.replace("deploy:${env:PW}@", "")  # an `@` in the query is no credential
    (tmp_path / "call.yaml").write_text((tmp_path / "call.yaml").read_text().replace(url, fine))
    assert load_catalog([tmp_path], base=tmp_path)


def test_a_header_ending_in_a_line_break_is_masked_as_http_client_quotes_it(
    tmp_path: Path,
) -> None:
    """http.client refuses the header and quotes it as bytes: `b'Bearer tok…\\n'`."""
    capability = _capability("http://127.0.0.1:9/x")
    outcome = perform(capability, _context(), tmp_path, {"TOKEN": f"{TOKEN}\n"})
    assert not outcome.ok and outcome.error is not None
    assert TOKEN not in outcome.error and "ValueError" in outcome.error, outcome.error


def test_an_observer_header_ending_in_a_line_break_is_masked(tmp_path: Path) -> None:
    """The observer's error quoted `b'Bearer tok…\\n'`, which the exact value missed."""
    observer = load_catalog([_observer_file(tmp_path, "http://127.0.0.1:9/x")], base=tmp_path)
    with pytest.raises(ExecutionError) as info:
        observe(observer.observers["stock"], tmp_path, tmp_path, {"TOKEN": f"{TOKEN}\n"})
    assert TOKEN not in str(info.value) and "***" in str(info.value), str(info.value)


def test_masking_leaves_what_is_no_secret_alone() -> None:
    """A secret "1" turned every count of 1 into "***"; a key's armour line or a short line
    of it ("true") was masked wherever it appeared; and a short secret read from a file
    ("abc\\n") was not masked without its line break."""
    from ido.secrets import mask_all

    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0\ntrue\n-----END PRIVATE KEY-----\n"
    output = {"count": 1, "ok": "true", "header": "-----BEGIN PRIVATE KEY-----", "x": "abc!"}
    assert mask_all(output, ["1", pem, "abc\n"]) == {**output, "x": "***!"}
    assert mask_all({"line": "got MIIEvQIBADANBgkqhkiG9w0"}, [pem]) == {"line": "got ***"}


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:tok@host:8080/v1?key=abc&flag", "https://***@host:8080/v1?key=***&flag"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("https://h/v1?api-version=2024&key=a%2Fb#top", "https://h/v1?api-version=***&key=***#top"),
        ("user:pw123@collector:4318", "***@collector:4318"),  # no `//`: the password was shown
        ("user:pw123@host/v1?key=abc", "***@host/v1?key=***"),
    ],
)
def test_a_url_is_recorded_with_its_credentials_masked(url: str, masked: str) -> None:
    """What precedes `@` and every query value may be a credential."""
    assert masked_url(url) == masked


def test_the_credentials_a_url_carries_are_found_decoded() -> None:
    assert url_credentials("https://me:p%40ss@h/v1?key=k1&key=k1&x") == [
        "me",
        "p@ss",
        "me:p@ss",
        "k1",
    ]


def test_an_empty_variable_is_an_execution_error_naming_it() -> None:
    """`TOKEN=` (what CI gives for a secret it does not have) sent `Authorization: Bearer `,
    where the docs promise never an empty credential."""
    with pytest.raises(ExecutionError, match=r"environment variable TOKEN is empty"):
        Secrets({"TOKEN": ""}).expand("Bearer ${env:TOKEN}")


def test_the_first_reference_the_environment_cannot_resolve_is_named() -> None:
    body = ["http://h/${env:HOST_OK}", {"k": ["Bearer ${env:TOKEN}"]}]
    assert unresolved(body, {"HOST_OK": "h"}) == ("TOKEN", "not set")
    assert unresolved(body, {"HOST_OK": "h", "TOKEN": ""}) == ("TOKEN", "empty")
    assert unresolved(body, {"HOST_OK": "h", "TOKEN": "t"}) is None


def test_a_real_call_resolves_its_secrets_from_the_environment_it_was_checked_against(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before planning read `RealEnvironment.environ`, the call the process
    environment: a capability checked callable failed "TOKEN is not set" when called."""
    monkeypatch.delenv("TOKEN", raising=False)
    script = "import json, sys; print(json.dumps({'arg': sys.argv[1]}))"
    shell = _bound({"shell": ["python", "-c", script, "--token=${env:TOKEN}"]})
    world = RealEnvironment(tmp_path, sleep=lambda _: None)
    world.environ = {"TOKEN": TOKEN}
    assert missing_secret(shell, world.environ) is None
    outcome = world.call(shell, _context())
    assert outcome.ok, outcome.error
    assert outcome.output == {"arg": "--token=***"}


def test_the_environment_a_recorded_run_found_answers_by_name_and_lists_nothing() -> None:
    """As a Mapping it had no variables (`len` 0, nothing listed), yet said each was set."""
    found = AsRecorded({"call": ("TOKEN", "not set"), "other": ("KEY", "empty")})
    assert "TOKEN" not in found and unresolved("${env:TOKEN}", found) == ("TOKEN", "not set")
    assert "KEY" in found and unresolved("${env:KEY}", found) == ("KEY", "empty")
    assert "HOST" in found and found["HOST"] == "set" and unresolved("${env:HOST}", found) is None
    with pytest.raises(KeyError):
        found["TOKEN"]
    with pytest.raises(TypeError):
        len(found)  # type: ignore[arg-type]


def _secret_or_plain(folder: Path, echo: str) -> None:
    """`call` needs ${env:TOKEN} and is the cheaper; `call-plain` needs none."""
    for name, cost, headers in (("call", 1.0, "{Authorization: 'Bearer ${env:TOKEN}'}"),
                                ("call-plain", 2.0, "{}")):  # fmt: skip
        (folder / f"{name}.yaml").write_text(
            f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n"
            f"  provider: {name}\n  requires: ['!state.done']\n  effects: {{done: true}}\n"
            f"  cost: {cost}\n"
            f"  run: {{http: {{url: '{echo}/ok', headers: {headers}}}}}\n"
        )
    (folder / "get-done.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: get-done}\n"
        "spec: {goal: ['state.done'], constraints: {max_cost: 4.0}}\n"
    )


def test_a_capability_whose_secret_is_unset_is_left_out_not_charged_and_retried(
    echo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its call could not even be made: it was tried three times, each charged (3.00 of a
    4.00 budget, which then had no room for the alternative) and counted as its provider's
    failure in the beliefs later runs plan with. Now it is denied by `${env:TOKEN}`."""
    monkeypatch.delenv("TOKEN", raising=False)
    _secret_or_plain(tmp_path, echo)
    catalog = load_catalog([tmp_path], base=tmp_path)
    with SqliteJournal(tmp_path / "ido.db") as journal:
        runtime = LocalRuntime(
            catalog, journal, base=tmp_path, clock=StepClock(), new_id=lambda _: "r-unset"
        )
        report = runtime.run(catalog.intents["get-done"])
        events: list[Any] = journal.events("r-unset")
        health = journal.health()
        replayed = replay_exact("r-unset", events, catalog)
        row = journal.run("r-unset")
    assert report.outcome == "achieved" and report.cost == 2.0
    started = [e.data["capability"] for e in events if e.kind == "action_started"]
    assert started == ["call-plain"] and "call" not in health
    (decided,) = [e.data for e in events if e.kind == "decided"]
    (denied,) = [r for r in decided["result"]["rejections"] if r["capability"] == "call"]
    assert denied["rule"] == "${env:TOKEN}"
    assert "environment variable TOKEN, which is not set" in denied["detail"]
    assert replayed.divergence is None
    monkeypatch.setenv("TOKEN", TOKEN)  # a replay calls nothing: the recording's lack holds
    again = replay_counterfactual("r-unset", events, row, catalog, catalog.intents["get-done"])
    assert again.outcome == "achieved" and again.cost == 2.0 and not again.unknown


def test_no_plan_for_want_of_a_secret_says_to_set_it(
    echo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", "")
    _secret_or_plain(tmp_path, echo)
    (tmp_path / "call-plain.yaml").unlink()
    catalog = load_catalog([tmp_path], base=tmp_path)
    with SqliteJournal(tmp_path / "ido.db") as journal:
        runtime = LocalRuntime(
            catalog, journal, base=tmp_path, clock=StepClock(), new_id=lambda _: "r-empty"
        )
        report = runtime.run(catalog.intents["get-done"])
    assert report.outcome == "failed" and report.cost == 0.0 and report.reason is not None
    assert "call cannot be called without environment variable TOKEN" in report.reason
    assert "or set environment variable TOKEN to allow call" in report.reason


STRIPE = "sk_live_51Hx9Qz2eZvKYlo2C"


def _leaky_project(folder: Path) -> None:
    """`charge` names ${env:STRIPE_KEY}; `debug` names no secret and prints it (it inherits
    ido's environment); `verify` fails with an error quoting it."""
    leak = "import os, json; print(json.dumps({'env': 'STRIPE_KEY=' + os.environ['STRIPE_KEY']}))"
    fail = "import os, sys; sys.exit('bad key ' + os.environ['STRIPE_KEY'])"
    steps = (
        ("charge", "!state.charged", "charged", ["python", "-c", "print('{}')", "${env:STRIPE_KEY}"]),
        ("debug", "state.charged", "debugged", ["python", "-c", leak]),
        ("verify", "state.debugged", "verified", ["python", "-c", fail]),
    )  # fmt: skip
    for name, requires, effect, argv in steps:
        (folder / f"{name}.yaml").write_text(
            f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n"
            f"  provider: {name}\n  requires: ['{requires}']\n  effects: {{{effect}: true}}\n"
            f"  output: {name}_said\n"
            f"  run: {{shell: {json.dumps(argv)}}}\n"
        )
    (folder / "ship.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: ship}\n"
        "spec: {goal: ['state.verified'], limits: {max_attempts: 1}}\n"
    )


def test_a_secret_another_binding_prints_is_masked_in_journal_explain_and_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the call that substituted a secret had it masked: `debug`, which inherits the
    whole environment, printed STRIPE_KEY into the journal, `ido explain` and the trace."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from typer.testing import CliRunner

    from ido.cli import app
    from ido.tracing import RunTelemetry

    monkeypatch.setenv("STRIPE_KEY", STRIPE)
    monkeypatch.chdir(tmp_path)
    _leaky_project(tmp_path)
    catalog = load_catalog([tmp_path], base=tmp_path)
    spans = InMemorySpanExporter()
    telemetry = RunTelemetry([SimpleSpanProcessor(spans)], [])
    (tmp_path / ".ido").mkdir()
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as journal:
        runtime = LocalRuntime(
            catalog, journal, base=tmp_path, clock=StepClock(), telemetry=telemetry
        )
        report = runtime.run(catalog.intents["ship"])
        events: list[Any] = journal.events(report.run_id)
    telemetry.shutdown()
    assert any("STRIPE_KEY=***" in json.dumps(e.data) for e in events)  # what debug printed
    assert report.outcome == "failed" and report.reason is not None
    assert STRIPE not in report.reason
    for path in (tmp_path / ".ido").glob("ido.db*"):
        assert STRIPE.encode() not in path.read_bytes(), path
    runner = CliRunner()
    for fmt in ("text", "md", "json", "html"):
        shown = runner.invoke(app, ["explain", "last", "--format", fmt])
        assert shown.exit_code == 0, shown.output
        said = shown.output.replace("\\*", "*")  # (markdown escapes `*`)
        assert "bad key ***" in said and STRIPE not in shown.output, fmt
    traced = [s.to_json() for s in spans.get_finished_spans()]
    assert traced and not [s for s in traced if STRIPE in s]
    assert any("bad key ***" in s for s in traced)


def test_a_short_secret_is_masked_as_a_whole_token_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret "e" masked wherever it appeared turned `echo_auth` into `***cho_auth`; one
    shorter than 8 characters is now masked only where it stands alone, by any call."""
    from ido.secrets import mask_all

    said = {"said": "echo_auth e key=e done", "e": "e-mail"}
    assert mask_all(said, ["e"]) == {"said": "echo_auth *** key=*** done", "***": "***-mail"}
    assert mask_all("p4ss in p4ssword and xp4ss_1", ["p4ss"]) == "*** in p4ssword and xp4ss_1"
    assert mask_all("xx12345678yy", ["12345678"]) == "xx***yy"  # 8 or more: anywhere
    assert mask_all("a  b", [" ", "", "\n"]) == "a  b"  # empty, or only blank: never masked
    monkeypatch.setenv("T", "e")
    script = "import json, os; print(json.dumps({'said': 'echo_auth ' + os.environ['T']}))"
    shell = _bound({"shell": ["python", "-c", script, "${env:T}"]})
    named = perform(shell, _context(), tmp_path, {"T": "e"})
    assert named.ok and named.output == {"said": "echo_auth ***"}, named.output


def test_two_secrets_that_overlap_in_what_a_call_prints_are_both_masked_whole(
    tmp_path: Path,
) -> None:
    """One secret ending where another begins (`xx` and the first characters of a token,
    then the token): masked in one pass, the one that started first was masked and the
    other's end was journaled in the clear (`***6789abcdef`)."""
    from ido.secrets import mask_all, mask_urls

    token, other = "tok_0123456789abcdef", "xx_tok_0123"
    said = f"debug xx_{token} and {token[4:]}_{other[:3]}"
    assert mask_all(said, [token, other]) == "debug *** and 0123456789abcdef_xx_"
    assert mask_all("abcdefghijklmnop", ["ghijklmnop", "abcdefghij"]) == "***"
    url = f"https://hooks.example/T0/xx_{token}/x"
    assert (
        mask_urls(f"GET {url} failed", [token, other])
        == "GET https://hooks.example/T0/***/x failed"
    )
    script = "import json, sys; print(json.dumps({'said': 'debug xx_' + sys.argv[1]}))"
    shell = _bound({"shell": ["python", "-c", script, "${env:A}", "${env:B}"]})
    outcome = perform(shell, _context(), tmp_path, {"A": token, "B": other})
    assert outcome.ok, outcome.error
    assert outcome.output == {"said": "debug ***"}, outcome.output


def test_the_catalog_s_secrets_are_every_variable_it_names_and_an_observer_masks_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An observer named no secret, and its state kept the one a capability's header named;
    the model's key (`llm.api_key_env`) and `api_base`'s are the catalog's secrets too."""
    from ido.secrets import catalog_secrets

    _leaky_project(tmp_path)
    (tmp_path / "ship.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: ship}\nspec:\n"
        "  goal: ['state.verified']\n  observers: [stock]\n  planner: llm\n"
        "  llm: {api_base: 'http://127.0.0.1:9/${env:LLM_PATH}', api_key_env: LLM_KEY}\n"
    )
    (tmp_path / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\n"
        "spec: {python: 'stockobs:read'}\n"
    )
    (tmp_path / "stockobs.py").write_text(
        "import os\n\ndef read():\n    return {'env': 'STRIPE_KEY=' + os.environ['STRIPE_KEY']}\n"
    )
    catalog = load_catalog([tmp_path], base=tmp_path)
    named = catalog_secrets(catalog)
    assert named == {"STRIPE_KEY", "LLM_PATH", "LLM_KEY"}
    monkeypatch.setenv("STRIPE_KEY", STRIPE)
    monkeypatch.setenv("LLM_PATH", "")
    report = observe(catalog.observers["stock"], tmp_path, tmp_path, None, named)
    assert report == {"env": "STRIPE_KEY=***"}


ELSEWHERE = {"DB_USER": "admin", "REGION": "eu-west-1", "PIN": "15000", "STRIPE_KEY": STRIPE}
"""Secrets a catalog names elsewhere: no call or observer of the tests below uses them."""


def test_facts_equal_to_a_short_secret_named_elsewhere_are_the_facts_the_rules_read(
    tmp_path: Path,
) -> None:
    """Every catalog secret masked in every observation turned `role: admin` and `amount:
    15000` into `***` (a rule on them silently stopped firing); one the observer does not use
    is masked in its facts only inside text, and only at 8 characters or more."""
    (tmp_path / "facts.py").write_text(
        "def read():\n"
        "    return {'role': 'admin', 'region': 'eu-west-1', 'amount': 15000,\n"
        f"            'note': 'key {STRIPE}', 'admin': True}}\n"
    )
    observer = Observer.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Observer",
            "metadata": {"name": "facts"},
            "spec": {"python": "facts:read"},
        }
    )
    facts = observe(observer, tmp_path, tmp_path, ELSEWHERE, frozenset(ELSEWHERE))
    assert facts == {
        "role": "admin",
        "region": "***",  # 9 characters: long enough to be masked inside text
        "amount": 15000,
        "note": "key ***",
        "admin": True,
    }


def test_an_output_equal_to_a_short_secret_named_elsewhere_is_kept_as_state(
    tmp_path: Path,
) -> None:
    """What a step gives back becomes state (`output`): the same rule as an observer's
    facts; the call's own secrets are masked as before, a number too."""
    script = (
        "import json, sys; print(json.dumps({'role': 'admin', 'amount': 15000,"
        " 'pin': int(sys.argv[1]), 'said': 'key ' + sys.argv[2]}))"
    )
    shell = _bound({"shell": ["python", "-c", script, "${env:TOKEN}", STRIPE]})
    environ = {**ELSEWHERE, "TOKEN": "8675"}
    outcome = perform(shell, _context(), tmp_path, environ, frozenset(ELSEWHERE))
    assert outcome.ok, outcome.error
    assert outcome.output == {"role": "admin", "amount": 15000, "pin": "***", "said": "key ***"}


def test_text_a_call_gives_back_masks_even_a_short_secret_named_elsewhere(tmp_path: Path) -> None:
    """An error is no fact a rule reads: every secret the catalog names is masked in it."""
    script = "import sys; sys.exit('login admin failed, pin 15000')"
    shell = _bound({"shell": ["python", "-c", script]})
    outcome = perform(shell, _context(), tmp_path, ELSEWHERE, frozenset(ELSEWHERE))
    assert outcome.error == "exit code 1: login *** failed, pin ***"


def test_a_secret_cut_by_the_kept_end_of_an_error_longer_than_it_leaves_no_part(
    tmp_path: Path,
) -> None:
    """A last line of stderr longer than what is kept of it (`TAIL_BYTES`) was quoted from
    the cut, where a secret cut in two was masked no more: its last 11 characters showed."""
    from ido.runtime.draining import TAIL_BYTES

    after = TAIL_BYTES - 11 - 1  # the secret's last 11 characters kept, and the line break
    script = f"import sys; sys.exit('x' * 100_000 + sys.argv[1] + 'y' * {after})"
    shell = _bound({"shell": ["python", "-c", script, "${env:TOKEN}"]})
    outcome = perform(shell, _context(), tmp_path, {"TOKEN": TOKEN})
    assert outcome.error is not None and outcome.error.startswith("exit code 1: yyy")
    assert TOKEN[-11:] not in outcome.error and TOKEN[-4:] not in outcome.error


def test_a_long_numeric_secret_named_elsewhere_is_masked_as_a_number_in_facts() -> None:
    """An account number one capability sends (`${env:ACCT}`), echoed by another call as a
    JSON number, was kept in its facts, and so in the journal: only the call's own secrets
    were masked as numbers. A number of 8 digits or more is masked; a short one is kept."""
    secrets = Secrets({"ACCT": "123456789012", "PIN": "15000"}, named=frozenset({"ACCT", "PIN"}))
    assert secrets.mask_data({"account": 123456789012, "text": "123456789012", "n": 15000}) == {
        "account": "***",
        "text": "***",
        "n": 15000,
    }


def _python_reader(folder: Path, secrets: str, package: str) -> None:
    """`charge`, a Python binding (in `package`, one a test: a process holds one module of
    a name) that reads PSP_TOKEN itself (os.environ) and returns it; `secrets` is its
    binding's `secrets` list."""
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("")
    (folder / package / "ops.py").write_text(
        "import os\n\ndef charge(ctx):\n"
        "    return {'charge_id': 'ch-1', 'debug': 'token=' + os.environ['PSP_TOKEN']}\n"
    )
    (folder / "charge.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: charge}\nspec:\n"
        "  provider: psp\n  effects: {charged: true}\n  output: charge\n"
        f"  run: {{python: '{package}.ops:charge', secrets: {secrets}}}\n"
    )
    (folder / "pay.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: pay}\nspec: {goal: ['state.charged']}\n"
    )


@pytest.mark.parametrize(("secrets", "kept"), [("[PSP_TOKEN]", False), ("[]", True)])
def test_a_secret_a_python_binding_reads_by_itself_is_masked_once_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets: str, kept: bool
) -> None:
    """A Python binding reads its credential from os.environ: no `${env:NAME}` names it,
    so a token it returned went into the journal as it was, and the catalog had no way to
    say it was a secret. `run.secrets` names it: masked as a `${env:NAME}` value is."""
    from typer.testing import CliRunner

    from ido.cli import app

    token = "psp_live_9f8e7d6c5b4a"
    monkeypatch.setenv("PSP_TOKEN", token)
    # (named as a credential, it would be masked undeclared too: `test_credential_names`)
    monkeypatch.setenv("IDO_UNMASKED_ENV", "PSP_TOKEN")
    monkeypatch.chdir(tmp_path)
    _python_reader(tmp_path, secrets, f"psp_{'kept' if kept else 'masked'}")
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "pay", "--catalog", "."])
    assert ran.exit_code == 0, ran.output
    journal = b"".join(p.read_bytes() for p in (tmp_path / ".ido").glob("ido.db*"))
    assert (token.encode() in journal) is kept
    shown = runner.invoke(app, ["explain", "last", "--format", "json"]).output
    assert ('"debug": "token=***"' in shown) is not kept, shown


def test_declaring_what_a_binding_reads_leaves_what_an_approval_covered() -> None:
    """An approval covers what a step performs, its binding's digest among it: listing
    `secrets` masks more and performs the same, so it asks no approval again (and a
    binding that lists none digests as one did before the field was)."""
    from ido.approval_asking import spec_digests

    plain = _bound({"python": "psp.ops:charge"})
    declared = _bound({"python": "psp.ops:charge", "secrets": ["PSP_TOKEN"]})
    assert spec_digests(declared) == spec_digests(plain)
    assert (
        spec_digests(plain)["binding"]
        == hashlib.sha256(
            json.dumps({"http": None, "python": "psp.ops:charge", "shell": None}).encode()
        ).hexdigest()[:12]
    )


@pytest.mark.parametrize("token", ["s3cr3t", "pw"])
def test_a_short_secret_a_python_binding_declares_is_masked_in_what_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """A binding's `secrets` are its own, as a `${env:NAME}` it names is: masked in what it
    returns however short. (Counted as named elsewhere, one under 8 characters went into
    the output, the state and the journal as it was.)"""
    package = f"psp_short_{len(token)}"
    _python_reader(tmp_path, "[PSP_TOKEN]", package)
    monkeypatch.setenv("PSP_TOKEN", token)
    monkeypatch.syspath_prepend(str(tmp_path))
    binding = _bound({"python": f"{package}.ops:charge", "secrets": ["PSP_TOKEN"]})
    named = frozenset({"PSP_TOKEN"})
    outcome = perform(binding, _context(), tmp_path, {"PSP_TOKEN": token}, named)
    assert outcome.ok and outcome.output == {"charge_id": "ch-1", "debug": "token=***"}


def test_a_short_secret_a_python_observer_declares_is_masked_in_its_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same of an observer's `secrets`: its facts hold `***` where it returned one."""
    (tmp_path / "stock_short").mkdir()
    (tmp_path / "stock_short" / "__init__.py").write_text("")
    (tmp_path / "stock_short" / "obs.py").write_text(
        "import os\n\ndef read():\n    return {'level': 3, 'auth': os.environ['STOCK_PW']}\n"
    )
    (tmp_path / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\n"
        "spec: {python: 'stock_short.obs:read', secrets: [STOCK_PW]}\n"
    )
    monkeypatch.setenv("STOCK_PW", "hunter")
    catalog = load_catalog([tmp_path / "stock.yaml"], base=tmp_path)
    facts = observe(catalog.observers["stock"], tmp_path, tmp_path, {"STOCK_PW": "hunter"})
    assert facts == {"level": 3, "auth": "***"}


@pytest.mark.parametrize("user", ["me", "bot", "ops1"])  # each place of it in base64's 3 bytes
@pytest.mark.parametrize("password", ["pw", "s3cr3t"])
def test_a_short_password_inside_a_basic_auth_header_a_server_echoes_is_masked(
    tmp_path: Path, user: str, password: str
) -> None:
    """`curl -u bot:${env:PW}` with a password of 6 characters or fewer: base64 of the pair
    holds it encoded in fewer characters than are masked inside a longer text, so a server
    that quoted the header back had it recorded, decodable, unless `user:` was a multiple
    of 3 bytes long. Basic credentials holding a known secret are masked whole."""
    script = (
        "import base64, json, sys; b = base64.b64encode(f'{sys.argv[2]}:{sys.argv[1]}'.encode())"
        ".decode(); print(json.dumps({'echo': 'Basic ' + b, 'other': 'Basic dXNlcjpvdGhlcg=='}));"
        " sys.stderr.write(f'401: bad credentials basic {b}\\n'); sys.exit(int(sys.argv[3]))"
    )
    for code in ("3", "0"):
        shell = _bound({"shell": ["python", "-c", script, "${env:PW}", user, code]})
        outcome = perform(shell, _context(), tmp_path, {"PW": password})
        if code == "3":
            assert outcome.error == "exit code 3: 401: bad credentials basic ***", outcome
        else:  # (credentials that hold no secret ido knows are left as they are)
            assert outcome.output == {"echo": "Basic ***", "other": "Basic dXNlcjpvdGhlcg=="}


def test_basic_credentials_are_masked_only_when_they_hold_a_known_secret() -> None:
    """What looks like Basic credentials but is no base64 of text, or holds no secret, or
    is a word that merely follows "basic", is left alone."""
    from ido.secrets import mask_all

    kept = "basic auth is off; Basic !!!; Basic dXNlcjpvdGhlcg==; BasicAuth Ym90OnB3"
    assert mask_all(kept, ["pw"]) == kept
    assert mask_all("a Basic Ym90OnB3 b", ["pw"]) == "a Basic *** b"
    assert mask_all({"h": "basic Ym90OnB3"}, ["bot"]) == {"h": "basic ***"}
    # without the `=` base64 ends with, as some logs write it
    assert mask_all("BASIC Ym90OnB3MTIzNA;", ["pw1234"]) == "BASIC ***;"


def test_what_a_python_binding_and_observer_print_reaches_the_terminal_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python binding runs in ido's process, and what it printed went to ido's standard
    output and error as written, its token too: `ido run` shows it masked, a line at a
    time (a token printed in pieces, or on a line the call did not end, is masked whole)."""
    from typer.testing import CliRunner

    from ido.cli import app

    token = "s3cr3t"
    (tmp_path / "psp_printing").mkdir()
    (tmp_path / "psp_printing" / "__init__.py").write_text("")
    (tmp_path / "psp_printing" / "ops.py").write_text(
        "import os, sys\n\n"
        "def charge(ctx):\n"
        "    t = os.environ['PSP_TOKEN']\n"
        "    print('charging with', t)\n"
        "    sys.stderr.write('debug: ' + t[:3])\n"
        "    sys.stderr.write(t[3:] + '\\n')\n"
        "    sys.stdout.write('left unended ' + t)\n"
        "    return {'charge_id': 'ch-1'}\n\n"
        "def read():\n"
        "    print('observing with', os.environ['PSP_TOKEN'])\n"
        "    return {'ready': True}\n"
    )
    (tmp_path / "charge.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: charge}\nspec:\n"
        "  provider: psp\n  requires: ['state.ready']\n  effects: {charged: true}\n"
        "  run: {python: 'psp_printing.ops:charge', secrets: [PSP_TOKEN]}\n"
    )
    (tmp_path / "ready.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: ready}\n"
        "spec: {python: 'psp_printing.ops:read', secrets: [PSP_TOKEN]}\n"
    )
    (tmp_path / "pay.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: pay}\n"
        "spec: {goal: ['state.charged'], observers: [ready]}\n"
    )
    monkeypatch.setenv("PSP_TOKEN", token)
    monkeypatch.chdir(tmp_path)
    ran = CliRunner().invoke(app, ["run", "pay", "--catalog", "."])
    assert ran.exit_code == 0, ran.output
    shown = ran.stdout + ran.stderr
    for line in ("charging with ***", "debug: ***", "left unended ***", "observing with ***"):
        assert line in shown, shown
    assert token not in shown, shown


def test_what_other_threads_print_while_a_binding_runs_is_written_as_it_is() -> None:
    """Only the thread running the call is masked: ido's own output, and another thread's,
    are written at once and as they are."""
    import io
    import sys
    import threading

    from ido.runtime.printed import masking

    out = io.StringIO()
    before = sys.stdout
    try:
        sys.stdout = out
        with masking(lambda text: text.replace("pw", "***")):
            print("pw here", end="")  # (held until the call ends: its line is not ended)
            other = threading.Thread(target=lambda: sys.stdout.write("pw there\n"))
            other.start()
            other.join()
            assert out.getvalue() == "pw there\n"
        assert out.getvalue() == "pw there\n*** here"
    finally:
        sys.stdout = before


@pytest.mark.parametrize("broken", ["\n", "\r\n", "\t"])
def test_basic_credentials_on_a_line_of_their_own_in_json_text_are_masked(
    tmp_path: Path, broken: str
) -> None:
    """A server's JSON error body, quoted as text in the error of a `shell` binding, with
    the header on a line of its own (`"…\\nBasic Ym90OnB3"`): the `n` of the escaped line
    break was taken for a letter before the word, and the credentials were recorded
    decodable, however short the password."""
    body = json.dumps({"error": "rejected:" + broken + "Basic Ym90OnB3"})
    assert json.dumps(broken)[1:-1] + "Basic" in body  # (written escaped, `\\nBasic`)
    script = f"import sys; sys.stderr.write({body!r} + '\\n'); sys.exit(3)"
    shell = _bound({"shell": ["python", "-c", script, "${env:PW}"]})
    outcome = perform(shell, _context(), tmp_path, {"PW": "pw"})
    assert outcome.error is not None and "Ym90OnB3" not in outcome.error, outcome
    assert outcome.error.endswith("Basic ***" + '"}'), outcome
