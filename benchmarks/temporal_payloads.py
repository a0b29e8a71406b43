"""What a run's journal weighs as Temporal payloads, and what compressing them costs.

Run from the repository root (no server needed; about ten seconds):

    .venv/bin/python benchmarks/temporal_payloads.py --json payloads.json

For three journals, each the writes (`ido.temporal.forwarding` ops) of a run made here
with `LocalRuntime` on a `ForwardingJournal` that keeps them: the demo `fulfil-order`, and
a run of `--steps` steps under an observer returning `--rows` rows of inventory JSON (the
test's, journaled with the state before each step), or as many random bytes in base64:

- **bytes**: the payload of an attempt's input holding the whole journal, as the SDK's
  converter alone makes it (before) and with ido's codec (`ido.temporal.codec`, after);
  and the workflow's estimate of it (`IdoRun.weight`, which `MOST_BYTES` is held to).
- **time**: the codec's encode and decode of that payload (ms, once an attempt and once
  a continued execution), and its cost on one write's update (µs: the writes are
  small, and under 1 kB go plain: the run's middle one by size, encoded and decoded), and the
  workflow's weighing of one write (µs, on average: it grows with the write).

And the workflow's own work on one write (alone: `--writes-only`; `record`'s validator and
then its handler, as a worker runs them for each update, in-process: the engine's calls they
make answered by a stand-in): an observation of about 1 kB and of about 1 MB of inventory
rows, on a journal of one such write already held, and the 1 MB one on a journal already
weighing 0.6 MB, where its JSON no longer fits as it is and is weighed compressed.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.temporal import workflow as idorun
from ido.temporal.codec import CONVERTER, _packed, _unpacked
from ido.temporal.forwarding import ForwardingJournal, Op
from ido.temporal.workflow import MOST_BYTES, IdoRun

ROOT = Path(__file__).resolve().parents[1]
STEP = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: s{i}}}
spec:
  provider: p{i}
  requires: [{requires}]
  effects: {{s{i}: true}}
  run: {{shell: ["true"]}}
"""


def _ops(folder: Path, intent: str) -> list[Op]:
    """The writes of one run of `intent` in `folder`."""
    sent: list[Op] = []
    journal = ForwardingJournal(sent.append)
    catalog = load_catalog([str(folder / n) for n in ("capabilities", "policies", "intents")])
    sys.path.insert(0, str(folder))
    try:
        report = LocalRuntime(catalog, journal, base=folder).run(catalog.intents[intent])
    finally:
        sys.path.remove(str(folder))
    assert report.outcome == "achieved", report
    return sent


def _observed(folder: Path, steps: int, rows: int, noise: bool) -> Path:
    """A catalog of `steps` steps in a row under an observer of `rows` rows."""
    for name in ("capabilities", "policies", "intents"):
        (folder / name).mkdir(parents=True)
    for i in range(steps):
        requires = f"'!state.s{i}'" if i == 0 else f"'state.s{i - 1}'"
        (folder / "capabilities" / f"s{i}.yaml").write_text(STEP.format(i=i, requires=requires))
    module = f"stock_{'noise' if noise else 'rows'}"  # (each its own: modules are cached)
    (folder / "capabilities" / "rows.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: rows}\n"
        f'spec: {{python: "{module}:rows", at: rows}}\n'
    )
    goal = ", ".join(f'"state.s{i}"' for i in range(steps))
    (folder / "intents" / "big.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: big}\n"
        f"spec:\n  goal: [{goal}]\n  observers: [rows]\n"
    )
    if noise:
        blob = base64.b64encode(random.Random(7).randbytes(rows * 33)).decode()
        body = f"def rows():\n    return {{'blob': {blob!r}}}\n"
    else:
        body = (
            "def rows():\n"
            "    return {'rows': [{'sku': f'sku-{i:06d}', 'qty': i % 97, 'bin': f'B{i % 40}'}\n"
            f"                     for i in range({rows})]}}\n"
        )
    (folder / f"{module}.py").write_text(body)
    return folder


def _ms(action: Any, times: int = 5) -> float:
    spent = []
    for _ in range(times):
        t0 = time.perf_counter()
        action()
        spent.append(time.perf_counter() - t0)
    return statistics.median(spent) * 1000


