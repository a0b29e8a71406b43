"""The types of what rules read (`capability`, `plan`, `intent`, `health`), declared to CEL's
checker so that a type mistake (`capability.latency > duration('1s')`) is told at load
time, not found by a run's rule failing closed. `state` stays dyn: observers shape it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cel_expr_python import cel

from ido.conditions._messages import ConditionError, _where
from ido.conditions._reading import VARIABLES
from ido.text import did_you_mean


@dataclass(frozen=True)
class Record:
    """A map whose keys ido knows, each with its type: a `Shape` each."""

    fields: tuple[tuple[str, Shape], ...]


@dataclass(frozen=True)
class Each:
    """A map of any keys (`health`: one per capability), each value of one shape."""

    value: Shape


Shape = str | Record | Each
"""A value's type: `Record`, `Each`, or one of `SCALARS`, `list<…>` of one, `map` (string
keys, any values) or `dyn` (anything); `?` after a scalar: it may be null."""
SCALARS = {"double": "a number", "seconds": "a number of seconds", "int": "a whole number"}
SCALARS |= {"bool": "true or false", "string": "a string", "duration_text": "a duration as text"}
_FIELD_TYPES = {"double": "TYPE_DOUBLE", "seconds": "TYPE_DOUBLE", "int": "TYPE_INT64"}
_FIELD_TYPES |= {"bool": "TYPE_BOOL", "string": "TYPE_STRING", "duration_text": "TYPE_STRING"}
_WRAPPERS = {"double": "DoubleValue", "seconds": "DoubleValue", "int": "Int64Value"}
_WRAPPERS |= {"bool": "BoolValue", "string": "StringValue", "duration_text": "StringValue"}
_PACKAGE = "ido.rules"


def _message(into: Any, name: str, full: str, record: Record) -> None:
    """Declare `record` as the message `name` (`full`: its full name) in `into`, a file's
    or an enclosing message's list of messages."""
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto as field

    message = into.add(name=name)
    for number, (key, shape) in enumerate(record.fields, start=1):
        entry = message.field.add(name=key, number=number, label=field.LABEL_OPTIONAL)
        if isinstance(shape, Record):
            inner = key.title().replace("_", "")
            _message(message.nested_type, inner, f"{full}.{inner}", shape)
            entry.type, entry.type_name = field.TYPE_MESSAGE, f".{full}.{inner}"
            continue
        kind = shape.removeprefix("list<").removesuffix(">") if isinstance(shape, str) else ""
        if kind != shape:
            entry.label = field.LABEL_REPEATED
        if kind in _FIELD_TYPES:
            entry.type = getattr(field, _FIELD_TYPES[kind])
        elif kind.endswith("?") and kind[:-1] in _WRAPPERS:  # (null, or a value of its type)
            entry.type = field.TYPE_MESSAGE
            entry.type_name = f".google.protobuf.{_WRAPPERS[kind[:-1]]}"
        else:  # map, dyn, or a shape CEL is not told of: what is in it is checked when run
            value = "Struct" if kind == "map" else "Value"
            entry.type, entry.type_name = field.TYPE_MESSAGE, f".google.protobuf.{value}"


def _type(name: str, shape: Shape) -> Any:
    if isinstance(shape, Record):
        return cel.Type(f"{_PACKAGE}.{name}")
    if isinstance(shape, Each):
        return cel.Type.Map(cel.Type.STRING, _type(name, shape.value))
    return cel.Type.Map(cel.Type.STRING, cel.Type.DYN)


@cache
def _typed_env(shapes: tuple[tuple[str, Shape], ...]) -> Any:
    # (protobuf imported here: only a load that checks rules needs it, not every command)
    from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    for module in (wrappers_pb2, struct_pb2):
        known = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(known)
        pool.Add(known)
    proto = descriptor_pb2.FileDescriptorProto(
        name="ido/rules.proto",
        package=_PACKAGE,
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto", "google/protobuf/struct.proto"],
    )
    variables = {}
    for variable, shape in shapes:
        name = variable.title()
        record = shape.value if isinstance(shape, Each) else shape
        if isinstance(record, Record):
            _message(proto.message_type, name, f"{_PACKAGE}.{name}", record)
        variables[variable] = _type(name, shape)
    pool.Add(proto)
    for variable in VARIABLES:  # (`state`, and any not told of: dyn)
        variables.setdefault(variable, cel.Type.Map(cel.Type.STRING, cel.Type.DYN))
    return cel.NewEnv(descriptor_pool=pool, variables=variables)


_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_OVERLOAD = re.compile(r"found no matching overload for '([^']+)' applied to '\((.*)\)'")
_FIELD = re.compile(r"undefined field '(\w+)' not found in struct '([\w.]+)'")
_SELECT = re.compile(r"expression of type '(.+)' cannot be the operand of a select operation")
_NUMBERS = re.compile(r"(?:int|uint|double|list\((?:int|uint|double)\))")
_COMPARING = frozenset({"_<_", "_<=_", "_>_", "_>=_", "_==_", "_!=_", "@in"})
_ARITHMETIC = {"_+_": "+", "_-_": "-", "_*_": "*", "_/_": "/", "_%_": "%"}


