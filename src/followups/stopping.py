"""SIGTERM and SIGINT caught from the command's first line (`followups.__main__`), before
the imports that take seconds on a busy machine. Until the command has started, a stop ends
the process at once: the worker (nothing of it has started) with exit 0 rather than dying of
the signal, any other command as the signal would have. Then the worker's stop only sets
`requested` (`started`), and every other command gets its handlers back (`release`)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

requested = threading.Event()  # a SIGTERM or SIGINT came (the worker's stop)
_previous: dict[int, object] = {}
_worker = False
_starting = False
_entered = False  # through followups.__main__ (not a test calling the command in-process)


def catch(*, worker: bool) -> None:
    global _worker, _starting, _entered
    _worker, _starting, _entered = worker, True, True
    for sig in (signal.SIGTERM, signal.SIGINT):
        _previous[sig] = signal.signal(sig, _on_signal)


def _on_signal(signum: int, _frame) -> None:
    requested.set()
    if not _starting:
        return
    if _worker:
        raise SystemExit(0)  # stopped before it began: a clean exit
    release()
    os.kill(os.getpid(), signum)  # as if never caught


def started() -> None:
    """The worker has begun: a stop now lets it finish what it holds (it watches `requested`)."""
    global _starting
    _starting = False


def release() -> None:
    """The handlers from before `catch` again."""
    global _starting
    _starting = False
    for sig, handler in _previous.items():
        signal.signal(sig, handler)
    _previous.clear()


def leave() -> None:
    """End the process now, everything released: the interpreter's own teardown of its
    modules takes seconds on a busy machine, past a stop's deadline. Nothing when the
    command was not started as a process of its own."""
    if not _entered:
        return
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
