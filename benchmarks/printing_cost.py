"""What masking costs a Python binding that prints a line at a time.

Run from the repository root:

    .venv/bin/python benchmarks/printing_cost.py --lines 20000 --repeats 5

In a fresh temporary folder: a Python binding printing `--lines` lines of six pieces each
(`print("processing item", i, "of", n, "status ok")`), with 10 credential-named secrets of
24 characters and one of 6 it declares (`secrets`). It reports the median time per line of
the same function called plainly (its prints not masked) and called by `perform` (what its
thread prints masked a line at a time, `ido.runtime.printed`), and their ratio; then the
same of a binding writing a JSON document of `--lines` entries with `json.dump(doc,
sys.stdout)` (a piece a value, on one line). What is printed goes to a text in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ido.model import Capability  # noqa: E402
from ido.runtime.bindings import load_callable, perform  # noqa: E402
from ido.runtime.context import ActionContext  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    environ = {f"SVC{i}_API_TOKEN": f"secret-value-{i:04d}-abcdefgh" for i in range(10)}
    environ["PSP_TOKEN"] = "s3cr3t"
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "chatty_bench.py").write_text(
            f"import json, sys\n\ndef run(ctx):\n    for i in range({args.lines}):\n"
            f"        print('processing item', i, 'of', {args.lines}, 'status ok')\n\n"
            f"def dump(ctx):\n"
            f"    json.dump({{f'k{{i}}': [i, 'value', i * 2.5] for i in range({args.lines})}},"
            f" sys.stdout)\n"
        )
        sys.path.insert(0, folder)
        for function in ("run", "dump"):
            print(measure(folder, function, environ, args.lines, args.repeats))


def measure(folder: str, function: str, environ: dict[str, str], lines: int, repeats: int) -> str:
    """One line of results: `function` of the binding called plainly and by `perform`."""
    binding = Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "chatty"},
            "spec": {
                "provider": "p",
                "effects": {"done": True},
                "run": {"python": f"chatty_bench:{function}", "secrets": ["PSP_TOKEN"]},
            },
        }
    )
    ctx = ActionContext("r1", "i", "chatty", "p", 1, 1, "r1/1/1", 600.0, {})
    plain = load_callable(f"chatty_bench:{function}", Path(folder))
    timings: dict[str, list[float]] = {"plain": [], "masked": []}
    for _ in range(repeats):
        with contextlib.redirect_stdout(io.StringIO()):
            started = time.perf_counter()
            plain(ctx)
            timings["plain"].append(time.perf_counter() - started)
            started = time.perf_counter()
            outcome = perform(binding, ctx, Path(folder), environ, frozenset(environ))
            timings["masked"].append(time.perf_counter() - started)
        assert outcome.ok, outcome
    taken = {k: statistics.median(v) for k, v in timings.items()}
    return (
        f"{function} ({lines} {'lines' if function == 'run' else 'JSON entries'}): "
        f"plain {taken['plain'] * 1e3:.0f} ms, masked {taken['masked'] * 1e3:.0f} ms, "
        f"ratio {taken['masked'] / taken['plain']:.1f}"
    )


if __name__ == "__main__":
    main()
