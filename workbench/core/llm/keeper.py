"""Keep the last loaded model for the next job that asks for the same one.

Loading a GGUF file takes from a fraction of a second (the 135M default) to many seconds (a 7B
model from a laptop disk), and the backend's prefix-state cache is lost with it. A desktop
session runs a test prompt, a run, a resume, another run: each would reload. The keeper holds
one backend, lent to one job at a time (llama.cpp contexts must not be used by two threads at
once); a job asking for other settings closes it and loads its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from ..errors import WorkbenchError
from ..jobs import CancelToken
from .base import Backend


class BackendKeeper:
    def __init__(self, opener: Callable[..., Backend] | None = None) -> None:
        self._opener = opener
        self._lock = threading.Lock()
        self._key: str | None = None
        self._backend: Backend | None = None
        self._lent = False
        self.loads = 0  # how many times a model was actually loaded (shown in tests and logs)

    def _open(self, kwargs: dict[str, Any], cancel: CancelToken | None) -> Backend:
        if cancel is not None:
            kwargs = {**kwargs, "cancel": cancel}
        if self._opener is not None:
            return self._opener(**kwargs)
        from .factory import open_backend

        return open_backend(**kwargs)

    def borrow(self, *, cancel: CancelToken | None = None, **kwargs: Any) -> Lease:
        """The kept backend when `kwargs` match the last load, else a freshly opened one (the old
        one is closed first, so two models never share the memory). Give it back with
        `Lease.close()`. `cancel` (the borrowing job's token; not part of what is matched) ends
        the opening where it can wait, a server's model-list probe: raises Cancelled, and
        nothing is kept."""
        key = json.dumps(kwargs, sort_keys=True, default=str)
        with self._lock:
            if self._lent:
                raise WorkbenchError(
                    "The model is in use by another job; wait for it or cancel it."
                )
            self._lent = True
            old = None
            if self._backend is not None and self._key != key:
                old, self._backend, self._key = self._backend, None, None
        try:
            if old is not None:
                old.close()
            if self._backend is None:
                self._backend = self._open(kwargs, cancel)
                self._key = key
                self.loads += 1
        except BaseException:
            with self._lock:
                self._lent = False
            raise
        return Lease(self, self._backend)

    def _give_back(self, backend: Backend, broken: bool) -> None:
        with self._lock:
            self._lent = False
            drop = broken or self._backend is not backend  # closed (or replaced) while lent
            if drop and self._backend is backend:
                self._backend, self._key = None, None
        if drop:
            backend.close()

    def close(self) -> None:
        """Free the kept model (a changed model choice, a switched workspace, quitting). A model
        lent out right now is freed when its lease comes back."""
        with self._lock:
            backend, self._backend, self._key = self._backend, None, None
            if self._lent:
                return
        if backend is not None:
            backend.close()

    @property
    def loaded(self) -> bool:
        return self._backend is not None


class Lease:
    """One job's use of the kept backend; `close()` gives it back (JobContext.own calls it)."""

    def __init__(self, keeper: BackendKeeper, backend: Backend) -> None:
        self.keeper = keeper
        self.backend = backend
        self.broken = False

    def close(self) -> None:
        self.keeper._give_back(self.backend, self.broken)
