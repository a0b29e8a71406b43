"""The tree CEL's checker made of a condition (its macros expanded: `has(a.b)` is a select
that tests), read from what cel-expr-python serializes, and built again after a change."""

from __future__ import annotations

from functools import cache
from typing import Any

_MESSAGES: dict[str, list[tuple[int, str, str]]] = {
    # name: (number, field, type): `.X` a message, `*` before it repeated, `|` in a oneof.
    # The numbers are cel.expr's own (checked.proto, syntax.proto); what ido does not
    # read (types, references, macro calls) is kept as unknown fields, unchanged.
    "Expr": [
        (2, "id", "INT64"),
        (3, "const_expr", "|.Constant"),
        (4, "ident_expr", "|.Expr.Ident"),
        (5, "select_expr", "|.Expr.Select"),
        (6, "call_expr", "|.Expr.Call"),
        (7, "list_expr", "|.Expr.CreateList"),
        (8, "struct_expr", "|.Expr.CreateStruct"),
        (9, "comprehension_expr", "|.Expr.Comprehension"),
    ],
    "Expr.Ident": [(1, "name", "STRING")],
    "Expr.Select": [(1, "operand", ".Expr"), (2, "field", "STRING"), (3, "test_only", "BOOL")],
    "Expr.Call": [(1, "target", ".Expr"), (2, "function", "STRING"), (3, "args", "*.Expr")],
    "Expr.CreateList": [(1, "elements", "*.Expr")],
    "Expr.CreateStruct": [(2, "entries", "*.Expr.CreateStruct.Entry")],
    "Expr.CreateStruct.Entry": [(3, "map_key", ".Expr"), (4, "value", ".Expr")],
    "Expr.Comprehension": [
        (1, "iter_var", "STRING"),
        (2, "iter_range", ".Expr"),
        (3, "accu_var", "STRING"),
        (4, "accu_init", ".Expr"),
        (5, "loop_condition", ".Expr"),
        (6, "loop_step", ".Expr"),
        (7, "result", ".Expr"),
        (8, "iter_var2", "STRING"),
    ],
    "Constant": [
        (1, "null_value", "|INT32"),
        (2, "bool_value", "|BOOL"),
        (3, "int64_value", "|INT64"),
        (4, "uint64_value", "|UINT64"),
        (5, "double_value", "|DOUBLE"),
        (6, "string_value", "|STRING"),
        (7, "bytes_value", "|BYTES"),
    ],
    "SourceInfo": [(4, "positions", "*.SourceInfo.PositionsEntry")],
    "SourceInfo.PositionsEntry": [(1, "key", "INT64"), (2, "value", "INT32")],
    "CheckedExpr": [(4, "expr", ".Expr"), (5, "source_info", ".SourceInfo")],
}


@cache
def _classes() -> tuple[Any, Any]:
    """The message classes of a checked expression and of the `Any` it comes wrapped in."""
    # (protobuf imported here, as in `_types`: only conditions that are looked into need it)
    from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto as field

    proto = descriptor_pb2.FileDescriptorProto(
        name="ido/cel_tree.proto", package="cel.expr", syntax="proto3"
    )
    made: dict[str, Any] = {}
    for name, fields in _MESSAGES.items():
        outer, _, inner = name.rpartition(".")
        message = (made[outer].nested_type if outer else proto.message_type).add(name=inner)
        made[name] = message
        if name == "SourceInfo.PositionsEntry":
            message.options.map_entry = True
        for number, key, kind in fields:
            entry = message.field.add(name=key, number=number, label=field.LABEL_OPTIONAL)
            if kind.startswith("|"):
                if not message.oneof_decl:
                    message.oneof_decl.add(name="kind")
                entry.oneof_index = 0
            if kind.startswith("*"):
                entry.label = field.LABEL_REPEATED
            kind = kind.lstrip("|*")
            if kind.startswith("."):
                entry.type, entry.type_name = field.TYPE_MESSAGE, f".cel.expr{kind}"
            else:
                entry.type = getattr(field, f"TYPE_{kind}")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    checked = message_factory.GetMessageClass(pool.FindMessageTypeByName("cel.expr.CheckedExpr"))
    return checked, any_pb2.Any


def tree(expression: Any) -> Any:
    """The checked tree of a compiled `expression` (`.expr`: its root; `.source_info
    .positions`: each node's offset in the source, by id); None if it cannot be read
    (what looks into it then finds nothing: a condition is never refused for that)."""
    from google.protobuf.message import DecodeError

    checked, wrapper = _classes()
    try:
        return checked.FromString(wrapper.FromString(expression.serialize()).value)
    except (DecodeError, RuntimeError, ValueError):
        return None


def rebuilt(env: Any, checked: Any) -> Any:
    """The compiled expression of `checked`, a tree `tree` gave and ido changed."""
    _, wrapper = _classes()
    wrapped = wrapper(
        type_url="type.googleapis.com/cel.expr.CheckedExpr", value=checked.SerializeToString()
    )
    return env.deserialize(wrapped.SerializeToString())


def nodes(root: Any) -> list[Any]:
    """Every node under `root` (itself first), parents before their children."""
    found, todo = [], [root]
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(reversed(children(node)))
    return found


def children(node: Any) -> list[Any]:
    """The nodes right under `node`."""
    kind = node.WhichOneof("kind")
    if kind == "select_expr":
        return [node.select_expr.operand]
    if kind == "call_expr":
        call = node.call_expr
        return [call.target, *call.args] if call.HasField("target") else list(call.args)
    if kind == "list_expr":
        return list(node.list_expr.elements)
    if kind == "struct_expr":
        return [part for e in node.struct_expr.entries for part in (e.map_key, e.value)]
    if kind == "comprehension_expr":
        c = node.comprehension_expr
        return [c.iter_range, c.accu_init, c.loop_condition, c.loop_step, c.result]
    return []


def path(node: Any) -> str | None:
    """The dotted path `node` reads, if it is one (`intent.constraints.max_cost`, also
    written `intent['constraints'].max_cost`), else None; a test (`has`) is none."""
    keys: list[str] = []
    while True:
        kind = node.WhichOneof("kind")
        if kind == "ident_expr":
            return ".".join([node.ident_expr.name, *reversed(keys)])
        if kind == "select_expr" and not node.select_expr.test_only:
            keys.append(node.select_expr.field)
            node = node.select_expr.operand
        elif kind == "call_expr" and node.call_expr.function == "_[_]":
            operand, key = node.call_expr.args
            if key.WhichOneof("kind") != "const_expr":
                return None
            if key.const_expr.WhichOneof("kind") != "string_value":
                return None
            keys.append(key.const_expr.string_value)
            node = operand
        else:
            return None


def offset(checked: Any, node: Any) -> int:
    """Where `node` stands in the source (0-based, in characters)."""
    return int(checked.source_info.positions.get(node.id, 0))
