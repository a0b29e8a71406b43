"""A catalog file's documents read into resources: a PDDL or non-YAML file told so, each
document validated, named after its file, declared once."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ido.errors import Problem, unreadable_file
from ido.loading.catalog import Catalog, Origin, display
from ido.loading.files import named_yaml
from ido.loading.words import _guess, _problem_of
from ido.model import KINDS, Resource
from ido.planner import progress
from ido.validation import user_errors
from ido.yamlsrc import Document, read_documents

Skip = Callable[[Path, Any], bool]
"""Whether to leave out of a catalog the document with this data in this (resolved) file."""


_PDDL_HINT = (
    "a PDDL file, not a YAML resource: `ido import-pddl DOMAIN PROBLEM --out DIR` writes a "
    "problem as YAML, `ido plan --pddl DOMAIN PROBLEM` plans it"
)
"""What a PDDL file given to `ido validate` (or any command that loads a catalog) says."""

_KIND = re.compile(r"^kind:\s*[\"']?(\w+)", re.MULTILINE)
"""The kinds a file declares, read from its text where YAML cannot read it."""


def _load_file(
    file: Path, shown: str, catalog: Catalog, skip: Skip | None = None, *, named: bool = True
) -> list[Problem]:
    """The problems of one file, its resources added to `catalog`; `named`: a file of one
    resource must be named after it."""
    if file.suffix.lower() == ".pddl":  # a planning user's first `ido validate`
        # (checked before YAML reads it: a `;; comment` line is a YAML syntax error)
        return [Problem(shown, 1, "", _PDDL_HINT)]
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [unreadable_file(shown, exc)]

    def read(count: int) -> None:
        progress.report(stage="loading", step="reading", file=shown, resources=count)

    read(0)
    documents, problems = read_documents(text, shown, read)
    if problems:  # what YAML could not read is told: a reference to it is not told again
        # (as "not found … give --catalog policies", a folder read) by the file's name
        catalog.broken |= {(kind, file.stem) for kind in _KIND.findall(text)}
    if not problems and all(d.data is None for d in documents):
        # (a truncated intent or policy would go missing from the catalog without a word)
        return [Problem(shown, 1, "", "empty: no resource")]
    resolved = file.resolve()
    left_out = None if skip is None else (lambda data: skip(resolved, data))
    found = problems + _add_documents(
        documents, file, shown, catalog, named=named, left_out=left_out
    )
    yaml_named = named_yaml(file) or file.suffix.lower() == ".json"
    resources = any(_looks_like_resource(d.data) for d in documents)
    if found and not yaml_named and (problems or not resources):
        # (`ido validate capabilities/kitchen.py` said "kind: missing key 'kind'", as if the
        # Python file wanted one; a YAML file of another name that loads is taken, and one
        # that does not is told its own problems: `max_cots`, not its name)
        what = f"a {file.suffix} file, not" if file.suffix else "not"
        said = f"{what} a YAML resource: resources live in .yaml and .yml files"
        return [Problem(shown, 1, "", said)]
    return found


def _looks_like_resource(data: Any) -> bool:
    """Whether `data` was written as a resource (it says its apiVersion or kind), whatever
    its file is named."""
    return isinstance(data, dict) and ("apiVersion" in data or "kind" in data)


def _add_documents(
    documents: Sequence[Document],
    file: Path,
    shown: str,
    catalog: Catalog,
    *,
    named: bool = True,
    left_out: Callable[[Any], bool] | None = None,
) -> list[Problem]:
    """Validate the documents of one file into `catalog`; the problems found. `named`: a
    file of one resource must be named after it (a real file; not resources in memory).
    `left_out`: documents (by their data) not to add."""
    problems: list[Problem] = []
    documents = [d for d in documents if d.data is not None]
    for index, document in enumerate(documents):
        if index % REPORT_EVERY == 0 and len(documents) > REPORT_EVERY:
            progress.report(
                stage="loading", step="checking", file=shown, resources=index, of=len(documents)
            )
        if left_out is not None and left_out(document.data):
            continue
        resource, found = _parse_resource(document, shown)
        problems.extend(found)
        if resource is None:
            catalog.broken |= _declared(document.data)
            continue
        if named and len(documents) == 1 and resource.name != file.stem:
            problems.append(
                Problem(
                    shown,
                    document.line_of(("metadata", "name")),
                    "metadata.name",
                    f"name '{resource.name}' must equal the file name '{file.stem}'"
                    " (or put several resources in one file)",
                )
            )
            continue
        table = catalog.table(resource.kind)
        key = (resource.kind, resource.name)
        if resource.name in table:
            first = catalog.origins[key]
            problems.append(
                Problem(
                    shown,
                    document.line_of(("metadata", "name")),
                    "metadata.name",
                    f"{resource.kind} '{resource.name}' is declared twice; first in "
                    f"{display(first.file, Path.cwd())}:{first.line_of(('metadata', 'name'))}",
                )
            )
            continue
        table[resource.name] = resource
        catalog.origins[key] = Origin(file, document, index)
    return problems


REPORT_EVERY = 1_000
"""Resources between two reports of how far loading a large file has got (`progress`):
an import of a large PDDL problem is a file of tens of thousands."""


def _checking_all(catalog: Catalog) -> None:
    """Report the checks across the whole catalog as they start, when it is large."""
    if len(catalog) > REPORT_EVERY:
        progress.report(stage="loading", step="across", resources=len(catalog))


def _declared(data: Any) -> set[tuple[str, str]]:
    """The (kind, name) a document that did not load declares, when it says."""
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return set()
    kind, name = data.get("kind"), data["metadata"].get("name")
    return {(kind, name)} if isinstance(kind, str) and isinstance(name, str) else set()


def _parse_resource(document: Document, shown: str) -> tuple[Resource | None, list[Problem]]:
    data = document.data
    if not isinstance(data, dict):
        return None, [Problem(shown, document.line, "", "a resource must be a YAML mapping")]
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(KINDS)
        message = "missing key 'kind'" if kind is None else f"unknown kind {kind!r}"
        guess = _guess(kind, KINDS) if isinstance(kind, str) else None
        message += f" ({guess})" if guess else ""
        return None, [
            Problem(shown, document.line_of(("kind",)), "kind", f"{message}; use one of {known}")
        ]
    try:
        return KINDS[kind].model_validate(data), []
    except ValidationError as exc:
        errors = user_errors(exc.errors(), data)
        model = KINDS[kind]
        return None, [_problem_of(loc, error, document, shown, model) for loc, error in errors]
