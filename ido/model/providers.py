"""Whether a litellm model name can reach a model, told without importing litellm (it takes
seconds, and `ido validate` must not): a known provider, and a server where one is needed."""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path

from ido.text import did_you_mean

PROVIDERS = frozenset(
    """
    a2a a2a_agent ai21 ai21_chat aiml aiohttp_openai amazon_nova anthropic
    anthropic_text apertis assemblyai auto_router aws_polly aws_textract azure azure_ai
    azure_speech azure_text baseten bedrock bedrock_mantle black_forest_labs bytez
    cerebras charity_engine chatgpt chutes clarifai cloudflare codestral cognition
    cohere cohere_chat cometapi compactifai cortecs cursor custom custom_openai
    darkbloom dashscope databricks datarobot deepgram deepinfra deepseek
    docker_model_runner dotprompt edenai elevenlabs empower fal_ai featherless_ai
    fireworks_ai friendliai galadriel gdc gemini gigachat github github_copilot
    gradient_ai groq helicone heroku hosted_vllm huggingface humanloop hyperbolic
    inception infinity jina_ai lambda_ai langflow langfuse langgraph lemonade libertai
    litellm_agent litellm_proxy llamafile lm_studio manus maritalk meta meta_llama
    milvus minimax mistral modelscope mongodb moonshot morph nadir nano-gpt nebius
    neosantara nlp_cloud novita nscale nvidia_nim nvidia_riva oci ollama ollama_chat
    oobabooga openai openai_like openrouter ovhcloud parasail perplexity petals
    pg_vector pinstripes poe predibase prism publicai qwen_ai_platform qwencloud ragflow
    recraft reducto reka replicate runwayml s3_vectors sagemaker sagemaker_chat
    sagemaker_nova sail sambanova sap scaleway scx-ai snowflake soniox stability
    strands_decider synthetic tencent tensormesh text-completion-codestral
    text-completion-inception text-completion-openai together_ai topaz transcribe triton
    typesafe v0 valkey vercel_ai_gateway vertex_ai vertex_ai_beta vllm volcengine voyage
    wandb watsonx watsonx_text xai xiaomi_mimo xinference zai
    """.split()  # noqa: SIM905 (a list of 166 words reads better as words)
)
"""litellm's providers (`LlmProviders`, litellm 1.106.2): the first part of `provider/model`.
A test holds it to the installed litellm's."""

NEED_A_SERVER = frozenset(
    (
        *("azure", "azure_text", "custom_openai", "hosted_vllm", "litellm_proxy"),
        *("lm_studio", "oobabooga", "openai_like", "triton", "vllm"),
    )
)
"""Providers with no address of their own: each is a server someone runs (or an Azure
deployment), so a call without `api_base` fails on every decision."""


def model_problem(model: str, api_base: str | None, environ: Mapping[str, str]) -> str | None:
    """What makes `model` unreachable through litellm, if anything: a provider litellm has
    not got (`nosuch/gpt`), no provider and no model litellm knows by name (`smollm2`), or
    a provider that needs a server's address given none (in `api_base`, `IDO_LLM_API_BASE`
    or the provider's own variable, `HOSTED_VLLM_API_BASE`)."""
    provider, slash, name = model.partition("/")
    if not slash:
        known = _known_models()
        if known is None or model in known:
            return None
        return (
            f"litellm knows no model '{model}' and it names no provider: write provider/model"
            f" (openai/{model} with api_base for a local OpenAI-compatible server)"
        )
    if provider not in PROVIDERS:
        guess = did_you_mean(provider.lower(), PROVIDERS)
        hint = f" ({guess})" if guess else ""
        return (
            f"'{provider}' is not a litellm provider{hint}: write provider/model, as"
            " openai/gpt-4o-mini (openai/NAME with api_base for a local server)"
        )
    if not name.strip():
        return f"no model named after '{provider}/'"
    own = f"{provider.split('_text')[0].upper()}_API_BASE"
    if provider in NEED_A_SERVER and not (
        api_base or environ.get("IDO_LLM_API_BASE") or environ.get(own)
    ):
        return (
            f"{provider} has no address of its own: give the server's in api_base"
            f" (or in IDO_LLM_API_BASE or {own})"
        )
    return None


@functools.cache
def _known_models() -> frozenset[str] | None:
    """The model names litellm's local copy of its model list knows (read from its package
    without importing it); None when litellm is not installed, or its list cannot be read."""
    found = importlib.util.find_spec("litellm")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations)))
    try:
        data = json.loads((path / "model_prices_and_context_window_backup.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return frozenset(data) if isinstance(data, dict) else None
