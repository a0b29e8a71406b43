"""Runs shared out over worker processes: `ido run A B … --processes N`.

A Python process runs Python on one core at a time (the GIL), so runs side by side in one
process are bound by one core. Each worker is an `ido run` in a process of its own, on the
same journal file: SQLite's write lock (waited for, see `SqliteJournal._begin`) serialises
their commits, and each worker's runs share their commits among themselves. The workers'
lines are passed on whole, as they come.

The intents are dealt out as the workers ask (`ido.dealing`), not split up front: a
worker that has run out of intents to start says so (`MORE`) and is dealt its next few, so
a worker whose runs are quicker takes more of them, and the workers end together.

Spares: a worker spends about 0.3 s importing ido and pydantic before it can load a
catalog, and the command spends about 0.25 s starting and parsing its arguments (typer
imports pydantic too) before it knows what each worker is to do. So when the arguments
plainly ask for workers, the entry point (`ido.__main__`) starts them before anything
else, from a glance at the arguments (`asked`); each imports what a worker needs
(`ido.spare`) and waits for its own arguments on stdin, which the command hands it once
it has parsed its own (`claim`). A glance that guessed wrong costs only time: spares not
needed are stopped (`dismiss`), a worker without a spare is started the usual way.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ido.dealing import DEFAULT_CONCURRENCY, MORE, Dealer, Replies
from ido.runtime import stopping

Echo = Callable[[str, bool], None]  # a line, and whether it goes to stderr


def worker_command(arguments: Sequence[str]) -> list[str]:
    """The argv of one worker: this interpreter running `ido` with `arguments`."""
    return [sys.executable, "-m", "ido", *arguments]


VALUE_OPTIONS = frozenset(
    {"--catalog", "-c", "--journal", "--planner", "--concurrency", "--processes", "--format", "-f"}
    | {"--temporal", "--task-queue", "--namespace", "--heartbeat-timeout"}
    | {"--tls-ca", "--tls-cert", "--tls-key", "--tls-server-name", "--api-key-env"}
)
"""The options of `ido run` that take a value (for `asked`; a test holds it to the command)."""

_spares: list[subprocess.Popen[str]] = []


def asked(argv: Sequence[str]) -> int:
    """How many workers `ido ARGV` asks for, at a glance, before it is parsed: 0 unless it
    is `run` with `--processes N` (N ≥ 2); else N, at most --concurrency and the number
    of intents (as `workers` has it)."""
    if not argv or argv[0] != "run":
        return 0
    words = list(argv[1:])
    ended = words.index("--") if "--" in words else len(words)
    intents = len(words) - min(ended + 1, len(words))
    given: dict[str, str] = {}
    options = iter(words[:ended])
    for word in options:
        name, equals, value = word.partition("=")
        if name in ("--worker", "--help"):
            return 0
        if name in VALUE_OPTIONS:
            given[name] = value if equals else next(options, "")
        elif not word.startswith("-"):
            intents += 1
    processes = _count(given.get("--processes", "1"))
    concurrency = _count(given.get("--concurrency", str(DEFAULT_CONCURRENCY)))
    if processes < 2 or intents < 2 or concurrency < 1:
        return 0
    return workers(processes, concurrency, intents)


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0  # the parse will say what is wrong


def prestart(argv: Sequence[str]) -> None:
    """Start the spares `ido ARGV` asks for (see the module's docstring)."""
    for _ in range(asked(argv)):
        _spares.append(_start([sys.executable, "-m", "ido.spare"]))


def claim(command: Sequence[str]) -> subprocess.Popen[str] | None:
    """A spare told to be the worker `command` (from `worker_command`), or None."""
    prefix = worker_command([])
    if not _spares or list(command[: len(prefix)]) != prefix:
        return None
    spare = _spares.pop(0)
    try:
        assert spare.stdin is not None
        spare.stdin.write(json.dumps(list(command[len(prefix) :])) + "\n")
        spare.stdin.flush()
    except (OSError, ValueError):
        pass  # it ended already: its lines and exit code say why, as a worker's would
    return spare


def dismiss() -> None:
    """Stop the spares not claimed (they have started nothing, only imported)."""
    while _spares:
        spare = _spares.pop()
        spare.kill()
        spare.communicate()  # reaped, its pipes closed


def _start(command: Sequence[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="backslashreplace",
        bufsize=1,
        start_new_session=True,
    )


def workers(processes: int, concurrency: int, intents: int) -> int:
    """How many workers `ido run` starts: --processes, at most --concurrency (a worker runs
    one at least) and the number of intents."""
    return max(1, min(processes, concurrency, intents))


def concurrencies(total: int, workers: int) -> list[int]:
    """`total` runs at once split over `workers`, as evenly as may be (workers ≤ total)."""
    return [total // workers + (i < total % workers) for i in range(workers)]


FORWARDED = stopping.STOPPING_SIGNALS
"""Signals passed on to the workers (they run in sessions of their own, so that a terminal's
Ctrl-C reaches them once, through this process)."""


READY = "--- ido worker: loaded, waiting for go ---"
"""What a worker prints once it has loaded everything and waits for "go" on its stdin (a
line no run prints)."""


class _Worker:
    """One worker process, its relays and the lines held back until it is let go."""

    def __init__(
        self,
        command: Sequence[str],
        echo: Echo,
        lock: threading.Lock,
        ask: Callable[[], None],
        gone: Callable[[], None],
        news: queue.SimpleQueue[_Worker],
    ) -> None:
        self.process = claim(command) or _start(command)
        self.echo = echo
        self.lock = lock
        self.ask = ask  # it asked for more: deal (now, or once there is something to deal)
        self.gone = gone  # its output ended: it is leaving
        self.news = news  # where it puts itself once settled: ready, or its stdout ended first
        self.writing = threading.Lock()  # its stdin: "go" and deals, and closing it
        self.ready = False
        self.settled = False
        self.let_go = False
        self.held: list[tuple[str, bool]] | None = []  # None: released, lines pass through
        self.dropped = False
        self.relays = [
            threading.Thread(target=self._relay, args=(stream, err), daemon=True)
            for stream, err in ((self.process.stdout, False), (self.process.stderr, True))
        ]
        for relay in self.relays:
            relay.start()

    def _relay(self, stream: IO[str] | None, err: bool) -> None:
        """Pass lines on (or hold them back until released); if passing them on fails
        (`| head` closed the pipe), keep draining, so the worker never writes into a
        closed pipe."""
        if stream is None:
            return
        passing = True
        try:
            with stream:
                for text in stream:
                    line = text.rstrip("\n")
                    if not err and not self.ready and line.endswith(READY):
                        # Text written without a newline before it (a noisy import, say)
                        # is a line of its own.
                        line = line[: -len(READY)]
                        self.ready = True
                        self._settle()
                        if not line:
                            continue
                    elif not err and self.ready and line.endswith(MORE):
                        self.ask()  # text before it without a newline is a line of its own
                        line = line[: -len(MORE)]
                        if not line:
                            continue
                    with self.lock:
                        if self.held is not None:
                            self.held.append((line, err))
                        elif passing and not self.dropped:
                            passing = _echo(self.echo, line, err)
        finally:
            if not err:
                self._settle()
                self.gone()  # it is leaving: deal it nothing more

    def _settle(self) -> None:
        if not self.settled:  # (only its stdout relay calls this)
            self.settled = True
            self.news.put(self)

    def go(self) -> None:
        """Pass its lines on from now on, and let it go (its first deal follows)."""
        self.let_go = True
        self.release()
        self.tell("go")

    def release(self) -> None:
        """Pass on what was held back, and every line from now on."""
        with self.lock:
            held, self.held = self.held or [], None
            for line, err in held:
                if not _echo(self.echo, line, err):
                    self.dropped = True
                    break

    def drop(self) -> None:
        """Forget what was held back, and every line from now on."""
        with self.lock:
            self.held, self.dropped = None, True

    def tell(self, line: str) -> None:
        """Write `line` to the worker's stdin; an empty line closes it (the worker leaves
        once its runs end, or at once if it was never let go)."""
        with self.writing:
            stdin = self.process.stdin
            if stdin is None or stdin.closed:
                return
            try:
                if line:
                    stdin.write(line + "\n")
                    stdin.flush()
                else:
                    stdin.close()
            except (BrokenPipeError, OSError, ValueError):  # it ended already
                pass


def _echo(echo: Echo, line: str, err: bool) -> bool:
    try:
        echo(line, err)
    except (OSError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Ended:
    """How a worker ended: its return code (negative: killed by that signal), and whether
    it was let go (only then can it have started runs)."""

    code: int
    let_go: bool


def run_workers(
    commands: Sequence[Sequence[str]], echo: Echo, check: Callable[[], None], dealer: Dealer
) -> list[Ended]:
    """Start every command, run `check` meanwhile, let each worker go as soon as it is ready
    (see `wait_for_go`) with its first deal, deal them more as they ask (`dealer`; the
    N-th command is its worker N - 1), pass their lines to `echo` (one at a time) and wait
    for all.

    The workers load the catalog while `check` runs here. If `check` raises, the workers
    are killed (nothing of theirs is shown; none can have started a run) and the exception
    goes on. Every worker loads the same catalog and intents, so the first to be ready
    proves them: it is let go at once, and so is each after it. If the first worker to
    settle ended before it was ready instead (the catalog or an intent is wrong), its lines
    alone are shown (every worker would say the same) and the others are stood down: none
    is let go, and none has started a run. A worker that ends before it is ready after
    another was let go (killed, say) has its lines shown; the others run the intents.

    SIGINT, SIGTERM and SIGHUP are passed on to the workers still running, and the workers
    are waited for; then KeyboardInterrupt goes on after a SIGINT. A worker stops its runs
    on each of them as `ido run` alone does (each recorded as interrupted, for `ido
    resume`; SIGTERM and SIGHUP as `stopping.Terminated`)."""
    lock = threading.Lock()
    workers: list[_Worker] = []
    news: queue.SimpleQueue[_Worker] = queue.SimpleQueue()

    def forward(signum: int, frame: object) -> None:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signum)

    def send(replies: Replies) -> None:
        for number, line in replies:
            workers[number].tell(line)

    def ask(number: int) -> None:  # from its relay: a worker has no intent left to start
        send(dealer.ask(number))

    def gone(number: int) -> None:  # from its relay: a worker is leaving
        send(dealer.drop(number))

    previous = _install(forward)
    try:
        for number, command in enumerate(commands):
            asks, leaves = functools.partial(ask, number), functools.partial(gone, number)
            workers.append(_Worker(command, echo, lock, asks, leaves, news))
        dismiss()  # the spares the glance at the arguments started in excess
        try:
            check()
        except Exception:
            for worker in workers:  # none can have started a run: it waits to be let go
                worker.drop()
                worker.process.kill()
                worker.process.wait()
            raise
        waiting = list(workers)
        while waiting:
            worker = _next_settled(news)
            waiting.remove(worker)
            number = workers.index(worker)
            if worker.ready:
                worker.go()
                send(dealer.start(number))
            elif any(w.let_go for w in workers):
                worker.release()  # for a reason of its own: the others run the intents
            else:  # the first to settle, and it failed: every worker would say the same
                _stand_down(waiting)
                worker.release()
                break
        return [Ended(_wait(worker.process), worker.let_go) for worker in workers]
    except KeyboardInterrupt:
        for worker in workers:  # no more deals, to any of them, before they are stopped
            if worker.held is not None:  # not let go yet: it started no run, nothing to say
                worker.drop()
            worker.tell("")
        forward(signal.SIGINT, None)
        for worker in workers:
            _wait_through_interrupts(worker.process)
        raise
    finally:
        _restore(previous)
        for worker in workers:
            worker.tell("")
            for relay in worker.relays:
                relay.join()


def _stand_down(workers: Sequence[_Worker]) -> None:
    """Send workers that were not let go away: their lines are dropped, their stdin closed
    (they leave without starting a run)."""
    for worker in workers:
        worker.drop()
        worker.tell("")


def _next_settled(news: queue.SimpleQueue[_Worker]) -> _Worker:
    """The next worker to be ready or to end, waited for in short waits (so Ctrl-C comes
    through)."""
    while True:
        try:
            return news.get(timeout=stopping.POLL_SECONDS)
        except queue.Empty:
            continue


def wait_for_go(meanwhile: Callable[[], None] = lambda: None) -> IO[str] | None:
    """In a worker: say it is ready, do `meanwhile` (while the command checks, or sees to
    the others), and wait to be let go: the channel its deals come on (`ido.dealing.Dealt`), or None
    when stood down.

    The channel is stdin moved to a descriptor of its own, which processes the runs start
    do not inherit; from here on, descriptor 0 and `sys.stdin` read nothing (/dev/null): a
    program a binding runs that reads its stdin must not take the deals. Nothing of stdin
    is buffered when it moves: the command writes to it only once it has seen READY."""
    channel = os.fdopen(os.dup(0), "r", encoding="utf-8")  # os.dup: not inherited
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout.write(READY + "\n")
    sys.stdout.flush()
    meanwhile()
    if channel.readline().strip() != "go":
        return None
    return channel


def _install(handler: Any) -> dict[signal.Signals, Any]:
    """Install `handler` for the signals passed on other than SIGINT (which comes as
    KeyboardInterrupt); the handlers it replaced. Only the main thread may."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in FORWARDED[1:]}


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for signum, old in previous.items():
        if old is not None:  # None: not installed from Python, nothing to put back
            signal.signal(signum, old)


def _wait(worker: subprocess.Popen[str]) -> int:
    """Wait for `worker` to end, looking every few milliseconds; Ctrl-C meanwhile goes on up
    at once.

    Not `worker.wait()`: on Ctrl-C it first waits for the process to end (a quarter of a
    second, or what is left of its timeout), as a child on the same terminal ends on the
    same Ctrl-C. A worker, in a session of its own, gets Ctrl-C only once this process
    passes it on, after that wait: meanwhile its runs went on starting steps."""
    delay = 0.001
    while (code := worker.poll()) is None:
        time.sleep(delay)
        delay = min(2 * delay, 0.05)
    return code


def _wait_through_interrupts(worker: subprocess.Popen[str]) -> None:
    """Wait for `worker`; another Ctrl-C meanwhile is passed on, not a reason to leave."""
    while True:
        try:
            _wait(worker)
            return
        except KeyboardInterrupt:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)


def exit_code(returncode: int) -> int:
    """A worker's return code as a shell shows it: 128 + N when killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def death(returncode: int) -> str | None:
    """Why a worker ended without an exit code of its own, or None."""
    if returncode >= 0:
        return None
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"
