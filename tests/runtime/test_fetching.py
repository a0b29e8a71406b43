"""HTTP requests of observers and bindings, against real servers on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from ido.errors import ExecutionError
from ido.model import Capability, Observer
from ido.observe import observe
from ido.runtime.bindings import perform
from ido.runtime.context import ActionContext
from ido.testing import Replying, serve_on_loopback

TOKEN = "tok-41c7-not-for-strangers"


class _Service(Replying):
    """`/stock` is JSON; `/moved?to=URL` redirects there. Every request is noted, with the
    port it came to and the credentials it carried."""

    seen: ClassVar[list[tuple[int, str, str | None, str | None]]] = []

    def _reply(self) -> None:
        port = self.server.server_address[1]
        _Service.seen.append(
            (port, self.path, self.headers.get("Authorization"), self.headers.get("X-Token"))
        )
        if self.path.startswith("/moved?to="):
            self.send_response(302)
            self.send_header("Location", self.path.partition("=")[2])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_json({"stock": 3})


@pytest.fixture
def two() -> Iterator[tuple[str, str]]:
    """Two services on loopback: two origins (their ports differ)."""
    _Service.seen.clear()
    with serve_on_loopback(_Service) as one, serve_on_loopback(_Service) as other:
        yield one, other


HEADERS = {"Authorization": "Bearer ${env:TOKEN}", "X-Token": "${env:TOKEN}"}


def _observer(url: str) -> Observer:
    spec = {"http": {"url": url, "headers": HEADERS}}
    return Observer.model_validate(
        {"apiVersion": "ido/v1", "kind": "Observer", "metadata": {"name": "stock"}, "spec": spec}
    )


def _capability(url: str) -> Capability:
    spec = {
        "provider": "api",
        "effects": {"done": True},
        "run": {"http": {"url": url, "headers": HEADERS}},
    }
    return Capability.model_validate(
        {"apiVersion": "ido/v1", "kind": "Capability", "metadata": {"name": "call"}, "spec": spec}
    )


def _context(timeout: float = 5.0) -> ActionContext:
    return ActionContext("r1", "intent", "call", "api", 1, 1, "r1/1/1", timeout, {})


def _port(url: str) -> int:
    return int(url.rpartition(":")[2])


def test_an_observer_does_not_follow_a_redirect_to_another_origin(
    two: tuple[str, str], tmp_path: Path
) -> None:
    """A 302 to another host got the observer's `Authorization` and `X-Token` headers."""
    one, other = two
    moved = _observer(f"{one}/moved?to={other}/stock")
    with pytest.raises(ExecutionError) as info:
        observe(moved, tmp_path, tmp_path, {"TOKEN": TOKEN})
    assert f"redirected (302) to {other}/stock, another origin" in str(info.value)
    assert TOKEN not in str(info.value)
    assert [port for port, *_ in _Service.seen] == [_port(one)]  # the other never called


def test_an_observer_follows_a_redirect_within_its_origin_with_its_headers(
    two: tuple[str, str], tmp_path: Path
) -> None:
    """A redirect to the same scheme, host and port is followed as before."""
    one, _ = two
    moved = _observer(f"{one}/moved?to=/stock")
    assert observe(moved, tmp_path, tmp_path, {"TOKEN": TOKEN}) == {"stock": 3}
    assert _Service.seen[-1] == (_port(one), "/stock", f"Bearer {TOKEN}", TOKEN)


def test_an_http_binding_does_not_follow_a_redirect_to_another_origin(
    two: tuple[str, str], tmp_path: Path
) -> None:
    """The binding's POST, answered 302, went on as a GET to the other host, token and all."""
    one, other = two
    outcome = perform(
        _capability(f"{one}/moved?to={other}/stock"), _context(), tmp_path, {"TOKEN": TOKEN}
    )
    assert not outcome.ok and outcome.error is not None
    assert f"redirected (302) to {other}/stock, another origin" in outcome.error
    assert [port for port, *_ in _Service.seen] == [_port(one)]


def test_an_origin_is_scheme_host_and_port_with_the_default_port_filled_in() -> None:
    """https to http on the same host is another origin; `:443` on https is the same one."""
    from ido.runtime.fetching import origin

    assert origin("https://API.example.com/a") == origin("https://api.example.com:443/b?c=d")
    assert origin("https://api.example.com/a") != origin("http://api.example.com/a")
    assert origin("http://api.example.com/a") != origin("http://api.example.com:8080/a")
    assert origin("http://api.example.com/a") != origin("http://evil.example.com/a")


