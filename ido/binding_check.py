"""Check that Python bindings name a function their module defines, reading the module's
source without importing it (`ido validate` must not run the user's code)."""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path

from ido.errors import Problem
from ido.loading.catalog import Catalog, problem_at
from ido.model import Resource
from ido.runtime.bindings import ASYNC_WORDS
from ido.text import did_you_mean
from ido.yamlsrc import FieldPath


@dataclass(frozen=True)
class Names:
    """The top-level names a module's source defines; `maybe` when it may define more
    than its source shows (a module `__getattr__`, a `from x import *`)."""

    defined: frozenset[str]
    maybe: bool
    asynchronous: frozenset[str] = frozenset()
    """Those defined only as `async def`, which ido cannot call (`ASYNC_WORDS`)."""


@dataclass
class BindingProblems:
    """What `check_bindings` found: errors (the module lacks the function: every call
    fails) and warnings (the module is not found here, but may be installed where it runs)."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_bindings(
    catalog: Catalog, base: Path, *, checked: Collection[tuple[str, str]] = ()
) -> BindingProblems:
    """Every capability's `run.python` and observer's `python` whose module cannot be found
    (a warning) or does not define the function (an error), looked up as the runtime
    imports them: the project folder `base` first, then `sys.path`. A binding was only
    found wrong at run time, retried `max_attempts` times as a passing fault, and lowered
    the capability's learnt reliability in later runs. Each module is read once. `checked`:
    resources (by kind and name) told of already, left out."""
    found = BindingProblems()
    read: dict[Path, Names | SyntaxError | None] = {}
    for resource, where, reference in _bindings(catalog):
        if (resource.kind, resource.name) in checked:
            continue
        module_name, _, function = reference.partition(":")
        spec = _find_spec(module_name, base)
        if spec is None:
            said = (
                f"module '{module_name}' not found in the project folder or the installed "
                "packages (every call fails unless it is installed where ido runs)"
            ) + _no_init(module_name, base)
            found.warnings.append(problem_at(catalog, resource, where, said, base))
            continue
        if not spec.has_location or not (spec.origin or "").endswith(".py"):
            continue  # a namespace, compiled or built in: no source to read
        source = Path(spec.origin or "")
        if source not in read:
            read[source] = _names_in(source)
        names = read[source]
        if isinstance(names, SyntaxError):
            said = f"module '{module_name}' {_unparsed(names, source, base)}: every call fails"
            found.errors.append(problem_at(catalog, resource, where, said, base))
            continue
        if names is not None and function in names.asynchronous and not names.maybe:
            said = f"'{reference}' {ASYNC_WORDS}"
            found.errors.append(problem_at(catalog, resource, where, said, base))
            continue
        if names is None or names.maybe or function in names.defined:
            continue
        said = f"module '{module_name}' has no function '{function}'"
        hint = did_you_mean(function, (n for n in names.defined if not n.startswith("_")))
        said += f" ({hint})" if hint else ""
        found.errors.append(problem_at(catalog, resource, where, said, base))
    return found


def check_observer_files(catalog: Catalog, base: Path) -> list[Problem]:
    """A warning for each `file` observer whose file is not there (relative to its YAML,
    as a run reads it): every observation of it fails until the file is written, and
    validate said ok. Only a warning: something may write it before a run."""
    warnings = []
    for observer in catalog.observers.values():
        if observer.spec.file is None:
            continue
        folder = catalog.origins[(observer.kind, observer.name)].file.parent
        path = folder / observer.spec.file
        if not path.exists():
            said = (
                f"{observer.spec.file} is not there ({_shown(path, base)}): every observation"
                " fails until it is written"
            )
            warnings.append(problem_at(catalog, observer, ("spec", "file"), said, base))
    return warnings


def _shown(path: Path, base: Path) -> str:
    """`path` relative to `base` when inside it, as problems name files."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _unparsed(error: SyntaxError, source: Path, base: Path) -> str:
    """`does not parse (capabilities/kitchen.py:3: expected ':')`: Python's words, where."""
    shown = _shown(source, base)
    where = f"{shown}:{error.lineno}" if error.lineno else shown
    return f"does not parse ({where}: {error.msg})"


