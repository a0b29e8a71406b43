"""`ido validate` finds a Python binding whose module or function is not there."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app

ROOT = Path(__file__).resolve().parents[1]


def ido(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def bind(project: Path, reference: str) -> int:
    """Bind the first capability of the project's catalog to `reference`; its line."""
    catalog = project / "capabilities" / "catalog.yaml"
    text = catalog.read_text().replace("fakesvc.impl:call", reference, 1)
    catalog.write_text(text)
    return next(n for n, line in enumerate(text.splitlines(), 1) if reference in line)


def test_a_function_the_module_does_not_define_is_an_error_without_running_it(
    project: Path,
) -> None:
    """`fakesvc.impl:cal` passed validate, then every call failed at run time, retried as a
    passing fault and lowering the capability's reliability: now it is a load error naming
    the file, line and field, with the likely meaning; the module is read, not imported."""
    (project / "fakesvc" / "__init__.py").write_text("raise SystemExit('imported')\n")
    line = bind(project, "fakesvc.impl:cal")
    code, out = ido("validate")
    assert code == 2, out
    assert (
        f"capabilities/catalog.yaml:{line}: spec.run.python: module 'fakesvc.impl' has no "
        "function 'cal' (did you mean 'call'?)" in out
    )
    assert "fakesvc" not in sys.modules


def test_a_module_in_folders_without_init_is_found_and_judged(project: Path) -> None:
    """`ns.inner.pay:charge` with no `__init__.py` anywhere: the path of a namespace
    package below the top level looks its parent up in `sys.modules`, and validate failed
    with a traceback (`KeyError: 'ns'`) on a project the runtime imports fine."""
    (project / "ns" / "inner").mkdir(parents=True)
    (project / "ns" / "inner" / "pay.py").write_text("def charge(ctx):\n    return {}\n")
    line = bind(project, "ns.inner.pay:charge")
    code, out = ido("validate")
    assert code == 0, out
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("ns.inner.pay:charge", "ns.inner.pay:chrage"))
    code, out = ido("validate")
    assert code == 2, out
    assert (
        f"capabilities/catalog.yaml:{line}: spec.run.python: module 'ns.inner.pay' has no "
        "function 'chrage' (did you mean 'charge'?)" in out
    )


def test_an_async_function_is_an_error(project: Path) -> None:
    """An `async def` binding was found, so validate passed, and every call failed: ido
    calls it as a plain function and gets a coroutine it cannot await."""
    (project / "fakesvc" / "slow.py").write_text("async def charge(ctx):\n    return {}\n")
    line = bind(project, "fakesvc.slow:charge")
    code, out = ido("validate")
    assert code == 2, out
    assert (
        f"capabilities/catalog.yaml:{line}: spec.run.python: 'fakesvc.slow:charge' is an "
        "async function" in out
    )


def test_an_observer_s_missing_function_is_an_error(project: Path) -> None:
    """An observer's `python` is checked as a capability's `run.python` is."""
    (project / "capabilities" / "noisy.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: noisy}\n"
        'spec: {python: "fakesvc.impl:read"}\n'
    )
    code, out = ido("validate")
    assert code == 2, out
    said = "capabilities/noisy.yaml:4: spec.python: module 'fakesvc.impl' has no function 'read'"
    assert said in out and "did you mean" not in out


def test_a_module_not_found_is_a_warning(project: Path) -> None:
    """A module found neither in the project nor the installed packages may be installed
    where ido runs: told, but validate passes."""
    line = bind(project, "billing.stripe:charge")
    code, out = ido("validate")
    assert code == 0, out
    assert (
        f"warning: capabilities/catalog.yaml:{line}: spec.run.python: module 'billing.stripe' "
        "not found in the project folder or the installed packages" in out
    )


def test_a_module_that_does_not_parse_is_an_error_with_python_s_words(project: Path) -> None:
    """A module with a syntax error was "not judged": validate said ok, and every call
    failed at run time (`cannot import …: SyntaxError`), retried as a passing fault."""
    (project / "fakesvc" / "broken.py").write_text("def charge(ctx)\n    return {}\n")
    line = bind(project, "fakesvc.broken:charge")
    code, out = ido("validate")
    assert code == 2, out
    assert (
        f"capabilities/catalog.yaml:{line}: spec.run.python: module 'fakesvc.broken' does not "
        "parse (fakesvc/broken.py:1: expected ':'): every call fails" in out
    )


