"""SIGTERM and SIGINT caught from the command's first line (`followups.__main__`), before
the imports that take seconds on a busy machine: a worker stopped while it starts then
stops cleanly (exit 0) instead of dying of the signal. Every other command gets the
handlers it had back (`release`), and a signal caught meanwhile is delivered again."""

from __future__ import annotations

import os
import signal
import threading

requested = threading.Event()  # a SIGTERM or SIGINT came
_caught: list[int] = []
_previous: dict[int, object] = {}


def _on_signal(signum: int, _frame) -> None:
    _caught.append(signum)
    requested.set()


def catch() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        _previous[sig] = signal.signal(sig, _on_signal)


def release() -> None:
    """The handlers from before `catch` again; a signal caught meanwhile is sent again."""
    for sig, handler in _previous.items():
        signal.signal(sig, handler)
    _previous.clear()
    while _caught:
        os.kill(os.getpid(), _caught.pop(0))
