"""Which litellm model names `ido validate` finds out of reach, told without litellm."""

from __future__ import annotations

import pytest

from ido.model.providers import PROVIDERS, model_problem


def test_the_providers_are_the_installed_litellm_s() -> None:
    """The list ido keeps is litellm's own: a litellm upgrade that adds or drops a
    provider fails here rather than in a user's `ido validate`."""
    types = pytest.importorskip("litellm.types.utils")
    assert {p.value for p in types.LlmProviders} == PROVIDERS


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
    pytest.importorskip("litellm")
    assert model_problem("gpt-4o-mini", None, {}) is None