def test_a_module_in_a_folder_another_package_shadows_says_to_add_init(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`capabilities/kitchen.py` with no `capabilities/__init__.py`, where an installed
    package is named `capabilities` too: Python imports that one, and the warning said the
    module was not found in the project folder, where it plainly is."""
    installed = tmp_path_factory.mktemp("site")
    (installed / "shop").mkdir()
    (installed / "shop" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(installed))
    (project / "shop").mkdir()
    (project / "shop" / "kitchen.py").write_text("def brew(ctx):\n    return {}\n")
    bind(project, "shop.kitchen:brew")
    code, out = ido("validate")
    assert code == 0, out
    assert "module 'shop.kitchen' not found" in out
    assert "; shop/ has no __init__.py: add an empty one to make it a package" in out


@pytest.mark.parametrize(
    "name", ["where", "charge", "speedy", "Handler", "handled", "call", "Path"]
)
def test_a_function_imported_or_assigned_counts_as_defined(project: Path, name: str) -> None:
    """A name the module binds by import, assignment or class, at top level or under
    `try`/`if`, is there when the module runs."""
    impl = project / "fakesvc" / "impl.py"
    impl.write_text(
        impl.read_text()
        + "from os import getcwd as where\n"
        + "charge = call\n"
        + "try:\n    from fast import speedy\nexcept ImportError:\n    speedy = call\n"
        + "class Handler: ...\n"
        + "if True:\n    handled: object = Handler()\n"
        + "import pathlib\nPath = pathlib.Path\n"
    )
    bind(project, f"fakesvc.impl:{name}")
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


@pytest.mark.parametrize("source", ["def __getattr__(name): ...\n", "from os.path import *\n"])
def test_a_module_that_may_define_more_than_its_source_shows_is_not_told(
    project: Path, source: str
) -> None:
    """A module `__getattr__` or a star import may provide any name: nothing is said."""
    (project / "fakesvc" / "lazy.py").write_text(source)
    bind(project, "fakesvc.lazy:anything")
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def test_a_module_installed_outside_the_project_is_found(project: Path) -> None:
    """Modules are looked up as the runtime imports them: the installed packages too."""
    bind(project, "json:dumps")
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out
    bind(project, "json:dump_s")  # (the other capability)
    code, out = ido("validate")
    assert code == 2 and "module 'json' has no function 'dump_s'" in out, out


def test_the_shipped_examples_validate_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own catalog and scenarios bind functions that are there."""
    monkeypatch.chdir(ROOT)
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def test_a_file_observer_whose_file_is_not_there_is_warned_of(project: Path) -> None:
    """`file: pantry.json` beside no such file passed validate, and every observation of
    it failed at run time; warned of (something may write it before a run), exit 0."""
    (project / "capabilities" / "pantry.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: pantry}\nspec:\n  file: pantry.json\n"
    )
    code, out = ido("validate")
    assert code == 0, out
    assert (
        "warning: capabilities/pantry.yaml:5: spec.file: pantry.json is not there "
        "(capabilities/pantry.json): every observation fails until it is written" in out
    )
    (project / "capabilities" / "pantry.json").write_text("{}")
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def shell(project: Path, argv: str) -> int:
    """Bind the first capability of the project's catalog to the shell command `argv`."""
    catalog = project / "capabilities" / "catalog.yaml"
    text = catalog.read_text().replace('{python: "fakesvc.impl:call"}', f"{{shell: {argv}}}", 1)
    catalog.write_text(text)
    return next(n for n, line in enumerate(text.splitlines(), 1) if "shell:" in line)


def test_a_shell_script_that_cannot_start_is_warned_of_until_it_can(project: Path) -> None:
    """A deploy script not executable passed validate, and failed "Permission denied" only
    when its step came, after the steps before it were paid for: warned of, with the fix,
    and not once it is executable (or run by its interpreter)."""
    line = shell(project, "[bin/deploy.sh, --prod]")
    code, out = ido("validate")
    assert code == 0, out
    where = f"warning: capabilities/catalog.yaml:{line}: spec.run.shell[0]: "
    assert f"{where}bin/deploy.sh is not there: every call fails until it is" in out
    (project / "bin").mkdir()
    (project / "bin" / "deploy.sh").write_text("#!/bin/sh\necho '{}'\n")
    code, out = ido("validate")
    assert (
        f"{where}bin/deploy.sh is not executable: every call fails (Permission denied); "
        "chmod +x bin/deploy.sh, or run it as [sh, bin/deploy.sh]" in out
    )
    (project / "bin" / "deploy.sh").chmod(0o755)
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def test_a_shell_program_not_on_path_is_warned_of(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that is not installed here may be where ido runs: told, validate passes;
    ido's own interpreter (`python3`) and a program named by a variable are not checked."""
    monkeypatch.setenv("PATH", str(project / "nowhere"))
    line = shell(project, "[kubectl-deploy, --prod]")
    code, out = ido("validate")
    assert code == 0, out
    assert (
        f"warning: capabilities/catalog.yaml:{line}: spec.run.shell[0]: program "
        "'kubectl-deploy' is not on PATH here: every call fails unless it is installed "
        "where ido runs" in out
    )
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("kubectl-deploy", "python3"))
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def test_a_script_of_the_project_named_without_its_folder_is_told_to_be_written_with_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[deploy.sh]` names a script in the project folder, but a name without a `/` is
    looked for on PATH only, never in the folder calls run in: the warning said that the
    program is not on PATH, as of a tool not installed, and not how to name the script."""
    monkeypatch.setenv("PATH", str(project / "nowhere"))
    line = shell(project, "[deploy.sh, --prod]")
    (project / "deploy.sh").write_text("#!/bin/sh\necho '{}'\n")
    (project / "deploy.sh").chmod(0o755)
    code, out = ido("validate")
    assert code == 0, out
    assert (
        f"warning: capabilities/catalog.yaml:{line}: spec.run.shell[0]: program 'deploy.sh' "
        "is not on PATH here: every call fails; a name without a / is looked for on PATH "
        "only, not in the project folder: write ./deploy.sh for the project's script" in out
    )
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("[deploy.sh,", "[./deploy.sh,"))
    code, out = ido("validate")
    assert code == 0 and "warning" not in out, out


def test_a_program_under_the_home_folder_written_with_a_tilde_is_told_no_shell_reads_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[~/bin/deploy.sh]` was warned of as not there, though the script is in the home
    folder: no shell reads the list, so `~` is a folder of that name in the project folder
    to the call, which fails. The warning says so, and how to write it."""
    monkeypatch.setenv("HOME", str(project / "home"))
    (project / "home" / "bin").mkdir(parents=True)
    (project / "home" / "bin" / "deploy.sh").write_text("#!/bin/sh\necho '{}'\n")
    (project / "home" / "bin" / "deploy.sh").chmod(0o755)
    line = shell(project, "[~/bin/deploy.sh, --prod]")
    code, out = ido("validate")
    assert code == 0, out
    assert (
        f"warning: capabilities/catalog.yaml:{line}: spec.run.shell[0]: ~/bin/deploy.sh is "
        "not there: every call fails until it is; no shell reads the list, so ~ is not the "
        f"home folder: write the full path, {project / 'home' / 'bin' / 'deploy.sh'}" in out
    ), out


def test_a_program_of_idos_own_virtualenv_not_on_path_is_told_where_it_is(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`[ruff, check]` with ido run from a virtualenv not activated (`.venv/bin/ido`): the
    program is installed beside ido's interpreter, but not on PATH, so every call fails;
    the warning said "unless it is installed where ido runs", which it is. It names the
    folder now, and the path to write."""
    monkeypatch.setenv("PATH", str(project / "nowhere"))
    line = shell(project, "[ruff, check]")
    code, out = ido("validate")
    assert code == 0, out
    beside = Path(sys.executable).parent
    assert (
        f"warning: capabilities/catalog.yaml:{line}: spec.run.shell[0]: program 'ruff' is "
        f"not on PATH here: every call fails; it is in ido's virtualenv, {beside}, which is "
        f"not on PATH (not activated): write {beside / 'ruff'}, or activate it" in out
    ), out
