"""Which litellm model names `ido validate` finds out of reach, told without litellm."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys

import pytest

from ido.model.providers import PROVIDERS, model_problem


def test_the_providers_are_the_installed_litellm_s() -> None:
    """The list ido keeps is litellm's own: a litellm upgrade that adds or drops a
    provider fails here rather than in a user's `ido validate`. Asked in a process of its
    own, with no network: importing `litellm.types.utils` ahead of litellm left pydantic's
    types half built under the suite's warnings-as-errors, and every later model call in
    the process failed."""
    if importlib.util.find_spec("litellm") is None:
        pytest.skip("litellm is not installed")
    script = "from litellm.types.utils import LlmProviders as p; print([x.value for x in p])"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert set(ast.literal_eval(done.stdout.strip().splitlines()[-1])) == PROVIDERS


@pytest.mark.parametrize(
    ("model", "api_base", "problem"),
    [
        ("nosuch/gpt", None, "'nosuch' is not a litellm provider: write provider/model"),
        ("OpenAI/gpt-4o", None, "(did you mean 'openai'?)"),
        ("smollm2", None, "litellm knows no model 'smollm2' and it names no provider"),
        ("hosted_vllm/smollm2", None, "hosted_vllm has no address of its own"),
        ("openai/", None, "no model named after 'openai/'"),
    ],
)
def test_a_model_litellm_cannot_reach_is_a_problem(
    model: str, api_base: str | None, problem: str
) -> None:
    said = model_problem(model, api_base, {})
    assert said is not None and problem in said


@pytest.mark.parametrize(
    ("model", "api_base", "environ"),
    [
        ("openai/gpt-4o-mini", None, {}),
        ("openai/smollm2", "http://127.0.0.1:8080/v1", {}),
        ("hosted_vllm/smollm2", "http://127.0.0.1:8000/v1", {}),
        ("hosted_vllm/smollm2", None, {"IDO_LLM_API_BASE": "http://127.0.0.1:8000/v1"}),
        ("hosted_vllm/smollm2", None, {"HOSTED_VLLM_API_BASE": "http://127.0.0.1:8000/v1"}),
        ("ollama/llama3", None, {}),  # litellm knows its address: localhost:11434
    ],
)
def test_a_model_litellm_can_reach_is_none(
    model: str, api_base: str | None, environ: dict[str, str]
) -> None:
    assert model_problem(model, api_base, environ) is None


def test_a_model_litellm_knows_by_name_needs_no_provider() -> None:
    if importlib.util.find_spec("litellm") is None:  # (found, not imported: see above)
        pytest.skip("litellm is not installed")
    assert model_problem("gpt-4o-mini", None, {}) is None
