"""One HTTP request of an observer or a binding, following redirects within its origin only.

The headers a request is given may hold credentials (`${env:NAME}`, `ido.secrets`), and
urllib's redirect handler sends every one of them wherever a `Location` points, to another
host, or from https to http. ido cannot tell a credential from any other header, so it
follows a redirect only within the origin (scheme, host and port) of the URL it was given,
and fails the request at one that leaves it, naming where it pointed: a service that moved
is a URL to change in the YAML, not a reason to hand its token to whoever answers there.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from ido.secrets import masked_url

_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Fetched:
    """What a request got: at most `limit + 1` bytes of a 2xx reply's body, or why not."""

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
    limit: int | None = None,
) -> Fetched:
    """Send one request and read its reply; never raises: a failure is `Fetched.error`."""
    opener = urllib.request.build_opener(_WithinOrigin())
    try:
        request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)  # noqa: S310 (http/https)
        with opener.open(request, timeout=timeout) as response:
            body: bytes = response.read() if limit is None else response.read(limit + 1)
    except _Elsewhere as exc:
        return Fetched(error=str(exc))
    except urllib.error.HTTPError as exc:
        exc.close()
        return Fetched(error=f"HTTP {exc.code} {exc.reason} from {url}")
    except TimeoutError:
        return Fetched(error=f"timed out after {timeout:g}s", timed_out=True)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Fetched(error=f"{url}: {reason}", timed_out="timed out" in str(reason))
    except (ValueError, http.client.HTTPException) as exc:  # a URL or header http.client
        # refuses (a credential with no port, a line break, text it cannot encode), or a
        # reply cut short
        return Fetched(error=f"{url}: {type(exc).__name__}: {exc}")
    return Fetched(body)


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
            raise _Elsewhere(
                f"{req.full_url} redirected ({code}) to {masked_url(newurl)}, another origin"
                " (scheme, host or port), and ido does not follow it there with the"
                " request's headers: give the URL it should call"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)
