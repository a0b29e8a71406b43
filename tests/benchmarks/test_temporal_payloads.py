"""`benchmarks/temporal_payloads.py`: small journals weighed, no server needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_each_journal_is_weighed_before_and_after_the_codec(tmp_path: Path) -> None:
    """The codec's payload of a journal of JSON rows is a fraction of the plain one, the
    workflow's estimate of it is within a tenth, and random bytes do not compress."""
    pytest.importorskip("temporalio")
    out = tmp_path / "out.json"
    script = ROOT / "benchmarks" / "temporal_payloads.py"
    done = subprocess.run(
        [sys.executable, str(script), "--steps", "2", "--rows", "3000", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads(out.read_text())
    writes = rows.pop("writes")  # the workflow's work on one write of each size
    assert set(rows) == {"fulfil-order", "2 steps, rows observation", "2 steps, random observation"}
    assert len(writes) == 3 and all(w["write_us"] > 0 for w in writes.values())
    small, big = writes["1 kB write"], writes["1 MB write"]
    assert small["json_bytes"] < 2_000 < 900_000 < big["json_bytes"]
    packed = rows["2 steps, rows observation"]
    assert packed["payload_bytes_after"] * 5 < packed["payload_bytes_before"]
    assert (
        abs(packed["estimate_bytes"] - packed["payload_bytes_after"])
        < packed["payload_bytes_after"] / 10
    )
    noise = rows["2 steps, random observation"]
    assert noise["payload_bytes_after"] * 2 > noise["payload_bytes_before"]
    assert all(row["encode_ms"] >= 0 and row["writes"] > 0 for row in rows.values())
