"""Conditions: CEL compiled once with readable errors, evaluated without ever raising."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ido.conditions import VARIABLES, ConditionError, Verdict, compile_condition, named_values

# --- compiling --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("state.x = 1", "at: '= ': compare with ==, and write >= and <= with = last (column 9)"),
        ("state.x => 1", "at: '=>': compare with ==, and write >= and <= with = last"),
        ("state.x == 'a", "at: ''a': a string's quote is not closed (column 12)"),
        ("state.x and state.y", "mismatched input 'and' expecting <EOF>: CEL writes and as &&"),
        ("state.x ==", "mismatched input '<EOF>' expecting a value (column 11)"),
        ("not state.x", "mismatched input 'state' expecting <EOF>: CEL writes not as ! (column 5)"),
        ("state.x &&\n  not state.y", "expecting <EOF>: CEL writes not as ! (line 2"),
        ("not(state.x)", "undeclared reference to 'not'; conditions may use state, intent, "),
    ],
)
def test_a_newcomer_s_syntax_slip_is_told_in_words(source: str, said: str) -> None:
    """`=` for `==`, a quote not closed, `and` for `&&`, `not` for `!`: CEL's parser said
    "token recognition error" and listed the tokens it expected (`{'[', '{', …,
    IDENTIFIER}`); `not state.x` said only "mismatched input 'state'"."""
    with pytest.raises(ConditionError) as info:
        compile_condition(source)
    assert said in str(info.value), str(info.value)
    assert "IDENTIFIER" not in str(info.value)
    assert ("CEL writes not as !" in str(info.value)) == ("not" in source)


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("capability.latency > 30s", "30s in seconds is 30.0, as capability.latency and"),
        ("capability.latency > 800ms", "800ms in seconds is 0.8, as capability.latency"),
        ("capability.timeout < 2m && true", "2m in seconds is 120.0, as capability.latency"),
        ("state.job.took > 1.5h", "or compare durations, duration('1.5h') (column 21)"),
        ("capability.provider == vast", "health; text is written in quotes, 'vast' (column 24)"),
        ("sate.order.paid", "plan, health; did you mean 'state'? (column 11)"),
    ],
)
def test_a_duration_a_bare_word_or_a_mistyped_variable_is_told_what_it_likely_was(
    source: str, said: str
) -> None:
    """`capability.latency > 30s`, written as ido's own fields take durations, said only
    "extraneous input 's'"; `== vast` and `sate.order.paid` only "undeclared reference"."""
    with pytest.raises(ConditionError) as info:
        compile_condition(source)
    assert said in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("source", "said", "written"),
    [
        ("capability.latency > 1.5h", "1.5h in seconds is 5400.0", "capability.latency > 5400.0"),
        ("capability.timeout <= 800ms", "800ms in seconds is 0.8", "capability.timeout <= 0.8"),
        (
            "duration(intent.constraints.deadline) > 30s",
            "compare durations, duration('30s')",
            "duration(intent.constraints.deadline) > duration('30s')",
        ),
        (
            "duration(intent.constraints.deadline) < 2d",
            "compare durations, duration('48h')",
            "duration(intent.constraints.deadline) < duration('48h')",
        ),
    ],
)
def test_a_duration_with_its_unit_is_told_the_one_way_that_compiles_there(
    source: str, said: str, written: str
) -> None:
    """`capability.latency > 1.5h` was told "or compare durations, duration('1.5h')", which
    is refused (capability.latency is a number); `duration(…) > 30s` was told the number
    of seconds, refused too (a duration against a number). Each is told what compiles."""
    with pytest.raises(ConditionError) as info:
        compile_condition(source)
    message = str(info.value)
    assert said in message, message
    other = "duration(" if "seconds is" in said else "in seconds is"
    hint = message.split(" (column", maxsplit=1)[0].split(": CEL writes")[1]
    assert other not in hint, message
    compile_condition(written)


@pytest.mark.parametrize(
    ("source", "said", "written"),
    [
        ("state.order.paid == True", "CEL writes true (lower case)", "state.order.paid == true"),
        ("state.x == FALSE", "CEL writes false (lower case)", "state.x == false"),
        ("state.x != None", "CEL writes null", "state.x != null"),
        ("state.x == nil", "CEL writes null", "state.x == null"),
        ("state.x == yes", "a bool is written true or false; text in quotes, 'yes'", None),
    ],
)
def test_a_python_or_yaml_literal_is_told_as_cel_writes_it_not_as_text(
    source: str, said: str, written: str | None
) -> None:
    """`state.order.paid == True` was told "text is written in quotes, 'True'": compared
    with the text 'True', the bool true never equals it, and the rule silently never held."""
    with pytest.raises(ConditionError) as info:
        compile_condition(source)
    message = str(info.value)
    assert said in message, message
    assert ("in quotes" in message) == ("yes" in source), message
    if written is not None:
        compile_condition(written)


def test_a_name_ending_in_not_is_no_slip() -> None:
    """`knot state.x` is a name CEL does not expect there, not a `not`."""
    with pytest.raises(ConditionError) as info:
        compile_condition("knot state.x")
    assert "CEL writes not" not in str(info.value)


def test_a_boolean_expression_over_state_compiles_and_evaluates() -> None:
    """A well-formed boolean condition holds exactly when the state makes it true."""
    condition = compile_condition("state.order.paid && !state.order.shipped")
    paid = {"order": {"paid": True, "shipped": False}}
    shipped = {"order": {"paid": True, "shipped": True}}
    assert condition.evaluate({"state": paid}) == Verdict(True)
    assert condition.evaluate({"state": shipped}) == Verdict(False)


def test_a_syntax_error_raises_with_its_column() -> None:
    """A syntax error raises ConditionError naming it a syntax error, with the column it is at."""
    with pytest.raises(ConditionError, match=r"CEL: Syntax error: .*\(column 20\)") as info:
        compile_condition("state.order.paid &&")
    assert info.value.column == 20


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("duration('2d') > duration('1h')", 10),
        ("state.at < timestamp('2026-12-06')", 22),
        ('duration("1w") == duration("168h")', 10),
    ],
)
def test_a_duration_or_timestamp_cel_cannot_convert_is_refused_where_it_stands(
    source: str, column: int
) -> None:
    """A literal `duration`/`timestamp` CEL cannot convert failed at every evaluation."""
    with pytest.raises(ConditionError, match=r"cannot be converted: a (duration|timestamp)"):
        compile_condition(source)
    with pytest.raises(ConditionError) as info:
        compile_condition(source)
    assert info.value.column == column


@pytest.mark.parametrize(
    "source",
    [
        "duration('48h') > duration('1h30m')",
        "duration('1.5s') < duration('1500001us') && duration('-2ms') < duration('0')",
        "timestamp('2026-12-06T10:00:00Z') < timestamp('2026-12-07T00:00:00+01:00')",
        "'duration(\\'2d\\')' != ''",
    ],
)
def test_durations_and_timestamps_cel_converts_compile(source: str) -> None:
    assert compile_condition(source).evaluate({}) == Verdict(True)


def test_a_duration_read_from_the_state_in_days_says_the_units_when_evaluated() -> None:
    """Not written in the condition, it cannot be checked at load: the evaluation error,
    recorded with the decision, says how a duration is written (without CEL's status code,
    `INVALID_ARGUMENT: `)."""
    verdict = compile_condition("duration(state.window) > duration('1h')").evaluate(
        {"state": {"window": "2d"}}
    )
    assert not verdict.holds and verdict.error is not None
    assert verdict.error.startswith(
        "String to Duration conversion failed: a duration is numbers each with a unit"
    )


def test_an_undeclared_variable_is_an_error_that_lists_the_declared_ones() -> None:
    """Naming a variable other than state, intent, capability, plan or health is an error."""
    with pytest.raises(
        ConditionError,
        match=r"undeclared reference to 'order\.paid'; "
        r"conditions may use state, intent, capability, plan, health \(column \d+\)",
    ) as info:
        compile_condition("order.paid")
    assert isinstance(info.value.column, int)


@pytest.mark.parametrize("variable", VARIABLES)
def test_each_declared_variable_may_be_used(variable: str) -> None:
    """Every one of the five declared variables compiles in a condition."""
    condition = compile_condition(f"has({variable}.x)")
    assert condition.evaluate({variable: {"x": 1}}).holds


@pytest.mark.parametrize(
    ("source", "keys"),
    [
        (
            "capability.provder == 'x' && plan.cost > 1.0",
            [("capability", "provder"), ("plan", "cost")],
        ),
        (
            "capability.tags.exists(plan, plan.x == 'a') && intent . name == ''",
            [("capability", "tags"), ("intent", "name")],
        ),
        (
            "has(capability.effects. plan.paid) && 'plan.x' != state.plan.x",
            [("capability", "effects")],
        ),
    ],
)
def test_the_keys_read_are_those_of_the_variables_read(
    source: str, keys: list[tuple[str, str]]
) -> None:
    """The keys of `capability`, `plan` and `intent` a condition reads are found with its
    variables, in one pass: read apart, `x. plan.y` was a key of plan, though no variable."""
    condition = compile_condition(source)
    assert [(variable, key) for variable, key, _ in condition.keys] == keys
    assert {variable for variable, _, _ in condition.keys} <= condition.variables


@pytest.mark.parametrize(
    ("source", "read"),
    [
        ("capability.tags.exists(plan, plan == 'a')", {"capability"}),
        ("capability.tags.exists(plan, plan == 'a') && plan.cost > 1.0", {"capability", "plan"}),
        ("capability.tags.filter(health, health != 'b').size() > 0", {"capability"}),
        ("plan.providers.all(p, p != 'x')", {"plan"}),
        (
            "capability.tags.map(intent, intent).exists(t, t == intent.name)",
            {"capability", "intent"},
        ),
    ],
)
def test_a_macro_s_own_name_for_an_element_is_not_a_variable_read(
    source: str, read: set[str]
) -> None:
    """`exists(plan, plan == 'a')` was taken to read `plan`, making a capability rule a plan
    rule ("a rule reads capability or plan, not both"); outside the macro `plan` is read."""
    assert compile_condition(source).variables == read


@pytest.mark.parametrize(
    ("source", "kind"),
    [("1 + 2", "int"), ("'paid'", "string"), ("1.5", "double"), ("[true]", "list")],
)
def test_a_condition_that_is_not_a_bool_is_rejected(source: str, kind: str) -> None:
    """A condition whose type is known and not bool is rejected, naming the type it has."""
    with pytest.raises(
        ConditionError, match=rf"condition must be a bool, but it is of type {kind}"
    ):
        compile_condition(source)


NUMBERS = "[" + ", ".join(str(i) for i in range(4_000)) + "]"


@pytest.mark.parametrize(
    ("source", "said"),
    [
        (f"{NUMBERS}.map(x, {NUMBERS}.map(y, x + y)).size() > 0", "not 8,000"),
        (f"{NUMBERS[:500]}].exists(x, x == 1)", "at most 100 list elements and map entries"),
        ("state.a.all(x, x != '" + "y" * 1_000 + "')", "at most 1,000 characters long"),
        ("state.a.all(x, x.all(y, y.all(z, z)))", "nest at most 2 comprehensions"),
    ],
)
def test_a_condition_that_iterates_over_what_it_writes_at_length_is_refused(
    source: str, said: str
) -> None:
    """CEL stops after 10,000 passes but not on time: a list of 9,990 numbers mapped in
    a map took 43 s to evaluate. A condition that iterates is held to a small size, so
    each pass is cheap, and to two levels of comprehensions."""
    with pytest.raises(ConditionError, match="a condition that iterates") as info:
        compile_condition(source)
    assert said in str(info.value)


@pytest.mark.parametrize(
    "source",
    [
        "plan.steps.exists(s, s.tags.exists(t, t in ['pii', 'phi', 'pci']))",
        "['eu', 'uk'].exists(r, r == capability.region) // a comment " + "x" * 2_000,
        "state.items.all(i, i.sku in [" + ", ".join(f"'s{n}'" for n in range(100)) + "])",
        "state.a == [" + ", ".join(str(n) for n in range(5_000)) + "]",
    ],
)
def test_conditions_within_the_bounds_of_iteration_compile(source: str) -> None:
    """Real conditions iterate over short lists they write, nest two deep, and a long
    literal list is fine where nothing iterates (it is built once)."""
    compile_condition(source)


def test_condition_errors_are_value_errors() -> None:
    """ConditionError is a ValueError, so callers may treat it as bad input."""
    with pytest.raises(ValueError, match="Syntax error"):
        compile_condition("state.a ==")


def test_compiling_the_same_source_twice_reuses_the_compiled_condition() -> None:
    """Compilation is cached: the same source yields the same Condition object."""
    assert compile_condition("state.a == 1") is compile_condition("state.a == 1")


# --- evaluating -------------------------------------------------------------------------


def test_reading_a_missing_key_does_not_hold_and_reports_the_key() -> None:
    """Reading a key the state lacks yields holds=False with an error naming the key."""
    verdict = compile_condition("state.order.paid").evaluate({"state": {"order": {}}})
    assert verdict.holds is False
    assert verdict.error is not None
    assert "paid" in verdict.error


def test_negating_a_missing_key_does_not_hold_either() -> None:
    """`!state.x` on a state without x is an error, not true: errors never count as truth."""
    verdict = compile_condition("!state.order.paid").evaluate({"state": {}})
    assert verdict.holds is False
    assert verdict.error is not None


def test_an_error_in_one_disjunct_does_not_matter_when_another_holds() -> None:
    """CEL's commutative logic: `error || true` holds and `error && false` is plainly false."""
    assert compile_condition("state.x || true").evaluate({"state": {}}) == Verdict(True)
    assert compile_condition("state.x && false").evaluate({"state": {}}) == Verdict(False)


