"""Load catalogs of YAML resources from files and folders, telling every problem found at once
(checks across a resource's fields wait until its own fields are valid)."""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ido.approvals import PROPOSE, UNKNOWN_RULE
from ido.conditions import Condition, ConditionError, compile_condition, named_values
from ido.errors import LoadError, NotFoundError, Problem, unreadable_file
from ido.model import (
    KINDS,
    Capability,
    Intent,
    Observer,
    Policy,
    PolicyTest,
    Resource,
    Scenario,
)
from ido.model.providers import model_problem
from ido.model.resources import (
    CALLABLE_PATTERN,
    ENV_NAME_PATTERN,
    NAME_PATTERN,
    PATH_PATTERN,
    URL_PATTERN,
    IntentSpec,
    Rule,
)
from ido.planner import progress
from ido.policy import CAPABILITY_KEYS, EFFECTS, PLAN_KEYS, is_plan_rule
from ido.text import did_you_mean, echoed
from ido.validation import keys_at, user_errors
from ido.yamlsrc import Document, FieldPath, format_path, read_documents

YAML_SUFFIXES = (".yaml", ".yml")
"""The endings of a YAML file's name, in any case: `freeze.YAML` (as Windows tools save it)
was passed over, and the change freeze its enforced policy declares went unapplied."""


def named_yaml(path: Path | str) -> bool:
    """Whether `path` is named as a YAML file (`.yaml` or `.yml`, in any case)."""
    return str(path).lower().endswith(YAML_SUFFIXES)


@dataclass(frozen=True)
class Origin:
    """Where a resource was declared."""

    file: Path
    document: Document
    index: int

    def line_of(self, path: FieldPath) -> int:
        return self.document.line_of(path)


@dataclass
class Catalog:
    """Every resource found under a set of paths, by kind and name."""

    intents: dict[str, Intent] = field(default_factory=dict)
    capabilities: dict[str, Capability] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    observers: dict[str, Observer] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    policy_tests: dict[str, PolicyTest] = field(default_factory=dict)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    broken: set[tuple[str, str]] = field(default_factory=set)
    """Resources (kind, name) declared in a document that did not load: their own problems
    are told, and a reference to one is not told again as "not found"."""

    def table(self, kind: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "Intent": self.intents,
            "Capability": self.capabilities,
            "Policy": self.policies,
            "Observer": self.observers,
            "Scenario": self.scenarios,
            "PolicyTest": self.policy_tests,
        }
        return tables[kind]

    def origin(self, resource: Resource) -> Origin | None:
        return self.origins.get((resource.kind, resource.name))

    def __len__(self) -> int:
        tables = (
            self.intents,
            self.capabilities,
            self.policies,
            self.observers,
            self.scenarios,
            self.policy_tests,
        )
        return sum(len(t) for t in tables)


def yaml_under(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The YAML files under `folder`, recursively, sorted, as `folder` names them, and what
    stood in the way: a folder that cannot be read, a link that leads nowhere (named like
    YAML, or not: `policies/shared`, a link to an unmounted folder of shared policies, was
    skipped). Left out silently, they would leave an enforced policy out of the catalog.
    Hidden files and folders are left out (see `yaml_files`), and a folder named like YAML
    too. Links to folders are followed, each folder walked once (a link back up is no loop).
    """
    found: list[Path] = []
    problems: list[Problem] = []

    def refused(error: OSError) -> None:
        said = error.strerror or str(error)
        problems.append(Problem(str(error.filename), None, "", f"cannot read folder: {said}"))

    seen: set[str] = set()
    for at, dirs, names in os.walk(folder, onerror=refused, followlinks=True):
        real = os.path.realpath(at)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # not even walked
        for name in names:
            path = Path(at, name)
            if name.startswith("."):
                continue
            if not named_yaml(path):  # (by its name alone, but for a link)
                if path.is_symlink() and not path.exists():  # a folder's, for all one knows
                    target = os.readlink(path)
                    said = f"a link to {target}, which does not exist"
                    problems.append(Problem(str(path), None, "", said))
                continue
            if path.is_dir():
                continue
            if path.is_file():
                found.append(path)
            elif path.is_symlink():
                target = os.readlink(path)
                problems.append(Problem(str(path), None, "", f"a link to {target}, not a file"))
            else:
                problems.append(Problem(str(path), None, "", "not a file"))  # a FIFO, …
    return sorted(found), problems


def yaml_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand folders into their YAML files (recursively, sorted); missing paths are problems.

    Hidden files and folders inside a folder (`.venv`, `.git`, `.cache`) are left out: a
    catalog pointed at a project's root must not read every YAML file of its virtualenv.
    A hidden path named itself is read."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            under, stood = yaml_under(path)
            files.extend(under)
            problems.extend(stood)
        elif path.is_file():
            files.append(path)
        else:
            what = "not a file or folder" if path.exists() else "no such file or folder"
            problems.append(Problem(str(path), None, "", what))  # a device, a socket, …
    unique = list(dict.fromkeys(f.resolve() for f in files))
    return unique, problems


def inside(path: Path, paths: Iterable[Path]) -> bool:
    """True when `path` lies in one of the folders among `paths` (loading them loads it)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(p.resolve()) for p in paths if p.is_dir())


