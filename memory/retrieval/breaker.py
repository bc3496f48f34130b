"""A circuit breaker for the embedding endpoint.

A failing endpoint used to be asked on every search, and each search waited for its
error (or its retries) before falling back to full text. After a failure the breaker
opens: calls are skipped for `pause` seconds, then one call is let through as a trial;
its success closes the breaker, its failure opens it again. Only a call that opens it
reports `True` from `failed()`, so a caller logs once per opening, not once per search.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PAUSE = 60.0


class Breaker:
    """Whether to try the endpoint now (see the module docstring)."""

    def __init__(self, pause: float = PAUSE, clock: Callable[[], float] = time.monotonic) -> None:
        self.pause = pause
        self._clock = clock
        self._open_until: float | None = None  # None: closed
        self._trial = False

    @property
    def is_open(self) -> bool:
        """Whether calls are being skipped (a trial in flight counts as open)."""
        return self._open_until is not None

    def allows(self) -> bool:
        """Whether a call may go out now; after the pause, one caller gets the trial."""
        if self._open_until is None:
            return True
        if self._trial or self._clock() < self._open_until:
            return False
        self._trial = True
        return True

    def skipped(self) -> None:
        """A call allowed by `allows` did not go out after all: the trial is given back."""
        self._trial = False

    def succeeded(self) -> bool:
        """Close the breaker; True when it was open (the endpoint is back)."""
        was_open = self._open_until is not None
        self._open_until = None
        self._trial = False
        return was_open

    def failed(self) -> bool:
        """Open (or reopen) the breaker; True when this call opened it."""
        opened = self._open_until is None or self._trial
        if opened:
            self._open_until = self._clock() + self.pause
        self._trial = False
        return opened