def test_has_tests_presence_without_an_error() -> None:
    """`has(state.x)` is false, without error, when x is absent."""
    assert compile_condition("has(state.order)").evaluate({"state": {}}) == Verdict(False)


def test_a_runtime_arithmetic_error_does_not_raise() -> None:
    """Division by zero while evaluating yields holds=False with the error, not an exception."""
    verdict = compile_condition("state.n / 0 == 1").evaluate({"state": {"n": 1}})
    assert verdict.holds is False
    assert verdict.error is not None
    assert "divide by zero" in verdict.error


def test_a_dyn_condition_that_evaluates_to_a_non_bool_does_not_hold() -> None:
    """A condition of dynamic type that yields a non-bool value does not hold and says why."""
    verdict = compile_condition("state.order").evaluate({"state": {"order": "1042"}})
    assert verdict.holds is False
    assert verdict.error is not None
    assert "not a bool" in verdict.error


def test_a_state_that_is_not_a_mapping_does_not_raise() -> None:
    """Evaluating against a state of the wrong shape yields holds=False with an error."""
    verdict = compile_condition("state.a").evaluate({"state": ["a"]})
    assert verdict.holds is False
    assert verdict.error


def test_missing_variables_are_empty_maps() -> None:
    """Variables not supplied are empty maps, so reading them is a missing-key error."""
    verdict = compile_condition("intent.name == 'x'").evaluate({})
    assert verdict.holds is False
    assert verdict.error is not None
    assert "name" in verdict.error


