"""What masking credential-named environment variables costs a call and a run.

Run from the repository root:

    .venv/bin/python benchmarks/masking_cost.py --vars 0 10 30 --calls 2000 --runs 100

In a fresh temporary folder: three Python capabilities in a chain, each returning 20 text
fields (`output` kept as state), and an intent reaching the last. For each count of
`--vars`, that many variables named `SVCi_API_TOKEN` (24 characters each) are set in the
process environment, and it reports: how long listing them takes (`credential_names`, once
per runtime), the median time of one call (`perform` with the catalog's secrets and those
names: masking its reply and any error), and the median time of one whole run of the
chain on a SQLite journal (`LocalRuntime.run`, fsync included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ido.journal import SqliteJournal  # noqa: E402
from ido.loading import Catalog, load_catalog  # noqa: E402
from ido.runtime.bindings import perform  # noqa: E402
from ido.runtime.context import ActionContext  # noqa: E402
from ido.runtime.local import LocalRuntime  # noqa: E402
from ido.secrets import catalog_secrets, credential_names  # noqa: E402

STEPS = (("s1", "!state.a", "a"), ("s2", "state.a", "b"), ("s3", "state.b", "c"))


def project(folder: Path) -> Catalog:
    """The chain s1 → s2 → s3 of no-op Python bindings, each replying 20 text fields."""
    (folder / "noop_ops.py").write_text(
        "def step(ctx):\n"
        "    return {f'field{i}': f'value number {i} of the reply' for i in range(20)}\n"
    )
    for name, requires, effect in STEPS:
        (folder / f"{name}.yaml").write_text(
            f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n"
            f"  provider: p\n  requires: ['{requires}']\n  effects: {{{effect}: true}}\n"
            f"  output: out_{name}\n  run: {{python: 'noop_ops:step'}}\n"
        )
    (folder / "chain.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: chain}\n"
        "spec: {goal: ['state.c'], planner: search}\n"
    )
    return load_catalog([folder], base=folder)


def measure(folder: Path, catalog: Catalog, count: int, calls: int, runs: int) -> str:
    """One line of results with `count` credential-named variables set."""
    for name in [n for n in os.environ if n.startswith("SVC") and n.endswith("_API_TOKEN")]:
        del os.environ[name]
    os.environ.update({f"SVC{i}_API_TOKEN": f"tok-{i:04d}-abcdefghijklmnop" for i in range(count)})
    started = time.perf_counter()
    names = credential_names(os.environ)
    listing = time.perf_counter() - started
    named = catalog_secrets(catalog) | names
    capability = catalog.capabilities["s1"]
    context = ActionContext("r1", "chain", "s1", "p", 1, 1, "r1/1/1", 5.0, {})
    per_call = []
    for i in range(calls + 50):  # the first 50: warm-up
        started = time.perf_counter()
        perform(capability, context, folder, os.environ, named)
        if i >= 50:
            per_call.append(time.perf_counter() - started)
    per_run = []
    with tempfile.TemporaryDirectory() as scratch, SqliteJournal(Path(scratch) / "j.db") as journal:
        runtime = LocalRuntime(catalog, journal, base=folder)
        for i in range(runs + 5):
            started = time.perf_counter()
            runtime.run(catalog.intents["chain"])
            if i >= 5:
                per_run.append(time.perf_counter() - started)
    return (
        f"| {count} | {len(names & {n for n in os.environ if n.startswith('SVC')})} "
        f"| {listing * 1e6:.0f} µs | {statistics.median(per_call) * 1e6:.0f} µs "
        f"| {statistics.median(per_run) * 1e3:.1f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vars", type=int, nargs="+", default=[0, 10, 30])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        catalog = project(Path(folder))
        print("| variables set | taken for secrets | listing them (once) | one call | one run |")
        print("|---:|---:|---:|---:|---:|")
        for count in args.vars:
            print(measure(Path(folder), catalog, count, args.calls, args.runs))


if __name__ == "__main__":
    main()
