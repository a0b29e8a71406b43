"""Read YAML documents with the line of every field, so errors can point at them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from ido.errors import Problem
from ido.scalar_lines import line_in

if TYPE_CHECKING:
    import yaml

FieldPath = tuple[str | int, ...]

# libyaml's parser and emitter when PyYAML was built with them (its wheels are): the same
# nodes, marks and text, about eight times faster than the pure-Python ones.


def with_floats(base: type[Any]) -> type[Any]:
    """`base`, a safe loader, with YAML 1.2's floats: YAML 1.1 (what PyYAML reads) takes a
    number with an exponent as text unless it has a point and a signed exponent, so
    `max_cost: 1e3` (or `1.0e3`, `1e+3`) was the string "1e3", refused as not a number."""
    loader = type(f"{base.__name__}WithFloats", (base,), {})
    loader.add_implicit_resolver(  # type: ignore[attr-defined]
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
        list("-+0123456789."),
    )
    return loader


def without_timestamps(loader: type[Any]) -> type[Any]:
    """`loader` (made by `with_floats`) reading `2024-11-20` as text, as YAML 1.2 does: a
    date is no JSON value, the journal keeps it as text, and CEL cannot take it, so a
    rule reading it failed (and its replay, reading text, did not)."""
    loader.yaml_implicit_resolvers = {  # its own table: the base class's is left as it is
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in loader.yaml_implicit_resolvers.items()
    }
    return loader


@cache
def _classes() -> tuple[type[Any], type[Any]]:
    """The loader and the dumper, made on first use: PyYAML is imported only by a command
    that reads or writes YAML (`ido plan --pddl` does neither). It also binds the module's
    name `yaml`, which the functions below use after calling this."""
    global yaml  # noqa: PLW0603 (one import, kept where every function finds it)
    import yaml

    loader = without_timestamps(with_floats(getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    # The dumper knows them too, so that it quotes text that reads as such a number ('1e3').
    return loader, with_floats(getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def __getattr__(name: str) -> Any:
    """`_Loader` and `_Dumper`, made on first use (`_classes`)."""
    if name in ("_Loader", "_Dumper"):
        return _classes()[name == "_Dumper"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Document:
    """One YAML document: its data, where it starts, and the line of each field path."""

    data: Any
    line: int
    lines: dict[FieldPath, int] = field(default_factory=dict)
    blocks: dict[FieldPath, int] = field(default_factory=dict)
    """The line each literal block scalar's (`when: |`) text starts on: the lines of its
    text are the file's, as they are in no other scalar (`"a\\nb"`, `>` folded)."""
    folded: dict[FieldPath, tuple[int, str]] = field(default_factory=dict)
    """Each other scalar that does not stand on its key's line alone (quoted, folded or
    plain over several lines, or on the line after its key): its first line and its text
    as written, which `line_at` reads the lines of its value's characters from."""

    def line_of(self, path: FieldPath) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:cut]))
            if found is not None:
                return found
        return self.line

    def line_at(self, path: FieldPath, at: int) -> int:
        """The line of character `at` (0-based) of the text at `path`: in a literal block
        (`|`) its line of the text from the first; in a quoted, folded or plain scalar over
        several lines, the line it is written on (`scalar_lines`); else `path`'s line."""
        value: Any = self.data
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return self.line_of(path)
        first = self.blocks.get(path)
        if first is not None and isinstance(value, str):
            # (YAML keeps a line or paragraph separator in the text, and counts it a line)
            return first + sum(value.count(c, 0, at) for c in ("\n", "\u2028", "\u2029"))
        written = self.folded.get(path)
        if written is not None and isinstance(value, str):
            line = line_in(written[1], written[0], value, at)
            if line is not None:
                return line
        return self.line_of(path)


