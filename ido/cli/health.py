"""`ido health forget`: drop what runs learnt of capabilities once their provider is mended."""

from __future__ import annotations

from typing import Annotated

import typer

from ido.cli.common import DEFAULT_JOURNAL, JournalOpt, _guard, _journal_there
from ido.cli_typer import IdoTyper
from ido.errors import NotFoundError

health_app = IdoTyper(
    help="What runs learnt of capabilities' health (see ido plan INTENT for the beliefs).",
    no_args_is_help=True,
)


@health_app.command("forget")
@_guard
def forget(
    capabilities: Annotated[
        list[str],
        typer.Argument(metavar="CAPABILITY...", help="The capabilities whose health to forget."),
    ],
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Forget what runs learnt of capabilities (their failures, successes and latency):
    decisions plan with what each declares again, as before its first call."""
    import time

    from ido.journal.sqlite import SqliteJournal
    from ido.run_words import format_wait
    from ido.text import did_you_mean, printable, some

    if not _journal_there(journal):
        raise NotFoundError(f"no journal at {journal}; nothing learnt to forget")
    # An outage's thousands of failures fade with a 15-minute half-life, and as many
    # successes before it keep the belief halfway: hours of runs planned around a provider
    # mended long since, which a person who knows it is mended ends here.
    with SqliteJournal(journal) as store:
        gone = store.forget_health(capabilities)
        missing = [name for name in dict.fromkeys(capabilities) if name not in gone]
        learnt = set(store.health()) if missing else set()  # what a typo may have meant
    now = time.time()
    for name, evidence in gone.items():
        seen = evidence.decayed(now)
        typer.echo(
            printable(
                f"forgot {name}: {_weighed(seen.failures, 'failure', 'failures')} and "
                f"{_weighed(seen.successes, 'success', 'successes')}, the last "
                f"{format_wait(max(0.0, now - seen.updated))} ago; planned with what it "
                "declares again"
            )
        )
    if missing:
        guesses = [g for g in (did_you_mean(name, learnt) for name in missing) if g]
        hint = f"; {guesses[0]}" if len(missing) == 1 and guesses else ""
        known = f" (learnt of: {some(sorted(learnt), 5)})" if learnt and not hint else ""
        raise NotFoundError(
            printable(f"nothing learnt of {', '.join(missing)} in {journal}{hint}{known}")
        )


def _weighed(count: float, one: str, many: str) -> str:
    """A faded count of outcomes, never read as a whole number it is not (`ido.text.faded_count`):
    `1,999.96 failures` (rounded to a tenth, it read `2,000 failures`)."""
    from ido.text import faded_count

    shown = faded_count(count)
    return f"{shown} {one if shown == '1' else many}"
