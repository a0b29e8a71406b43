"""What starting a common `ido` command costs: CPU (user + sys) of the whole process,
median of N runs, for `--version`, `--help`, `runs --help`, `runs`, `explain last`,
`validate` and a small `plan --pddl`; nearly all of it is Python's start and the imports
(of ido's package byte-compiled first, as an install does: `compile_ido`).

    .venv/bin/python benchmarks/cli_startup.py [--repeat 10] [--pddl /work/shared/benchmarks/pddl]

It first runs `ido run fulfil-order` into a journal of its own (a temporary folder), so
`runs` and `explain last` have a run to show. To compare with another checkout of ido,
run it with PYTHONPATH set to that checkout (the commands are `python -P -m ido`: ido
as this interpreter finds it, not from the current folder). The `plan` row needs the IPC zenotravel
problems under --pddl; without them it is left out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands(journal: Path, pddl: Path) -> dict[str, list[str]]:
    """The commands measured, by the name they are reported under."""
    found = {
        "--version": ["--version"],
        "--help": ["--help"],
        "runs --help": ["runs", "--help"],
        "runs": ["runs", "--journal", str(journal)],
        "explain last": ["explain", "last", "--journal", str(journal)],
        "validate": ["validate", "intents/fulfil-order.yaml"],
    }
    zeno = pddl / "zenotravel"
    if (zeno / "p01.pddl").exists():
        found["plan --pddl (zenotravel p01)"] = [
            "plan",
            "--pddl",
            str(zeno / "domain.pddl"),
            str(zeno / "p01.pddl"),
            "--planner",
            "search",
            "--alternatives",
            "0",
        ]
    return found


def compile_ido() -> None:
    """Write the bytecode of the ido package the commands import (`ipc.compile_ido`): as
    installed, not compiled from source in every process where PYTHONDONTWRITEBYTECODE is
    set."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("ido")
    if spec is not None and spec.submodule_search_locations:
        compileall.compile_dir(next(iter(spec.submodule_search_locations)), quiet=1)


def cpu(argv: list[str]) -> float:
    """Seconds of CPU (user + sys) `python -P -m ido ARGV` took, run from the repository."""
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "ido", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # `validate` and `runs` may say 1 for what they found; not 2
        raise SystemExit(f"ido {' '.join(argv)} exited with {code}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--pddl", type=Path, default=Path("/work/shared/benchmarks/pddl"))
    args = parser.parse_args()
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1")
    env.pop("IDO_JOURNAL", None)
    os.environ.clear()
    os.environ.update(env)
    compile_ido()
    with tempfile.TemporaryDirectory(prefix="ido-startup-") as scratch:
        journal = Path(scratch) / "ido.db"
        subprocess.run(
            [sys.executable, "-P", "-m", "ido", "run", "fulfil-order", "--journal", str(journal)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        print(f"{'command':32} {'median CPU':>10} {'min':>7}  ({args.repeat} runs)")
        for name, argv in commands(journal, args.pddl).items():
            times = [cpu(argv) for _ in range(args.repeat)]
            print(f"ido {name:28} {statistics.median(times):9.3f}s {min(times):6.3f}s")


if __name__ == "__main__":
    main()