def read_documents(
    text: str, file: str, read: Callable[[int], None] | None = None
) -> tuple[list[Document], list[Problem]]:
    """Parse every document of a YAML stream; syntax errors become problems, not exceptions.
    `read` is told how many documents are read, every `EVERY` (a large file takes minutes)."""
    documents: list[Document] = []
    problems: list[Problem] = []
    _Loader = _classes()[0]
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        return [], [_forbidden(exc, text, file)]
    except UnicodeEncodeError as exc:  # libyaml reads UTF-8: a lone surrogate cannot be
        at = text[: exc.start].count("\n") + 1
        what = f"character #x{ord(text[exc.start]):04x} is not allowed in YAML"
        return [], [Problem(file, at, "", what)]
    anchors = "&" in text  # no anchor, no alias: nothing to look into
    # (libyaml's marks do not count a byte order mark the file starts with; Python's do)
    libyaml = not issubclass(_Loader, yaml.reader.Reader)
    marked = text[1:] if libyaml and text.startswith("\ufeff") else text
    paths: dict[FieldPath, FieldPath] = {}  # each field path once, however many documents
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            aliased = _aliased(node) if anchors else ""
            if aliased:
                problems.append(Problem(file, node.start_mark.line + 1, "", aliased))
                continue
            lines: dict[FieldPath, int] = {}
            blocks: dict[FieldPath, int] = {}
            folded: dict[FieldPath, tuple[int, str]] = {}
            _index(node, (), (lines, blocks, folded), problems, (file, marked), paths)
            data = loader.construct_document(node)
            line = node.start_mark.line + 1
            documents.append(Document(data, line, lines, blocks, folded))
            if read is not None and len(documents) % EVERY == 0:
                read(len(documents))
    except yaml.reader.ReaderError as exc:  # libyaml finds these while parsing
        problems.append(_forbidden(exc, text, file))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        hint = _tab(text, line) or _quoted(text, mark)
        problems.append(Problem(file, line, "", f"YAML syntax error: {what}{hint}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(file, None, "", f"YAML error: {exc}"))
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        # The constructor rejects some scalars (out-of-range or malformed `!!timestamp`) this way.
        problems.append(Problem(file, None, "", f"YAML value error: {exc}"))
    finally:
        loader.dispose()
    return documents, problems


EVERY = 1_000
"""Documents between two counts `read_documents` passes on."""


def _tab(text: str, line: int | None) -> str:
    """What to do when `line` (1 for the first) is indented with a tab, which YAML does
    not allow: the error alone ("found character that cannot start any token") does not
    say that a tab is the character, and an editor shows it as spaces."""
    if line is None:
        return ""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    row = lines[line - 1]
    indent = row[: len(row) - len(row.lstrip(" \t"))]
    if "\t" not in indent:
        return ""
    column = indent.index("\t") + 1
    return f" (a tab at column {column}: YAML indents with spaces, not tabs)"


def _quoted(text: str, mark: yaml.Mark | None) -> str:
    """What to do when YAML stopped right after a quoted string that ended early: a
    condition that quotes text with the quote it is written in (`when: "a == "b""`) ends
    at its second quote, and "did not find expected key" does not say so."""
    if mark is None:
        return ""
    lines = text.splitlines()
    if not 0 <= mark.line < len(lines):
        return ""
    row, column = lines[mark.line], mark.column
    if not 0 < column < len(row) or row[column].isspace():
        return ""
    if row[column - 1] == '"':
        return (
            f' (the text in double quotes ends at the " at column {column}: inside a '
            "condition, quote text with single quotes, \"a == 'b'\")"
        )
    if row[column - 1] == "'":
        return (
            f" (the text in single quotes ends at the ' at column {column}: inside it, "
            "write a single quote twice, 'a == ''b''', or quote the whole with double quotes)"
        )
    return ""


def _forbidden(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    """A character YAML does not allow, at its line. libyaml counts the position in UTF-8
    bytes, the pure-Python reader in characters."""
    if issubclass(_classes()[0], yaml.reader.Reader):
        at = text[: exc.position or 0].count("\n") + 1
    else:
        at = text.encode("utf-8")[: exc.position or 0].count(b"\n") + 1
    what = f"character #x{exc.character:04x} is not allowed in YAML ({exc.reason})"
    return Problem(file, at, "", what)


REPEATS = 1_000_000
"""The most values a document's aliases may repeat: more is a "billion laughs", whose few
lines would take minutes and gigabytes to check."""


def _aliased(top: yaml.Node) -> str:
    """What is wrong with the document's aliases ("" when nothing): one that holds itself,
    or so many repeats that the values written out would be more than `REPEATS` over."""
    sizes: dict[int, int] = {}  # per node: the values it stands for, written out
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise _Loop
        open_.add(key)
        inner: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            inner = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            inner = list(node.value)
        total = 1
        for child in inner:
            total += size(child)
            if total > REPEATS + len(sizes) + len(open_):
                break  # far enough to tell
        open_.discard(key)
        sizes[key] = total
        return total

    try:
        written_out = size(top)
    except _Loop:
        return "a YAML alias refers to a value that holds it (a loop); write the value out"
    if written_out - len(sizes) > REPEATS:
        return (
            f"YAML aliases repeat values more than {REPEATS:,} times here; write them out, "
            "or repeat fewer"
        )
    return ""


class _Loop(Exception):
    """An alias inside the value it names."""


def _index(
    node: yaml.Node,
    path: FieldPath,
    found: tuple[dict[FieldPath, int], dict[FieldPath, int], dict[FieldPath, tuple[int, str]]],
    problems: list[Problem],
    source: tuple[str, str],
    paths: dict[FieldPath, FieldPath],
    key_line: int = -1,
) -> None:
    """Record the line of `path` and every field inside `node` in `found` (and where each
    literal block's text starts, `Document.blocks`, and how each other scalar not on its
    key's line alone is written, `Document.folded`); the paths as `paths` holds them, so
    that the documents of a file share theirs (a PDDL import's 41,229 capabilities each
    have `metadata.name`, `spec.provider` and more). `source`: the file's name and text;
    `key_line`: the line (0-based) of the key `node` is the value of, if it is one."""
    path = paths.setdefault(path, path)
    lines, blocks, folded = found
    start = node.start_mark
    lines[path] = start.line + 1
    if isinstance(node, yaml.ScalarNode):
        end = node.end_mark
        if node.style == "|":
            blocks[path] = start.line + 2  # (the line after its `|`)
        elif start.line < end.line or 0 <= key_line < start.line:
            folded[path] = (start.line + 1, source[1][start.index : end.index])  # (characters)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            at = key_node.start_mark.line
            if key in seen:
                problems.append(
                    Problem(
                        source[0],
                        at + 1,
                        format_path((*path, key)),
                        "key appears twice in the same mapping",
                    )
                )
            seen.add(key)
            _index(value_node, (*path, key), found, problems, source, paths, at)
            lines[paths[(*path, key)]] = at + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), found, problems, source, paths)


def format_path(path: FieldPath) -> str:
    """`('spec', 'goal', 0)` -> `spec.goal[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def dump_documents(documents: list[Any]) -> str:
    """YAML text of `documents`, one per `---` section, keys in the order given."""
    dumper = _classes()[1]
    return yaml.dump_all(documents, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
