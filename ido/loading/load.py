"""`load_catalog` and `load_documents`: every file read and every check made, all problems
told at once; the checks only `ido validate` makes (models, ignored settings); an intent
found by name or file."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from ido.errors import LoadError, NotFoundError, Problem
from ido.loading.catalog import Catalog, display, intent_specs, problem_at
from ido.loading.checks import _check_conditions
from ido.loading.documents import Skip, _add_documents, _checking_all, _load_file
from ido.loading.files import named_yaml, yaml_files
from ido.loading.references import Replaced, _check_expectations, _check_references
from ido.model import Intent
from ido.model.intent_spec import IntentSpec, address_problem
from ido.model.providers import model_problem
from ido.yamlsrc import Document


def load_catalog(
    paths: Sequence[Path | str] | Path | str,
    *,
    base: Path | None = None,
    skip: Skip | None = None,
    replaced: Replaced | None = None,
    unnamed: Collection[Path] = (),
) -> Catalog:
    """Load and check every resource under `paths` (one path, or a list of them); raise
    LoadError listing all problems.
    `skip`: documents to leave out (a scenario file's scenarios that need another catalog).
    `replaced`: folders the command reads others in place of, and what to say of them.
    `unnamed`: files whose one resource need not be named after them (`ido replay
    --intent FILE`: a changed copy of an intent, named as its user likes)."""
    base = base or Path.cwd()
    if isinstance(paths, str | os.PathLike):  # one path, not a sequence of its letters
        paths = [paths]
    files, problems = yaml_files(Path(p) for p in paths)
    free = {Path(f).resolve() for f in unnamed}
    catalog = Catalog()
    for file in files:
        named = file.resolve() not in free
        problems.extend(_load_file(file, display(file, base), catalog, skip, named=named))
    return _checked(catalog, base, replaced or {}, problems)


def load_documents(data: Sequence[Any], file: Path, *, base: Path | None = None) -> Catalog:
    """Check resources built in memory as `load_catalog` checks the documents of one YAML
    file named `file` (errors and origins name it; every resource is at its line 1)."""
    base = base or Path.cwd()
    shown = display(file, base)
    catalog = Catalog()
    documents = [Document(data=d, line=1) for d in data]
    problems = _add_documents(documents, file, shown, catalog, named=False)
    return _checked(catalog, base, {}, problems)


def _checked(catalog: Catalog, base: Path, replaced: Replaced, problems: list[Problem]) -> Catalog:
    """`catalog` once the checks across its resources pass; else a LoadError with their
    problems after `problems` (those found reading and checking it resource by resource)."""
    _checking_all(catalog)
    problems.extend(_check_references(catalog, base, replaced))
    problems.extend(_check_conditions(catalog, base))
    problems.extend(_check_expectations(catalog, base))
    if problems:
        raise LoadError(problems)
    return catalog


def check_models(
    catalog: Catalog,
    environ: Mapping[str, str],
    *,
    base: Path | None = None,
    checked: Collection[str] = (),
) -> list[Problem]:
    """What keeps an intent's `llm.model` (in intents/ or inline in a scenario) out of
    reach (an unknown litellm provider or model, a server's provider without the server's
    address), told by `ido validate` rather than by every decision of a run falling back to
    the solver. Nothing is asked of the network: litellm's own lists are read from its
    package, not imported. `checked`: intents (by name) told of already, left out."""
    problems: list[Problem] = []
    for resource, spec, at in intent_specs(catalog):
        if resource.kind == "Intent" and resource.name in checked:
            continue
        for field, said in _llm_problems(spec, environ):
            where = (*at, "llm", field)
            problems.append(problem_at(catalog, resource, where, said, base or Path.cwd()))
    return problems


def _llm_problems(spec: IntentSpec, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """An intent's model and server out of reach, by field: its own, else, for planner llm
    or hybrid, those `IDO_LLM_MODEL` and `IDO_LLM_API_BASE` give it (said so), which
    passed unchecked and made every decision fall back to the solver."""
    llm, found = spec.llm, []
    model = llm.model
    asks = spec.planner in ("llm", "hybrid")
    if model is None and asks and environ.get("IDO_LLM_MODEL"):
        model = environ["IDO_LLM_MODEL"]
        said = model_problem(model, llm.api_base, environ)
        if said is not None:
            found.append(("model", f"IDO_LLM_MODEL (the intent names no model): {said}"))
    elif model is not None and (said := model_problem(model, llm.api_base, environ)):
        found.append(("model", said))
    server = environ.get("IDO_LLM_API_BASE")
    if llm.api_base is None and asks and model is not None and server:
        said = address_problem(server)
        if said is not None:
            found.append(("api_base", f"IDO_LLM_API_BASE (the intent names no server): {said}"))
    return found


def check_ignored(catalog: Catalog, base: Path, *, checked: Collection[str] = ()) -> list[Problem]:
    """Settings that load but nothing reads: an intent's `llm` block under planner cpsat
    or search (only llm and hybrid read it) passed `ido validate` without a word, and the
    model its author meant to try was never asked. Only warnings: `ido plan --planner llm`
    reads them. `checked`: intents (by name) told of already, left out."""
    warnings = []
    for resource, spec, at in intent_specs(catalog):
        if resource.kind == "Intent" and resource.name in checked:
            continue
        if "llm" in spec.model_fields_set and spec.planner in ("cpsat", "search"):
            said = (
                f"ignored: planner is {spec.planner} "
                "(llm settings are read by planner llm or hybrid)"
            )
            warnings.append(problem_at(catalog, resource, (*at, "llm"), said, base))
    return warnings


def find_intent(catalog: Catalog, reference: str) -> Intent:
    """An intent by name, or the single intent declared in the file at `reference`."""
    if reference in catalog.intents:
        return catalog.intents[reference]
    path = Path(reference)
    if named_yaml(path) or path.exists():
        resolved = path.resolve()
        found = [
            catalog.intents[name]
            for (kind, name), origin in catalog.origins.items()
            if kind == "Intent" and origin.file == resolved
        ]
        if len(found) == 1:
            return found[0]
        if not path.exists():
            raise NotFoundError(f"{reference}: no such intent file")
        if path.is_dir():
            names = ", ".join(
                sorted(
                    name
                    for (kind, name), origin in catalog.origins.items()
                    if kind == "Intent" and origin.file.is_relative_to(resolved)
                )
            )
            if names:
                raise NotFoundError(f"{reference}: a folder, not an intent; name one: {names}")
            known = ", ".join(sorted(catalog.intents)) or "none loaded"
            raise NotFoundError(
                f"{reference}: a folder, not an intent, and no intent loaded is in it "
                f"(--catalog FOLDER loads one); known intents: {known}"
            )
        raise NotFoundError(f"{reference}: holds {len(found)} intents; name one instead")
    known = ", ".join(sorted(catalog.intents)) or "none loaded"
    raise NotFoundError(f"intent '{reference}' not found; known intents: {known}")