def type_problem(source: str, shapes: tuple[tuple[str, Shape], ...]) -> ConditionError | None:
    """What CEL's checker finds wrong with the types in `source`, a condition that compiles,
    when the variables of `shapes` have those shapes; None if nothing. What CEL does at
    run time without a complaint is not told: numbers of different kinds compared (`1 <
    1.5`), a value compared with null, a known map read as a map (`'x' in capability`)."""
    found = _type_check(source, shapes)
    if found is None:
        return None
    said, line, column = found
    return ConditionError(f"{said} ({_where(line, column)})", column, line)


@cache
def _type_check(source: str, shapes: tuple[tuple[str, Shape], ...]) -> tuple[str, int, int] | None:
    """`type_problem`'s finding as words, line and column; compiled once per text and
    shapes (the environment it is checked in), as `compile_condition` compiles each text
    once for use: a `when` repeated across policies, or a catalog loaded again in the same
    process, is not checked again. The same text under other shapes is checked again."""
    try:
        _typed_env(shapes).compile(source)
    except RuntimeError as exc:
        for match in _ERROR.finditer(str(exc)):
            line, column, message = int(match.group(1)), int(match.group(2)), match.group(3)
            said = _said(source, line, column, message.strip(), dict(shapes))
            if said is not None:
                return said, line, column
    return None


def _said(
    source: str, line: int, column: int, message: str, shapes: Mapping[str, Shape]
) -> str | None:
    """The checker's `message` in ido's words, or None for what CEL does when run."""
    overload = _OVERLOAD.search(message)
    if overload is not None:
        function, raw = overload.group(1), overload.group(2)
        types = [_named(t.strip()) for t in _split(raw)]
        if "*error*" in raw or function == "_?_:_":
            return None  # (what an error already told or one let through made; branches of
            # two types, which CEL takes when run)
        if function in _COMPARING and (
            all(_NUMBERS.fullmatch(t) for t in types) or "null" in types or _PACKAGE in raw
        ):
            return None  # (heterogeneous numbers and null compare; a Record is a map when run)
        if function in ("_[_]", "size") and _PACKAGE in raw:
            return None
        return _overload_words(function, types, *_sides(source, line, column), shapes)
    field = _FIELD.search(message)
    if field is not None:
        return _field_words(field.group(1), *_sides(source, line, column), shapes)
    if "cannot be the range of a comprehension" in message:
        return None
    scalar = _SELECT.search(message)
    if scalar is not None:
        named = _named(scalar.group(1))
        return _keyless_words(named, *_sides(source, line, column), shapes)
    return "CEL: " + re.sub(r"'ido\.rules\.(\w+)[\w.]*'", lambda m: m.group(1).lower(), message)


def _sides(source: str, line: int, column: int) -> tuple[str, str]:
    """`source` before and from `line`'s `column`: all of it on each side, as a block
    condition may break `capability.latency` and its `> duration('1s')` onto two lines
    (worked out only for a message told: a long condition may have thousands let through)."""
    lines = source.split("\n")
    if not 1 <= line <= len(lines):
        return "", ""
    at = sum(len(text) + 1 for text in lines[: line - 1]) + max(0, column - 1)
    return source[:at], source[at:]


