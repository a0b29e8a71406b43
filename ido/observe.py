"""Observers (python callable, JSON file, HTTP GET, Prometheus query) and the state snapshot
they feed."""

from __future__ import annotations

import inspect
import json
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ido.errors import ExecutionError, ObserverError
from ido.loading.catalog import Catalog
from ido.model import Intent, Observer
from ido.secrets import Environ, Secrets, masked_url
from ido.state import State, TooDeep, close_world, from_json, json_safe, merge, set_path
from ido.text import failure, printable, shortened


def observe(
    observer: Observer,
    origin_dir: Path,
    base: Path,
    environ: Environ | None = None,
    named: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Read one observer's output; raises ObserverError when it cannot: its message starts
    with `observer NAME`, and its `reason` says why without the name (what a run records,
    and `ido.explain.observer_failed` words for people).

    `${env:NAME}` in an HTTP observer's URL and headers resolve from `environ` (default:
    the process environment); the secrets, and the values of the `named` variables (every
    secret the catalog names: `catalog_secrets`), are masked in errors, and in the output
    as in data the rules read (`Secrets.mask_data`).
    """
    # Here: `ido plan` reads no observer at all for most intents (a PDDL problem's has none).
    from ido.runtime.bindings import ASYNC_WORDS, ERROR_CHARS, MAX_OUTPUT, load_callable
    from ido.runtime.printed import masking

    spec = observer.spec
    name = observer.name
    secrets = Secrets(os.environ if environ is None else environ, named=named)
    secrets.uses(spec.secrets)

    def failed(reason: str, sep: str = ": ") -> ObserverError:
        # Masked before it is cut: a secret cut in two would not be masked.
        return ObserverError(name, shortened(printable(secrets.mask(reason)), ERROR_CHARS), sep)

    try:
        if spec.python is not None:
            # what it prints (`ido.runtime.printed`), its module's import too
            with masking(secrets.text_mask()):
                value = load_callable(spec.python, base)()
        elif spec.file is not None:
            body = _read_regular(origin_dir / spec.file, spec.file)
            if len(body) > MAX_OUTPUT:
                raise ExecutionError(
                    f"{spec.file} is over {MAX_OUTPUT:,} bytes, the most ido reads"
                )
            value = _parsed(body, spec.file)
        elif spec.prometheus is not None:
            from ido.prometheus import query

            value = query(spec.prometheus, spec.timeout, secrets)
        else:
            assert spec.http is not None
            # Here: only HTTP observers need the HTTP client.
            from ido.runtime.fetching import fetch

            url = secrets.expand(spec.http.url)
            headers = secrets.expand(dict(spec.http.headers))
            fetched = fetch(
                "GET", url, headers, timeout=spec.timeout, limit=MAX_OUTPUT, secrets=secrets
            )
            if fetched.error is not None:
                raise ExecutionError(fetched.error)
            if len(fetched.body) > MAX_OUTPUT:
                raise ExecutionError(f"its reply was over {MAX_OUTPUT:,} bytes, the most ido reads")
            value = _parsed(fetched.body, masked_url(url))  # (a key written in it: not shown)
    except ExecutionError as exc:  # (a secret it lacks, too)
        raise failed(str(exc)) from None
    except TooDeep as exc:
        raise failed(f"returned a document {exc}", " ") from None
    except Exception as exc:  # an observer is user code or the outside world
        raise failed(shortened(failure(exc), ERROR_CHARS)) from None
    if spec.prometheus is not None:  # one number, at `at` (the model requires it)
        assert spec.at is not None
        number: State = {}
        set_path(number, spec.at, value)
        return number
    if inspect.iscoroutine(value):
        value.close()  # never awaited: closed, lest Python warn of it at exit
        raise failed(ASYNC_WORDS, " ")
    if not isinstance(value, Mapping):
        raise failed(f"returned {type(value).__name__}, not a mapping", " ")
    if spec.python is not None:  # (JSON text read with `from_json` is JSON already)
        try:
            value = json_safe(dict(value))
        except TooDeep as exc:
            raise failed(f"returned a document {exc}", " ") from None
        except (TypeError, ValueError) as exc:  # keys JSON cannot hold, a value holding itself
            raise failed(f"returned what JSON cannot carry: {exc}", " ") from None
    output: dict[str, Any] = secrets.mask_data(dict(value))
    if spec.at is None:
        return output
    mounted: State = {}
    set_path(mounted, spec.at, output)
    return mounted


def _parsed(body: bytes, shown: str) -> Any:
    """The JSON document `body`, or an error naming where it came from (`shown`: the
    observer's file or URL) and where in it the text went wrong: a bare
    `JSONDecodeError: Expecting value: line 1 column 13` named neither."""
    try:
        return from_json(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ExecutionError(f"{shown}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ExecutionError(
            f"{shown}: not a JSON document ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None


def _read_regular(path: Path, shown: str) -> bytes:
    """The first `MAX_OUTPUT` + 1 bytes of `path`, refused unless it is a regular file:
    opening a FIFO waits for a writer (`ido plan` hung on one for good), and a device may
    have no end. Opened without waiting, then looked at."""
    from ido.runtime.bindings import MAX_OUTPUT

    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ExecutionError(f"{shown} is not a regular file")
    with os.fdopen(descriptor, "rb") as document:
        return document.read(MAX_OUTPUT + 1)


def boolean_facts(catalog: Catalog) -> list[str]:
    """Fact paths that some capability sets to a boolean: they start `false` when absent."""
    return sorted(
        {
            path
            for capability in catalog.capabilities.values()
            for path, value in capability.spec.effects.items()
            if isinstance(value, bool)
        }
    )


def snapshot(
    intent: Intent,
    observations: Iterable[Mapping[str, Any]],
    effects: Mapping[str, Any],
    facts: Iterable[str],
) -> State:
    """state = given + effects of completed steps + observer outputs, closed-world.

    Observers win: a fact an observer reports is what holds, whatever a step declared it
    would become (the runtime compares the two to catch silent failures).
    """
    state: State = merge({}, intent.spec.given)
    state = merge(state, effects)
    for observation in observations:
        state = merge(state, observation)
    return close_world(state, facts)