def test_strings_compare_and_lists_are_searched() -> None:
    """Non-boolean facts are compared as values: strings by equality, lists with `in`."""
    variables = {
        "state": {"order": {"status": "shipped"}},
        "capability": {"tags": ["payments", "pii"], "region": "us"},
    }
    assert compile_condition("state.order.status == 'shipped'").evaluate(variables).holds
    rule = compile_condition("'pii' in capability.tags && capability.region != 'eu'")
    assert rule.evaluate(variables).holds
    assert not compile_condition("state.order.status == 'paid'").evaluate(variables).holds


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "order", "paid"]), inner, max_size=3)
    ),
    max_leaves=10,
)
SOURCES = [
    "state.a",
    "!state.a",
    "state.a.b == 1",
    "state.order.paid && state.b",
    "has(state.a.b)",
    "size(state.a) > 1",
    "state.a > 2.5",
    "'x' in state.b",
    "state.a.exists(x, x == true)",
    "state.a + state.b == state.order",
]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(state=JSON, source=st.sampled_from(SOURCES))
def test_evaluation_never_raises_on_any_json_state(state: object, source: str) -> None:
    """On any JSON-like state, evaluate returns a Verdict; an error always means not holding."""
    verdict = compile_condition(source).evaluate({"state": state})
    assert isinstance(verdict.holds, bool)
    if verdict.error is not None:
        assert verdict.holds is False
        assert verdict.error


