"""The user docs name only commands and options that exist, cli.md names every option, and
the YAML reference names every field a user may write, with the model's default."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import BaseModel

from ido.cli import app
from ido.model import KINDS
from ido.model.durations import parse_duration
from ido.rule_types import CAPABILITY, PLAN, rule_shapes

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + [
    page for page in sorted((ROOT / "docs").glob("*.md")) if page.name != "benchmarks.md"
]
# `ido CMD [SUB] …` up to what ends a command line in prose or a shell: a pipe, `;`, `&`,
# a `$(` (another command), or the next `ido `.
INVOCATION = re.compile(r"\bido ([a-z][a-z-]*)((?: [^|;&`$]*?)?)(?= ido |[|;&$]|$)")
OPTION = re.compile(r"(?<![\w/=-])(--?[a-zA-Z][a-z0-9-]*)")


def _commands() -> dict[str, Any]:
    """Every command by the words that call it: `run`, `policy test`, `temporal pull`
    (typer's own click commands, hence Any)."""
    found: dict[str, Any] = {}
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        found[name] = command
        for sub, subcommand in getattr(command, "commands", {}).items():
            found[f"{name} {sub}"] = subcommand
    return found


def _options(command: Any, hidden: bool = True) -> set[str]:
    names = {"-h", "--help"}
    for parameter in command.params:
        if parameter.param_type_name == "option" and (hidden or not parameter.hidden):
            names.update(parameter.opts)
            names.update(parameter.secondary_opts)
    return names


def _code_lines(text: str) -> Iterator[str]:
    """The inline code spans and the lines of the shell blocks of a page."""
    yield from re.findall(r"`([^`\n]+)`", text)
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, re.DOTALL):
        yield from block.splitlines()


def _invocations() -> list[tuple[str, str, str]]:
    """(page, command words, the options written after them) for each `ido …` shown."""
    commands = _commands()
    found = []
    for page in PAGES:
        for line in _code_lines(page.read_text(encoding="utf-8")):
            line = line.split("#")[0]  # a shell comment is prose
            for match in INVOCATION.finditer(line):
                name, rest = match.group(1), match.group(2)
                words = rest.split()
                if words and f"{name} {words[0]}" in commands:
                    name = f"{name} {words[0]}"
                if name in commands:
                    found.append((page.name, name, rest))
    return found


def test_every_command_and_option_the_docs_show_exists() -> None:
    """An option a page shows after `ido CMD` is one CMD takes (a renamed or removed flag
    left in the docs fails here), and each command the CLI has is shown somewhere."""
    commands = _commands()
    invocations = _invocations()
    assert len(invocations) > 200
    unknown = []
    for page, name, rest in invocations:
        for option in OPTION.findall(rest):
            if option not in _options(commands[name]) | {"--version"}:
                unknown.append(f"{page}: ido {name} {option}")
    assert unknown == []
    shown = {name for _, name, _ in invocations}
    groups = {name for name, command in commands.items() if hasattr(command, "commands")}
    assert set(commands) - groups <= shown  # (a group is shown by its subcommands)


def test_every_option_of_a_command_is_in_the_cli_reference() -> None:
    """docs/cli.md names each option of each command (`--tls-ca`, `--heartbeat-timeout`):
    a flag added without a word there fails here."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [
        f"ido {name} {option}"
        for name, command in _commands().items()
        for option in sorted(_options(command, hidden=False))  # (not --worker, ido's own)
        if option.startswith("--") and not re.search(rf"(?<![\w-]){option}(?![\w-])", text)
    ]
    assert missing == []


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[tuple[str, str]]:
    """(model, key) for every key a user may write in a resource, nested ones too."""
    for name, field in model.model_fields.items():
        yield model.__name__, field.alias or name
        for nested in _models(field.annotation):
            if nested not in seen:
                seen.add(nested)
                yield from _fields(nested, seen)


def test_every_field_of_the_models_is_in_the_yaml_reference() -> None:
    """Each key of each kind (`spec.limits.search_states`, a fault's `fail_next`, a
    policy test case's `health`) is written in docs/yaml-reference.md as a key."""
    text = (ROOT / "docs" / "yaml-reference.md").read_text(encoding="utf-8")
    seen: set[type[BaseModel]] = set()
    fields = {pair for kind in KINDS.values() for pair in _fields(kind, seen)}
    assert len(fields) > 100
    missing = sorted(
        f"{model}.{key}"
        for model, key in fields
        if not re.search(rf"`(?:[\w.\[\]]*\.)?{re.escape(key)}(?:`|:)|\b{re.escape(key)}:", text)
    )
    assert missing == []


def _defaults() -> dict[str, list[object]]:
    """Each key users write, with the default of each model field of that name."""
    seen: set[type[BaseModel]] = set()
    found: dict[str, list[object]] = {}

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            if not field.is_required():
                found.setdefault(field.alias or name, []).append(
                    field.get_default(call_default_factory=True)
                )
            for nested in _models(field.annotation):
                if nested not in seen:
                    seen.add(nested)
                    walk(nested)

    for kind in KINDS.values():
        walk(kind)
    return found


def _is(written: object, default: object) -> bool:
    if isinstance(default, BaseModel):  # `{}` for a mapping whose keys all have defaults
        return type(default).model_validate(written) == default
    if isinstance(default, float) and not isinstance(written, bool):
        return isinstance(written, int | float) and float(written) == default
    return written == default


def test_the_defaults_the_yaml_reference_states_are_the_models() -> None:
    """A default written as a value in a field table (`30s`, `3`, `false`, `{}`) is what the
    model takes when the key is left out."""
    text = (ROOT / "docs" / "yaml-reference.md").read_text(encoding="utf-8")
    defaults = _defaults()
    checked = 0
    for table in re.findall(
        r"^\| field \| type \| default \|.*\n\|[-|]+\|\n((?:\|.*\n)+)", text, re.M
    ):
        for key, written in re.findall(r"^\| `([a-z_]+)` \| [^|]* \| `([^`|]+)` \|", table, re.M):
            if written.isupper():  # an environment variable's name: where the default comes from
                continue
            try:
                value: object = parse_duration(written)
            except ValueError:
                value = yaml.safe_load(written)
            assert any(_is(value, default) for default in defaults[key]), (key, written)
            checked += 1
    assert checked > 30


def test_the_keys_rules_read_are_those_the_reference_lists() -> None:
    """The reference's table of `capability` and its list of `plan`'s keys are the keys
    the load's type check knows: a key added to one and not the other fails here."""
    text = (ROOT / "docs" / "yaml-reference.md").read_text(encoding="utf-8")
    shapes = dict(rule_shapes())
    table = text.split("**`capability`** is the candidate capability as a map:")[1]
    table = table.split("\n\n")[1]
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE)
    assert listed == [name for name, _ in CAPABILITY.fields]
    assert shapes["capability"] is CAPABILITY
    plan = text.split("**`plan`** (plan rules) adds up the plan's steps:")[1].split("\n\n")[0]
    assert set(re.findall(r"`([a-z_]+)`", plan)) == {name for name, _ in PLAN.fields}
    assert shapes["plan"] is PLAN
