"""A client-side limit on how many runtime jobs are created per minute.

IBM Quantum documents a rate limit on job creation (``POST /v1/jobs``: 5 per
minute per user) and answers ``429`` beyond it. Waiting on this side first
keeps a large set from spending its requests on refusals: at most
``per_minute`` creations start in any 60-second window. The limit is shared
by every adapter of the same service in the process (the service's limit is
per user, not per job set).
"""

from __future__ import annotations

import collections
import threading
import weakref
from typing import Any

from managedjob._checks import check_positive_int
from managedjob._wait import SYSTEM_CLOCK, Clock

__all__ = ["DEFAULT_JOBS_PER_MINUTE", "CreationRate", "creation_rate_for"]

#: Job creations per minute the runtime target allows by default (IBM documents 5).
DEFAULT_JOBS_PER_MINUTE = 5

_WINDOW_SECONDS = 60.0


class CreationRate:
    """At most ``per_minute`` job creations in any 60-second window.

    Args:
        per_minute: Creations allowed per window.
        clock: Where time comes from (and how to wait).
    """

    def __init__(self, per_minute: int, clock: Clock = SYSTEM_CLOCK) -> None:
        check_positive_int("max_jobs_per_minute", per_minute)
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._started: collections.deque[float] = collections.deque()

    def acquire(self) -> float:
        """Wait until a creation may start, and count it; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock.monotonic()
                while self._started and self._started[0] <= now - _WINDOW_SECONDS:
                    self._started.popleft()
                if len(self._started) < self.per_minute:
                    self._started.append(now)
                    return waited
                delay = self._started[0] + _WINDOW_SECONDS - now
            self._clock.sleep(delay)
            waited += delay


_SHARED: weakref.WeakKeyDictionary[Any, CreationRate] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def creation_rate_for(service: Any, per_minute: int, clock: Clock = SYSTEM_CLOCK) -> CreationRate:
    """Return the creation limit shared by the adapters of ``service`` (one of its own if none).

    A service that cannot be weakly referenced (or ``None``, in local mode)
    gets a limit of its own.
    """
    if service is None:
        return CreationRate(per_minute, clock)
    with _SHARED_LOCK:
        try:
            found = _SHARED.get(service)
        except TypeError:  # not weakly referenceable
            return CreationRate(per_minute, clock)
        if found is None or found.per_minute != per_minute or found._clock is not clock:
            found = CreationRate(per_minute, clock)
            _SHARED[service] = found
        return found