def _split(types: str) -> list[str]:
    """The types of `(a, list(b), map(c, d))`, split at the commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(types):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(types[start:i])
            start = i + 1
    return [*parts, types[start:]]


_CEL_NAMES = {
    "google.protobuf.Duration": "duration",
    "google.protobuf.Timestamp": "timestamp",
    "null_type": "null",
}


_CEL_NAME = re.compile(
    r"\bwrapper\((\w+)\)|\bido\.rules\.[\w.]+|" + "|".join(map(re.escape, _CEL_NAMES))
)


def _named(cel_type: str) -> str:
    """A type as CEL's checker names it (`list(ido.rules.Health)`), as a rule sees it
    (`list(map)`): a Record is a map when run, and null or a value has the same checks."""

    def said(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        return "map" if match.group(0).startswith(f"{_PACKAGE}.") else _CEL_NAMES[match.group(0)]

    return _CEL_NAME.sub(said, cel_type)


_PATH_BEFORE = re.compile(r"((?:capability|plan|intent|health)(?:\[[^\]]*\])?(?:\.\w+)*)\s*\)?\s*$")
_PATH_AFTER = re.compile(
    r"[^\w(\[]*\s*\(?\s*((?:capability|plan|intent|health)(?:\[[^\]]*\])?(?:\.\w+)*)"
)


def _shape_at(path: str, shapes: Mapping[str, Shape]) -> Shape | None:
    """The shape of what `path` (`capability.latency`, `health['a'].latency`) reads."""
    head, *keys = re.sub(r"\[[^\]]*\]", ".[]", path).split(".")
    shape: Shape | None = shapes.get(head)
    for key in keys:
        if isinstance(shape, Each):  # (`health['a']` or `health.a`)
            shape = shape.value
        elif isinstance(shape, Record) and key != "[]":
            shape = dict(shape.fields).get(key)
        else:
            return None
    return shape


_EXAMPLES = {"double": "> 1.0", "seconds": "> 1.0", "int": "> 1", "string": "== '…'"}
_CEL_KINDS = {"double": "double", "seconds": "double", "int": "int", "bool": "bool"}
_CEL_KINDS |= {"string": "string", "duration_text": "string"}
"""The type CEL names in its messages for each scalar kind."""
_LOGIC = {"_&&_": "&&", "_||_": "||", "!_": "!"}


def _overload_words(
    function: str, types: list[str], before: str, after: str, shapes: Mapping[str, Shape]
) -> str:
    """A mismatch of types at an operator or call, said with the field it reads, where the
    operand next to it is that field (its type is the one CEL names on that side)."""
    operator = _ARITHMETIC.get(function) or _LOGIC.get(function) or function.strip("_@")
    said = f"CEL cannot apply {operator} to {' and '.join(types)}"
    sides = ((_PATH_BEFORE.search(before), types[0]), (_PATH_AFTER.match(after), types[-1]))
    for match, named in sides:
        shape = _shape_at(match.group(1), shapes) if match is not None else None
        kind = shape.removesuffix("?") if isinstance(shape, str) else ""
        if match is None or _CEL_KINDS.get(kind) != named:
            continue
        path, what = match.group(1), SCALARS[kind]
        if function in _LOGIC:
            return f"{said}: {path} is {what}, and {operator} takes true or false"
        if function in _ARITHMETIC and kind in ("string", "duration_text"):
            return f"{said}: {path} is {what}, and CEL does no arithmetic on strings"
        if kind == "duration_text":
            return (
                f"{said}: {path} is {what} ('30s'); compare duration({path}) with a "
                f"duration, e.g. duration({path}) > duration('10s')"
            )
        if function in _COMPARING:
            like = "a number" if kind in ("double", "seconds", "int") else what
            example = f", e.g. {path} {_EXAMPLES[kind]}" if kind in _EXAMPLES else ""
            return f"{said}: {path} is {what}; compare it with {like}{example}"
        if function in _ARITHMETIC and set(types) == {"int", "double"}:  # (no mixing)
            if kind == "int":
                return f"{said}: {path} is {what}; write double({path}) to work with fractions"
            return f"{said}: {path} is {what}; write the other number with a fraction (1.0)"
        return f"{said}: {path} is {what}"
    if function in _ARITHMETIC and {"int", "double"} <= set(types):
        return f"{said}: CEL does no arithmetic on an int with a double; write 1.0, not 1"
    return said


def _field_words(key: str, before: str, after: str, shapes: Mapping[str, Shape]) -> str:
    """A key a known map never has (`intent.constraints.max_cots`); in `has(…)`, where CEL
    points at its `(`, the path is after it (`has(intent.constraints.foo)`)."""
    match = _PATH_BEFORE.search(before)
    path = match.group(1) if match is not None else None
    tested = _PATH_AFTER.match(after) if match is None else None
    if tested is not None and tested.group(1).endswith(f".{key}"):
        path = tested.group(1).removesuffix(f".{key}")
    shape = _shape_at(path, shapes) if path is not None else None
    known = [k for k, _ in shape.fields] if isinstance(shape, Record) else []
    guess = did_you_mean(key, known) if known else None
    hint = f"{guess} " if guess else ""
    has = f"({path} has {', '.join(known)})" if known else ""
    return f"{path or 'it'} has no key '{key}'; {hint}{has}".rstrip("; ")


_SELECTED = re.compile(r"\s*\.\s*(\w+)")


def _keyless_words(named: str, before: str, after: str, shapes: Mapping[str, Shape]) -> str:
    """A key read of what has none (`intent.constraints.deadline.seconds`), where CEL names
    neither the field nor its key (`named`: the type CEL gives, in a rule's words)."""
    selected = _SELECTED.match(after)
    key = f" '{selected.group(1)}'" if selected is not None else "s"
    match = _PATH_BEFORE.search(before)
    path = match.group(1) if match is not None else None
    tested = _PATH_AFTER.match(after) if match is None else None
    if tested is not None and "." in tested.group(1):  # (`has(a.b.c)`: CEL points at `(`)
        path, _, last = tested.group(1).rpartition(".")
        key = f" '{last}'"
    shape = _shape_at(path, shapes) if path is not None else None
    if path is None or not isinstance(shape, str):
        return f"a value of type {named} has no key{key}"
    kind = shape.removesuffix("?")
    what = SCALARS.get(kind) or ("a list" if kind.startswith("list<") else f"of type {named}")
    if kind == "duration_text":
        return f"{path} is {what} ('30s'), so it has no key{key}; read duration({path})"
    return f"{path} is {what}, so it has no key{key}"