Skip = Callable[[Path, Any], bool]
"""Whether to leave out of a catalog the document with this data in this (resolved) file."""


Replaced = Mapping[str, str]
"""Folders of the project (by name, under `base`) a command reads others in place of, each
with what a missing resource found there is told (`ido replay --policies DIR`: `{"policies":
"a replay given other policies (--policies DIR) needs it in DIR too"}`)."""


def load_catalog(
    paths: Sequence[Path | str],
    *,
    base: Path | None = None,
    skip: Skip | None = None,
    replaced: Replaced | None = None,
) -> Catalog:
    """Load and check every resource under `paths`; raise LoadError listing all problems.
    `skip`: documents to leave out (a scenario file's scenarios that need another catalog).
    `replaced`: folders the command reads others in place of, and what to say of them."""
    base = base or Path.cwd()
    files, problems = yaml_files(Path(p) for p in paths)
    catalog = Catalog()
    for file in files:
        problems.extend(_load_file(file, display(file, base), catalog, skip))
    _checking_all(catalog)
    problems.extend(_check_references(catalog, base, replaced or {}))
    problems.extend(_check_conditions(catalog, base))
    problems.extend(_check_expectations(catalog, base))
    if problems:
        raise LoadError(problems)
    return catalog


def load_documents(data: Sequence[Any], file: Path, *, base: Path | None = None) -> Catalog:
    """Check resources built in memory as `load_catalog` checks the documents of one YAML
    file named `file` (errors and origins name it; every resource is at its line 1)."""
    base = base or Path.cwd()
    shown = display(file, base)
    catalog = Catalog()
    documents = [Document(data=d, line=1) for d in data]
    problems = _add_documents(documents, file, shown, catalog, named=False)
    _checking_all(catalog)
    problems.extend(_check_references(catalog, base, {}))
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
        llm = spec.llm
        said = None if llm.model is None else model_problem(llm.model, llm.api_base, environ)
        if said is not None:
            where = (*at, "llm", "model")
            problems.append(problem_at(catalog, resource, where, said, base or Path.cwd()))
    return problems


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


def problem_at(
    catalog: Catalog, resource: Resource, where: FieldPath, said: str, base: Path, below: int = 0
) -> Problem:
    """A problem placed at `where` in `resource` as its file holds it (shown relative to
    `base`): what the checks of a loaded catalog tell. `below`: lines below the field's
    own, where a block scalar (`when: |`) holds the line the problem is on."""
    origin = catalog.origins[(resource.kind, resource.name)]
    line = origin.line_of(where) + below
    return Problem(display(origin.file, base), line, format_path(where), said)


def intent_specs(catalog: Catalog) -> list[tuple[Resource, IntentSpec, FieldPath]]:
    """Every intent's spec with where it stands: in intents/, or inline in a scenario."""
    specs: list[tuple[Resource, IntentSpec, FieldPath]] = [
        (intent, intent.spec, ("spec",)) for intent in catalog.intents.values()
    ]
    specs += [
        (scenario, scenario.spec.intent, ("spec", "intent"))
        for scenario in catalog.scenarios.values()
        if isinstance(scenario.spec.intent, IntentSpec)  # (a name is checked in intents/)
    ]
    return specs


def display(file: Path, base: Path) -> str:
    """`file` as problems name it: relative to `base` when inside it."""
    try:
        return str(file.relative_to(base.resolve()))
    except ValueError:
        return str(file)


