"""What `ido runner` checks as it starts: the journal it watches, made when a service
starts it before any run has."""

from __future__ import annotations

from pathlib import Path

from ido.errors import NotFoundError


def check_watched(journal: Path) -> bool:
    """Whether the journal is to be made: a runner started by a service manager before
    any run (an empty volume, a fresh `StateDirectory=`) watches a new journal in the
    folder it was given, where it stopped with exit 2 (and a restart loop) before. A folder
    that is not there is a wrong path: refused, as before, making nothing."""
    if journal.exists():
        return False
    if not journal.parent.is_dir():
        raise NotFoundError(
            f"no journal at {journal}, and no folder {journal.parent} to make it in; "
            "nothing to watch (--journal PATH?)"
        )
    return True
