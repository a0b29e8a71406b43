"""One chat completion through litellm. The only module that imports litellm, and only when
an `llm` or `hybrid` planner asks a model (importing it takes seconds).

litellm's own retries are off: ido owns retries and fallbacks (a failed call falls back to
the solver for that decision, and the next decision asks again). `llm.timeout` bounds the
whole call, not each read of it. Nothing is downloaded at run time: the model cost map is
litellm's local copy. (But for a `huggingface/` model litellm fetches its config.json from
huggingface.co, with no setting against it: docs/yaml-reference.md says so.)
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ido.errors import ExecutionError
from ido.model import LlmSettings, format_duration
from ido.secrets import Secrets, mask_all, unmasked_names, url_credentials
from ido.text import shortened


@dataclass(frozen=True)
class Reply:
    """What a model answered: tool calls (name, raw JSON arguments), text, usage, or the
    error that stopped the call."""

    tool_calls: tuple[tuple[str, str], ...] = ()
    content: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    cut: int = 0
    """Tool calls past `MOST_CALLS`, left out."""
    usage_error: str | None = None
    """What was wrong with the usage or price the response gave, counted as none instead."""
    asked: bool = True
    """Whether a model was asked: False when the call could not be made (no API key, no
    litellm), which is no call, nor a failure of the model."""

    def to_json(self) -> dict[str, Any]:
        out = {
            "tool_calls": [list(call) for call in self.tool_calls],
            "content": self.content,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
            "seconds": self.seconds,
            "error": self.error,
        }
        if self.usage_error is not None:
            out["usage_error"] = self.usage_error
        if not self.asked:  # (recorded as before for a call made)
            out["asked"] = False
        return {**out, "cut": self.cut} if self.cut else out  # recorded as before if none

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reply:
        return cls(
            tool_calls=tuple((str(n), str(a)) for n, a in data.get("tool_calls", [])),
            content=data.get("content"),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            cost=data.get("cost"),
            seconds=float(data.get("seconds", 0.0)),
            error=data.get("error"),
            cut=int(data.get("cut", 0)),
            usage_error=data.get("usage_error"),
            asked=bool(data.get("asked", True)),
        )


class LitellmClient:
    """Calls a model through litellm; never raises: a failure is a Reply with an error."""

    def complete(
        self,
        settings: LlmSettings,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> Reply:
        _offline()
        options: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "tools": list(tools),
            "tool_choice": "auto",
            "temperature": settings.temperature,
            "timeout": settings.timeout,
            "num_retries": 0,
            "max_retries": 0,
        }
        if settings.max_tokens is not None:  # (unset: the request as it always was)
            options["max_tokens"] = settings.max_tokens
        api_base = settings.api_base or os.environ.get("IDO_LLM_API_BASE")
        secrets = Secrets()
        if api_base:
            try:  # `${env:NAME}` keeps a credential in the URL out of the YAML and journal
                api_base = options["api_base"] = secrets.expand(api_base)
            except ExecutionError as exc:
                return Reply(error=f"api_base: {exc}", asked=False)
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if not key:
                said = f"the environment variable {settings.api_key_env} is not set"
                return Reply(error=said, asked=False)
            options["api_key"] = key
        elif api_base:
            options["api_key"] = os.environ.get("OPENAI_API_KEY", "none")  # local servers
        try:  # (after what needs no litellm: a key not set is told without importing it)
            import litellm
        except ImportError:
            return Reply(error="the llm planner needs litellm: pip install 'ido[llm]'", asked=False)
        litellm.suppress_debug_info = True
        _warm()
        # A provider may quote the key it was sent ("Incorrect API key provided: sk-…"),
        # and a model may echo it: errors, text, tool names and tool-call arguments (as
        # written and as decoded) are masked before they are recorded, and so are
        # credentials in `api_base`. (The model is never told the key.) Not given one,
        # litellm reads the provider's own variable (OPENAI_API_KEY, …): every
        # credential-like variable's value is masked then too, but those the user said
        # are no secrets (`IDO_UNMASKED_ENV`, as for bindings and observers).
        keys = [] if options.get("api_key") in (None, "none") else [str(options["api_key"])]
        plain = unmasked_names(os.environ)
        keys += [
            value
            for name, value in os.environ.items()
            if CREDENTIAL.search(name) and len(value) >= SHORTEST_CREDENTIAL and name not in plain
        ]
        keys += [v for v in url_credentials(api_base or "") if len(v) >= SHORTEST_CREDENTIAL]
        # Wherever in the URL they went (its path, say); a short one (`eu`) is left alone,
        # as elsewhere: masked, it would turn `charge-stripe-eu` in a reply into `…-***`.
        keys += sorted(v for v in secrets.values if len(v) >= SHORTEST_CREDENTIAL)
        started = time.perf_counter()
        try:
            response = _within(settings.timeout, lambda: litellm.completion(**options))
        except Exception as exc:  # every provider failure becomes a recorded error
            return Reply(error=_error(exc, keys), seconds=time.perf_counter() - started)
        seconds = time.perf_counter() - started
        # What the call used is counted even when the answer cannot be read: it was paid for.
        inputs, outputs, wrong = _tokens(getattr(response, "usage", None))
        cost = _cost(litellm, response, settings, inputs, outputs)
        if not math.isfinite(cost) or cost < 0:
            wrong.append(f"cost {cost!r}")
            cost = 0.0
        usage_error = _unreadable(wrong, keys)
        try:
            message = response.choices[0].message
            every = list(message.tool_calls or ())
            calls = tuple(
                (
                    _cut(mask_all(str(c.function.name), keys), MOST_NAME),
                    _cut(_masked_arguments(str(c.function.arguments or ""), keys)),
                )
                for c in every[:MOST_CALLS]
            )
        except (AttributeError, IndexError, TypeError, ValueError) as exc:
            return Reply(
                error=f"unreadable answer: {exc}",
                input_tokens=inputs,
                output_tokens=outputs,
                cost=cost,
                seconds=seconds,
                usage_error=usage_error,
            )
        return Reply(
            tool_calls=calls,
            content=None if message.content is None else _cut(mask_all(str(message.content), keys)),
            cut=max(0, len(every) - MOST_CALLS),
            input_tokens=inputs,
            output_tokens=outputs,
            cost=cost,
            seconds=seconds,
            usage_error=usage_error,
        )


WARM = ("litellm.responses.mcp.chat_completions_handler", "openai.resources", "httpcore")
"""What litellm (1.106.2) imports on its first call, not with itself: its MCP handler,
asked for by every call, and the OpenAI SDK's resources and the HTTP transport, which
every OpenAI-compatible server's call uses. 0.5 to 2 s in all, the first call of a
process was recorded as taking that much longer: model latency in the health beliefs,
time taken from the deadline (a 3.9 s deadline had 1.35 s gone before the first plan)."""


def warm() -> None:
    """Import litellm, and what its first call imports, now: when a model planner is built,
    before a run's clock starts. Imported in the first decision, it took seconds (2 to 5 on
    a busy machine) that no model call counted, yet the run's deadline did: the decision
    planned with time the run no longer had, and its first step was stopped "past the 6s
    deadline". Without litellm, nothing: the first call says to install it."""
    _offline()
    with contextlib.suppress(ImportError):
        importlib.import_module("litellm")
        _warm()


