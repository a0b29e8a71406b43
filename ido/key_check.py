"""`ido validate`'s warning of a model planner whose API key is not in the environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ido.errors import Problem
from ido.loading.catalog import Catalog, intent_specs, problem_at


def check_model_keys(catalog: Catalog, environ: Mapping[str, str], base: Path) -> list[Problem]:
    """A warning for each intent of planner `llm` or `hybrid` whose `llm.api_key_env` names
    a variable that is unset or empty here: every model call of a run fails, each decision
    falls back to the solver, and validate said ok. Only a warning: the run may get the
    variable where it runs (a CI secret, a service's environment)."""
    warnings = []
    for resource, spec, at in intent_specs(catalog):
        llm = spec.llm
        if spec.planner not in ("llm", "hybrid") or llm.api_key_env is None:
            continue
        if llm.model is None and not environ.get("IDO_LLM_MODEL"):
            continue  # no model: nothing is asked, and the decision records why
        value = environ.get(llm.api_key_env)
        if not value:
            state = "is not set" if value is None else "is empty"
            said = (
                f"environment variable {llm.api_key_env} {state} here: every model call "
                f"would fail, and each decision fall back to the solver"
            )
            where = (*at, "llm", "api_key_env")
            warnings.append(problem_at(catalog, resource, where, said, base))
    return warnings
