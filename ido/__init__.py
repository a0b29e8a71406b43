"""ido: an intent-driven orchestrator. The names in `__all__` are its public Python API
(docs/python-api.md), stable within a major version; everything else is internal.

They are imported when first used, not with `import ido`: a program that imports ido
but only reads its version pays for no pydantic, CEL or SQLite (and OR-Tools and litellm
only ever come with a plan that needs them)."""

TYPE_CHECKING = False  # (as `typing.TYPE_CHECKING` reads, without importing typing: 5 ms)

_HOMES = {
    "__version__": "ido.installed",  # the installed package's (`ido --version` says it too)
    # loading
    "Catalog": "ido.loading.catalog",
    "load_catalog": "ido.loading.load",
    "check_names": "ido.loading.checks",
    "check_nulls": "ido.loading.checks",
    "find_intent": "ido.loading.load",
    "Intent": "ido.model",
    "with_given": "ido.api",
    # planning and running
    "plan": "ido.api",
    "Decision": "ido.decision",
    "LocalRuntime": "ido.runtime.local",
    "RunReport": "ido.runtime.local",
    "RunOutcome": "ido.runtime.local",
    "Listener": "ido.runtime.local",
    "ActionContext": "ido.runtime.context",
    # journals
    "open_journal": "ido.api",
    "Journal": "ido.journal.records",
    "SqliteJournal": "ido.journal.sqlite",
    "MemoryJournal": "ido.testing",
    "RunRow": "ido.journal.records",
    "Event": "ido.journal.records",
    # answering a blocked run
    "approve": "ido.verdicts",
    "reject": "ido.verdicts",
    "pending_approvals": "ido.pending",
    "PendingApproval": "ido.pending",
    # after a run
    "explain_run": "ido.api",
    "replay_run": "ido.api",
    "counterfactual_run": "ido.api",
    "Replay": "ido.replay.exact",
    "Counterfactual": "ido.scenario.counterfactual",
    # rehearsing
    "run_scenarios": "ido.scenario.suite",
    "ScenarioResult": "ido.scenario.runner",
    # errors
    "IdoError": "ido.errors",
    "LoadError": "ido.errors",
    "Problem": "ido.errors",
    "NotFoundError": "ido.errors",
    "PlanningError": "ido.errors",
    "ExecutionError": "ido.errors",
    "ObserverError": "ido.errors",
    "JournalError": "ido.errors",
}

__all__ = [
    "ActionContext",
    "Catalog",
    "Counterfactual",
    "Decision",
    "Event",
    "ExecutionError",
    "IdoError",
    "Intent",
    "Journal",
    "JournalError",
    "Listener",
    "LoadError",
    "LocalRuntime",
    "MemoryJournal",
    "NotFoundError",
    "ObserverError",
    "PendingApproval",
    "PlanningError",
    "Problem",
    "Replay",
    "RunOutcome",
    "RunReport",
    "RunRow",
    "ScenarioResult",
    "SqliteJournal",
    "__version__",
    "approve",
    "check_names",
    "check_nulls",
    "counterfactual_run",
    "explain_run",
    "find_intent",
    "load_catalog",
    "open_journal",
    "pending_approvals",
    "plan",
    "reject",
    "replay_run",
    "run_scenarios",
    "with_given",
]
"""The public names (`_HOMES` says where each lives: the two must agree, a test checks)."""
# (No public name is a submodule's: importing `ido.explain`, the module, would hide the
# function `ido.explain` behind it; hence `explain_run`, `replay_run`.)


if not TYPE_CHECKING:  # (type checkers see the imports below, and so catch a misspelt name)

    def __getattr__(name: str) -> object:
        """A public name, imported from its module on first use (and kept: asked once)."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'ido' has no attribute '{name}'")
        from importlib import import_module

        value = getattr(import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_HOMES})


if TYPE_CHECKING:  # what type checkers and editors see of the names above
    from ido.api import (
        counterfactual_run,
        explain_run,
        open_journal,
        plan,
        replay_run,
        with_given,
    )
    from ido.decision import Decision
    from ido.errors import (
        ExecutionError,
        IdoError,
        JournalError,
        LoadError,
        NotFoundError,
        ObserverError,
        PlanningError,
        Problem,
    )
    from ido.installed import __version__
    from ido.journal.records import Event, Journal, RunRow
    from ido.journal.sqlite import SqliteJournal
    from ido.loading.catalog import Catalog
    from ido.loading.checks import check_names, check_nulls
    from ido.loading.load import find_intent, load_catalog
    from ido.model import Intent
    from ido.pending import PendingApproval, pending_approvals
    from ido.replay.exact import Replay
    from ido.runtime.context import ActionContext
    from ido.runtime.local import Listener, LocalRuntime, RunOutcome, RunReport
    from ido.scenario.counterfactual import Counterfactual
    from ido.scenario.runner import ScenarioResult
    from ido.scenario.suite import run_scenarios
    from ido.testing import MemoryJournal
    from ido.verdicts import approve, reject
