"""pydantic's validation errors told in words: the pattern a value missed, the key a typo
meant, a bool YAML read, a whole number written as a float."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Collection
from typing import Any

from ido.errors import Problem
from ido.model import Resource
from ido.model.capability_spec import SCRIPT_RUNNERS
from ido.model.fields import (
    CALLABLE_PATTERN,
    ENV_NAME_PATTERN,
    NAME_PATTERN,
    PATH_PATTERN,
    URL_PATTERN,
)
from ido.text import did_you_mean
from ido.validation import keys_at
from ido.yamlsrc import Document, FieldPath, format_path

PATTERNS = {
    NAME_PATTERN: "a name: lower-case letters, digits, '.', '_' and '-', starting and ending "
    "with a letter or digit, like 'charge-stripe-eu'",
    PATH_PATTERN: "a fact path: names of letters, digits and '_' joined by dots, not starting "
    "with a digit, like 'order.paid'",
    CALLABLE_PATTERN: "a Python function as 'package.module:function', like "
    "'capabilities.payments:charge' (modules joined by dots, without '.py')",
    URL_PATTERN: "an http:// or https:// URL",
    ENV_NAME_PATTERN: "an environment variable name: letters, digits and '_', not starting "
    "with a digit, like 'OPENAI_API_KEY'",
}
"""What the patterns of names, fact paths, functions and URLs ask for, in words (pydantic
shows the regex)."""
KEY_NOT_NAME = (
    "write the name of the variable that holds the key, never the key (what is written"
    " here is not repeated)"
)
"""What an `api_key_env` that is no variable's name says: a key pasted there (`sk-…`) was
echoed in the error, into terminals and CI logs."""

NO_RULES = (
    "a policy has at least one rule; to lift its last one, take the policy out of the "
    "intent's policies, or write the rule's condition as when: \"false\" (a replay with "
    "--policies DIR needs every policy the intent names in DIR)"
)
"""What a policy with `rules: []` says: pydantic's "List should have at least 1 item after
validation, not 0" said nothing of what to do instead."""
NO_RULES_ENFORCED = (
    "a policy has at least one rule; to lift its last one, write the rule's condition as "
    'when: "false", or take the policy out of the catalog (it is enforced: it governs every '
    "intent, whether the intent's policies name it or not)"
)
"""What an enforced policy with `rules: []` says: taking it out of an intent's policies,
as `NO_RULES` offers, changes nothing for an enforced one."""


def _problem_of(
    loc: FieldPath, error: Any, document: Document, shown: str, model: type[Resource]
) -> Problem:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        message = _extra_key(loc, model) if loc else "unknown key"
    elif kind == "missing":
        message = f"missing required key '{loc[-1]}'"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "too_short" and loc == ("spec", "rules") and model.__name__ == "Policy":
        # (a user lifting a policy's last rule, as a no-plan reason offers, emptied the list)
        message = NO_RULES_ENFORCED if _enforced(document.data) else NO_RULES
    elif kind == "int_type" and _whole(error.get("input")):
        # (`1e3` and `20.0` are read as 1000.0 and 20.0: "got 1000.0" named no mistake)
        whole = int(error["input"])
        message = f"a whole number is written without a decimal point or exponent: {whole}"
    elif kind == "literal_error" and isinstance(error.get("input"), str):
        message = f"{message} (got {error['input']!r}{_meant(error)})"
    elif kind == "model_type" and "input" in error:  # not pydantic's "or instance of X"
        keys = ", ".join(keys_at(model, loc))
        message = f"should be a mapping of {keys} (got {error['input']!r})"
        if isinstance(error["input"], str) and error["input"] in keys_at(model, loc):
            # (`expect: deny` for `expect: {deny: [policy/rule]}`: the key, without its value)
            message += (
                f": write '{error['input']}' as a key with its value, {{{error['input']}: …}}"
            )
    elif kind.endswith("_type") and _names_secrets(loc):  # (it may be the key itself)
        message = f"{message}: {SECRETS_NOT_VALUES}"
    elif kind == "list_type" and loc[-1:] == ("shell",) and isinstance(error.get("input"), str):
        message = f"{message} (got {error['input']!r}): {_argv(error['input'])}"
    elif kind == "list_type" and isinstance(error.get("input"), str):
        item = _flow_item(error["input"])
        message = f"{message} (got {error['input']!r}): write one item as a list, [{item}]"
    elif "input" in error and kind.endswith("_type"):
        message = f"{message} (got {error['input']!r})"
        if isinstance(error["input"], bool) and kind != "bool_type":
            message += f": {YAML_BOOLS}"
    elif kind in BOUNDS and isinstance(error.get("input"), int | float):
        # as written: a duration's input is its seconds by now ('0s' for 0.0)
        written = _written(document.data, loc, error["input"])
        message = f"{message} (got {written!r}){_percent(loc, error['input'])}"
    elif kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") in PATTERNS:
        pattern = error["ctx"]["pattern"]
        if pattern == ENV_NAME_PATTERN:  # (what is there may be the key itself: not echoed)
            message = f"not {PATTERNS[pattern]}: {KEY_NOT_NAME}"
        elif pattern == URL_PATTERN:  # (a credential before `@` is not echoed)
            message = f"{_url_shown(error['input'])!r} is not {PATTERNS[pattern]}"
        else:
            message = f"{error['input']!r} is not {PATTERNS[pattern]}"
    if loc and loc[-1] == "[key]":  # pydantic's mark for a mapping's key that failed
        loc = loc[:-1]
        key = repr(error.get("input", loc[-1] if loc else ""))
        said = message.startswith(key)  # in words already: "'x y' is not a fact path: …"
        message = f"the key {message}" if said else f"the key {key} is not valid: {message}"
    return Problem(shown, document.line_of(loc), format_path(loc), message)