_PDDL_HINT = (
    "a PDDL file, not a YAML resource: `ido import-pddl DOMAIN PROBLEM --out DIR` writes a "
    "problem as YAML, `ido plan --pddl DOMAIN PROBLEM` plans it"
)
"""What a PDDL file given to `ido validate` (or any command that loads a catalog) says."""


def _load_file(file: Path, shown: str, catalog: Catalog, skip: Skip | None = None) -> list[Problem]:
    if file.suffix.lower() == ".pddl":  # a planning user's first `ido validate`
        # (checked before YAML reads it: a `;; comment` line is a YAML syntax error)
        return [Problem(shown, 1, "", _PDDL_HINT)]
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [unreadable_file(shown, exc)]
    progress.report(stage="loading", step="reading", file=shown, resources=0)
    documents, problems = read_documents(
        text,
        shown,
        lambda count: progress.report(stage="loading", step="reading", file=shown, resources=count),
    )
    if not problems and all(d.data is None for d in documents):
        # (a truncated intent or policy would go missing from the catalog without a word)
        return [Problem(shown, 1, "", "empty: no resource")]
    resolved = file.resolve()
    left_out = None if skip is None else (lambda data: skip(resolved, data))
    found = problems + _add_documents(documents, file, shown, catalog, left_out=left_out)
    named = named_yaml(file) or file.suffix.lower() == ".json"
    resources = any(_looks_like_resource(d.data) for d in documents)
    if found and not named and (problems or not resources):
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


PATTERNS = {
    NAME_PATTERN: "a name: lower-case letters, digits, '.', '_' and '-', starting and ending "
    "with a letter or digit, like 'charge-stripe-eu'",
    PATH_PATTERN: "a fact path: names of letters, digits and '_' joined by dots, not starting "
    "with a digit, like 'order.paid'",
    CALLABLE_PATTERN: "a Python function as 'package.module:function', like "
    "'capabilities.payments:charge' (modules joined by dots, without '.py')",
    URL_PATTERN: "an http:// or https:// URL",
    ENV_NAME_PATTERN: "an environment variable name: letters, digits and '_', not starting "
    "with a digit, like 'OPENAI_API_KEY'",
}
"""What the patterns of names, fact paths, functions and URLs ask for, in words (pydantic
shows the regex)."""
KEY_NOT_NAME = (
    "write the name of the variable that holds the key, never the key (what is written"
    " here is not repeated)"
)
"""What an `api_key_env` that is no variable's name says: a key pasted there (`sk-…`) was
echoed in the error, into terminals and CI logs."""


def _problem_of(
    loc: FieldPath, error: Any, document: Document, shown: str, model: type[Resource]
) -> Problem:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "extra_forbidden":
        message = _extra_key(loc, model) if loc else "unknown key"
    elif kind == "missing":
        message = f"missing required key '{loc[-1]}'"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "int_type" and _whole(error.get("input")):
        # (`1e3` and `20.0` are read as 1000.0 and 20.0: "got 1000.0" named no mistake)
        whole = int(error["input"])
        message = f"a whole number is written without a decimal point or exponent: {whole}"
    elif kind == "literal_error" and isinstance(error.get("input"), str):
        message = f"{message} (got {error['input']!r}{_meant(error)})"
    elif kind == "model_type" and "input" in error:  # not pydantic's "or instance of X"
        keys = ", ".join(keys_at(model, loc))
        message = f"should be a mapping of {keys} (got {error['input']!r})"
    elif kind == "list_type" and isinstance(error.get("input"), str):
        item = _flow_item(error["input"])
        message = f"{message} (got {error['input']!r}): write one item as a list, [{item}]"
    elif "input" in error and kind.endswith("_type"):
        message = f"{message} (got {error['input']!r})"
        if isinstance(error["input"], bool) and kind != "bool_type":
            message += f": {YAML_BOOLS}"
    elif kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") in PATTERNS:
        pattern = error["ctx"]["pattern"]
        if pattern == ENV_NAME_PATTERN:  # (what is there may be the key itself: not echoed)
            message = f"not {PATTERNS[pattern]}: {KEY_NOT_NAME}"
        else:
            message = f"{error['input']!r} is not {PATTERNS[pattern]}"
    if loc and loc[-1] == "[key]":  # pydantic's mark for a mapping's key that failed
        loc = loc[:-1]
        key = repr(error.get("input", loc[-1] if loc else ""))
        said = message.startswith(key)  # in words already: "'x y' is not a fact path: …"
        message = f"the key {message}" if said else f"the key {key} is not valid: {message}"
    return Problem(shown, document.line_of(loc), format_path(loc), message)


