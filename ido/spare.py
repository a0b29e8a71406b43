"""A spare worker of `ido run --processes` (see `ido.fanout`): it imports what a worker
needs while the command parses its arguments, then reads its own, one JSON list on a line
of stdin, and runs as `ido ARGUMENTS`; at the end of stdin first, it leaves."""

from __future__ import annotations

import json
import sys


def serve() -> None:
    from ido import cli, journal, loading  # noqa: F401  (what a worker loads first)
    from ido.runtime import local  # noqa: F401

    line = sys.stdin.readline()
    if not line.strip():
        raise SystemExit(0)  # the command ended (its arguments were wrong) before it needed one
    sys.argv = ["ido", *json.loads(line)]
    from ido.exiting import command

    command(cli.main)


if __name__ == "__main__":
    try:
        serve()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