BOUNDS = ("less_than", "less_than_equal", "greater_than", "greater_than_equal")
PROBABILITIES = ("min_success_probability", "reliability", "success")
"""Fields that hold a probability from 0 to 1, where a percentage (80) is a likely slip."""


def _url_shown(url: str) -> str:
    """`url` as a load error quotes it: what may be a credential masked (`masked_url`), its
    scheme as written (`HTTP`, which is what is wrong, not `http`), or only its scheme when
    it does not split as a URL (an unclosed `[`)."""
    from ido.secrets import masked_url

    scheme, sep, _ = url.partition("://")
    try:
        masked = masked_url(url)
    except ValueError:
        return f"{scheme}://…"
    return f"{scheme}://{masked.partition('://')[2]}" if sep else masked


def _written(data: Any, loc: FieldPath, parsed: Any) -> Any:
    """The value at `loc` in the document as written, else `parsed`."""
    for key in loc:
        mapped = isinstance(data, dict) and key in data
        listed = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (mapped or listed):
            return parsed
        data = data[key]
    return data if isinstance(data, int | float | str) else parsed


def _percent(loc: FieldPath, value: float) -> str:
    """For a probability written as a percentage (`min_success_probability: 80`), how to
    write it; else nothing."""
    if loc and loc[-1] in PROBABILITIES and 1 < value <= 100:
        return f": a probability is written from 0 to 1 ({value / 100:g} for {value:g}%)"
    return ""


SECRETS_NOT_VALUES = (
    "write the names of the variables, as a list ([PSP_TOKEN]), never their values (what"
    " is written here is not repeated)"
)
"""What a `secrets` or `api_key_env` of another type says: `secrets: sk_live_…` (a scalar),
or a PIN as a number, was echoed in the error, twice, into terminals and CI logs."""


def _names_secrets(loc: FieldPath) -> bool:
    """Whether `loc` is a field that names secrets (`secrets`, an item of it, `api_key_env`):
    an error there must not quote what was written."""
    named = [key for key in loc if isinstance(key, str)]
    return bool(named) and named[-1] in ("secrets", "api_key_env")


