"""A grounded PDDL task as ido resources: one Capability per action instance, one Intent.

The atom `(on a b)` is the fact `state.on.a.b`; names are lower-cased and every character
CEL or a resource name cannot hold becomes `_` (facts) or `-` (names). A segment that
starts with a digit or is a CEL keyword gets a `p_` prefix. Two PDDL names that would meet
in the same ido name are refused rather than merged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ido.errors import PddlError, located
from ido.model.fields import MOST_STEPS
from ido.pddl.ground import GroundAction, GroundTask
from ido.pddl.parsed import Atom, Literal
from ido.planner.tables import MAX_TABLE_ROWS
from ido.planner.types import SCALE, units

GOAL_FACTS = MAX_TABLE_ROWS.bit_length() - 1
"""Facts a goal of several ways may read: the planner tabulates a condition on every
combination of the facts it reads (`ido.planner.tables`), up to MAX_TABLE_ROWS."""

CEL_RESERVED = frozenset(
    {
        *("true", "false", "null", "in", "as", "break", "const", "continue", "else", "for"),
        *("function", "if", "import", "let", "loop", "package", "namespace", "return"),
        *("var", "void", "while"),
    }
)
_NOT_IDENT = re.compile(r"[^a-z0-9_]")
_NOT_NAME = re.compile(r"[^a-z0-9.-]+")


class _Names:
    """Sanitised names, checked to stay one-to-one; two PDDL names that would meet are an
    error naming the files they come from, `at` (`d.pddl, p.pddl`)."""

    def __init__(self, at: str = "") -> None:
        self._at = at
        self._seen: dict[str, str] = {}
        self._segments: dict[str, str] = {}  # a name appears in many atoms: once each
        self.paths: dict[Atom, str] = {}  # and an atom in many actions (see `fact_path`)

    def segment(self, text: str) -> str:
        out = self._segments.get(text)
        if out is None:
            out = _NOT_IDENT.sub("_", text.lower())
            if out[:1].isdigit() or out in CEL_RESERVED or not out:
                out = "p_" + out
            out = self._segments[text] = self._unique(out, text)
        return out

    def resource(self, text: str, call: str | None = None) -> str:
        """A resource's name for `text`. Two calls whose names would meet (`(move-to x)`
        and `(move to x)`, or two long ones cut at 120 characters alike) are told apart by
        a digest of the call: a capability's description shows its call in any case."""
        out = (_NOT_NAME.sub("-", text.lower()).strip("-.") or "action")[:120].strip("-.")
        if call is None:
            return self._unique(out, text)
        first = self._seen.setdefault(out, call)
        if first == call:
            return out
        digest = hashlib.sha256(call.encode()).hexdigest()[:10]
        return self._unique(f"{out[:109].strip('-.')}-{digest}", call)

    def variant(self, text: str, number: int) -> str:
        """The name of the `number`th capability showing the call `text` (an ADL action
        compiles to several): the first as `resource` names it, the others with `-v2`,
        `-v3`, ... (further `-v`s where that name is taken)."""
        if number == 1:
            return self.resource(text)
        base = _NOT_NAME.sub("-", text.lower()).strip("-.")[:100] or "action"
        out = f"{base}-v{number}"
        while out in self._seen:
            out += f"-v{number}"
        self._seen[out] = f"{text} (variant {number})"
        return out

    def _unique(self, out: str, text: str) -> str:
        first = self._seen.setdefault(out, text)
        if first != text:
            raise PddlError(
                located(self._at, f"PDDL names {first!r} and {text!r} would both become {out!r}")
            )
        return out


def fact_path(atom: Atom, names: _Names) -> str:
    path = names.paths.get(atom)
    if path is None:
        path = ".".join(names.segment(part) for part in (atom.predicate, *atom.args))
        names.paths[atom] = path
    return path


