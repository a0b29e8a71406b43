"""An observer's `secrets`: what it reads from the environment itself, masked as a binding's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.errors import LoadError
from ido.loading import load_catalog
from ido.secrets import catalog_secrets

TOKEN = "obs_live_7c6b5a4d3e"


def _project(folder: Path, secrets: str, package: str, *, fail: bool = False) -> None:
    """`stock`, a Python observer (in `package`: a process holds one module of a name) that
    reads STOCK_TOKEN from os.environ and returns it (or, `fail`, raises quoting it); the
    intent `count` reads it, and a step sets its goal."""
    (folder / package).mkdir()
    (folder / package / "__init__.py").write_text("")
    said = "raise RuntimeError('401 for token ' + t)" if fail else "return {'debug': 'token=' + t}"
    (folder / package / "obs.py").write_text(
        f"import os\n\ndef read():\n    t = os.environ['STOCK_TOKEN']\n    {said}\n"
    )
    (folder / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\n"
        f"spec:\n  python: '{package}.obs:read'\n  secrets: {secrets}\n"
    )
    (folder / "count.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: count}\nspec:\n"
        "  provider: shelf\n  effects: {counted: true}\n"
        "  run: {shell: ['python', '-c', 'print(1)']}\n"
    )
    (folder / "tally.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: tally}\n"
        "spec: {goal: ['state.counted'], observers: [stock]}\n"
    )


@pytest.mark.parametrize(
    ("secrets", "fail", "kept"),
    [("[STOCK_TOKEN]", False, False), ("[]", False, True), ("[STOCK_TOKEN]", True, False)],
)
def test_a_secret_a_python_observer_reads_by_itself_is_masked_once_declared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets: str, fail: bool, kept: bool
) -> None:
    """A Python observer reads its token from os.environ: what it returned, or the error it
    raised, went into the journal and `ido explain` as it was, and only bindings could say
    it was a secret. Its `secrets` names it: masked as a `${env:NAME}` value is."""
    from typer.testing import CliRunner

    from ido.cli import app

    monkeypatch.setenv("STOCK_TOKEN", TOKEN)
    # (named as a credential, it would be masked undeclared too: `test_credential_names`)
    monkeypatch.setenv("IDO_UNMASKED_ENV", "STOCK_TOKEN")
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, secrets, f"stock_{'kept' if kept else 'masked'}_{fail}".lower(), fail=fail)
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "tally", "--catalog", "."])
    assert ran.exit_code == 0, ran.output
    journal = b"".join(p.read_bytes() for p in (tmp_path / ".ido").glob("ido.db*"))
    assert (TOKEN.encode() in journal) is kept
    assert (b"token=***" in journal or b"token ***" in journal) is not kept
    for fmt in ("text", "json"):
        shown = runner.invoke(app, ["explain", "last", "--format", fmt]).output
        assert TOKEN not in shown or kept, shown
        assert ("401 for token ***" in shown) is fail, shown


def test_an_observer_s_secrets_are_the_catalog_s_secrets(tmp_path: Path) -> None:
    """Named by an observer, a variable is masked in what every call gives back too."""
    _project(tmp_path, "[STOCK_TOKEN, STOCK_USER]", "stock_named")
    assert catalog_secrets(load_catalog([tmp_path], base=tmp_path)) == {"STOCK_TOKEN", "STOCK_USER"}


def test_an_observer_secret_that_is_no_variable_name_is_a_load_error_not_repeated(
    tmp_path: Path,
) -> None:
    """A key pasted where its variable's name goes is refused with file, line and field,
    and the message does not repeat it."""
    (tmp_path / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\nspec:\n"
        "  python: 'm:read'\n  secrets:\n    - STOCK_TOKEN\n    - sk-live-91ab7f\n"
    )
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path], base=tmp_path)
    (problem,) = info.value.problems
    assert (Path(problem.file).name, problem.line, problem.field) == (
        "stock.yaml",
        8,
        "spec.secrets[1]",
    )
    assert "not an environment variable name" in problem.message
    assert "sk-live" not in str(info.value)


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("  secrets: sk_live_91ab7f0c\n", "spec.secrets"),
        ("  secrets: [91827364]\n", "spec.secrets[0]"),
    ],
)
@pytest.mark.parametrize("kind", ["Observer", "Capability"])
def test_a_secret_written_as_a_value_of_another_type_is_a_load_error_not_repeated(
    tmp_path: Path, written: str, field: str, kind: str
) -> None:
    """`secrets: sk_live_…` (the key, not a list of names) was refused by quoting it
    twice ("got 'sk_live_…': write one item as a list, [sk_live_…]"), and a PIN written as
    a number once, into terminals and CI logs, where the docs promise it is not repeated."""
    value = written.split(": ", 1)[1].strip(" []\n")
    if kind == "Observer":
        spec, prefix = "  python: 'm:read'\n" + written, "spec"
    else:
        spec = "  provider: p\n  effects: {done: true}\n  run:\n    python: 'm:run'\n"
        spec += "  " + written
        prefix, field = "spec.run", field.replace("spec", "spec.run")
    (tmp_path / "thing.yaml").write_text(
        f"apiVersion: ido/v1\nkind: {kind}\nmetadata: {{name: thing}}\nspec:\n{spec}"
    )
    with pytest.raises(LoadError) as info:
        load_catalog([tmp_path], base=tmp_path)
    (problem,) = info.value.problems
    assert (Path(problem.file).name, problem.field) == ("thing.yaml", field), problem
    assert problem.field.startswith(prefix)
    assert "never their values" in problem.message, problem.message
    assert value not in str(info.value), str(info.value)