def measure(ops: list[Op]) -> dict[str, Any]:
    task = {"intent": "i", "catalog_digest": "d" * 64, "run_id": "r", "ops": ops, "attempt": 2}
    plain = CONVERTER.payload_converter.to_payloads([task])[0]
    packed = _packed(plain)
    workflow = IdoRun({"carried": {"ops": ops}})
    middle = sorted(ops, key=lambda op: len(json.dumps(op)))[len(ops) // 2]
    write = CONVERTER.payload_converter.to_payloads([{"op": middle, "at": 1}])[0]
    weigh = IdoRun({})
    return {
        "writes": len(ops),
        "json_bytes": len(json.dumps(ops)),
        "payload_bytes_before": plain.ByteSize(),
        "payload_bytes_after": packed.ByteSize(),
        "estimate_bytes": workflow.weight,
        "fits_before": plain.ByteSize() <= MOST_BYTES,
        "fits_after": workflow.weight <= MOST_BYTES,
        "encode_ms": _ms(lambda: _packed(plain)),
        "decode_ms": _ms(lambda: _unpacked(packed)),
        "write_codec_us": _ms(lambda: _unpacked(_packed(write)), 50) * 1000,
        "weigh_us_per_write": _ms(lambda: [weigh._weigh(op) for op in ops], 3) * 1000 / len(ops),
    }


class _Engine:
    """What `IdoRun`'s update asks of Temporal (`temporalio.workflow`), outside a worker."""

    def __init__(self) -> None:
        self.update = 0

    def info(self) -> Any:
        return SimpleNamespace(
            get_current_history_length=lambda: 100, is_continue_as_new_suggested=lambda: False
        )

    def current_update_info(self) -> Any:
        return SimpleNamespace(id=f"u{self.update}", name="record")


def _observation(rows: int) -> Op:
    """An `observed` write of `rows` rows of inventory JSON (about 50 bytes a row)."""
    data = {
        "rows": [{"sku": f"sku-{i:06d}", "qty": i % 97, "bin": f"B{i % 40}"} for i in range(rows)]
    }
    return ["append", ["r", "observed", "2026-12-07T08:00:00.000+00:00", {"data": data}]]


def write_us(op: Op, held: list[Op], times: int = 9) -> float:
    """The median CPU µs of `record`'s validator and handler taking `op` after `held`."""
    engine = _Engine()
    real, idorun.workflow = idorun.workflow, engine  # type: ignore[assignment]
    try:
        run = IdoRun({"carried": {"ops": held, "attempt": 1}})
        run.carrier = 1
        spent = []
        for _ in range(times):
            engine.update += 1
            write = {"attempt": 1, "at": len(run.ops), "op": op}
            again = json.loads(json.dumps(write))  # (the SDK decodes it again for the handler)
            packer, weight = run.packer.copy(), run.weight
            t0 = time.process_time()  # (CPU: other processes' load does not count)
            run._may_record(write)
            run.record(again)
            spent.append(time.process_time() - t0)
            run.ops.pop()
            run.packer, run.weight, run.updates = packer, weight, 0
        return statistics.median(spent) * 1e6
    finally:
        idorun.workflow = real


def writes() -> dict[str, Any]:
    """The workflow's work per write: 1 kB and 1 MB observations (see the docstring)."""
    small, big = _observation(20), _observation(20_000)
    heavy = [_observation(12_000 + i) for i in range(3)]  # (0.6 MB each, compressed apart)
    rows = {
        "1 kB write": (small, [small]),
        "1 MB write": (big, [big]),
        "1 MB write, journal 0.6 MB compressed": (big, heavy * 2 + [_noise(400_000)]),
    }
    out: dict[str, Any] = {}
    for label, (op, held) in rows.items():
        weight = IdoRun({"carried": {"ops": held}}).weight
        out[label] = {
            "json_bytes": len(json.dumps(op)),
            "held_weight": weight,
            "write_us": write_us(op, held, 21 if len(json.dumps(op)) > 10_000 else 201),
        }
    return out


def _noise(size: int) -> Op:
    """A write of `size` bytes that does not compress (random bytes in base64)."""
    blob = base64.b64encode(random.Random(3).randbytes(size * 3 // 4)).decode()
    return ["append", ["r", "observed", "2026-12-07T08:00:00.000+00:00", {"blob": blob}]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="steps of the observed runs")
    parser.add_argument("--rows", type=int, default=12_000, help="rows of the observation")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument(
        "--writes-only", action="store_true", help="only the workflow's work per write"
    )
    args = parser.parse_args(argv)
    rows: dict[str, Any] = {}
    per_write = writes()
    for label, row in per_write.items():
        print(
            f"{label} ({row['json_bytes'] / 1e3:,.1f} kB of JSON, journal "
            f"{row['held_weight'] / 1e3:,.0f} kB compressed): validator and handler "
            f"{row['write_us']:,.0f} µs"
        )
    if args.writes_only:
        if args.json:
            args.json.write_text(json.dumps({"writes": per_write}, indent=2) + "\n")
        return 0
    with tempfile.TemporaryDirectory(prefix="ido-payloads-") as tmp:
        demo = Path(tmp) / "demo"
        for name in ("intents", "capabilities", "policies"):
            shutil.copytree(ROOT / name, demo / name, ignore=shutil.ignore_patterns("__pycache__"))
        rows["fulfil-order"] = measure(_ops(demo, "fulfil-order"))
        for noise in (False, True):
            folder = _observed(Path(tmp) / f"o{noise}", args.steps, args.rows, noise)
            label = f"{args.steps} steps, {'random' if noise else 'rows'} observation"
            rows[label] = measure(_ops(folder, "big"))
    for label, row in rows.items():
        print(
            f"{label}: {row['writes']} writes, {row['payload_bytes_before'] / 1e3:,.0f} kB "
            f"as JSON -> {row['payload_bytes_after'] / 1e3:,.0f} kB compressed (estimate "
            f"{row['estimate_bytes'] / 1e3:,.0f} kB); encode {row['encode_ms']:.1f} ms, "
            f"decode {row['decode_ms']:.1f} ms; a write: codec {row['write_codec_us']:.0f} "
            f"µs, weighing {row['weigh_us_per_write']:.0f} µs"
        )
    if args.json:
        args.json.write_text(json.dumps({**rows, "writes": per_write}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
