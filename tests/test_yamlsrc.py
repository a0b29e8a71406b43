"""YAML reading: libyaml and the pure-Python parser give the same documents and problems."""

from __future__ import annotations

import pytest
import yaml

from ido import yamlsrc
from ido.yamlsrc import dump_documents, read_documents

TEXT = "# café ☕\nname: charge\nspec:\n  provider: stripé\n  tags: [a, b]\n---\nname: ship\n"


@pytest.fixture(params=["libyaml", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each parser PyYAML may have (libyaml is optional in a build)."""
    if request.param == "python":
        python = yamlsrc.without_timestamps(yamlsrc.with_floats(yaml.SafeLoader))
        monkeypatch.setattr(yamlsrc, "_Loader", python)
        monkeypatch.setattr(yamlsrc, "_Dumper", yaml.SafeDumper)
    else:
        assert issubclass(yamlsrc._Loader, yaml.CSafeLoader), "PyYAML was built without libyaml"
    return str(request.param)


def test_documents_and_lines_are_the_same_with_either_parser(parser: str) -> None:
    """Every document's data, first line and field lines come out alike."""
    documents, problems = read_documents(TEXT, "f.yaml")
    assert problems == []
    assert [d.data for d in documents] == [
        {"name": "charge", "spec": {"provider": "stripé", "tags": ["a", "b"]}},
        {"name": "ship"},
    ]
    assert documents[0].line_of(("spec", "tags", 1)) == 5
    assert documents[1].line == 7


@pytest.mark.parametrize("char", ["\x01", "\x00", "\ufffe"])
def test_a_forbidden_character_after_non_ascii_text_is_at_its_line(parser: str, char: str) -> None:
    """libyaml counts the position in UTF-8 bytes: the line is still the character's."""
    text = TEXT.replace("stripé", f"stripé{char}")
    documents, problems = read_documents(text, "f.yaml")
    assert documents == []
    (problem,) = problems
    assert (problem.file, problem.line) == ("f.yaml", 4)
    assert f"#x{ord(char):04x}" in problem.message


def test_a_lone_surrogate_is_a_problem_not_a_crash(parser: str) -> None:
    """Text decoded with surrogateescape can hold a surrogate; it is reported, not raised."""
    documents, problems = read_documents(TEXT.replace("stripé", "strip\udce9"), "f.yaml")
    assert documents == []
    (problem,) = problems
    assert (problem.line, "#xdce9" in problem.message) == (4, True)


def test_dumped_text_reads_back_the_same(parser: str) -> None:
    """What `ido import-pddl` writes is what the loader reads."""
    data = [{"metadata": {"name": "x", "description": "(move a b)"}, "spec": {"goal": ["ok"]}}]
    text = dump_documents(data)
    documents, problems = read_documents(text, "f.yaml")
    assert (problems, [d.data for d in documents]) == ([], data)


def laughs(levels: int) -> str:
    """A "billion laughs": each level's list names the one before ten times."""
    lines = ["name: bomb", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n---\nname: next\n"


def test_aliases_that_repeat_too_much_are_a_problem_not_a_hang(parser: str) -> None:
    """Nine levels stand for 7e9 values in a few lines: refused before anything walks them,
    at the document's line; the next document is still read."""
    documents, problems = read_documents(laughs(9), "f.yaml")
    (problem,) = problems
    assert (problem.file, problem.line) == ("f.yaml", 1)
    assert "YAML aliases repeat values more than 1,000,000 times" in problem.message
    assert [d.data for d in documents] == [{"name": "next"}]


def test_a_few_aliases_and_merge_keys_still_read(parser: str) -> None:
    documents, problems = read_documents(laughs(4), "f.yaml")  # 7,000 values: fine
    assert problems == [] and len(documents[0].data["a3"]) == 10
    text = "base: &b {cost: 1, tags: [x]}\none: {<<: *b, name: one}\ntwo: *b\n"
    documents, problems = read_documents(text, "f.yaml")
    assert problems == []
    assert documents[0].data["one"] == {"cost": 1, "tags": ["x"], "name": "one"}
    assert documents[0].line_of(("two", "cost")) == 1


def test_an_alias_inside_the_value_it_names_is_a_problem(parser: str) -> None:
    documents, problems = read_documents("name: loop\na: &a [1, *a]\n", "f.yaml")
    (problem,) = problems
    assert documents == [] and "refers to a value that holds it (a loop)" in problem.message


def test_a_date_is_text_as_in_yaml_1_2(parser: str) -> None:
    """YAML 1.1 made `2024-11-20` a Python date: no JSON value, kept as text by the
    journal, and one CEL could not take, so a rule reading the state failed to evaluate
    (a deny rule fired closed) and its replay, reading text, did not."""
    (document,), problems = read_documents("placed: 2024-11-20\nat: 2024-11-20T10:00:00Z\n", "f")
    assert problems == [] and document.data == {
        "placed": "2024-11-20",
        "at": "2024-11-20T10:00:00Z",
    }
    assert yaml.safe_load("d: 2024-11-20")["d"] != "2024-11-20"  # PyYAML's own loader untouched


def test_text_that_reads_as_a_number_is_quoted_when_written() -> None:
    """A number with an exponent reads as a number: text like "1e3" must be written quoted
    (as `ido import-pddl` writes its YAML), or it comes back a number."""
    written = yamlsrc.dump_documents([{"id": "1e3", "n": 1e3}])
    (document,), problems = yamlsrc.read_documents(written, "f")
    assert not problems and document.data == {"id": "1e3", "n": 1000.0}, written


@pytest.mark.parametrize(
    ("text", "word", "line"),
    [
        ('a: "one\n  two\n\n  three"\n', "three", 4),
        ("a: 'it''s\n  two ''x'' three'\n", "three", 2),
        ('a: "one \\\n  two\\x20three \\u263a\n  four"\n', "four", 3),
        ('a: "one \\\n  two\\x20three \\u263a\n  four"\n', "three", 2),
        ("a: >-\n  one\n  two\n\n  three\n", "two", 3),
        ("a: > # a comment\n  one\n    two\n  three\n", "three", 4),
        ("a: one\n  two\n  three\n", "two", 2),
        ("a:\n  'one two'\n", "two", 2),
        ('a: "one\r\n  two"\r\n', "two", 2),
        ("a: |\n  one\n  two\n", "two", 3),
        ("a: one two\n", "two", 1),
    ],
)
def test_the_line_of_a_character_of_a_scalar_is_the_line_it_is_written_on(
    text: str, word: str, line: int
) -> None:
    """YAML folds a quoted, folded or plain scalar's line breaks into spaces: the line of
    a character of its value is read off its text as written (escapes, `''`, a `>`
    header's comment, a scalar on the line after its key)."""
    ((document,), problems) = read_documents(text, "f.yaml")
    assert problems == []
    value = document.data["a"]
    assert document.line_at(("a",), value.index(word)) == line


def test_the_line_of_a_character_of_a_scalar_is_told_in_a_file_that_starts_with_a_bom(
    parser: str,
) -> None:
    """An editor may save a file with a byte order mark: libyaml does not count it in its
    marks' offsets, the text read from the file holds it, and each folded or quoted
    condition's line was the field's, wherever the character."""
    text = '\ufeffb: 1\na: "one\n  two\n  three"\nc: >-\n  four\n  five\n'
    ((document,), problems) = read_documents(text, "f.yaml")
    assert problems == []
    assert document.line_at(("a",), document.data["a"].index("three")) == 4
    assert document.line_at(("c",), document.data["c"].index("five")) == 7


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_the_line_of_a_character_of_a_block_after_a_line_separator_is_its_own(
    parser: str, separator: str
) -> None:
    """YAML counts a Unicode line or paragraph separator as a line break and keeps it in a
    literal block's text: a line was told for each `\\n` before the character only, one
    line above it for each separator."""
    text = f"k: 1\na: |\n  one{separator}  two\n  three\n"
    ((document,), problems) = read_documents(text, "f.yaml")
    assert problems == []
    value = document.data["a"]
    lines = [document.line_at(("a",), value.index(word)) for word in ("one", "two", "three")]
    assert lines == [3, 4, 5]


def test_the_line_of_a_character_past_the_value_or_of_no_text_is_the_fields() -> None:
    ((document,), _) = read_documents('b: 1\na: "one\n  two"\nc: [x]\n', "f.yaml")
    assert document.line_at(("a",), 100) == 3
    assert document.line_at(("c",), 0) == 4
    assert document.line_at(("c", 0), 0) == 4
    assert document.line_at(("nope", 3), 0) == 1


@pytest.mark.parametrize("style", ['"', "'", ">", "|", None])
def test_the_line_of_any_character_of_any_scalar_is_one_of_its_own(style: str | None) -> None:
    """Text of quotes, escapes, tabs, line breaks and wide characters, written by YAML's
    own emitter in each style (it breaks long lines, escapes what it must): the line told
    of each of its characters is one the scalar stands on, and never an exception."""
    import random
    import re

    pick = random.Random(7)
    letters = "ab c'\"\\\t\n#:-☃é\x85\u2028 " + "x" * 10
    for _ in range(25):
        written = "".join(pick.choice(letters) for _ in range(pick.randint(1, 120)))
        text = "k: 1\na: " + yaml.dump(written, default_style=style, width=20, allow_unicode=True)
        ((document,), problems) = read_documents(text, "f.yaml")
        assert problems == []
        value = document.data["a"]  # (the emitter's plain style may not keep it all)
        last = len(re.split("\r\n|[\n\r\x85\u2028\u2029]", text))  # (libyaml's line breaks)
        for at in range(len(value) + 1):
            assert 2 <= document.line_at(("a",), at) <= last, (text, at)
