"""The shapes of the variables rules read, as ido builds them (`ido.policy.capability_view`,
`plan_view`, `ido.capability_rules.intent_view`, `health_view`), for CEL's checker at load time."""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, PlainSerializer

from ido.conditions import Each, Record, Shape
from ido.model.intent_spec import IntentSpec

CAPABILITY = Record(
    (
        ("name", "string"),
        ("provider", "string"),
        ("region", "string?"),
        ("tags", "list<string>"),
        ("cost", "double"),
        ("latency", "seconds"),
        ("timeout", "seconds"),
        ("reliability", "double"),
        ("idempotent", "bool"),
        ("effects", "map"),
    )
)
PLAN = Record(
    (
        ("steps", "int"),
        ("capabilities", "list<string>"),
        ("providers", "list<string>"),
        ("regions", "list<string>"),
        ("tags", "list<string>"),
        ("cost", "double"),
        ("spent", "double"),
        ("latency", "seconds"),
        ("success_probability", "double"),
    )
)
HEALTH = Each(Record((("reliability", "double"), ("latency", "seconds"), ("failures", "int"))))


def _scalar(annotation: Any, metadata: list[Any]) -> Shape:
    if any(isinstance(m, PlainSerializer) and m.return_type is str for m in metadata):
        return "duration_text"  # (a duration field, dumped as `30s`)
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "double"
    if annotation is str or (
        get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation))
    ):
        return "string"
    return "dyn"


def _shape(annotation: Any, metadata: list[Any]) -> Shape:
    """The shape of a field of a model, as `model_dump(mode="json")` gives it."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *more = get_args(annotation)
        return _shape(inner, [*metadata, *more])
    if origin in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        one = _shape(kinds[0], metadata) if len(kinds) == 1 else "dyn"
        return f"{one}?" if isinstance(one, str) and one not in ("dyn", "map") else "dyn"
    if origin is list:
        (element,) = get_args(annotation)
        kind = _shape(element, [])
        return f"list<{kind}>" if kind in ("string", "int", "double", "bool") else "list<dyn>"
    if origin is dict or annotation is dict:
        return "map"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_record(annotation)
    return _scalar(annotation, metadata)


def model_record(model: type[BaseModel], *, leave: tuple[str, ...] = ()) -> Record:
    """The `Record` of what a model's JSON dump holds, less the fields of `leave`."""
    return Record(
        tuple(
            (name, _shape(field.annotation, list(field.metadata)))
            for name, field in model.model_fields.items()
            if name not in leave
        )
    )


@cache
def rule_shapes() -> tuple[tuple[str, Shape], ...]:
    """What rules read, by variable: all but `state`, whose facts observers shape."""
    intent = model_record(IntentSpec, leave=("given",))
    intent = Record((("name", "string"), *intent.fields))
    return (("capability", CAPABILITY), ("plan", PLAN), ("intent", intent), ("health", HEALTH))