def _flow_item(text: str) -> str:
    """`text` as an item of a YAML flow list, `[…]`: quoted unless it is a plain name or
    path (`state.x && !state.y` holds what YAML would read otherwise)."""
    plain = re.fullmatch(r"[A-Za-z_][\w.\-]*", text) and text.lower() not in _YAML_WORDS
    return text if plain else json.dumps(text)


_YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "y", "n"})


YAML_BOOLS = "YAML reads yes, no, on, off, true and false as a bool; quote text ('no')"
"""Why a value written as `region: no` (Norway) or `tags: [on]` is a bool."""


def _whole(value: Any) -> bool:
    """Whether `value` is a float that holds a whole number (`1e3`, `20.0` as YAML reads
    them), where an integer is wanted."""
    return isinstance(value, float) and value.is_integer()


def _meant(error: Any) -> str:
    """`; did you mean 'auto'?` for a value written otherwise than one of those allowed
    (`Auto`, `automatic`, `get` for `GET`), or nothing."""
    allowed = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
    guess = _guess(error["input"], allowed)
    return f"; {guess}" if guess else ""


def _guess(written: str, allowed: Collection[str]) -> str | None:
    """`did you mean 'Intent'?` for a word written otherwise than one of `allowed`: in
    another case (`intent`, `get` for `GET`), else close to one (`Intnet`); None when none
    is close."""
    same = [a for a in allowed if a.lower() == written.lower()]
    return f"did you mean '{same[0]}'?" if same else did_you_mean(written, allowed)


KEY_LIKENESS = 0.8
"""How alike an unknown key must be to a known one to be told as its typo: `provdier`,
`timout` and `lables` are; `price` is not `provider` (it means `cost`)."""


def _extra_key(loc: FieldPath, model: type[Resource]) -> str:
    """An unknown key in words, with the key it is likely a typo of (`provdier`: did you
    mean 'provider'?), or, at the top of a resource, the `spec` it belongs under (a key
    not indented)."""
    key = str(loc[-1])
    guess = did_you_mean(key, keys_at(model, loc[:-1]), cutoff=KEY_LIKENESS)
    if guess is not None:
        return f"unknown key '{key}'; {guess}"
    if len(loc) == 1 and key in keys_at(model, ("spec",)):
        return f"unknown key '{key}'; it belongs under spec: (indent it)"
    return f"unknown key '{key}'"


HOMES = {"Intent": "intents", "Policy": "policies"}
"""The catalog folder each kind is read from by default (the rest: capabilities/)."""


def _unread(read: set[Path], base: Path, kind: str, name: str, replaced: Replaced) -> str:
    """A hint when a folder of the project that is not in the catalog holds a file named
    after a missing resource and declaring its kind: `observers/stock.yaml`, a folder ido
    does not read unless asked, is where a new user puts an observer. `read`: the files
    the catalog was loaded from; `replaced`: folders the command read others in place of."""
    declares = re.compile(rf"^kind:\s*{kind}\s*$", re.MULTILINE)
    try:
        found = sorted(
            f
            for f in base.glob(f"*/{name}.*")
            if named_yaml(f)  # (`stock.YAML` too)
            and not f.parent.name.startswith(".")
            and f.is_file()
            and f.resolve() not in read
            and declares.search(f.read_text(encoding="utf-8", errors="replace"))
        )
    except OSError:  # a folder or file it may not read: no hint
        return ""
    if not found:
        return ""
    folder, home = found[0].parent.name, HOMES.get(kind, "capabilities")
    unread = f"{folder}/{found[0].name} is not in the catalog"
    if folder in replaced:
        return f" ({unread}: {replaced[folder]})"
    if folder == home:
        return f" ({unread}: give --catalog {folder})"
    return f" ({unread}: give --catalog {folder}, or move it into {home}/)"


