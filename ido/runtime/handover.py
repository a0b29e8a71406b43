"""Handing a run over between decisions: its carrier asks (a Temporal workflow about to
continue as new), and the run stops at the top of its loop, every event committed and
nothing written of its own; `LocalRuntime.carry_on` takes it up from there."""

from __future__ import annotations


class HandedOver(BaseException):
    """The run stopped before its next decision because its carrier asked: no step in
    flight, all it did journaled. `trigger` is what that decision is to be made on.

    Not an `Exception`, so that the runtime's handlers of errors (which fail the run, or
    record that this process gave it up) let it through, as they let Ctrl-C through."""

    def __init__(self, trigger: str) -> None:
        super().__init__(f"handed over before its next decision ({trigger})")
        self.trigger = trigger