def _argv(command: str) -> str:
    """How to write a command line as `shell` takes it: one list item per argument, as no
    shell splits it (the one-item list the other list fields suggest would name a program
    called `sh deploy.sh`)."""
    try:
        words = shlex.split(command)
    except ValueError:  # a quote not closed: split at spaces, as the user will see it
        words = command.split()
    if len(words) == 1 and "/" not in words[0] and words[0].endswith(tuple(SCRIPT_RUNNERS)):
        # (a name without a folder is looked for on PATH only: the project's script never is)
        script = f"./{words[0]}"
        shown = script if re.fullmatch(r"[\w.\-]+", words[0]) else json.dumps(script)
        return f"write it as a list, with its folder, [{shown}]"
    if len(words) < 2:
        return f"write one item as a list, [{_flow_item(command)}]"
    argv = ", ".join(word if _plain_arg(word) else json.dumps(word) for word in words)
    return (
        f"write the program and each argument as an item, [{argv}] (no shell splits the "
        "command; for a pipe, [sh, -c, '…'])"
    )


def _plain_arg(word: str) -> bool:
    """Whether YAML reads `word` unquoted in a flow list as this text (`-m`, `--env`,
    `bin/deploy.sh`; not `yes`, a bool)."""
    return bool(re.fullmatch(r"-{0,2}[A-Za-z_][\w./\-]*", word)) and word.lower() not in _YAML_WORDS


def _flow_item(text: str) -> str:
    """`text` as an item of a YAML flow list, `[…]`: quoted unless it is a plain name or
    path (`state.x && !state.y` holds what YAML would read otherwise)."""
    plain = re.fullmatch(r"[A-Za-z_][\w.\-]*", text) and text.lower() not in _YAML_WORDS
    return text if plain else json.dumps(text)


_YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "y", "n"})


YAML_BOOLS = "YAML reads yes, no, on, off, true and false as a bool; quote text ('no')"
"""Why a value written as `region: no` (Norway) or `tags: [on]` is a bool."""


def _enforced(data: Any) -> bool:
    """Whether a policy's document, as written, sets `enforced: true`."""
    spec = data.get("spec") if isinstance(data, dict) else None
    return isinstance(spec, dict) and spec.get("enforced") is True


def _whole(value: Any) -> bool:
    """Whether `value` is a float that holds a whole number (`1e3`, `20.0` as YAML reads
    them), where an integer is wanted."""
    return isinstance(value, float) and value.is_integer()


def _meant(error: Any) -> str:
    """`; did you mean 'auto'?` for a value written otherwise than one of those allowed
    (`Auto`, `automatic`, `get` for `GET`), or nothing."""
    allowed = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
    guess = _guess(error["input"], allowed)
    return f"; {guess}" if guess else ""


def _guess(written: str, allowed: Collection[str]) -> str | None:
    """`did you mean 'Intent'?` for a word written otherwise than one of `allowed`: in
    another case (`intent`, `get` for `GET`), else close to one (`Intnet`); None when none
    is close."""
    same = [a for a in allowed if a.lower() == written.lower()]
    return f"did you mean '{same[0]}'?" if same else did_you_mean(written, allowed)


KEY_LIKENESS = 0.8
"""How alike an unknown key must be to a known one to be told as its typo: `provdier`,
`timout` and `lables` are; `price` is not `provider` (it means `cost`)."""


def _number_of(key: str, known: Collection[str]) -> str | None:
    """`did you mean 'policies'?` for `policy`, a key written in the singular where the
    plural is wanted (or the other way round): too unlike for `did_you_mean`."""
    forms = {key + "s", key.removesuffix("s"), key[:-1] + "ies", key.removesuffix("ies") + "y"}
    meant = sorted(form for form in forms - {key} if form in known)
    return f"did you mean '{meant[0]}'?" if meant else None


def _extra_key(loc: FieldPath, model: type[Resource]) -> str:
    """An unknown key in words, with the key it is likely a typo of (`provdier`: did you
    mean 'provider'?), or, at the top of a resource, the `spec` it belongs under (a key
    not indented)."""
    key = str(loc[-1])
    known = keys_at(model, loc[:-1])
    guess = _number_of(key, known) or did_you_mean(key, known, cutoff=KEY_LIKENESS)
    if guess is not None:
        return f"unknown key '{key}'; {guess}"
    if len(loc) == 1 and key in keys_at(model, ("spec",)):
        return f"unknown key '{key}'; it belongs under spec: (indent it)"
    return f"unknown key '{key}'"