def _check_references(catalog: Catalog, base: Path, replaced: Replaced) -> list[Problem]:
    problems: list[Problem] = []

    def at(resource: Resource, path: FieldPath, message: str) -> None:
        problems.append(problem_at(catalog, resource, path, message, base))

    read: set[Path] = set()  # the catalog's files, resolved once, when a hint is looked for

    def missing(resource: Resource, path: FieldPath, kind: str, name: str) -> None:
        if (kind, name) in catalog.broken:  # there, and why it did not load is told
            return
        known = sorted(catalog.table(kind))
        hint = f"; known: {', '.join(known)}" if known else f"; no {kind} is loaded"
        if not read:
            read.update(origin.file.resolve() for origin in catalog.origins.values())
        at(
            resource,
            path,
            f"{kind} '{name}' not found{hint}{_unread(read, base, kind, name, replaced)}",
        )

    for intent in catalog.intents.values():
        for i, name in enumerate(intent.spec.policies):
            if name not in catalog.policies:
                missing(intent, ("spec", "policies", i), "Policy", name)
        for i, name in enumerate(intent.spec.observers):
            if name not in catalog.observers:
                missing(intent, ("spec", "observers", i), "Observer", name)
    for capability in catalog.capabilities.values():
        undo = capability.spec.compensate
        if undo is not None and undo not in catalog.capabilities:
            missing(capability, ("spec", "compensate"), "Capability", undo)
    for test in catalog.policy_tests.values():
        for i, name in enumerate(test.spec.policies):
            if name not in catalog.policies:
                missing(test, ("spec", "policies", i), "Policy", name)
        for i, case in enumerate(test.spec.cases):
            if case.capability is not None and case.capability not in catalog.capabilities:
                missing(test, ("spec", "cases", i, "capability"), "Capability", case.capability)
            for j, name in enumerate(case.plan or ()):
                if name not in catalog.capabilities:
                    missing(test, ("spec", "cases", i, "plan", j), "Capability", name)
    providers = sorted({c.spec.provider for c in catalog.capabilities.values()})
    for scenario in catalog.scenarios.values():
        for path, kind, name in _scenario_references(scenario):
            if name not in catalog.table(kind):
                missing(scenario, path, kind, name)
        for name, behaviour in scenario.spec.world.capabilities.items():
            found = catalog.capabilities.get(name)
            if behaviour.output is not None and found is not None and not found.spec.output:
                at(
                    scenario,
                    ("spec", "world", "capabilities", name, "output"),
                    f"capability '{name}' has no output path, so what its calls return is "
                    "not kept: give it one (spec.output), or leave this out",
                )
        for i, fault in enumerate(scenario.spec.faults):
            if fault.provider is not None and fault.provider not in providers:
                listed = ", ".join(providers) or "none"
                at(
                    scenario,
                    ("spec", "faults", i, "provider"),
                    f"no capability has provider '{fault.provider}'; providers: {listed}",
                )
        for i, cite in enumerate(scenario.spec.expect.cites):
            policy, _, rule_id = cite.partition("/")
            where = ("spec", "expect", "cites", i)
            if " " not in cite and "/" in cite and policy in catalog.policies:
                rules = catalog.policies[policy].spec.rules
                message = _rule_problem(rules, policy, rule_id, effects=EFFECTS)
                if message is not None:
                    at(scenario, where, message)
            elif RULE_REF.fullmatch(cite) and policy not in catalog.policies:
                missing(scenario, where, "Policy", policy)
            elif INTENT_RULE_REF.fullmatch(cite):
                message = _intent_rule_problem(catalog, scenario, cite, effects=EFFECTS)
                if message is not None:
                    at(scenario, where, message)
        for i, answer in enumerate(scenario.spec.approvals):
            if ("Policy", answer.rule.partition("/")[0]) in catalog.broken:
                continue  # there, and why it did not load is told
            message = _answer_problem(catalog, scenario, answer.rule)
            if message is not None:
                at(scenario, ("spec", "approvals", i, "rule"), message)
    return problems


INTENT_RULE_REF = re.compile(r"intent:[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*")
"""A rule of an intent, as it is cited: `intent:NAME/rule`."""


