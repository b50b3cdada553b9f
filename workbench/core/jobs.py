"""What every long job shares: plain progress events and a cancel token.

One pipeline, two front ends: the CLI turns events into a progress bar on stderr, the GUI turns
them into Qt signals. Jobs check the token between units of work (and the model backends between
tokens); nothing is ever killed mid-write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import Cancelled


@dataclass
class Progress:
    """One progress event. `total` is None when unknown; `data` carries job-specific figures."""

    stage: str
    done: int = 0
    total: int | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def no_progress(_event: Progress) -> None:
    """The default callback: ignore events."""


class CancelToken:
    """A thread-safe flag. `cancel()` from any thread; jobs call `check()` between units."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._paused = threading.Event()
        self._paused.set()  # set = running

    def cancel(self) -> None:
        self._event.set()
        self._paused.set()  # a paused job must wake up to see the cancel

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking at once on a cancel; True when cancelled."""
        return self._event.wait(max(0.0, seconds))

    def pause(self) -> None:
        self._paused.clear()

    def resume(self) -> None:
        self._paused.set()

    @property
    def paused(self) -> bool:
        return not self._paused.is_set()

    def check(self) -> None:
        """Block while paused; raise `Cancelled` once cancelled."""
        self._paused.wait()
        if self._event.is_set():
            raise Cancelled()