# --- the facts a condition reads --------------------------------------------------------


def test_a_fact_the_condition_does_not_read_cannot_change_its_verdict() -> None:
    """The whole state went to CEL: a date or an integer past 64 bits anywhere in it (a
    YAML date in `given`, an observer's byte counter) made every rule reading `state`
    fail to evaluate, and deny rules fire closed, though the rule never read them."""
    state = {"order": {"amount": 120.0, "placed": date(2024, 11, 20)}, "bytes": 2**64}
    condition = compile_condition("state.order.amount > 1000.0")
    assert condition.evaluate({"state": state}) == Verdict(False, None)
    assert compile_condition("state.order.amount < 1000.0").evaluate({"state": state}).holds
    # What it does read still fails as before, and where a path stops it fails alike.
    assert not compile_condition("state.bytes > 0").evaluate({"state": state}).holds
    assert "placed" in str(
        compile_condition("state.order.placed == 'x'").evaluate({"state": state}).error
    )
    assert not compile_condition("state.order.amount.x == 1").evaluate({"state": state}).holds
    assert compile_condition("!has(state.order.paid)").evaluate({"state": state}).holds


def test_a_condition_reading_a_fact_and_a_fact_under_it_sees_both() -> None:
    state = {"order": {"paid": True, "lines": [1, 2]}, "other": {"x": 1}}
    holds = compile_condition("size(state.order) == 2 && state.order.paid")
    assert holds.evaluate({"state": state}).holds
    assert state == {"order": {"paid": True, "lines": [1, 2]}, "other": {"x": 1}}