def _answer_problem(catalog: Catalog, scenario: Scenario, ref: str) -> str | None:
    """Why a scenario's approval for `ref` can answer no request, if it cannot: a misspelt
    rule left the run blocked, told only as an unmet `outcome`. `ref` is a `require_approval`
    rule of a policy (`policy/rule`) or of the scenario's intent (`intent:NAME/rule`), or
    one of ido's own (`mode/propose`, `resume/outcome-unknown`)."""
    if ref in (PROPOSE, UNKNOWN_RULE):
        return None
    owner, _, rule_id = ref.partition("/")
    if not rule_id:  # a bare id: requests name a rule with where it stands
        named = _rule_names(catalog.policies.values())
        return _not_a_rule_id(ref, named, write="policy/rule (or intent:NAME/rule)")
    if owner.startswith("intent:"):
        return _intent_rule_problem(catalog, scenario, ref, ("require_approval",))
    policy = catalog.policies.get(owner)
    if policy is None:
        known = ", ".join(sorted(catalog.policies)) or "none"
        return f"'{ref}' names no policy rule: write policy/rule (policies: {known})"
    return _rule_problem(policy.spec.rules, owner, rule_id, ("require_approval",))


def _intent_rule_problem(
    catalog: Catalog, scenario: Scenario, ref: str, effects: Sequence[str]
) -> str | None:
    """Why `ref`, `intent:NAME/rule`, is no rule of the scenario's intent with one of
    `effects`, if it is not (None too when the intent is missing: told where it is named)."""
    spec: IntentSpec | str | None = scenario.spec.intent
    name = spec if isinstance(spec, str) else scenario.name
    if isinstance(spec, str):
        spec = catalog.intents[spec].spec if spec in catalog.intents else None
    if spec is None:
        return None
    owner, _, rule_id = ref.partition("/")
    if owner != f"intent:{name}":
        return f"'{ref}' is not a rule of this scenario's intent: write intent:{name}/RULE"
    return _rule_problem(spec.rules, owner, rule_id, effects)


def _rule_problem(
    rules: Sequence[Rule], owner: str, rule_id: str, effects: Sequence[str]
) -> str | None:
    """Why `owner/rule_id` is none of `rules` with one of `effects`, naming those that are."""
    found = next((r for r in rules if r.id == rule_id), None)
    if found is not None and found.effect in effects:
        return None
    fitting = ", ".join(sorted(f"{owner}/{r.id}" for r in rules if r.effect in effects))
    listed = f"{owner} {'has' if len(effects) > 1 else 'asks with'} {fitting or 'none'}"
    if found is None:
        return f"rule '{owner}/{rule_id}' not found; {listed}"
    return f"rule '{owner}/{rule_id}' is a {found.effect} rule, so it asks no approval; {listed}"


def _rule_names(policies: Iterable[Policy]) -> list[str]:
    """The rules of `policies`, as they are named: `policy/rule`."""
    return [f"{p.name}/{r.id}" for p in policies for r in p.spec.rules]


def _not_a_rule_id(ref: str, named: Iterable[str], write: str, like: str = "") -> str:
    """`ref`, a rule's id without its policy, told as no rule id: with the rule of `named`
    that has that id (the first), else `like`, as an example of what to write."""
    same = next((n for n in sorted(named) if n.endswith(f"/{ref}")), like)
    return f"'{ref}' is not a rule id: write {write}" + (f", like {same}" if same else "")


RULE_REF = re.compile(r"[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*")
"""A cite written as a rule id, `policy/rule` (other cites are text a trigger contains)."""


def _scenario_references(scenario: Scenario) -> Iterable[tuple[FieldPath, str, str]]:
    spec = scenario.spec
    if isinstance(spec.intent, str):
        yield ("spec", "intent"), "Intent", spec.intent
    else:
        for i, name in enumerate(spec.intent.policies):
            yield ("spec", "intent", "policies", i), "Policy", name
        for i, name in enumerate(spec.intent.observers):
            yield ("spec", "intent", "observers", i), "Observer", name
    for name in spec.world.capabilities:
        yield ("spec", "world", "capabilities", name), "Capability", name
    for i, fault in enumerate(spec.faults):
        if fault.capability is not None:
            yield ("spec", "faults", i, "capability"), "Capability", fault.capability
        if fault.policy is not None:
            yield ("spec", "faults", i, "policy"), "Policy", fault.policy
    for key in ("used", "never_used"):
        for i, name in enumerate(getattr(spec.expect, key)):
            yield ("spec", "expect", key, i), "Capability", name
    for i, answer in enumerate(spec.approvals):
        if answer.capability is not None:
            yield ("spec", "approvals", i, "capability"), "Capability", answer.capability