def to_resources(
    task: GroundTask, max_steps: int = MOST_STEPS, shell: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The Capability documents, then the Intent document, ready to write as YAML; a name
    that would meet another's is an error naming the files it may come from. With `shell`
    (an argv), each capability runs it followed by its action's name and arguments."""
    facts, resources = _Names(task.files), _Names(task.files)
    actions = task.actions
    if shell:
        _refuse_odd_words(actions, task.files)
    # The ways of an ADL action show one call: each after the first is numbered, once
    # every first way and plain action has its name (so a real name is never taken).
    calls: dict[str, int] = {}
    numbers = []
    for action in actions:
        calls[action.call] = calls.get(action.call, 0) + 1
        numbers.append(calls[action.call])
    documents = [
        _capability(
            action,
            resources.resource(_text(action), action.call) if number == 1 else "",
            facts,
            shell,
        )
        for action, number in zip(actions, numbers, strict=True)
    ]
    for document, action, number in zip(documents, actions, numbers, strict=True):
        if number > 1:
            document["metadata"]["name"] = resources.variant(_text(action), number)
    given: dict[str, Any] = {}
    for atom in sorted(task.init, key=lambda a: (a.predicate, a.args)):
        _set(given, fact_path(atom, facts), True)
    intent_name = _Names().resource(task.problem)  # (a capability may have its name)
    documents.append(
        {
            "apiVersion": "ido/v1",
            "kind": "Intent",
            "metadata": {
                "name": intent_name,
                "description": f"PDDL problem {task.problem} of domain {task.domain}",
            },
            "spec": {
                "given": given,
                "goal": _goal(task, facts),
                "objective": {"cost": 1.0},
                "limits": {"max_steps": max_steps},
            },
        }
    )
    return documents


def rounded_costs(costs: Iterable[tuple[str, float]]) -> str | None:
    """What to warn of when an action's cost (`(call, cost)`) is finer than a millionth,
    else None. ido's planners, CP-SAT and the search alike, count each step's cost in whole
    millionths (`ido.planner.types.units`): costs that differ by less compare as equal, and
    a plan of steps each rounded down may beat one that is cheaper by the problem's metric
    (two steps of 0.5000004 against one of 1.0000006)."""
    finer = [(call, cost) for call, cost in costs if _finer(cost)]
    if not finer:
        return None
    call, cost = finer[0]
    return (
        f"{len(finer):,} action costs are finer than a millionth ({call} costs "
        f"{_decimal(cost)}, counted as {_decimal(units(cost) / SCALE)}): ido's planners "
        "count each step's cost in whole millionths, so the plan may not be optimal by the "
        "problem's metric (its cost is said exactly)"
    )


def _finer(cost: float) -> bool:
    """Whether `cost` is not a whole number of millionths, past a float's own noise (0.3 is
    299,999.99999999994 millionths, and a cost of ten million is off by a hundredth)."""
    scaled = cost * SCALE
    return abs(scaled - round(scaled)) > 1e-3 + abs(scaled) * 1e-15


def _decimal(value: float) -> str:
    """`value` as PDDL writes a number: `0.0000005`, not `5e-07`."""
    return format(Decimal(repr(value)), "f")


def _goal(task: GroundTask, facts: _Names) -> list[str]:
    """The goal's conditions; a goal that can hold in several ways is one condition."""
    if not task.options:
        return [_condition(lit, facts) for lit in task.goal] or ["true"]
    read = len({lit.atom for way in task.options for lit in way})
    if read > GOAL_FACTS:
        raise PddlError(
            located(
                task.goal_at,
                f"the goal can hold in {len(task.options)} ways that read {read} facts; ido "
                f"reads a goal of several ways over at most {GOAL_FACTS} (it tabulates the "
                "condition)",
            )
        )
    ways = (" && ".join(_condition(lit, facts) for lit in way) for way in task.options)
    return [" || ".join(f"({way})" for way in ways)]


_PDDL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _refuse_odd_words(actions: Iterable[GroundAction], files: str) -> None:
    """Refuse, for `--shell`, a word of a call that is no PDDL name: ido's reader takes any,
    and passed to the command as it stands, `${env:home}` reads the environment and
    `--force` is the command's option."""
    for action in actions:
        for word in (action.schema, *action.args):
            if not _PDDL_NAME.fullmatch(word):
                raise PddlError(
                    located(
                        files,
                        f"{word!r} in {action.call} is not a PDDL name (a letter, then "
                        "letters, digits, '-' or '_'), and --shell passes it to the command "
                        "as it stands: rename it",
                    )
                )


def _text(action: GroundAction) -> str:
    return "-".join((action.schema, *action.args))


def _capability(
    action: GroundAction, name: str, facts: _Names, shell: tuple[str, ...]
) -> dict[str, Any]:
    effects: dict[str, bool] = {}
    for atom in action.delete:
        effects[fact_path(atom, facts)] = False
    for atom in action.add:  # PDDL applies deletes first, so an add wins
        effects[fact_path(atom, facts)] = True
    spec: dict[str, Any] = {
        "provider": action.schema,
        "requires": [_condition(lit, facts) for lit in action.precondition],
        "effects": effects,
        "cost": action.cost,
    }
    if shell:  # the call as PDDL wrote it: a name tells it only lossily (`place-a`, digests)
        spec["run"] = {"shell": [*shell, action.schema, *action.args]}
    return {
        "apiVersion": "ido/v1",
        "kind": "Capability",
        "metadata": {
            "name": name,
            "description": action.call,
        },
        "spec": spec,
    }


def _condition(literal: Literal, facts: _Names) -> str:
    path = "state." + fact_path(literal.atom, facts)
    return path if literal.positive else f"!{path}"


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[last] = value
