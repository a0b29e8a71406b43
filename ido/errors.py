"""The one error tree of ido; library code raises these, only the CLI catches them.

IdoError
├── LoadError            bad YAML, schema, CEL or references; carries every Problem found
├── PddlError            a PDDL file ido cannot read, naming the file, line and feature
├── NotFoundError        an intent, run or file the user named does not exist
├── PlanningError        the planner could not work on the problem (not: infeasible)
│   └── OutOfBudget      a planner reached its budget; says how to give it more
│       ├── SearchGaveUp the search reached its budget (ido.planner.search)
│       ├── BudgetsSpent CP-SAT's time and the search's states both ran out (ido.planner.cpsat)
│       ├── RoundingUnsettled  the search to settle CP-SAT's rounding ran out (ido.planner.cpsat)
│       └── NumbersTooLarge    the search planning numbers CP-SAT cannot hold ran out (same)
├── ExecutionError       a binding could not be performed (raised inside the runtime only)
│   └── ObserverError    an observer could not be read: which one, and why apart
├── JournalError         the journal database is unusable
│   └── DamagedJournal   its file is damaged: SQLite cannot read it whole
└── WriteError           a file the user asked for cannot be written (`writing`)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class IdoError(Exception):
    """Root of every error ido raises on purpose."""

    exit_code = 2


class LoadError(IdoError):
    """One or more problems in the files a user wrote; all of them, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.field))
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class PddlError(IdoError):
    """A PDDL domain or problem that is malformed or uses a feature ido does not support."""


def located(at: str | None, message: str) -> str:
    """`message` as an error says it, after where it stands (`p.pddl:4: …`) when that is
    known."""
    return f"{at}: {message}" if at else message


class UnsolvableError(PddlError):
    """A PDDL problem that grounding alone shows has no plan: "no plan", as `ido plan`'s
    exit 4 says of any intent. `reason` says why, without the file and line (`where`) the
    message starts with: `problem.pddl:12: no plan: the goal can never hold: …`."""

    exit_code = 4  # `ido.cli.common.INFEASIBLE`, without importing the CLI here

    def __init__(self, reason: str, where: str | None = None) -> None:
        super().__init__(located(where, f"no plan: {reason}"))
        self.reason = reason


class NotFoundError(IdoError):
    """Something the user named (intent, run, file) does not exist."""


class PlanningError(IdoError):
    """The planner could not work on the problem it was given."""


class OutOfBudget(PlanningError):
    """A planner reached its budget without settling the question: `spent` says what it
    spent, `advice` how to give it more. Subclasses word the two (`_said`)."""

    def __init__(self, spent: str, advice: str) -> None:
        super().__init__(self._said(spent, advice))
        self.spent = spent
        self.advice = advice

    def _said(self, spent: str, advice: str) -> str:
        return f"{spent}; {advice}"

    def advised(self, advice: str) -> Self:
        """The same error, with other words on how to give more (where the intent's limits
        are not the user's to edit)."""
        again = copy.copy(self)  # (what a subclass adds, such as a paused search, too)
        again.args = (self._said(self.spent, advice),)
        again.advice = advice
        return again


class ExecutionError(IdoError):
    """A capability binding could not be performed."""

    exit_code = 1


class ObserverError(ExecutionError):
    """An observer could not be read. `observer` names it and `reason` says why without
    the name, for what records it apart (a run's `observer_failed` event); the message says
    both: `observer stock: HTTP 500 …`, `observer stock returned int, not a mapping`."""

    def __init__(self, observer: str, reason: str, sep: str = ": ") -> None:
        super().__init__(f"observer {observer}{sep}{reason}")
        self.observer = observer
        self.reason = reason


class JournalError(IdoError):
    """The journal database cannot be opened or is inconsistent."""


class DamagedJournal(JournalError):
    """The journal's file is damaged (SQLite: `database disk image is malformed`)."""


class WriteError(IdoError):
    """A file or folder the user asked ido to write cannot be written."""


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """What goes wrong writing `path` (or making its folders) as a `WriteError` that names
    it and says why (`cannot write out/plan.txt: Is a directory`), never a traceback."""
    try:
        yield
    except FileExistsError:  # what making a folder says of a file by its name
        raise WriteError(f"cannot make folder {path}: a file has that name") from None
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def unreadable(error: OSError | UnicodeDecodeError) -> str:
    """Why a file a user named cannot be read, in words that do not repeat its name:
    `cannot read file: Is a directory` (the errno's text), or what the decoder says."""
    said = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return f"cannot read file: {said}"


def unreadable_file(file: str, error: OSError | UnicodeDecodeError) -> Problem:
    """A file that cannot be read, as a problem; one that is not UTF-8 at the line and
    column of its first byte that is not (`position 77` alone left it to be counted by
    hand)."""
    if not isinstance(error, UnicodeDecodeError) or not isinstance(error.object, bytes):
        return Problem(file, None, "", unreadable(error))
    before = error.object[: error.start]
    line = before.count(b"\n") + 1
    column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
    byte = error.object[error.start]
    said = f"byte 0x{byte:02x} at column {column} is not UTF-8 ({error.reason}); save it as UTF-8"
    return Problem(file, line, "", f"cannot read file: {said}")
