"""Stopping on SIGTERM before the daemon's own handler is in place: the same clean exit, at any moment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

# The commands that run until asked to stop: for them SIGTERM is the normal end (exit 0). Any other command
# stopped by SIGTERM did not finish, and says so with the shell's 128 + 15.
LONG_RUNNING = ("run", "demo")
# Set by the handler below. The SystemExit it raises can be swallowed where Python ignores exceptions (a signal that
# lands while a finaliser or __del__ runs: "Exception ignored in ..."); the daemon then sees this and stops at once.
_requested = threading.Event()


def stop_requested() -> bool:
    """Whether a SIGTERM arrived before the daemon's own handler was in place."""
    return _requested.is_set()


def command_of(arguments: Sequence[str]) -> str | None:
    """The command named on a `python -m bot [--config FILE] COMMAND ...` line."""
    rest = list(arguments)
    while rest:
        argument = rest.pop(0)
        if argument == "--config":
            rest = rest[1:]  # its value
        elif not argument.startswith("-"):
            return argument
    return None


def stop_while_starting(arguments: Sequence[str]) -> Callable[[int, object], None]:
    """A SIGTERM handler that unwinds the process (every open transaction rolls back) with the right exit code."""
    long_running = command_of(arguments) in LONG_RUNNING

    def handle(signum: int, _frame: object) -> None:
        _requested.set()
        raise SystemExit(0 if long_running else 128 + signum)

    return handle
