"""Fuzzing the loader: any mangled YAML yields a catalog or a LoadError, never a crash."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ido.errors import LoadError
from ido.loading import Catalog, load_catalog
from ido.loading.checks import check_names, check_nulls

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_FOLDERS = ("capabilities", "intents", "policies", "scenarios")

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata:
  name: fuzz-intent
  labels: {team: payments}
spec:
  given:
    order: {id: "1042", amount: 120.0, region: eu}
  goal:
    - state.order.paid
    - "state.order.status == 'shipped'"
  constraints: {max_cost: 5.0, deadline: 30s, min_success_probability: 0.9}
  objective: {cost: 1.0, latency: 0.5, risk: 2.0}
  policies: [fuzz-policy]
  mode: auto
  planner: cpsat
  limits: {max_steps: 20, max_replans: 10}
"""

CAPABILITY = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: fuzz-charge}
spec:
  description: Charge the order with a card.
  provider: stripe
  region: eu
  tags: [payments, pii]
  requires: ["!state.order.paid", "state.order.amount > 0.0"]
  effects:
    order.paid: true
    order.status: shipped
  cost: 0.30
  latency: 800ms
  reliability: 0.99
  timeout: 5s
  idempotent: true
  compensate: fuzz-charge
  output: order.receipt
  run:
    http:
      method: POST
      url: https://pay.example/charge
      json: {amount: 1}
      headers: {X-Key: abc}
"""

POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: fuzz-policy}
spec:
  description: Keep PII in the EU.
  rules:
    - id: pii-stays-in-eu
      effect: deny
      when: "'pii' in capability.tags && state.order.region == 'eu' && capability.region != 'eu'"
      message: PII of EU customers is processed in the EU only.
    - id: prefer-cheap
      effect: prefer
      when: "capability.cost < 1.0"
      message: Cheap is good.
      weight: 0.5
"""

OWN = {"fuzz-intent.yaml": INTENT, "fuzz-charge.yaml": CAPABILITY, "fuzz-policy.yaml": POLICY}


def shipped() -> dict[str, str]:
    """The example resources shipped with the repository, by path relative to its root."""
    found: dict[str, str] = {}
    for folder in SHIPPED_FOLDERS:
        base = ROOT / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.suffix in (".yaml", ".yml") and path.is_file():
                    found[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return found


CORPUS = {**OWN, **shipped()}

JUNK = [
    "\t",
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    "? ",
    "&a ",
    "*a",
    "*nope",
    "<<: ",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!binary ",
    "!!timestamp ",
    "!!set ",
    "!!python/object:os.system ",
    "!custom ",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "'",
    '"',
    "#",
    "|",
    ">",
    "\\",
    ",",
    "@",
    "`",
    "~",
    "null",
    "yes",
    "0x1F",
    "1e400",
    ".inf",
    "-.nan",
    "2024-02-30",
    "\ufeff",
    "é",
    "😀",
    "\u202e",
    "\u0085",
    "\u2028",
    "\x00",
    "\x07",
    "\x1b",
    "\r",
    "\r\n",
]
SCALARS = [
    "1",
    "-1",
    "0",
    "1.5",
    "1e999",
    ".nan",
    ".inf",
    "true",
    "no",
    "null",
    "~",
    "''",
    "'x'",
    '"5.0"',
    "30",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "[[[]]]",
    "2024-01-01",
    "12:30:00",
    "0o17",
    "1_000",
    "!!binary aGk=",
    "|\n    block",
    "&x 1",
    "*x",
]

CEL_MISTAKES = [
    "capability.latency > duration('1s')",
    "capability.cost > '1'",
    "capability.name - 1 == 0",
    "capability.cost + 1 < 2",
    "plan.latency < timestamp('2026-01-01T00:00:00Z')",
    "intent.constraints.max_cots > 1.0",
    "intent.constraints.deadline > 10.0",
    "health['fuzz-charge'].latncy > 1.0",
    "capability.cost > 1.0 || capability.region + 1 == 2",
    "has(intent.constraints.foo)",
    "capability.name.matches('[')",
    "capability.name.matches('^(?=x)') && capability.cost > 1.0",
]
"""Mistakes in rules, which the loader tells at load time (`ido.conditions._types`: types
and keys; `ido.conditions._limits`: patterns that do not compile)."""
NULL_READS = [
    "capability.region.startsWith('eu')",
    "plan.cost > intent.constraints.max_cost",
    "duration(intent.constraints.deadline) < duration('1m') || capability.cost > 1.0",
    "size(intent.llm.model) > 0 && has(capability.region)",
]
"""Reads of keys that may be null, with no guard: they load, and are warned of
(`ido.loading.checks.check_nulls`)."""

Mutation = Callable[[str, random.Random], str | bytes]


def delete_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    del lines[rng.randrange(len(lines))]
    return "".join(lines)


def duplicate_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[i])
    return "".join(lines)