class _Trickle(Replying):
    """Replies a byte every 0.1 s: of its body (`/body`), or of its headers (`/head`)."""

    protocol_version = "HTTP/1.0"

    def _reply(self) -> None:
        body = json.dumps({"stock": 3, "pad": "x" * 20}).encode()
        head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\nX-Pad: {'x' * 30}\r\n\r\n"
        if self.path == "/body":
            self.wfile.write(head.encode())
            slow = body
        else:
            slow = head.encode() + body
        try:
            for i in range(len(slow)):
                self.wfile.write(slow[i : i + 1])
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:  # the client hung up: what the test wants
            pass


@pytest.mark.parametrize("part", ["body", "head"])
def test_the_timeout_bounds_the_whole_request_however_slowly_the_reply_comes(
    part: str, tmp_path: Path
) -> None:
    """A reply that came a byte at a time took a timeout per byte (`timeout: 2s` took 20 s):
    now an observer and a binding fail as timed out once their timeout is up."""
    with serve_on_loopback(_Trickle) as base:
        observer = Observer.model_validate(
            {
                "apiVersion": "ido/v1",
                "kind": "Observer",
                "metadata": {"name": "stock"},
                "spec": {"http": {"url": f"{base}/{part}"}, "timeout": "500ms"},
            }
        )
        started = time.monotonic()
        with pytest.raises(ExecutionError, match=r"^observer stock: timed out after 0\.5s$"):
            observe(observer, tmp_path, tmp_path)
        assert time.monotonic() - started < 1.0
        started = time.monotonic()
        outcome = perform(_capability(f"{base}/{part}"), _context(0.5), tmp_path, {"TOKEN": TOKEN})
        assert time.monotonic() - started < 1.0
        assert not outcome.ok and outcome.timed_out and outcome.error == "timed out after 0.5s"


