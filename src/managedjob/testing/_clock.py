"""The fake clock: time that moves only when told to, shared by every thread."""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A clock whose time moves only when told to; it never waits for real.

    It implements the ``managedjob`` clock protocol (``monotonic()`` and
    ``sleep(seconds)``). ``sleep`` moves the time forward by ``seconds`` at
    once and records the request in :attr:`sleeps`, so a test can assert the
    exact back-off sequence of the code under test. It is safe to use from
    several threads.

    Args:
        start: The time :meth:`monotonic` returns before anything moves it.

    Attributes:
        sleeps: Every ``sleep`` request, in order (not :meth:`advance` calls).
    """

    real_time = False  # time moves only when told to: never wait on futures for it

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the current fake time, in seconds."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` at once and record the request.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"sleep length must not be negative, not {seconds!r}")
        with self._lock:
            self._now += seconds
            self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds``, as if time passed elsewhere.

        Unlike :meth:`sleep`, this is not recorded in :attr:`sleeps`.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"cannot move the clock back: advance({seconds!r})")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self.monotonic()!r}, sleeps={len(self.sleeps)})"
