"""One periodic background step: a daemon thread that runs a task now and then every few seconds
until stopped. The web app's figures refresh, certificate renewal and report settling each run in
one. A failed run is logged and tried again at the next interval; it never ends the loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Self

log = logging.getLogger(__name__)


class Periodic:
    """Run `task()` at once and then every `every` seconds until `stop()`."""

    def __init__(self, task: Callable[[], Any], every: float, *, name: str) -> None:
        self._task, self._every = task, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        #: What the last completed run returned, how many runs there were and how many failed.
        self.last: Any = None
        self.runs = 0
        self.failures = 0

    def start(self) -> Self:
        """Start the thread (the first run begins at once)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for a run in progress to finish (up to `timeout`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread.is_alive()

    @property
    def name(self) -> str:
        """The thread's name (what its log lines say)."""
        return self._thread.name

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = self._task()
            except Exception:  # a bad run must not end the loop; it is retried next time
                self.failures += 1
                log.exception("%s failed; retrying in %.0f s", self._thread.name, self._every)
            self.runs += 1
            self._stop.wait(self._every)
