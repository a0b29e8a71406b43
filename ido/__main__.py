"""The `ido` command (and `python -m ido`, how `ido run --processes` starts its workers).

Worker processes the arguments of `ido run` plainly ask for are started first, before the
command line is parsed (`ido.fanout.prestart`; other commands do not import it), and the
process leaves without the interpreter's teardown when nothing needs it (`ido.exiting`).
What the imports made lives as long as the process, so it is moved out of the garbage
collector's sight (`gc.freeze`, some 18,000 objects: Typer and the commands' modules,
which import what each command needs when it runs; that is not frozen here, and
`ido.exiting.settle` freezes it where that pays): collections during the command then do
not look at it again (planning one IPC problem, zenotravel p05: 67-81 ms without, 45 ms
with)."""

from __future__ import annotations

import gc
import sys


def main() -> None:
    try:
        if sys.argv[1:2] == ["run"]:  # (the only command that may ask for workers)
            from ido.fanout import prestart

            prestart(sys.argv[1:])
        from ido.cli import main as line
        from ido.exiting import command

        gc.freeze()
        command(line)
    except KeyboardInterrupt:  # before the command took over (while importing): no traceback
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