def _no_init(module_name: str, base: Path) -> str:
    """A hint when the project folder holds the module's file in a folder without an
    `__init__.py`: a package of that name installed elsewhere (or none) is what Python
    finds then, and the file beside the YAML looks found."""
    *packages, module = module_name.split(".")
    if not packages:
        return ""
    folder = base.joinpath(*packages)
    if not (folder / f"{module}.py").is_file():
        return ""
    bare = next(
        (
            base.joinpath(*packages[: i + 1])
            for i in range(len(packages))
            if not (base.joinpath(*packages[: i + 1]) / "__init__.py").exists()
        ),
        None,
    )
    if bare is None:
        return ""
    shown = bare.relative_to(base).as_posix()
    return f"; {shown}/ has no __init__.py: add an empty one to make it a package"


def _bindings(catalog: Catalog) -> Iterable[tuple[Resource, FieldPath, str]]:
    """Each Python binding with its resource and field."""
    for capability in catalog.capabilities.values():
        run = capability.spec.run
        if run is not None and run.python is not None:
            yield capability, ("spec", "run", "python"), run.python
    for observer in catalog.observers.values():
        if observer.spec.python is not None:
            yield observer, ("spec", "python"), observer.spec.python


def _find_spec(module_name: str, base: Path) -> ModuleSpec | None:
    """Where `module_name` would be imported from, without importing it or its packages
    (finding `a.b` through `importlib.util.find_spec` runs `a/__init__.py`); None when it
    is not found."""
    top, *rest = module_name.split(".")
    spec = _top_spec(top, base)
    if spec is None or not rest:
        return spec
    if spec.submodule_search_locations is None:
        return None
    # The packages' folders are walked by hand: the path of a namespace package below the
    # top level (a folder with no `__init__.py`) looks its parent up in `sys.modules`,
    # which nothing here imported (`KeyError`), even inside `PathFinder.find_spec`.
    folders = list(spec.submodule_search_locations)
    for part in rest[:-1]:
        folders = [str(Path(f) / part) for f in folders if (Path(f) / part).is_dir()]
    try:
        return PathFinder.find_spec(module_name, folders)
    except KeyError:  # the module is itself a namespace package: no source, not judged
        return None


def _top_spec(name: str, base: Path) -> ModuleSpec | None:
    """A top-level module's spec, looked up in the order the runtime's import takes: a
    built-in module, then the project folder (put first on `sys.path`) and `sys.path`
    (a package found there wins over a namespace folder in the project), then any other
    finder Python has (an editable install's)."""
    if name in sys.builtin_module_names:
        return ModuleSpec(name, None)  # (no source: not judged)
    spec = PathFinder.find_spec(name, [str(base.resolve()), *sys.path])
    if spec is not None:
        return spec
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # (a module in sys.modules without a spec)
        module = sys.modules.get(name)
        return None if module is None else ModuleSpec(name, None)


def _names_in(source: Path) -> Names | SyntaxError | None:
    """The names `source` defines at top level; Python's error when it does not parse (its
    import fails, every call with it); None when it cannot be read (not judged)."""
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except SyntaxError as exc:
        return exc
    except (OSError, ValueError):
        return None
    defined: set[str] = set()
    asynchronous: set[str] = set()
    maybe = False
    for node in _top_level(tree.body):
        if isinstance(node, ast.AsyncFunctionDef):
            asynchronous.add(node.name)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                maybe = maybe or alias.name == "*"
                defined.add(alias.asname or alias.name.split(".")[0])
        else:
            defined.update(_targets(node))
    return Names(
        frozenset(defined | asynchronous),
        maybe or "__getattr__" in defined,
        frozenset(asynchronous - defined),
    )


def _top_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """The statements run at a module's top level, those under `if`, `try`, `with` and
    loops included (`try: from fast import f` / `except ImportError: def f(): ...`)."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.For | ast.AsyncFor | ast.While):
            yield from _top_level(node.body + node.orelse)
        elif isinstance(node, ast.With | ast.AsyncWith):
            yield from _top_level(node.body)
        elif isinstance(node, ast.Try | ast.TryStar):
            handlers = [s for h in node.handlers for s in h.body]
            yield from _top_level(node.body + handlers + node.orelse + node.finalbody)
        elif isinstance(node, ast.Match):
            yield from _top_level([s for case in node.cases for s in case.body])


def _targets(node: ast.stmt) -> Iterable[str]:
    """The names a statement binds by assignment (`f = make()`, `f: F = ...`, `for f in`)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    elif isinstance(node, ast.With | ast.AsyncWith):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
    for target in targets:
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                yield name.id
    if isinstance(node, ast.Expr):  # (`f := make()` at top level)
        for named in ast.walk(node):
            if isinstance(named, ast.NamedExpr):
                yield named.target.id
