"""Condition tables: fluents, conditions tabulated over them, rows remembered across groundings."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from ido.conditions import compile_condition, missing_tested_map, unset_fact
from ido.errors import PlanningError
from ido.planner.grounding import ground
from ido.planner.tables import (
    ABSENT,
    MAX_TABLE_ROWS,
    Fluent,
    Tabulator,
    fluents_of,
    forget_tables,
)
from ido.planner.types import Action, Task
from ido.state import get_path, overlaps, set_path
from tests.planner.test_grounding import PACK, SHIP, SHIPPED, action, task

# Conditions that read nested parts of the state, missing parts, whole subtrees, facts no
# capability writes beside ones that some do, long texts, and the state as a whole.
CONDITIONS = (
    "state.gate.g1 == true",
    "has(state.gate.g5)",
    "!has(state.gate.g5)",
    "size(state.gate) > 1",
    "state.box.v == 1 || state.box.v == 'a'",
    "state.box == {'v': 1}",
    "has(state.deep.a.b) && state.deep.a.b > 2",
    "state.deep.a == {'b': 3}",
    "has(state.note) && state.note == 'x'",
    "state.gate.g1 == true && state.box.v == 1",
    "state.note == state.other",
    "state.box.v == state.deep.a.b",
    "state.long == state.other",
    "state.other == 'ab'",
    "size(state) == 4",
    "has(state.long) && size(state.long) > 40",
    # One fact's path or its negation: tabulated without CEL when the fact is boolean.
    "state.gate.g1",
    "!state.gate.g1",
    "!state.box.v",
    "state.deep.a.b",
)
WRITES = (
    ("gate.g1", True),
    ("box.v", 1),
    ("box.v", "a"),
    ("deep.a.b", 3),
    ("note", "x"),
    ("note", [1, 2]),
    ("long", "y" * 40),
    ("long", "y" * 39 + "z"),
)
TOPS = ("gate", "box", "deep", "note", "other", "long", "elsewhere")


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON-like value: scalars of every kind (texts that differ only at the end among
    them, short and past 32 bytes), and mappings, lists or tuples while shallow."""
    kind = rng.randrange(8 if depth < 2 else 6)
    if kind == 0:
        return rng.choice([True, False])
    if kind == 1:
        return rng.choice([0, 1, 2, 3])
    if kind == 2:
        return rng.choice([1.0, 3.0])
    if kind == 3:
        return rng.choice(["a", "x", "", "ab", "ac", "y" * 40, "y" * 39 + "z"])
    if kind == 4:
        return None
    if kind == 5:
        return rng.choice([[1, 2], (1, 2)])
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    keys = ("g1", "g5", "v", "a", "b", "other")
    return {k: _value(rng, depth + 1) for k in rng.sample(keys, rng.randrange(4))}


def _mutate(rng: random.Random, state: dict[str, Any]) -> dict[str, Any]:
    """The state with one part set, replaced or removed: inside what conditions read, or
    beside it."""
    changed = copy.deepcopy(state)
    top = rng.choice(TOPS)
    if rng.random() < 0.25:
        changed.pop(top, None)
    elif rng.random() < 0.5 or not isinstance(changed.get(top), dict):
        changed[top] = _value(rng)
    else:
        changed[top][rng.choice(("g1", "g5", "v", "a", "b"))] = _value(rng, 1)
    return changed


def _actions(rng: random.Random) -> list[Action]:
    """Capabilities writing some of `WRITES`, with conditions from `CONDITIONS`."""
    return [
        Action(
            name=f"a{n}",
            provider="p",
            cost=1.0,
            latency=1.0,
            reliability=1.0,
            requires=tuple(rng.sample(CONDITIONS, rng.randrange(3))),
            effects=(write,),
        )
        for n, write in enumerate(rng.sample(WRITES, rng.randrange(2, len(WRITES))))
    ]


