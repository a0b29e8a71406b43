"""The fields every resource kind shares: names, paths, conditions, secret references,
headers, labels and facts, each checked as a user writes it, and the strict base model."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

from ido.text import acts

NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$"


SECRET_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}?")


PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


CALLABLE_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"


URL_PATTERN = r"^https?://"


ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _secret_references(value: Any) -> Any:
    """Refuse `${...}` that is not `${env:NAME}`, in any string of `value`, however nested."""
    if isinstance(value, str):
        for match in _PLACEHOLDER.finditer(value):
            if not SECRET_REFERENCE.fullmatch(match.group(0)):
                raise ValueError(
                    f"'{match.group(0)}' is not a secret reference; write ${{env:NAME}} "
                    "to use the environment variable NAME"
                )
    elif isinstance(value, list):
        for item in value:
            _secret_references(item)
    elif isinstance(value, dict):
        for item in value.values():
            _secret_references(item)
    return value


Templated = AfterValidator(_secret_references)


HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name: an HTTP token (RFC 9110), in bindings and in the OTLP exporter's headers."""


HEADER_NAME_WORDS = "letters, digits and !#$%&'*+-.^_`|~"
"""`HEADER_NAME` in words."""


def _header_names(headers: dict[str, str]) -> dict[str, str]:
    """Refuse a header name HTTP cannot carry: `X-${env:TEAM}` loaded (names are not
    substituted) and every call failed, `Invalid header name`."""
    for name in headers:
        if not HEADER_NAME.fullmatch(name):
            said = "; ${env:NAME} is substituted in header values only" if "${" in name else ""
            raise ValueError(f"{name!r} is not a header name ({HEADER_NAME_WORDS}){said}")
    return headers


def _no_credentials(url: str) -> str:
    """Refuse a user and password written in a binding's or observer's URL: Python's HTTP
    client does not send them, and reads them as part of the host, so every call failed
    as `[Errno -2] Name or service not known` (or `nonnumeric port`)."""
    netloc = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc:
        raise ValueError(
            "a user and password before '@' are not sent (every call would fail); send them "
            'in a header instead: headers: {Authorization: "Basic ${env:BASIC_AUTH}"}'
        )
    return url


def _no_nul(argv: list[str]) -> list[str]:
    """A program's arguments are C strings: one holding NUL cannot be passed at all (the
    step then stopped the run with a traceback, left "outcome unknown" for resume)."""
    for i, item in enumerate(argv):
        if "\0" in item:
            raise ValueError(f"item {i} holds a NUL character, which no program can be given")
    return argv


def _finite(value: Any, where: str = "") -> Any:
    """Refuse `.nan` and `.inf` in a value however nested: rules compare facts (`amount >
    1000.0` does not hold of NaN, so an approval rule let it through) and the journal keeps
    JSON, which has no NaN."""
    if _all_finite(value):  # (the usual case: no path worked out for every item)
        return value
    return _finite_at(value, where)


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return True
    for item in value:  # (a call only for what may hold a number not finite)
        if isinstance(item, float | list | dict) and not _all_finite(item):
            return False
    return True


def _finite_at(value: Any, where: str) -> Any:
    """`_finite`, raising with the path (`where`) of the first number that is not finite."""
    if isinstance(value, float) and not math.isfinite(value):
        at = f" (at {where})" if where else ""
        raise ValueError(f"numbers must be finite, not {value}{at}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _finite_at(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _finite_at(item, f"{where}.{key}" if where else str(key))
    return value


def _one_line(text: str) -> str:
    """A message people read in `ido approvals`, `ido run` and `ido explain`: one line
    (a block scalar's last line break dropped), with nothing a terminal would act on, so
    that it cannot forge lines there or move the cursor."""
    text = text.strip()
    if not text:
        raise ValueError("a message says something; this one is blank")
    return _shown_in_line(text, "a message")


OneLine = Annotated[str, AfterValidator(_one_line)]


def _label(text: str) -> str:
    """A provider, region or tag: shown beside other text in `ido explain` and `ido audit`,
    so it holds nothing a terminal would act on (a line break, an escape sequence)."""
    return _shown_in_line(text, "a provider, region or tag")


def _shown_in_line(text: str, what: str) -> str:
    """`text`, refused when it holds what a terminal acts on: it would forge lines or move
    the cursor where it is shown."""
    if text.isprintable():  # none of those (all unprintable), told in C: the usual case
        return text
    acting = next((c for c in text if acts(c)), None)
    if acting is not None:
        raise ValueError(
            f"{what} is one line of text; this one holds {acting!r}, which would forge "
            "lines or move the cursor where it is shown"
        )
    return text


Label = Annotated[str, AfterValidator(_label)]


def _owner(text: str) -> str:
    """Who answers for a policy, shown beside its rules: a name, on one line."""
    text = text.strip()
    if not text:
        raise ValueError("an owner names a team or a person; this one is blank")
    return _shown_in_line(text, "an owner")


Owner = Annotated[str, AfterValidator(_owner)]


Facts = Annotated[dict[str, Any], AfterValidator(_finite)]
"""Facts a user writes (an intent's `given`, a capability's `effects`): JSON-like values,
numbers finite."""


MOST_STEPS = 200
"""The most steps `limits.max_steps` may allow a plan."""


Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=120)]


FactPath = Annotated[str, Field(pattern=PATH_PATTERN)]


Condition = Annotated[str, Field(min_length=1, description="A CEL expression that yields a bool.")]


class Strict(BaseModel):
    """Base of every user-written model: unknown keys are errors, values are not coerced.

    Numbers must be finite: the planner adds costs and latencies up, and `.inf` or `.nan`
    would make every sum meaningless. A model's validator is built when it is first used
    (`defer_build`), not on import: a command pays for the models it reads alone (`ido plan
    --pddl` reads no scenario or policy test).
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, defer_build=True
    )


class Metadata(Strict):
    name: Name = Field(description="Unique name of the resource; equals the file stem.")
    description: str | None = Field(default=None, description="Free text for people.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free key/value labels.")