class _Refusing(Replying):
    """Answers 422 with a JSON body that says why, echoing the token it was sent (`/echo`),
    or a token cut in two past what is read of a long body (`/long`), or an HTML error page
    (`/page`)."""

    def _reply(self) -> None:
        token = self.headers.get("X-Token") or ""
        if self.path == "/page":  # a stock server's error page
            page = b"<!DOCTYPE HTML>\n<html lang='en'><head><title>Error</title></head></html>"
            self.send_response(501, "Unsupported method")
            self.send_header("Content-Type", "text/html;charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        if self.path == "/long":
            body = (" " * (4096 - 10) + token).encode()
            self.send_response(422)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        said = f'{{"error": "amount must be positive",\n  "got": "{token}", "\x1b[2J": "'
        body = (said + "x" * 300 + '"}').encode()
        self.send_response(422, "Unprocessable Entity")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_an_error_reply_says_what_the_server_said_with_the_secrets_masked(
    tmp_path: Path,
) -> None:
    """`HTTP 422 Unprocessable Entity` alone did not say what to fix: the failure now quotes
    the start of the reply's body, on one line, what a terminal acts on written out, and
    the token the server echoed masked."""
    with serve_on_loopback(_Refusing) as base:
        outcome = perform(_capability(f"{base}/echo"), _context(), tmp_path, {"TOKEN": TOKEN})
        assert not outcome.ok and outcome.error is not None
        assert outcome.error.startswith(
            f'HTTP 422 Unprocessable Entity from {base}/echo: {{"error": "amount must be'
            ' positive", "got": "***", "\\x1b[2J": "xxx'
        )
        assert outcome.error.endswith("x…") and TOKEN not in outcome.error
        assert len(outcome.error) - len(f"HTTP 422 Unprocessable Entity from {base}/echo: ") == 200
        with pytest.raises(ExecutionError) as info:
            observe(_observer(f"{base}/echo"), tmp_path, tmp_path, {"TOKEN": TOKEN})
        assert f'observer stock: HTTP 422 Unprocessable Entity from {base}/echo: {{"error"' in str(
            info.value
        )
        assert TOKEN not in str(info.value)


def test_a_secret_cut_in_two_where_the_reading_stops_is_not_quoted(tmp_path: Path) -> None:
    """What is read of a long error reply may end inside an echoed secret, which masking
    no longer recognises: that end is left out of what is quoted."""
    from ido.runtime.fetching import SAID_READ, _said
    from ido.secrets import Secrets

    secrets = Secrets({"TOKEN": TOKEN})
    secrets.expand("${env:TOKEN}")
    reply = (" " * (SAID_READ - 10) + TOKEN).encode()
    status = "HTTP 422 Unprocessable Entity from u"
    assert _said(status, reply[: SAID_READ + 1], secrets) == status
    assert _said(status, reply[-100:], secrets) == f"{status}: ***"
    with serve_on_loopback(_Refusing) as base:
        outcome = perform(_capability(f"{base}/long"), _context(), tmp_path, {"TOKEN": TOKEN})
    assert outcome.error is not None and TOKEN[:10] not in outcome.error


def test_an_html_error_page_is_not_quoted(tmp_path: Path) -> None:
    """A stock server's error page put 200 characters of markup into the failure (and again
    into the next decision's trigger); the status says what it says."""
    with serve_on_loopback(_Refusing) as base:
        outcome = perform(_capability(f"{base}/page"), _context(), tmp_path, {"TOKEN": TOKEN})
    assert outcome.error == f"HTTP 501 Unsupported method from {base}/page"


class _Stalling(Replying):
    """An HTML error page whose body comes once the test lets it (`go`), or after 3 s;
    `sent` says whether it came."""

    go = threading.Event()
    sent = threading.Event()

    def _reply(self) -> None:
        page = b"<html><body>" + b"x" * 8192 + b"</body></html>"
        self.send_response(503, "Service Unavailable")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.flush()
        _Stalling.go.wait(3)
        try:
            self.wfile.write(page)
            _Stalling.sent.set()
        except OSError:  # the client hung up: what the test wants
            pass


def test_an_html_error_page_is_not_read_before_it_is_thrown_away(tmp_path: Path) -> None:
    """Its first 4 KB were read (waited for), and then dropped for being an error page:
    the request now fails on the status as it comes, without waiting for the page."""
    with serve_on_loopback(_Stalling) as base:
        try:
            call = _capability(f"{base}/page")
            outcome = perform(call, _context(30.0), tmp_path, {"TOKEN": TOKEN})
            assert not _Stalling.sent.is_set()  # failed before the page came
        finally:
            _Stalling.go.set()
    assert outcome.error == f"HTTP 503 Service Unavailable from {base}/page"


SECRET = "qk-77aa-literal-in-the-url"


def test_a_credential_written_in_a_url_is_masked_in_its_errors(tmp_path: Path) -> None:
    """A key written in an observer's or a binding's URL (`?api_key=…`), not through
    `${env:}`, was quoted whole in the error the journal, the spans and `ido run` show."""
    with socket.socket() as free:  # a port nothing listens on: the connection is refused
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"http://127.0.0.1:{port}/stock?api_key={SECRET}&region=eu"
    with pytest.raises(ExecutionError) as caught:
        observe(_observer(url), tmp_path, tmp_path, {"TOKEN": TOKEN})
    said = str(caught.value)
    assert f"http://127.0.0.1:{port}/stock?api_key=***&region=***: " in said, said
    outcome = perform(_capability(url), _context(), tmp_path, {"TOKEN": TOKEN})
    assert outcome.error is not None and SECRET not in outcome.error, outcome.error
    assert f"127.0.0.1:{port}/stock" in outcome.error


def test_a_credential_in_a_url_redirected_within_its_origin_is_masked_when_it_leaves(
    two: tuple[str, str], tmp_path: Path
) -> None:
    """Redirected within its origin (`/v1?api_key=…` to `/v2?api_key=…`) and then to another,
    the error quoted the URL of the second hop as it was, the key written in it with it."""
    one, other = two
    url = f"{one}/moved?to=/moved?to={other}/stock?api_key={SECRET}"
    outcome = perform(_capability(url), _context(), tmp_path, {"TOKEN": TOKEN})
    assert not outcome.ok and outcome.error is not None
    assert "another origin" in outcome.error
    assert SECRET not in outcome.error, outcome.error
    assert f"{one}/moved?to=*** redirected (302) to {other}/stock?api_key=***" in outcome.error