def test_state_paths_lists_each_dotted_path_read() -> None:
    """state_paths names the dotted state paths a condition reads, sorted and unique."""
    condition = compile_condition(
        "state.order.paid && !state.customer.notified && state.order.paid"
    )
    assert condition.state_paths == ("customer.notified", "order.paid")


def test_state_paths_is_none_when_state_is_read_as_a_whole() -> None:
    """Indexing `state[...]` reads an unknown part of state, so state_paths is None."""
    assert compile_condition("state['order'] == {}").state_paths is None


def test_state_paths_ignores_state_inside_string_literals_and_fields() -> None:
    """`'state.x'` in a string and `x.state` as a field are not reads of state."""
    condition = compile_condition("'state.x' == capability.state && state.order.paid")
    assert condition.state_paths == ("order.paid",)


def test_state_paths_is_empty_when_state_is_not_read() -> None:
    """A condition over capability only reads no state path."""
    assert compile_condition("capability.region == 'eu'").state_paths == ()


def test_state_paths_sees_reads_after_a_double_quoted_apostrophe() -> None:
    """An apostrophe inside a double-quoted string does not hide the state reads after it."""
    condition = compile_condition('state.order.note == "it\'s" || state.order.paid')
    assert condition.state_paths == ("order.note", "order.paid")


@pytest.mark.parametrize(
    ("source", "paths"),
    [
        (r"'a\'state.x' == state.y", ("y",)),
        (r"r'\\' == state.z", ("z",)),
        ('"""x" state.q""" == state.w', ("w",)),
        ("state.w // state.comment\n || state.v", ("v", "w")),
    ],
)
def test_state_paths_follows_cel_string_escapes_raw_and_triple_quotes(
    source: str, paths: tuple[str, ...]
) -> None:
    """Escaped quotes, raw strings, triple quotes and comments hide no read and invent none."""
    assert compile_condition(source).state_paths == paths


def test_state_paths_does_not_take_a_method_for_a_field() -> None:
    """`state.order.note.startsWith('x')` reads `order.note`, not a fact called `startsWith`."""
    condition = compile_condition("state.order.note.startsWith('x')")
    assert condition.state_paths == ("order.note",)


