"""Four eyes: a request whose rule says `approvers: N` waits for N different people.

`ido.approvals.tally` counts the approvals; this module says where a request stands in
words, and refuses a second approval by one person (it would count for nothing, and the
person giving it would believe the request done).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ido.approvals import Key, Request, answering, people, person, subject
from ido.errors import IdoError

Partial = Mapping[Key, Sequence[Mapping[str, Any]]]
"""The approvals given so far on requests that need more (`ido.approvals.tally`)."""


def approved_so_far(request: Request, partial: Partial) -> list[str]:
    """Who approved `request` so far, without it being approved yet (in order)."""
    return [str(v["by"]) for v in answering(partial, request.key) or ()]


def so_far_words(request: Request, partial: Partial) -> str:
    """Where a request that needs several people stands: `1 of 2 approvals (alice)`;
    empty for one that needs one."""
    if request.approvers <= 1:
        return ""
    names = approved_so_far(request, partial)
    who = f" ({people(names)})" if names else ""
    return f"{len(names)} of {request.approvers} approvals{who}"


def next_approval(request: Request, partial: Partial) -> int:
    """Which of its approvals the next one given on `request` is, counted from 1."""
    return len(approved_so_far(request, partial)) + 1


def check_new_approver(
    run_id: str, chosen: Sequence[Request], partial: Partial, by: str, cli: bool = True
) -> None:
    """Refuse an approval by someone who already approved one of the `chosen` requests:
    recorded, it would count for nothing (N different people approve), and they would
    believe the request done. Nothing is written for any of them, as for any refusal of
    `ido approve`."""
    for request in chosen:
        if not _approved_by(request, partial, by):
            continue
        others = [r for r in chosen if not _approved_by(r, partial, by)]
        alone = f"; approve the others alone with {_options(cli)}" if others else ""
        raise IdoError(
            f"run {run_id}: {by} already approved {subject(request.step, request.capability)} "
            f"({request.rule}), which needs {request.approvers} different people: "
            f"{so_far_words(request, partial)} so far; nothing recorded: another person "
            f"approves it{alone}"
        )


def _options(cli: bool) -> str:
    """How a verdict names its requests: the command's options, or `ido.approve`'s."""
    return "--rule or --step" if cli else "rules= or step="


def _approved_by(request: Request, partial: Partial, by: str) -> bool:
    """Whether `by` (however spelt: `person`) approved `request` already."""
    return person(by) in {person(name) for name in approved_so_far(request, partial)}


def people_needed(approvers: int) -> str:
    """What a request that needs several people says beside "needs approval": ` by 2
    different people`; empty for one."""
    return f" by {approvers} different people" if approvers > 1 else ""
