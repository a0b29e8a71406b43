"""What a decision on a big catalog weighs: in the journal, as `ido explain` reads it, in the
HTML report, and as the payload of a Temporal write.

Run from the repository root (about half a minute):

    .venv/bin/python benchmarks/decision_size.py --size 1000 --json sizes.json

A project in a temporary folder made of `plan_latency.generate(size, seed, 0)` (stages
with several providers each, capabilities that could never run and capabilities that serve
no goal), its capabilities bound to a Python function that fails the first call of four
providers (so the run replans), and a deny rule over one provider. `ido run` pursues it on
SQLite, as a subprocess; then:

- **journal**: the bytes of each `decided` event's JSON, its rejections' share, and the
  same compressed (zlib, as `ido.temporal.codec` sends a payload over 1 kB);
- **explain**: `ido explain last` in text, Markdown, JSON and HTML (`-o`): lines, bytes
  and the wall time of the command (median of `--repeat`);
- **temporal**: the same run on a `ForwardingJournal` that keeps its writes (no server):
  the payload of the largest write as the SDK's converter makes it, plain and compressed,
  and of an attempt's input (the whole journal), against Temporal's limits (a payload:
  warned of at 256 kB by the server, 512 kB by the SDK; refused at 2 MB) and the 1.5 MB
  the workflow holds a journal to (`MOST_BYTES`).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import yaml
from plan_latency import generate
from temporal_payloads import _ops

from ido.temporal.codec import CONVERTER, _packed
from ido.temporal.workflow import MOST_BYTES, IdoRun

FLAKY = """\
def call(ctx):
    if ctx.provider in ("p5", "p13", "p20", "p21") and ctx.attempt == 1:
        raise RuntimeError(f"{ctx.provider} is down")
    return None
"""
POLICY = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: gate}
spec:
  rules:
    - id: no-p3
      effect: deny
      when: "capability.provider == 'p3'"
      message: Provider p3 is off limits.
"""


def project(root: Path, size: int, seed: int) -> Path:
    """The generated problem as YAML: capabilities, the policy, the intent `big`."""
    task = generate(size, seed, 0).task
    for folder in ("capabilities", "policies", "intents"):
        (root / folder).mkdir(parents=True)
    (root / "flaky.py").write_text(FLAKY)
    documents = [
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": a.name},
            "spec": {
                "provider": a.provider,
                "requires": list(a.requires),
                "effects": dict(a.effects),
                "cost": a.cost,
                "latency": f"{round(a.latency * 1000)}ms",
                "reliability": a.reliability,
                "run": {"python": "flaky:call"},
            },
        }
        for a in task.actions
    ]
    (root / "capabilities" / "big.yaml").write_text(yaml.safe_dump_all(documents))
    (root / "policies" / "gate.yaml").write_text(POLICY)
    limits = task.limits
    spec = {
        "given": task.state,
        "goal": list(task.goal),
        "constraints": {
            "max_cost": round(limits.max_cost or 0.0, 3),
            "deadline": f"{int((limits.deadline or 0.0) * 1000)}ms",
            "min_success_probability": int((limits.min_success_probability or 0) * 1e4) / 1e4,
        },
        "objective": {"cost": 1.0, "latency": 0.5, "risk": 2.0},
        "policies": ["gate"],
    }
    intent = {"apiVersion": "ido/v1", "kind": "Intent", "metadata": {"name": "big"}, "spec": spec}
    (root / "intents" / "big.yaml").write_text(yaml.safe_dump(intent))
    return root


def ido(root: Path, *args: str) -> float:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    env.pop("IDO_JOURNAL", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", *args],
        check=False,
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"ido {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def journal(root: Path) -> dict[str, Any]:
    with sqlite3.connect(root / ".ido" / "ido.db") as db:
        rows = [
            json.loads(d) for (d,) in db.execute("SELECT data FROM events WHERE kind = 'decided'")
        ]
    sizes = [len(json.dumps(d)) for d in rows]
    rejections = [len(json.dumps(d["result"]["rejections"])) for d in rows]
    return {
        "decisions": len(rows),
        "rejected": len(rows[0]["result"]["rejections"]),
        "bytes_per_decision": statistics.mean(sizes),
        "rejections_bytes": statistics.mean(rejections),
        "compressed_per_decision": statistics.mean(
            len(zlib.compress(json.dumps(d).encode())) for d in rows
        ),
    }


def explain(root: Path, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fmt in ("text", "md", "json", "html"):
        path = root / f"explain.{fmt}"
        took = [ido(root, "explain", "last", "-f", fmt, "-o", str(path)) for _ in range(repeat)]
        text = path.read_text()
        out[fmt] = {
            "lines": text.count("\n"),
            "bytes": len(text),
            "seconds": statistics.median(took),
        }
    return out


def temporal(root: Path) -> dict[str, Any]:
    ops = _ops(root, "big")
    writes = [CONVERTER.payload_converter.to_payloads([{"op": op, "at": 1}])[0] for op in ops]
    largest = max(writes, key=lambda w: w.ByteSize())
    task = {"intent": "big", "catalog_digest": "d" * 64, "run_id": "r", "ops": ops, "attempt": 2}
    whole = CONVERTER.payload_converter.to_payloads([task])[0]
    return {
        "largest_write": largest.ByteSize(),
        "largest_write_compressed": _packed(largest).ByteSize(),
        "attempt_input": whole.ByteSize(),
        "attempt_input_compressed": _packed(whole).ByteSize(),
        "journal_weight": IdoRun({"carried": {"ops": ops}}).weight,
        "most_bytes": MOST_BYTES,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = project(Path(folder), args.size, args.seed)
        ran = ido(root, "run", "big", "-q")
        numbers = {"size": args.size, "run_seconds": ran, "journal": journal(root)}
        numbers["explain"] = explain(root, args.repeat)
        sys.path.insert(0, str(root))  # (the binding, for the run on a ForwardingJournal)
        numbers["temporal"] = temporal(root)
    j, t = numbers["journal"], numbers["temporal"]
    print(f"{args.size:,} capabilities, {j['decisions']} decisions, {j['rejected']} rejected")
    print(f"journal: {j['bytes_per_decision']:,.0f} B a decision ({j['rejections_bytes']:,.0f} "
          f"of it rejections), {j['compressed_per_decision']:,.0f} B compressed")  # fmt: skip
    print("| format | lines | bytes | seconds |\n|---|---:|---:|---:|")
    for fmt, e in numbers["explain"].items():
        print(f"| {fmt} | {e['lines']:,} | {e['bytes']:,} | {e['seconds']:.2f} |")
    print(
        f"temporal: largest write {t['largest_write']:,} B "
        f"({t['largest_write_compressed']:,} compressed); an attempt's input "
        f"{t['attempt_input']:,} B ({t['attempt_input_compressed']:,} compressed; "
        f"held to {t['most_bytes']:,})"
    )
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