def _conditions(catalog: Catalog) -> Iterable[tuple[Resource, FieldPath, str]]:
    for intent in catalog.intents.values():
        for i, text in enumerate(intent.spec.goal):
            yield intent, ("spec", "goal", i), text
        for i, rule in enumerate(intent.spec.rules):
            yield intent, ("spec", "rules", i, "when"), rule.when
    for capability in catalog.capabilities.values():
        for i, text in enumerate(capability.spec.requires):
            yield capability, ("spec", "requires", i), text
    for policy in catalog.policies.values():
        for i, rule in enumerate(policy.spec.rules):
            yield policy, ("spec", "rules", i, "when"), rule.when
    for scenario in catalog.scenarios.values():
        if not isinstance(scenario.spec.intent, str):
            for i, text in enumerate(scenario.spec.intent.goal):
                yield scenario, ("spec", "intent", "goal", i), text
            for i, rule in enumerate(scenario.spec.intent.rules):
                yield scenario, ("spec", "intent", "rules", i, "when"), rule.when


def _check_expectations(catalog: Catalog, base: Path) -> list[Problem]:
    """What is wrong with the rule ids policy tests expect to fire (a rule that could never
    fire there made the case fail with only "expected [...], fired []")."""
    problems: list[Problem] = []
    for test in catalog.policy_tests.values():
        for i, case in enumerate(test.spec.cases):
            for effect in EFFECTS:
                for j, ref in enumerate(getattr(case.expect, effect) or ()):
                    message = _expectation_problem(
                        catalog, test, case.plan is not None, effect, ref
                    )
                    if message is not None:
                        path = ("spec", "cases", i, "expect", effect, j)
                        problems.append(problem_at(catalog, test, path, message, base))
    return problems


def _expectation_problem(
    catalog: Catalog, test: PolicyTest, about_plan: bool, effect: str, ref: str
) -> str | None:
    """Why the rule `ref` cannot fire as `effect` in a case of `test`, if it cannot."""
    name, _, rule_id = ref.partition("/")
    under = test.spec.policies
    if not rule_id:
        named = _rule_names(catalog.policies[p] for p in under if p in catalog.policies)
        return _not_a_rule_id(ref, named, write="policy/rule", like=f"{under[0]}/rule")
    policy = catalog.policies.get(name)
    enforced = policy is not None and policy.spec.enforced  # evaluated in every test too
    if name not in under and not enforced:
        listed = ", ".join(under)
        return f"policy '{name}' is not among this test's policies ({listed}); add it to policies"
    if policy is None:  # told where the test names it
        return None
    rule = next((r for r in policy.spec.rules if r.id == rule_id), None)
    if rule is None:  # (every effect is one a test may expect: only a missing rule is told)
        return _rule_problem(policy.spec.rules, name, rule_id, effects=EFFECTS)
    if rule.effect != effect:
        return f"rule '{ref}' is a {rule.effect} rule, so it never fires as {effect}"
    try:
        plan_rule = is_plan_rule(rule)
    except ConditionError:
        return None  # told where the rule stands
    if plan_rule and not about_plan:
        return f"rule '{ref}' reads plan: it fires only in a case with plan, not capability"
    if about_plan and not plan_rule:
        return f"rule '{ref}' is about one capability: it fires only in a case with capability"
    return None


NAMES_TOLD = 5
"""Unknown names told per condition; one more warning counts the rest (a rule listing
8,000 names printed 8,000 warnings)."""


