"""What the Temporal runtime's tests share: the demo catalog copied, and `ido worker`
processes (the dev server and its ports are `ido.temporal.devserver`'s)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ido.temporal.devserver import TEMPORAL, answers, free_port

REPO = Path(__file__).resolve().parents[2]


def project_copy(into: Path) -> Path:
    """The repo's demo catalog (intents/, capabilities/, policies/) copied into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    for name in ("intents", "capabilities", "policies"):
        shutil.copytree(REPO / name, into / name, ignore=shutil.ignore_patterns("__pycache__"))
    return into


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IDO_JOURNAL"}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1", **extra)
    return env


class Worker:
    """An `ido worker` process; its output in `log`."""

    def __init__(
        self,
        folder: Path,
        address: str,
        queue: str,
        env: dict[str, str],
        args: tuple[str, ...] = (),
    ) -> None:
        self.log = folder / f"worker-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ido",
                    "worker",
                    "--temporal",
                    address,
                    "--task-queue",
                    queue,
                    *args,
                ],
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.wait_for("worker on ")

    def wait_for(self, text: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"no {text!r} in: {self.log.read_text()}"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


__all__ = ["TEMPORAL", "Worker", "answers", "environment", "free_port", "project_copy"]