def test_a_condition_that_evaluates_to_null_many_times_does_not_crash() -> None:
    """cel-expr-python 0.1.3 drops a reference to None each time it converts a null to
    Python: a few thousand such evaluations aborted the interpreter ("deallocating None").
    Nulls, and lists or maps that may hold them, are described, not converted. Run in a
    fresh interpreter: a crash there fails this test instead of ending the whole run."""
    import subprocess
    import sys

    script = """
from ido.conditions import compile_condition
for source, value in (("state.a", None), ("state.a", [None]), ("state.a", {"k": None})):
    condition = compile_condition(source)
    for _ in range(20000):
        verdict = condition.evaluate({"state": {"a": value}})
    assert not verdict.holds and "not a bool" in verdict.error, verdict
    print(verdict.error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split("\n")[:3] == [
        "evaluated to a null, not a bool",
        "evaluated to a list<dyn>, not a bool",
        "evaluated to a map<dyn, dyn>, not a bool",
    ]


# --- a fact's path, compiled when first evaluated ---------------------------------------

NAMES = st.sampled_from(
    [
        *("a", "b", "order", "paid", "if", "while", "as", "package", "in", "true", "false"),
        *("null", "_x", "A1", "void", "namespace", "state", "has", "size"),
    ]
)


NO_NULLS = st.recursive(  # cel-expr-python leaks a reference per null it converts
    st.booleans() | st.integers(min_value=-9, max_value=9) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "order", "paid", "if"]), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(names=st.lists(NAMES, min_size=1, max_size=40), negated=st.booleans(), state=NO_NULLS)
def test_a_facts_path_compiled_later_is_as_if_compiled_at_once(
    names: list[str], negated: bool, state: object
) -> None:
    """`state.a.b` and `!state.a.b` are compiled when first evaluated, where anything else
    is compiled at once; a path CEL refuses (a literal's word for a name, more names than
    its parser's depth) is still refused at once, and evaluation gives CEL's verdict."""
    from ido.conditions import Condition, _blank_literals, _compiled, _just_a_fact, _reads

    source = ("!" if negated else "") + ".".join(["state", *names])
    try:
        eager, _ = _compiled(source)
    except ConditionError:
        with pytest.raises(ConditionError):
            Condition(source)
        return
    condition = Condition(source)
    assert condition.state_paths == (".".join(names),)
    # What a fact reads is told without reading it as any condition is: alike.
    assert (condition.variables, condition.keys) == _reads(_blank_literals(source))
    assert condition.variables == {"state"}
    if _just_a_fact(source):
        assert condition._expr is None  # not compiled yet
    verdict = condition.evaluate({"state": state})
    value = eager.eval(data={"state": state}) if isinstance(state, dict) else None
    if value is not None and value.type().name().lower() == "bool":
        assert verdict == Verdict(bool(value.value()))
    else:
        assert verdict.holds is False


def test_long_paths_and_literal_words_are_compiled_at_once() -> None:
    from ido.conditions import _just_a_fact

    assert _just_a_fact("state.order.paid") and _just_a_fact("!state.order.paid")
    assert not _just_a_fact("state.order.in")  # `in` is an operator: a syntax error
    assert not _just_a_fact("state." + ".".join("a" * 17))  # near CEL's depth of 32
    assert not _just_a_fact("state." + "a" * 1_000)
    with pytest.raises(ConditionError):
        compile_condition("state.order.true")


# --- names a condition compares with -----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("capability.name == 'a'", [("capability", "a", 19)]),
        ("'a' != capability.name", [("capability", "a", 0)]),
        ("capability.name in ['a', \"b\"]", [("capability", "a", 20), ("capability", "b", 25)]),
        (
            "'t' in capability.tags && 'a' in plan.capabilities",
            [("tag", "t", 0), ("capability", "a", 26)],
        ),
        ("'t' in plan.tags", [("tag", "t", 0)]),
        ("capability.provider == 'a' && state.x == 'a'", [("provider", "a", 23)]),
        (
            "capability.region in ['eu'] || 'us' in plan.regions",
            [("region", "eu", 22), ("region", "us", 31)],
        ),
        (
            "'p' in plan.providers || 'r' != capability.region",
            [("provider", "p", 0), ("region", "r", 25)],
        ),
        ("state.provider == 'a' || capability.providers == 'a'", []),
        ("intent.name in ['a'] || 'b' == intent.name", [("intent", "a", 16), ("intent", "b", 24)]),
        ("state.intent.name == 'a'", []),
        ("capability.name.startsWith('a') || 'a' in capability.tags.map(t, t)", []),
        ("b'a' in capability.tags || 'a\\n' == capability.name", []),
        # (a capability's health, read by a name no capability has, fails every evaluation)
        (
            "health['pay'].failures > 2 || health [ \"ship\" ].latency > 1.0",
            [("capability", "pay", 7), ("capability", "ship", 39)],
        ),
        ("'pay' in health && state.health['x'] == 1", [("capability", "pay", 0)]),
        ("'failures' in health['pay']", [("capability", "pay", 21)]),
        ("health['a' + 'b'].failures > 2 || health[capability.name].failures > 2", []),
    ],
)
def test_named_values_are_the_literals_compared_with_a_name_tag_provider_or_region(
    source: str, named: list[tuple[str, str, int]]
) -> None:
    """What a load warns of when the catalog lacks it: nothing else the condition holds."""
    assert named_values(source) == named