def check_names(catalog: Catalog, base: Path) -> list[Problem]:
    """What loads but looks wrong: rules comparing with a capability name, tag, provider or
    region no capability of the catalog has, or an intent name none has (`named_values`):
    a typo, `charge-stirpe` or a provider `equifx`, made a deny that never fired, without a
    word. Only warnings: a policy may govern capabilities another catalog holds. Worked out
    where they are shown (`ido validate`, `plan`, `run`, `resume`, `runner`), not on every
    load. A catalog without capabilities (a policy file checked alone) is not compared
    with."""
    if not catalog.capabilities:
        return []
    specs = [c.spec for c in catalog.capabilities.values()]
    known: dict[str, set[str]] = {  # (sets: a rule may list thousands of names)
        "capability": set(catalog.capabilities),
        "tag": {t for spec in specs for t in spec.tags},
        "provider": {spec.provider for spec in specs},
        "region": {spec.region for spec in specs if spec.region is not None},
        "intent": {
            *catalog.intents,
            *(s.name for s in catalog.scenarios.values() if not isinstance(s.spec.intent, str)),
        },  # a scenario's own intent is named after it
    }
    warnings = []
    for resource, path, text in _conditions(catalog):
        if "rules" not in path:
            continue
        unknown = [
            (kind, value, start)
            for kind, value, start in named_values(text)
            if value not in known[kind] and (kind != "intent" or known[kind])
        ]  # (no intent loaded, as when a policy is checked alone: no telling)
        breaks = [i for i, c in enumerate(text) if c == "\n"] if unknown else []
        for kind, value, start in unknown[:NAMES_TOLD]:
            guess = did_you_mean(value, known[kind])
            hint = f"; {guess}" if guess else ""
            said = {
                "capability": f"no capability is named '{value}'",
                "intent": f"no intent is named '{value}'",
            }.get(kind, f"no capability has the {kind} '{value}'")
            below = bisect.bisect(breaks, start) + 1 if breaks else 0  # `when: |`
            warnings.append(problem_at(catalog, resource, path, said + hint, base, below))
        if len(unknown) > NAMES_TOLD:
            more = len(unknown) - NAMES_TOLD
            said = f"and {more:,} more names no capability or intent of the catalog has"
            warnings.append(problem_at(catalog, resource, path, said, base))
    return warnings


def _check_conditions(catalog: Catalog, base: Path) -> list[Problem]:
    problems: list[Problem] = []
    for resource, path, text in _conditions(catalog):
        below = 0  # lines below the field's own: a block scalar's (`when: |`) line of it
        try:
            condition = compile_condition(text)
        except ConditionError as exc:
            message: str | None = f"{exc} in {echoed(text)}"
            below = exc.line if exc.line is not None and "\n" in text else 0
        else:
            message = _scope_problem(resource, path, condition.variables)
            if message is None and "rules" in path:
                message, below = _unknown_key(condition)
        if message is not None:
            problems.append(problem_at(catalog, resource, path, message, base, below))
    return problems


KEYS = {
    "capability": CAPABILITY_KEYS,
    "plan": PLAN_KEYS,
    "intent": ("name", *sorted(set(IntentSpec.model_fields) - {"given"})),
}
"""The keys of the variables whose keys are known in advance (`ido.decide.intent_view`:
an intent's spec without `given`, and its name)."""


def _unknown_key(condition: Condition) -> tuple[str | None, int]:
    """What a rule's condition reads of `capability`, `plan` or `intent` that they never
    have (`capability.provder`), if anything, and the line of the condition it is on (0
    for its first): such a read fails every evaluation, so a deny or require_approval rule
    fired for everything and a prefer or avoid rule never."""
    text = condition.source
    for variable, key, start in condition.keys:
        known = KEYS[variable]
        if key not in known:
            guess = did_you_mean(key, known)
            hint = f"{guess} " if guess else ""
            message = f"{variable} has no key '{key}'; {hint}({variable} has {', '.join(known)})"
            return message, (text.count("\n", 0, start) + 1 if "\n" in text else 0)
    return None, 0


def _scope_problem(resource: Resource, path: FieldPath, variables: frozenset[str]) -> str | None:
    """What is wrong with the variables a condition reads where it stands, if anything."""
    if "rules" not in path:
        others = sorted(variables - {"state"})
        if not others:
            return None
        where = "a goal" if "goal" in path else "a requires condition"
        return (
            f"{where} reads state only, not {' or '.join(others)}, so it would never hold;"
            " a policy's rules read capability, intent, plan and health"
        )
    if {"plan", "capability"} <= variables:
        return (
            "a rule reads capability or plan, not both: a rule that reads plan is about the "
            "plan as a whole; write one rule for each"
        )
    rule = _rule_at(resource, path)
    if "plan" in variables and rule is not None and rule.effect in ("prefer", "avoid"):
        return (
            f"{rule.effect} weighs each step, so it cannot read plan; about a plan as a "
            "whole, use deny or require_approval"
        )
    return None


def _rule_at(resource: Resource, path: FieldPath) -> Any:
    """The rule whose `when` is at `path` in `resource`."""
    node: Any = resource
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


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
