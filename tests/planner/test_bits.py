"""States as bitsets (`ido.planner.bits`) against the same reckoning over tuples of values."""

from __future__ import annotations

import random

import pytest

from ido.planner.bits import Packing, ones
from ido.planner.tables import Fluent, Table


def fluents(rng: random.Random) -> list[Fluent]:
    return [Fluent(f"f{i}", tuple(range(rng.randint(1, 5)))) for i in range(rng.randint(1, 40))]


def values_of(rng: random.Random, fs: list[Fluent]) -> tuple[int, ...]:
    return tuple(rng.randrange(len(f.values)) for f in fs)


@pytest.mark.parametrize("seed", range(40))
def test_a_state_packs_and_unpacks_to_the_same_values(seed: int) -> None:
    rng = random.Random(seed)
    fs = fluents(rng)
    packing = Packing(fs)
    assert packing.unpack(packing.start) == (0,) * len(fs)
    for _ in range(20):
        values = values_of(rng, fs)
        state = packing.pack(values)
        assert packing.unpack(state) == values
        assert state.bit_count() == len(fs)  # one value set per fluent
        assert state < 1 << packing.size


@pytest.mark.parametrize("seed", range(40))
def test_facts_steps_and_tables_agree_with_the_values(seed: int) -> None:
    """A fact mask holds where every fact holds; a step's (keep, put) writes its values and
    leaves the others; a table holds where the state's values are one of its rows."""
    rng = random.Random(seed)
    fs = fluents(rng)
    packing = Packing(fs)
    for _ in range(30):
        values = values_of(rng, fs)
        state = packing.pack(values)
        picked = rng.sample(range(len(fs)), rng.randint(0, min(4, len(fs))))
        facts = [(f, rng.randrange(len(fs[f].values))) for f in picked]
        mask = packing.facts(facts)
        assert (state & mask == mask) == all(values[f] == v for f, v in facts)
        keep, put = packing.step(facts)
        after = list(values)
        for f, v in facts:
            after[f] = v
        assert packing.unpack(state & keep | put) == tuple(after)
        rows = tuple({values_of(rng, [fs[f] for f in picked]) for _ in range(3)})
        table = Table("t", tuple(picked), rows, ())
        fields, packed = packing.table(table)
        assert (state & fields in packed) == (tuple(values[f] for f in picked) in rows)


@pytest.mark.parametrize("seed", range(20))
def test_ones_lists_the_bits_set_lowest_first(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([1, 7, 64, 65, 3000])
    bits = rng.getrandbits(size) & rng.getrandbits(size)
    assert ones(bits) == [i for i in range(size) if bits >> i & 1]
    assert ones(0) == []
