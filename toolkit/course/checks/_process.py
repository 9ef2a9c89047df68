"""Forking a child that reports JSON lines on a pipe, and reading them back with a deadline.

One copy of this for the check engine (one child per check) and for class grading (one
confined child per learner).
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from collections.abc import Callable
from typing import IO


class Child:
    """A forked child in its own session, writing lines to a pipe we read."""

    def __init__(self, run: Callable[[IO[str]], None], *, before: Callable[[int], None] | None
                 = None) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, then leave without running the parent's atexit hooks
            os.close(read_fd)
            code = 0
            try:
                os.setsid()
                if before is not None:
                    before(write_fd)
                with os.fdopen(write_fd, "w", buffering=1) as out:
                    run(out)
            except BaseException:  # noqa: BLE001 - the parent reports what is missing
                code = 1
            os._exit(code)
        os.close(write_fd)
        self.pid = pid
        self._read_fd = read_fd
        self._exited = False

    def _alive(self) -> bool:
        if not self._exited and os.waitpid(self.pid, os.WNOHANG) != (0, 0):
            self._exited = True
        return not self._exited

    def lines(self, deadline: float) -> tuple[list[str], bool]:
        """Lines until the child closes the pipe or exits, or until the (monotonic) deadline.

        Returns (lines, timed_out). A process the child started may keep the pipe open after
        the child exits: the child's exit ends the reading.
        """
        buffer, lines = b"", list[str]()
        with selectors.DefaultSelector() as sel:
            sel.register(self._read_fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return lines, True
                if sel.select(timeout=min(remaining, 0.5)):
                    chunk = os.read(self._read_fd, 65536)
                    if not chunk:
                        break
                    buffer += chunk
                    *done, buffer = buffer.split(b"\n")
                    lines += [line.decode("utf-8", "replace") for line in done if line.strip()]
                elif not self._alive():
                    break
        return lines, False

    def finish(self) -> None:
        """Kill the child's whole session (whatever it left behind too) and reap it."""
        os.close(self._read_fd)
        if self._exited:  # already reaped: its pid may belong to someone else by now
            return
        for kill in (lambda: os.killpg(self.pid, signal.SIGKILL),
                     lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self._exited = True
