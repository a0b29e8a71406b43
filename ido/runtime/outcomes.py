"""What the runtime makes of a call's outcome, and the words it ends a run with: pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ido.approval_asking import would_ask
from ido.approvals import subject
from ido.decision import Decision
from ido.model import Capability, format_duration
from ido.runtime.bindings import Outcome
from ido.runtime.context import ActionContext
from ido.runtime.folds import undone_step
from ido.state import State, get_path, has_path


def effects_seen(effects: Mapping[str, Any], state: State, seen: State) -> bool | None:
    """What an observation tells of a step's effects: True when they all hold in `state`;
    False when observers report each of them (`seen`, their outputs alone) and they do not
    all hold; None when it cannot tell (nothing observes one that does not hold)."""
    if all(get_path(state, path) == value for path, value in effects.items()):
        return True
    if all(has_path(seen, path) for path in effects):
        return False
    return None


def unknown_outcome(outcome: Outcome, capability: Capability) -> bool:
    """Whether a call's outcome is unknown: it timed out (its own timeout or the run's
    deadline; the provider may have gone on and done it) and repeating it is not safe."""
    return not outcome.ok and outcome.timed_out and not capability.spec.idempotent


def undo_again(outcome: Outcome, capability: Capability, attempt: int, most: int) -> bool:
    """Whether a compensation whose `attempt` (of at most `most`) ended with `outcome` is
    tried again: it failed, and repeating it is safe, as its capability is `idempotent`
    (made again under the same key) or its failure says it did not take effect (an error,
    not a timeout: the provider may have gone on and refunded)."""
    if outcome.ok or attempt >= most:
        return False
    return capability.spec.idempotent or not outcome.timed_out


def repeated(ctx: ActionContext) -> dict[str, Any]:
    """The `action_repeated` event of a step made again as a person approved: recorded
    before the call, so that a resume after a crash in it knows the repeat began."""
    return {
        "step": ctx.step,
        "capability": ctx.capability,
        "attempt": ctx.attempt,
        "idempotency_key": ctx.idempotency_key,
    }


CUT = "was interrupted"
"""The error of a replayed call that an interruption cut short in the recording (its
outcome unknown, a person asked): as a request says it of a step cut short. Such a call is
no deadline's doing (`as_recorded`), whatever time it was given."""


def as_recorded(
    outcome: Outcome, ctx: ActionContext, capability: Capability
) -> tuple[Outcome, bool]:
    """A call's outcome as its end is recorded, and whether the run's deadline stopped it:
    cut short by the deadline, not its own timeout, it says so (no news of the provider)."""
    if outcome.timed_out and ctx.timeout < capability.spec.timeout and outcome.error != CUT:
        said = f"stopped at the deadline after {format_duration(ctx.timeout)}"
        return replace(outcome, error=said), True
    return outcome, False


def rejecting(undoing: Mapping[str, Any] | None) -> str:
    """What rejecting a step whose outcome is unknown does, as its request says: a plan's
    step ends the run; a compensation is left undone, and the older steps are still undone
    (told "to end the run", a person rejected a refund to stop the saga, and it went on)."""
    if undoing is None:
        return "to end the run"
    return f"to leave {undone_step(undoing)} not undone and go on undoing the steps before it"


def shadow_note(decision: Decision) -> str:
    """What a `mode: shadow` run adds to its reason: the approvals a real run of its plan
    would stop for (`ido.approval_asking.would_ask`), as `ido plan` says them."""
    asked = would_ask(decision, "shadow")
    if not asked:
        return ""
    said = "; ".join(f"{subject(a['step'], a['capability'])} ({a['rule']})" for a in asked)
    return f"; a run would stop for approval of {said}"


def blocking(asked: list[tuple[str, str]]) -> tuple[str, str] | None:
    """What blocks a run whose steps' outcomes a person must decide (each `_ask`'s stop),
    the first named and the others counted; None when there are none."""
    if not asked:
        return None
    outcome, reason = asked[0]
    more = f" (and {len(asked) - 1} more)" if len(asked) > 1 else ""
    return outcome, reason + more
