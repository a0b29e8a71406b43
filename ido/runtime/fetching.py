"""One HTTP request of an observer or a binding, following redirects within its origin only.

The headers a request is given may hold credentials (`${env:NAME}`, `ido.secrets`), and
urllib's redirect handler sends every one of them wherever a `Location` points, to another
host, or from https to http. ido cannot tell a credential from any other header, so it
follows a redirect only within the origin (scheme, host and port) of the URL it was given,
and fails the request at one that leaves it, naming where it pointed: a service that moved
is a URL to change in the YAML, not a reason to hand its token to whoever answers there.

A reply with an error status fails the request with its status and the start of what the
server said (`HTTP 422 Unprocessable Entity from URL: {"error": "amount must be positive"}`):
the status alone does not say what to fix. (An HTML error page is not read: its start is
markup, and what it says is mostly the status again.) The secrets of the call are masked
before the excerpt is cut (`_said`), so that no secret the server echoes, whole or cut in
two, reaches the journal.

Its `timeout` bounds the whole request: connecting, sending, the reply's headers and body,
across redirects. A socket's own timeout bounds each read alone, and a reply that came a
byte every half second under a 2 s timeout took 20 s; here every send and read gets what is
left of the time, and none starts once it is up. (Looking the host name up is the system
resolver's, and bounded by its own timeouts.)
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import IO, Any, cast

from ido.secrets import Secrets, mask_all, masked_url, url_credentials
from ido.text import failure, printable, shortened

_PORTS = {"http": 80, "https": 443}

SAID = 200
"""The most characters of an error reply's body a failure quotes."""
SAID_READ = 4096
"""The most bytes of an error reply's body read to quote from."""


@dataclass(frozen=True)
class Fetched:
    """What a request got: at most `limit + 1` bytes of a 2xx reply's body, or why not (for
    an error status, with the start of what the server said)."""

    body: bytes = b""
    error: str | None = None
    timed_out: bool = False


def fetch(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    data: bytes | None = None,
    timeout: float,
    limit: int,
    secrets: Secrets,
) -> Fetched:
    """Send one request and read its reply within `timeout` seconds in all; never raises:
    a failure is `Fetched.error`, with `secrets` masked in what the server said, and the
    credentials `url` carries masked wherever it says them (`masked_url`)."""
    fetched = _fetch(method, url, headers, data=data, timeout=timeout, limit=limit, secrets=secrets)
    if fetched.error is None:
        return fetched
    # A key written in the URL itself (`?api_key=…`), not through `${env:}`, is no secret
    # `secrets` knows: the error quoted it, and the journal, spans and `ido run` with it.
    # (Its user and password are masked wherever they stand: a client error may quote
    # the host part alone; a query's values, only in the URL: `?to=URL` is no secret.)
    # The call's secrets are masked first: a value holding a query of its own (`${env:HOOK}`
    # = `T0/x?sig=…`), its query masked first, was no longer found whole, and its path showed.
    userinfo = url_credentials(urllib.parse.urlsplit(url)._replace(query="").geturl())
    shown: str = secrets.mask(url)
    error = mask_all(secrets.mask(fetched.error).replace(shown, masked_url(shown)), userinfo)
    return replace(fetched, error=error)


def _fetch(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    data: bytes | None,
    timeout: float,
    limit: int,
    secrets: Secrets,
) -> Fetched:
    """`fetch`, its errors as they come."""
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(
        _HTTPHandler(deadline), _HTTPSHandler(deadline), _WithinOrigin()
    )
    try:
        request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)  # noqa: S310 (http/https)
        with opener.open(request, timeout=timeout) as response:
            body: bytes = response.read(limit + 1)  # one more: to tell what is over it
    except _Elsewhere as exc:
        return Fetched(error=str(exc))
    except urllib.error.HTTPError as exc:
        status = f"HTTP {exc.code} {exc.reason} from {url}"
        return Fetched(error=_said(status, _error_body(exc), secrets))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return Fetched(error=f"timed out after {timeout:g}s", timed_out=True)
        return Fetched(error=f"{url}: {reason}")
    except (ValueError, http.client.HTTPException) as exc:  # a URL or header http.client
        # refuses (a credential with no port, a line break, text it cannot encode), or a
        # reply cut short
        return Fetched(error=f"{url}: {failure(exc)}")
    return Fetched(body)


def _said(status: str, reply: bytes, secrets: Secrets) -> str:
    """An error status, and the first `SAID` characters of what the server said (`reply`,
    at most `SAID_READ + 1` bytes of it), on one line, with `secrets` masked
    (`Secrets.excerpt`) before it is cut."""
    text = reply.decode("utf-8", "replace")
    excerpt = secrets.excerpt(text, whole=len(reply) <= SAID_READ)
    line = shortened(printable(" ".join(excerpt.split())), SAID)
    return f"{status}: {line}" if line else status


def _error_body(exc: urllib.error.HTTPError) -> bytes:
    """The start of an error reply's body, or nothing when it cannot be read in time. An
    HTML error page is not read at all: markup, and its words are the status's own."""
    try:
        if exc.headers is not None and exc.headers.get_content_type() == "text/html":
            return b""
        body: bytes = exc.read(SAID_READ + 1)
    except (OSError, ValueError, http.client.HTTPException):  # cut short, or out of time
        body = b""
    finally:
        exc.close()
    return body


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, the port filled in when it is the scheme's default."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: no origin any redirect could share
        port = -1
    return scheme, (parts.hostname or "").lower(), port or _PORTS.get(scheme)


class _Elsewhere(Exception):
    """A redirect out of the request's origin, not followed."""


class _WithinOrigin(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, but only to the origin the request went to."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if origin(newurl) != origin(req.full_url):
            fp.close()
            # (masked here: after a redirect within the origin, the URL is no longer the
            # one `fetch` masks, and a key written in it came along)
            raise _Elsewhere(
                f"{masked_url(req.full_url)} redirected ({code}) to {masked_url(newurl)}, "
                "another origin (scheme, host or port), and ido does not follow it there with the"
                " request's headers: give the URL it should call"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _left(deadline: float) -> float:
    """The seconds left until `deadline`; TimeoutError once there are none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _Deadlined:
    """A connected socket whose every send and read must end by `deadline`."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_left(self._deadline))  # bounds the whole `sendall`
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        """What http.client reads the reply through (it asks for "rb" only)."""
        return io.BufferedReader(_Reading(self._sock, self._deadline))


class _Reading(io.RawIOBase):
    """A socket's bytes, each read given what is left until `deadline`."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # keeps the socket open while it is
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(_left(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _ByDeadline:
    """A connection (HTTP or HTTPS: mixed in before it) made, TLS handshake and all, and
    then used, by its request's deadline."""

    deadline: float
    timeout: float | None
    sock: Any

    def __init__(self, host: str, deadline: float, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)  # type: ignore[call-arg]
        self.deadline = deadline

    def connect(self) -> None:
        self.timeout = _left(self.deadline)
        super().connect()  # type: ignore[misc]
        self.sock = cast(socket.socket, _Deadlined(self.sock, self.deadline))


class _HTTPConnection(_ByDeadline, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ByDeadline, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_HTTPConnection, deadline=self._deadline)
        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_HTTPSConnection, deadline=self._deadline)
        return self.do_open(connection, req)  # the default TLS context, as urlopen has