@pytest.mark.parametrize("seed", range(30))
def test_rows_remembered_across_states_are_the_rows_a_fresh_tabulation_gives(seed: int) -> None:
    """A run of states, each a small change of the one before (inside or beside what the
    conditions read), and capabilities that change too: grounding each with the tables
    remembered from the ones before gives what grounding it afresh gives, tables, errors
    and all."""
    rng = random.Random(seed)
    state: dict[str, Any] = {k: _value(rng) for k in TOPS[:4]}
    forget_tables()
    for _ in range(12):
        state = _mutate(rng, state)
        one = Task(state, tuple(rng.sample(CONDITIONS, 2)), tuple(_actions(rng)))
        warm = ground(one)
        forget_tables()
        assert ground(one) == warm


def _on_whole_state(state: dict[str, Any], facts: dict[str, Any], source: str) -> Any:
    """The definition: `source` evaluated on the whole state, as JSON has it, with the facts
    set (ABSENT: removed)."""
    whole = json.loads(json.dumps(state, default=str))
    for path, value in facts.items():
        if value is ABSENT:
            parent = get_path(whole, path.rpartition(".")[0]) if "." in path else whole
            if isinstance(parent, dict):
                parent.pop(path.rpartition(".")[2], None)
        else:
            set_path(whole, path, json.loads(json.dumps(value, default=str)))
    return compile_condition(source).evaluate({"state": whole})


@pytest.mark.parametrize("seed", range(30))
def test_each_row_is_the_condition_on_the_whole_state(seed: int) -> None:
    """Every row of every table, remembered or not, says what the condition says on the
    whole state with those facts set: a row evaluated on an excerpt of the state sees what
    the whole state shows, and the error recorded is the one the state gives now (none for
    a fact not set yet that a capability writes)."""
    rng = random.Random(seed)
    state: dict[str, Any] = {k: _value(rng) for k in TOPS[:4]}
    for _ in range(8):
        state = _mutate(rng, state)
        fluents = fluents_of(state, _actions(rng))
        tab = Tabulator(state, fluents)
        for source in CONDITIONS:
            table = tab.table(source, "c")
            for row in table.true_rows + table.false_rows:
                facts = {fluents[i].path: fluents[i].values[d] for i, d in zip(table.fluents, row)}
                verdict = _on_whole_state(state, facts, source)
                assert verdict.holds == (row in table.true_rows), (source, facts)
                if not any(row):
                    assert tab.errors.get(f"c: {source}") == _told(
                        verdict.error, source, state, fluents, bool(table.true_rows)
                    ), source


def _told(
    error: str | None, source: str, state: dict[str, Any], fluents: Any, can_hold: bool
) -> str | None:
    """The error a table records for a condition whose evaluation now gives `error`: none
    when it is only a fact not set yet that a capability writes (it does not hold yet),
    nor when it is the map a `has()` tests and a capability writes inside that map (unless
    the condition holds in no row: then the missing map is why it never holds)."""
    if error is None:
        return None
    paths = compile_condition(source).state_paths
    unset = unset_fact(error, paths, state, source)
    if unset is not None and any(overlaps(unset, f.path) for f in fluents):
        return None
    made = missing_tested_map(error, paths, state, source)
    if made is not None and can_hold and any(f.path.startswith(made + ".") for f in fluents):
        return None
    return error


def test_a_condition_reading_a_missing_part_sees_the_state_as_it_is_now() -> None:
    """`has(state.gate.g5)` on a state whose gate lacks g5, then on one with it: the second
    is not answered from the first one's rows."""
    writer = Action(
        name="w", provider="p", cost=1, latency=1, reliability=1, effects=(("gate.g1", True),)
    )
    forget_tables()
    tables = [
        Tabulator(state, fluents_of(state, [writer])).table("has(state.gate.g5)", "goal")
        for state in ({"gate": {"g1": False}}, {"gate": {"g1": False, "g5": 1}})
    ]
    assert [(t.fluents, t.true_rows) for t in tables] == [((), ()), ((), ((),))]