def swap_characters(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def insert_token(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(JUNK) + text[i:]


def insert_unicode(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    ranges = [(0, 0x20), (0x7F, 0xA0), (0xA0, 0x3000), (0xFFF0, 0x10000), (0x1F300, 0x1F700)]
    noise = ""
    for _ in range(rng.randint(1, 4)):
        low, high = rng.choice(ranges)
        noise += chr(rng.randrange(low, high))
    return text[:i] + noise + text[i:]


def insert_bytes(text: str, rng: random.Random) -> bytes:
    data = text.encode()
    i = rng.randrange(len(data) + 1)
    return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + data[i:]


def reindent(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    body = lines[i].lstrip(" ")
    lines[i] = " " * rng.choice([0, 1, 2, 3, 4, 6, 8]) + body
    return "".join(lines)


def replace_scalar(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    candidates = [
        i for i, line in enumerate(lines) if ": " in line or line.lstrip().startswith("- ")
    ]
    i = rng.choice(candidates)
    line = lines[i].rstrip("\n")
    head = line.split(": ", 1)[0] + ": " if ": " in line else line[: line.index("- ") + 2]
    lines[i] = head + rng.choice(SCALARS) + "\n"
    return "".join(lines)


def mistype_rule(text: str, rng: random.Random) -> str:
    """A rule's `when` (or, in a file without rules, a scalar) made a CEL type mistake."""
    lines = text.splitlines(keepends=True)
    rules = [i for i, line in enumerate(lines) if line.lstrip().startswith("when: ")]
    if not rules:
        return replace_scalar(text, rng).replace("'x'", f'"{rng.choice(CEL_MISTAKES)}"')
    i = rng.choice(rules)
    lines[i] = lines[i].split("when: ")[0] + f'when: "{rng.choice(CEL_MISTAKES + NULL_READS)}"\n'
    return "".join(lines)


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text))]


def several(text: str, rng: random.Random) -> str | bytes:
    out: str | bytes = text
    for _ in range(rng.randint(2, 5)):
        if isinstance(out, bytes):
            break
        out = rng.choice([*TEXT_MUTATIONS, insert_bytes])(out, rng)
    return out


TEXT_MUTATIONS: list[Callable[[str, random.Random], str]] = [
    delete_line,
    duplicate_line,
    swap_characters,
    insert_token,
    insert_unicode,
    reindent,
    replace_scalar,
    mistype_rule,
    truncate,
]
MUTATIONS: list[Mutation] = [*TEXT_MUTATIONS, insert_bytes, several]
CASES_PER_MUTATION = 30
TAG = re.compile(r"function-|constrained-|lax-|\.\[key\]")


def load_or_problems(folder: Path) -> Catalog | LoadError:
    """The catalog, or the LoadError; anything else propagates and fails the test."""
    try:
        return load_catalog([folder], base=folder)
    except LoadError as exc:
        return exc


def check_outcome(outcome: Catalog | LoadError, written: set[str], folder: Path) -> None:
    if isinstance(outcome, Catalog):  # (and what is warned of once loaded)
        for warning in [*check_names(outcome, folder), *check_nulls(outcome, folder)]:
            assert warning.file in written and warning.message.strip(), warning
        return
    assert outcome.problems, "a LoadError must carry at least one problem"
    for problem in outcome.problems:
        assert problem.message.strip(), problem
        assert problem.file in written, problem
        assert problem.line is None or problem.line >= 1, problem
        assert isinstance(problem.field, str), problem
        assert not TAG.search(problem.field), problem  # pydantic's union tags are not paths


def test_the_representative_resources_load_unmutated(tmp_path: Path) -> None:
    """The fuzzing seeds are themselves valid, so mutations start from a loadable catalog."""
    for name, text in OWN.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert sorted(catalog.intents) == ["fuzz-intent"]
    assert sorted(catalog.capabilities) == ["fuzz-charge"]
    assert sorted(catalog.policies) == ["fuzz-policy"]


@pytest.mark.parametrize("mistake", CEL_MISTAKES)
def test_a_type_mistake_in_a_seed_rule_is_a_located_load_error(
    mistake: str, tmp_path: Path
) -> None:
    for name, text in OWN.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    pii = "\"'pii' in capability.tags && state.order.region == 'eu' && capability.region != 'eu'\""
    policy = POLICY.replace(pii, f'"{mistake}"')
    (tmp_path / "fuzz-policy.yaml").write_text(policy, encoding="utf-8")
    outcome = load_or_problems(tmp_path)
    assert isinstance(outcome, LoadError)
    (problem,) = outcome.problems
    assert (problem.file, problem.line) == ("fuzz-policy.yaml", 9)
    assert problem.field == "spec.rules[0].when"
    assert mistake in problem.message


@pytest.mark.parametrize("read", NULL_READS)
def test_an_unguarded_null_read_in_a_seed_rule_loads_and_is_warned_of(
    read: str, tmp_path: Path
) -> None:
    for name, text in OWN.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    pii = "\"'pii' in capability.tags && state.order.region == 'eu' && capability.region != 'eu'\""
    (tmp_path / "fuzz-policy.yaml").write_text(POLICY.replace(pii, f'"{read}"'), encoding="utf-8")
    catalog = load_catalog([tmp_path], base=tmp_path)
    (warning,) = check_nulls(catalog, tmp_path)
    assert (warning.file, warning.line, warning.field) == (
        "fuzz-policy.yaml",
        9,
        "spec.rules[0].when",
    )
    assert "fails on null" in warning.message


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_a_mutated_resource_loads_or_raises_load_error(
    mutation: Mutation, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """After any mutation the loader returns a catalog or raises LoadError with located problems."""
    crashes: list[str] = []
    for seed in range(CASES_PER_MUTATION):
        rng = random.Random(f"{mutation.__name__}-{seed}")
        target = rng.choice(sorted(CORPUS))
        folder = tmp_path_factory.mktemp(f"{mutation.__name__}{seed}")
        files = {name: text for name, text in OWN.items()}
        files[Path(target).name] = CORPUS[target]
        mutated = mutation(CORPUS[target], rng)
        for name, text in files.items():
            data = mutated if name == Path(target).name else text
            path = folder / name
            if isinstance(data, bytes):
                path.write_bytes(data)
            else:
                path.write_bytes(data.encode("utf-8", "surrogatepass"))
        try:
            outcome = load_or_problems(folder)
        except Exception as exc:  # any escape is the failure this test reports
            crashes.append(f"seed {seed} on {target}: {type(exc).__name__}: {exc!s:.120}")
            continue
        check_outcome(outcome, set(files), folder)
        if seed % 5 == 0:
            again = load_or_problems(folder)
            if isinstance(outcome, LoadError):
                assert isinstance(again, LoadError)
                assert again.problems == outcome.problems
    assert not crashes, f"{len(crashes)} inputs crashed the loader:\n" + "\n".join(crashes)
