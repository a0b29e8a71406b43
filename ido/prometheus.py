"""A Prometheus observer's one value: a PromQL instant query over Prometheus's HTTP API.

The query is POSTed as a form to `{url}/api/v1/query` (so a long query is no long URL, and
an error quotes the server's words, not the query twice). What a rule can read is one
number: the query must give a scalar or one series, of a finite value. Anything else (no
series, several, `NaN`, `+Inf`, a range vector, Prometheus's own error) fails the
observation with the reason, and the observer's last report stands (see `ido.observe`).
"""

from __future__ import annotations

import json
import math
import urllib.parse
from typing import Any

from ido.errors import ExecutionError
from ido.model.capability_spec import PrometheusSource
from ido.runtime.bindings import MAX_OUTPUT
from ido.secrets import Secrets, masked_url

PATH = "/api/v1/query"


def query(source: PrometheusSource, timeout: float, secrets: Secrets) -> float:
    """The one value `source.query` gives now; raises ExecutionError saying why not."""
    from ido.runtime.fetching import fetch  # (the HTTP client: only when observing)

    base = urllib.parse.urlsplit(secrets.expand(source.url))  # a query (`?tenant=`) kept
    url = urllib.parse.urlunsplit(base._replace(path=base.path.rstrip("/") + PATH))
    headers = secrets.expand(dict(source.headers))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = urllib.parse.urlencode({"query": source.query}).encode()
    fetched = fetch(
        "POST", url, headers, data=body, timeout=timeout, limit=MAX_OUTPUT, secrets=secrets
    )
    if fetched.error is not None:
        raise ExecutionError(fetched.error)
    if len(fetched.body) > MAX_OUTPUT:
        raise ExecutionError(f"its reply was over {MAX_OUTPUT:,} bytes, the most ido reads")
    try:
        reply = json.loads(fetched.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ExecutionError(f"{masked_url(url)}: not a Prometheus API reply (not JSON)") from None
    return value_of(reply, masked_url(url))


def value_of(reply: Any, shown: str) -> float:
    """The one finite value of a Prometheus query reply (from `shown`, a URL); raises
    ExecutionError naming what the reply held instead."""
    if not isinstance(reply, dict) or not isinstance(reply.get("data"), dict):
        if isinstance(reply, dict) and reply.get("status") == "error":
            raise ExecutionError(f"Prometheus: {reply.get('errorType')}: {reply.get('error')}")
        raise ExecutionError(f"{shown}: not a Prometheus API reply (no data)")
    kind, result = reply["data"].get("resultType"), reply["data"].get("result")
    if kind == "scalar":
        sample = result
    elif kind == "vector" and isinstance(result, list):
        if not result:
            raise ExecutionError(
                "the query matched no series (no value to read: check its labels, or wrap it "
                "in a default: `… or vector(0)`)"
            )
        if len(result) > 1:
            raise ExecutionError(
                f"the query gave {len(result)} series, and an observer reads one: aggregate "
                "them (sum(…), max(…)) or select one by its labels"
            )
        sample = result[0].get("value") if isinstance(result[0], dict) else None
    else:
        raise ExecutionError(
            f"the query gave a {kind}, not one value: use an instant vector or a scalar"
        )
    return _finite(sample)


def _finite(sample: Any) -> float:
    """The number in a `[time, "text"]` sample, refused unless finite: JSON has no NaN,
    and a rule comparing with one would read it as no value."""
    if not isinstance(sample, list) or len(sample) != 2:
        raise ExecutionError("not a Prometheus API reply (its sample is not [time, value])")
    try:
        number = float(sample[1])
    except (TypeError, ValueError):
        raise ExecutionError(f"the query's value {sample[1]!r} is not a number") from None
    if math.isnan(number):
        raise ExecutionError("the query's value is NaN (no value: a division by zero, say)")
    if math.isinf(number):
        raise ExecutionError(f"the query's value is {sample[1]}, which a rule cannot compare")
    return number