@pytest.mark.parametrize("first, then", [("ab", "ac"), ("y" * 40, "y" * 39 + "z")])
def test_a_value_that_differs_only_at_its_end_is_not_answered_from_the_other(
    first: str, then: str
) -> None:
    """Two states whose fact differs in its last character only, short or long: the second
    is tabulated on its own value, not from the first one's remembered rows."""
    writer = Action(
        name="w", provider="p", cost=1, latency=1, reliability=1, effects=(("gate.g1", True),)
    )
    source = f"state.other == '{then}'"
    forget_tables()
    tables = [
        Tabulator(state, fluents_of(state, [writer])).table(source, "goal")
        for state in ({"other": first}, {"other": then})
    ]
    assert [t.true_rows for t in tables] == [(), ((),)]


def test_fluents_take_their_current_value_first_then_each_written_value() -> None:
    """A fluent's domain is its value now (or absent), then every distinct value written."""
    fluents = fluents_of(
        {"order": {"paid": False}},
        [
            action("pay", (), {"order.paid": True}),
            action("pack", (), {"order.status": "packed"}),
            action("ship", (), {"order.status": "shipped"}),
            action("again", (), {"order.status": "packed", "order.paid": True}),
        ],
    )
    assert fluents == (
        Fluent("order.paid", (False, True)),
        Fluent("order.status", (ABSENT, "packed", "shipped")),
    )


def test_effects_that_nest_inside_each_other_are_refused() -> None:
    """Writing both `order` and `order.paid` is ambiguous and raises PlanningError."""
    actions = [action("a", (), {"order": {"paid": True}}), action("b", (), {"order.paid": True})]
    with pytest.raises(PlanningError, match=r"write both 'order' and 'order\.paid'"):
        fluents_of({}, actions)


def test_a_string_condition_is_tabulated_over_the_fluent_values() -> None:
    """`state.order.status == 'shipped'` holds exactly on the row where status is shipped."""
    grounded = ground(task([PACK, SHIP], SHIPPED))
    (table,) = grounded.goal
    status = next(i for i, f in enumerate(grounded.fluents) if f.path == "order.status")
    values = grounded.fluents[status].values
    assert table.fluents == (status,)
    assert [values[row[0]] for row in table.true_rows] == ["shipped"]
    assert sorted(str(values[row[0]]) for row in table.false_rows) == ["<absent>", "packed"]


def test_a_condition_over_unchanging_facts_is_a_constant() -> None:
    """A condition that reads no fluent is tabulated once, as a constant."""
    grounded = ground(task([PACK], ("state.order.id == '7'",), {"order": {"id": "7"}}))
    assert grounded.goal[0].constant is True
    assert grounded.goal[0].fluents == ()


def test_a_condition_reading_state_as_a_whole_reads_every_fluent() -> None:
    """`state[...]` might read any fact, so its table spans every fluent."""
    actions = [action("pay", (), {"order.paid": True}), PACK]
    grounded = ground(task(actions, ("state['order']['paid']",)))
    assert grounded.goal[0].fluents == tuple(range(len(grounded.fluents)))


def test_a_condition_error_at_the_current_state_is_recorded() -> None:
    """A condition that cannot be evaluated now (a type error; a key nothing writes) is
    recorded with where it is; one reading a fact a step sets later (`order.status`, not
    set yet) is not, as it only does not hold yet."""
    goal = ("state.order.status == 'shipped'", "state.order.id > 3")
    grounded = ground(task([PACK, SHIP], goal, {"order": {"id": "7"}}))
    assert grounded.errors == (
        "goal: state.order.id > 3: UNKNOWN: No matching overloads found : _>_(string, int64)",
    )
    never = ground(task([PACK, SHIP], ("state.order.statuz == 'shipped'",), {"order": {}}))
    assert never.errors == (
        "goal: state.order.statuz == 'shipped': Key not found in map : \"statuz\"",
    )


def test_a_condition_over_too_many_combinations_is_refused() -> None:
    """Tabulating a condition over more than MAX_TABLE_ROWS combinations raises PlanningError."""
    count = MAX_TABLE_ROWS.bit_length()
    actions = [action(f"set{i}", (), {f"f.x{i}": True}) for i in range(count)]
    goal = (" && ".join(f"state.f.x{i}" for i in range(count)),)
    with pytest.raises(PlanningError, match=r"split it into smaller conditions"):
        ground(task(actions, goal))


