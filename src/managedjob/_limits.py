"""Limits on how fast and how many at once: adaptive concurrency and a rate.

:class:`AdaptiveLimit` is a semaphore whose size follows what the target
shows, the additive-increase / multiplicative-decrease rule of TCP's
congestion control (and of Netflix's concurrency-limits): it grows while
calls come back as fast as the fastest seen, and shrinks at once when the
target pushes back (a 429 or a job limit), fails, or slows down. It never
goes above its ``maximum``, which is where a target's documented limits go.

:class:`RateLimit` spaces calls out to at most ``rate`` per ``per`` seconds
(a token bucket with room for ``burst`` calls at once), on an injected
clock, and can be told to hold every caller back until a moment the target
named (``Retry-After``).

Both are safe to use from many threads. Their ``acquire``/``release`` pair
is that of a lock, so either can stand where the legacy ``submit_lock`` did.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any, Literal

from managedjob._checks import check_positive_int
from managedjob._wait import SYSTEM_CLOCK, Clock
from managedjob.exceptions import InvalidInputError

__all__ = [
    "ADAPTIVE_INITIAL",
    "ADAPTIVE_MAXIMUM",
    "AdaptiveLimit",
    "Outcome",
    "RateLimit",
    "adaptive_limit",
]

#: How many calls an adaptive limit lets through at once to begin with.
ADAPTIVE_INITIAL = 16
#: The most it ever lets through at once, where the target documents no limit.
ADAPTIVE_MAXIMUM = 64

Outcome = Literal["ok", "throttled", "error"]
"""How a call ended: done, refused for now by the target (429, job limit), or failed."""


def _check_fraction(label: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InvalidInputError(f"{label} must be a number between 0 and 1, not {value!r}")
    return float(value)


def _check_positive(label: str, value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidInputError(f"{label} must be a positive number, not {value!r}")
    return float(value)


class AdaptiveLimit:
    """A concurrency limit that grows while the target keeps up and shrinks when it does not.

    Each call holds one place (:meth:`acquire` ... :meth:`release`) and
    reports how it went with :meth:`record`. Below ``threshold`` the limit
    grows by one with every good call (a slow start that doubles it per
    round); above it, by ``1 / limit`` (one per round). A call that took
    more than ``tolerance`` times the fastest seen counts as a sign of a
    queue building up and trims the limit by ``slowdown``; a throttled or
    failed call multiplies it by ``decrease``. Either ends the slow start:
    ``threshold`` is set to the new limit.

    Args:
        initial: The limit to start from.
        minimum: The limit never goes below this.
        maximum: Nor above this (a target's documented limit).
        decrease: Factor applied when the target pushes back or fails.
        slowdown: Factor applied when a call was slow.
        tolerance: How many times the fastest call a call may take and
            still count as fast.

    Raises:
        InvalidInputError: If a value is out of range, or ``initial`` is not
            between ``minimum`` and ``maximum``.
    """

    def __init__(
        self,
        initial: int = 4,
        *,
        minimum: int = 1,
        maximum: int = 64,
        decrease: float = 0.5,
        slowdown: float = 0.9,
        tolerance: float = 2.0,
    ) -> None:
        check_positive_int("initial", initial)
        check_positive_int("minimum", minimum)
        check_positive_int("maximum", maximum)
        if not minimum <= initial <= maximum:
            raise InvalidInputError(
                f"initial must be between minimum and maximum: {minimum} <= {initial} <= {maximum}"
            )
        self._decrease = _check_fraction("decrease", decrease)
        self._slowdown = _check_fraction("slowdown", slowdown)
        self._tolerance = _check_positive("tolerance", tolerance)
        if self._tolerance < 1:
            raise InvalidInputError(f"tolerance must be at least 1, not {tolerance!r}")
        self._settings: dict[str, Any] = {
            "initial": initial,
            "minimum": minimum,
            "maximum": maximum,
            "decrease": decrease,
            "slowdown": slowdown,
            "tolerance": tolerance,
        }
        self._minimum = minimum
        self._maximum = maximum
        self._limit = float(initial)
        self._threshold = float(maximum)
        self._fastest: float | None = None
        self._in_flight = 0
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        """How many calls may run at once now."""
        with self._changed:
            return self._places()

    @property
    def maximum(self) -> int:
        """The most calls it ever lets through at once."""
        return self._maximum

    @property
    def in_flight(self) -> int:
        """How many calls hold a place now."""
        with self._changed:
            return self._in_flight

    def _places(self) -> int:
        return max(self._minimum, min(self._maximum, math.floor(self._limit)))

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a place, waiting for one if ``blocking``.

        Args:
            blocking: Wait for a place; else return at once.
            timeout: Seconds to wait at most (real time); ``None`` waits on.

        Returns:
            Whether a place was taken.
        """
        with self._changed:
            if not blocking:
                timeout = 0.0
            taken = self._changed.wait_for(
                lambda: self._in_flight < self._places(),
                None if timeout is None or timeout < 0 else timeout,
            )
            if taken:
                self._in_flight += 1
            return taken

    def release(self) -> None:
        """Give a place back.

        Raises:
            ValueError: If no place is held.
        """
        with self._changed:
            if self._in_flight <= 0:
                raise ValueError("release() without acquire()")
            self._in_flight -= 1
            self._changed.notify()

    def record(self, latency: float, outcome: Outcome = "ok") -> None:
        """Adjust the limit to how one call went.

        Args:
            latency: Seconds the call took.
            outcome: ``"ok"``, ``"throttled"`` or ``"error"``.

        Raises:
            InvalidInputError: If ``outcome`` is none of those.
        """
        if outcome not in ("ok", "throttled", "error"):
            raise InvalidInputError(
                f"outcome must be 'ok', 'throttled' or 'error', not {outcome!r}"
            )
        with self._changed:
            before = self._places()
            if outcome != "ok":
                self._limit = max(float(self._minimum), self._limit * self._decrease)
                self._threshold = self._limit
            else:
                latency = max(0.0, latency)
                if self._fastest is None or latency < self._fastest:
                    self._fastest = latency
                if latency > self._tolerance * self._fastest and latency > 0:
                    self._limit = max(float(self._minimum), self._limit * self._slowdown)
                    self._threshold = self._limit
                elif self._limit < self._threshold:
                    self._limit = min(float(self._maximum), self._limit + 1)
                else:
                    self._limit = min(float(self._maximum), self._limit + 1 / self._limit)
            if self._places() > before:
                self._changed.notify(self._places() - before)

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        # A copy in another process (process executors, Dask) is a new limit
        # of that process, with the same settings: places cannot be shared.
        return (functools.partial(AdaptiveLimit, **self._settings), ())

    def __repr__(self) -> str:
        return f"AdaptiveLimit(limit={self.limit}, in_flight={self.in_flight})"


def adaptive_limit(declared: int | None) -> AdaptiveLimit:
    """The adaptive limit of a set's submissions or fetches on one target.

    Args:
        declared: The most requests the target documents taking at once
            (``TargetLimits.max_concurrent_requests``), or ``None``.

    Returns:
        A limit starting at :data:`ADAPTIVE_INITIAL` that never goes above
        :data:`ADAPTIVE_MAXIMUM` nor ``declared``.
    """
    maximum = ADAPTIVE_MAXIMUM if declared is None else max(1, min(ADAPTIVE_MAXIMUM, declared))
    return AdaptiveLimit(min(ADAPTIVE_INITIAL, maximum), maximum=maximum)


class RateLimit:
    """At most ``rate`` calls per ``per`` seconds, with room for ``burst`` at once.

    :meth:`acquire` gives each caller the next free moment and sleeps (on
    the injected clock) until then, so callers are spaced evenly and served
    in the order they asked. :meth:`hold_until` keeps every caller back until
    a given moment, for a target's ``Retry-After``.

    Args:
        rate: Calls allowed per ``per`` seconds.
        per: The window, in seconds.
        burst: Calls that may go at once after a quiet time.
        clock: Where time comes from.

    Raises:
        InvalidInputError: If a value is not positive.
    """

    def __init__(
        self, rate: float, per: float = 1.0, *, burst: int = 1, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        rate = _check_positive("rate", rate)
        per = _check_positive("per", per)
        check_positive_int("burst", burst)
        self._interval = per / rate
        self._burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._next: float | None = None

    @property
    def interval(self) -> float:
        """Seconds between two calls at the full rate."""
        return self._interval

    def _reserve(self) -> float:
        # The generic cell rate algorithm: ``_next`` is the moment the bucket
        # would be empty again; a call may go ``slack`` before it.
        now = self._clock.monotonic()
        slack = (self._burst - 1) * self._interval
        with self._lock:
            due = now if self._next is None else max(self._next, now)
            self._next = due + self._interval
        return max(0.0, due - slack - now)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Wait for the caller's turn and take it.

        Args:
            blocking: Ignored beyond the lock protocol: a turn always comes.
            timeout: Ignored, for the same reason.

        Returns:
            ``True``.
        """
        delay = self._reserve()
        if delay > 0:
            self._clock.sleep(delay)
        return True

    def release(self) -> None:
        """Nothing to give back: a turn is used once taken."""

    def hold_until(self, moment: float) -> None:
        """Let no call go before ``moment`` (on this limit's clock)."""
        slack = (self._burst - 1) * self._interval
        with self._lock:
            if self._next is None or self._next < moment + slack:
                self._next = moment + slack

    def hold_for(self, seconds: float) -> None:
        """Let no call go for ``seconds`` from now (a ``Retry-After``)."""
        self.hold_until(self._clock.monotonic() + max(0.0, seconds))

    def __repr__(self) -> str:
        return f"RateLimit(interval={self._interval:.3g} s, burst={self._burst})"