def _offline() -> None:
    """Nothing downloaded at run time: litellm's local cost map; no Hugging Face Hub."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _warm() -> None:
    """Import `WARM` before a call's clock starts (once: Python keeps what it imported)."""
    for name in WARM:
        with contextlib.suppress(ImportError):  # another litellm moved it: its call pays
            importlib.import_module(name)


MOST_TEXT = 16_000
"""Most characters of a reply's text, and of each tool call's arguments, that ido records
and feeds back to the model; the rest is cut, and the cut marked."""
MOST_NAME = 200
"""Most characters of a tool call's name kept (no capability's tool name is longer)."""
MOST_CALLS = 200
"""Most tool calls of one reply kept: as many steps as a plan may have (`max_steps`)."""


def _cut(text: str, most: int = MOST_TEXT) -> str:
    """`text`, cut to `most` characters and the cut marked (masked before: a secret
    cut in two would not be found)."""
    if len(text) <= most:
        return text
    return f"{text[:most]}…[{len(text) - most} more characters cut]"


class Timeout(Exception):
    """The call took longer than `llm.timeout` in all (recorded as the call's error)."""


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """What `call()` returns (or raises), if it ends within `seconds` in all.

    litellm's `timeout` bounds each read of the answer, not the call: a server that
    trickles a byte at a time never trips it. So the call runs on a daemon thread, waited
    for `seconds`; past that, it is abandoned to end on its own (litellm's read timeout
    ends it once the server falls silent), and a daemon thread never holds up the exit.
    """
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append((False, exc))

    worker = threading.Thread(target=work, name="ido-model-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise Timeout(f"no complete answer within {format_duration(seconds)}")
    done, value = outcome[0]
    if not done:
        raise value
    return value


def _masked_arguments(text: str, keys: list[str]) -> str:
    """A tool call's arguments (JSON text), masked as written and as read: a key written
    in JSON escapes (`\\u0073\\u006b…`) is not in the text, but it is in what the text
    decodes to, which the planner records (a step's rationale)."""
    masked: str = mask_all(text, keys)
    try:
        value = json.loads(masked)
    except (ValueError, RecursionError):  # not JSON: the planner cannot read it either
        return masked
    try:
        clean = mask_all(value, keys)
        return masked if clean == value else json.dumps(clean, ensure_ascii=False)
    except RecursionError:  # read, but too deep to mask: not kept, nor read
        return TOO_DEEP


TOO_DEEP = "(arguments nested too deep to read)"


def _tokens(usage: Any) -> tuple[int, int, list[str]]:
    """The input and output tokens a response says it used, and every count that is not a
    count of tokens (a whole number, 0 or more): each such counts as none. What a call
    costs can only take from the budget: `prompt_tokens: -3000000` at a declared price
    made a call cost -3000 and raised the budget by as much."""
    counts, wrong = [], []
    for name in ("prompt_tokens", "completion_tokens"):
        value = getattr(usage, name, None)
        count = 0 if value is None else _count(value)
        if count is None:
            wrong.append(f"{name} {value!r}")
        counts.append(count or 0)
    return counts[0], counts[1], wrong


def _count(value: Any) -> int | None:
    """`value` as a number of tokens, if it is one (`120`, `120.0`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():  # NaN and infinities too
        return None
    return int(value) if value >= 0 else None


def _unreadable(wrong: list[str], keys: list[str]) -> str | None:
    """What the record says of usage that counts as none (masked: a server wrote it)."""
    if not wrong:
        return None
    said = _cut(mask_all(", ".join(wrong), keys), 300)
    return f"unreadable usage ({said}): counted as 0"


def _cost(litellm: Any, response: Any, settings: LlmSettings, inputs: int, outputs: int) -> float:
    """litellm's price for the call if it knows the model, else the intent's declared one,
    else 0 (local models cost nothing per token)."""
    if settings.input_cost is not None or settings.output_cost is not None:
        per_input, per_output = settings.input_cost or 0.0, settings.output_cost or 0.0
        return (inputs * per_input + outputs * per_output) / 1e6
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # an unmapped model: litellm has no price for it
        return 0.0


CREDENTIAL = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
"""Environment variables whose values are masked in a provider's errors, by name."""
SHORTEST_CREDENTIAL = 8
"""Shorter values are left alone: masking "1" would mask every 1 in the message."""


def _error(exc: Exception, keys: list[str]) -> str:
    """A provider failure in one short line: its kind, its HTTP status, what the provider
    said. litellm's text runs to many lines (a server's JSON or HTML error page), repeats
    class names as it re-raises ("ContextWindowExceededError: BadRequestError: …") and
    names its adapter ("OpenAIException - "); the reason a user reads is none of that."""
    root = _root(exc)
    if isinstance(root, json.JSONDecodeError):  # an answer came, but not one to read
        return f"the answer is not JSON: {_said(mask_all(str(root), keys))}"
    name = type(exc).__name__
    status = _status(root)
    kind = f"{name} (HTTP {status})" if status is not None and status >= 400 else name
    said = _said(mask_all(str(exc), keys))  # masked before it is cut
    return f"{kind}: {said}" if said else kind


def _root(exc: BaseException) -> BaseException:
    """The exception at the bottom of `exc`'s chain: what went wrong first, under the
    kinds litellm re-raises it as."""
    seen = {id(exc)}
    while (below := exc.__cause__ or exc.__context__) is not None and id(below) not in seen:
        seen.add(id(below))
        exc = below
    return exc


def _status(root: BaseException) -> int | None:
    """The HTTP status the server answered with, if the failure was an answer's status.
    litellm gives every failure it cannot class a status of 500, a refused connection and
    an answer that is not JSON alike: only the first exception of the chain, the one raised
    where the answer was read, says whether there was one."""
    status = getattr(root, "status_code", None)
    if status is None:
        status = getattr(getattr(root, "response", None), "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


MOST_ERROR = 200
"""Most characters of what a provider said that a reason keeps."""
_REPEATED = re.compile(r"^(?:(?:litellm\.)?\w+(?:Error|Exception)(?::| -)\s*)+")
"""The class and adapter names litellm puts before the provider's words."""
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _said(text: str) -> str:
    """What a provider's error says, on one line and cut to `MOST_ERROR` characters: the
    message of a JSON body, the title of an HTML page."""
    text = _REPEATED.sub("", text.replace("LiteLLM ", "").strip())
    if text.startswith("{"):
        with contextlib.suppress(ValueError, RecursionError):
            text = _message(json.loads(text)) or text
    if text.startswith("<"):
        title = _TITLE.search(text)
        text = title.group(1) if title else "an HTML page"
    return shortened(" ".join(text.split()), MOST_ERROR)


def _message(body: Any) -> str | None:
    """The message of a JSON error body (`{"error": {"message": …}}`, `{"message": …}`)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        return message if isinstance(message, str) else None
    return None