def test_tabulating_rows_leaves_the_task_state_as_it_was() -> None:
    """Each row sets facts on a copy: the mappings on the way are copied, never the task's."""
    given = {"order": {"status": "new", "lines": [1, 2]}, "env": {"ready": True}}
    one = task([PACK, SHIP], SHIPPED, given)
    before = json.dumps(one.state, sort_keys=True)
    ground(one)
    assert json.dumps(one.state, sort_keys=True) == before


def test_a_fact_absent_now_is_absent_in_its_row_and_its_parent_is_not_made_up() -> None:
    """`has(state.order)` on the row where order.status is at its current, absent value:
    false, as on the state itself (deleting a fact under a missing parent makes no parent)."""
    grounded = ground(task([PACK], ("has(state.order)",)))
    (table,) = grounded.goal
    values = grounded.fluents[table.fluents[0]].values
    assert values[0] is ABSENT
    assert [values[row[0]] for row in table.true_rows] == ["packed"]
    assert [values[row[0]] for row in table.false_rows] == [ABSENT]


def test_a_fact_written_under_a_scalar_replaces_it_in_the_row() -> None:
    """`order` is a string now; a row where order.status is written sees a mapping there."""
    goal = ("state.order.status == 'packed'",)
    grounded = ground(task([PACK], goal, {"order": "pending"}))
    (table,) = grounded.goal
    values = grounded.fluents[table.fluents[0]].values
    assert [values[row[0]] for row in table.true_rows] == ["packed"]
    assert [values[row[0]] for row in table.false_rows] == [ABSENT]


def test_a_boolean_fact_or_its_negation_is_tabulated_without_cel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`state.gate.g1` and `!state.gate.g1` over a fact that is false now and that a
    capability sets: the rows CEL gives (true where it is true, then where it is false),
    with CEL never asked. Over a fact that may hold a number, CEL is asked."""
    state = {"gate": {"g1": False}, "box": {"v": True}}
    writes = [action("set", effects={"gate.g1": True}), action("num", effects={"box.v": 1})]
    fluents = fluents_of(state, writes)
    sources = ("state.gate.g1", "!state.gate.g1", "!state.box.v")
    with monkeypatch.context() as patched:
        patched.setattr(Tabulator, "_flag", lambda self, source, reads: None)
        forget_tables()
        by_cel = [Tabulator(state, fluents).table(source, "c") for source in sources]
    forget_tables()
    asked: list[str] = []
    rows = Tabulator._rows

    def counted(self: Tabulator, condition: Any, *args: Any) -> Any:
        asked.append(condition.source)
        return rows(self, condition, *args)

    monkeypatch.setattr(Tabulator, "_rows", counted)
    tab = Tabulator(state, fluents)
    assert [tab.table(source, "c") for source in sources] == by_cel
    assert asked == ["!state.box.v"]  # the number: CEL's to judge
    g1 = by_cel[0]
    assert [fluents[g1.fluents[0]].values[row[0]] for row in g1.true_rows] == [True]


def test_a_fact_a_capability_writes_not_set_yet_is_no_error_and_one_nothing_writes_is() -> None:
    """`state.order.carrier == 'dhl'` before a step sets the carrier does not hold yet, and
    no error is recorded; the same of `order.carier`, which nothing writes, is recorded (it
    never holds), as is a type error on facts that are set."""
    writer = Action(
        name="w",
        provider="p",
        cost=1,
        latency=1,
        reliability=1,
        effects=(("order.carrier", "dhl"),),
    )
    for state in ({}, {"order": {"id": "7"}}):
        tab = Tabulator(state, fluents_of(state, [writer]))
        assert tab.table("state.order.carrier == 'dhl'", "goal").true_rows == ((1,),)
        tab.table("state.order.carier == 'dhl'", "goal")
        tab.table("state.order.id > 3", "goal")
        missing = "order" if not state else "carier"
        wrong = "UNKNOWN: No matching overloads found : _>_(string, int64)"
        assert tab.errors == {
            "goal: state.order.carier == 'dhl'": f'Key not found in map : "{missing}"',
            "goal: state.order.id > 3": wrong if state else 'Key not found in map : "order"',
        }
