"""What tracing costs a run: ido with OpenTelemetry off, exporting OTLP over HTTP to a live
collector on loopback, and exporting to a collector that is not there.

Run from the repository root (about a minute with the defaults):

    .venv/bin/python benchmarks/telemetry_overhead.py --runs 200 --repeat 3

In-process: `LocalRuntime` runs a two-step intent (no-op Python bindings, the search
planner) `--runs` times on one SQLite journal, with telemetry off and then with each
exporter; the best of `--repeat` rounds counts. The collector is a real HTTP server that
accepts every OTLP request. Then the CLI as a user runs it: `ido run` in a subprocess,
with telemetry off and with the collector missing, to show what exporting adds at exit
(median of `--repeat`). Prints Markdown tables; `--json FILE` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.testing import serve_on_loopback
from ido.tracing import from_environment

CAPABILITIES = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay}
spec:
  provider: bank
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  run: {python: "noop:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.order.paid"]
  effects: {order.shipped: true}
  run: {python: "noop:call"}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: send}
spec:
  goal: ["state.order.shipped"]
  planner: search
"""


class Collector(BaseHTTPRequestHandler):
    """Accepts every OTLP/HTTP export request and counts them."""

    requests = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Collector.requests += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def project(root: Path) -> Path:
    for folder in ("capabilities", "intents"):
        (root / folder).mkdir(parents=True)
    (root / "capabilities" / "shop.yaml").write_text(CAPABILITIES)
    (root / "intents" / "send.yaml").write_text(INTENT)
    (root / "noop.py").write_text("def call(ctx):\n    return None\n")
    return root


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("OTEL_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        for key in values:
            os.environ.pop(key, None)
        os.environ.update(saved)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def in_process(root: Path, runs: int, otel: dict[str, str]) -> tuple[float, float]:
    """Runs per second, and how long the telemetry's shutdown took at the end."""
    sys.path.insert(0, str(root))
    catalog = load_catalog([root / "capabilities", root / "intents"])
    with environment(otel):
        telemetry = from_environment() if otel else None
    with SqliteJournal(root / ".ido" / "ido.db") as store:
        runtime = LocalRuntime(catalog, store, base=root, telemetry=telemetry)
        started = time.perf_counter()
        for _ in range(runs):
            if runtime.run(catalog.intents["send"]).outcome != "achieved":
                raise SystemExit("a run did not achieve its goal")
        took = time.perf_counter() - started
    started = time.perf_counter()
    if telemetry is not None:
        telemetry.shutdown()
    return runs / took, time.perf_counter() - started


def cli_seconds(root: Path, otel: dict[str, str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(otel, PYTHONPATH=str(root))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", "run", "send", "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ido run failed: {done.stdout}{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    missing = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    results: dict[str, Any] = {}
    with serve_on_loopback(Collector) as url, tempfile.TemporaryDirectory() as folder:
        root = project(Path(folder))
        configs = {
            "off": {},
            "OTLP/HTTP to a live collector": {"OTEL_EXPORTER_OTLP_ENDPOINT": url},
            "OTLP/HTTP, collector missing": missing,
        }
        for name, otel in configs.items():
            rounds = [in_process(root, args.runs, otel) for _ in range(args.repeat)]
            best = max(rounds)
            results[name] = {"runs_per_s": best[0], "shutdown_s": max(r[1] for r in rounds)}
            print(f"  {name}: {best[0]:.1f} runs/s", file=sys.stderr)
        cli = {
            "off": statistics.median(cli_seconds(root, {}) for _ in range(args.repeat)),
            "collector missing": statistics.median(
                cli_seconds(root, missing) for _ in range(args.repeat)
            ),
        }
    base = results["off"]["runs_per_s"]
    print("| telemetry | runs/s | vs off | shutdown at the end |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['runs_per_s']:.1f} | {r['runs_per_s'] / base:.2f}× | "
            f"{r['shutdown_s'] * 1000:.0f} ms |"
        )
    print(
        f"\n`ido run` (CLI, start-up included): {cli['off']:.2f} s with telemetry off, "
        f"{cli['collector missing']:.2f} s with the collector missing "
        f"(+{cli['collector missing'] - cli['off']:.2f} s); "
        f"the live collector took {Collector.requests} export requests."
    )
    if args.json:
        args.json.write_text(json.dumps({"in_process": results, "cli": cli}, indent=2))


if __name__ == "__main__":
    main()
