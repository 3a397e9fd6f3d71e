"""Fault knobs of the loopback service: answers it gives instead of the normal ones.

A rule matches a request by method and route (``"/jobs"``,
``"/jobs/{id}"``, ``"/jobs/{id}/results"``, ... relative to the runtime API
root, or ``"*"`` for every route) and answers the next ``times`` matching
requests in its own way. Rules are taken in the order they were added. A
rate window (:meth:`Faults.limit_rate`) answers 429 to the requests over its
rate, for as long as it is set.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._replies import MAX_TIME_CODE, RATE_LIMIT_CODE, error_body


@dataclass
class Answer:
    """What a rule answers instead of the normal response.

    ``status`` ``None`` closes the connection without any answer.
    """

    status: int | None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Rule:
    method: str
    route: str
    remaining: int
    answer: Answer

    def matches(self, method: str, route: str) -> bool:
        return self.method in ("*", method) and self.route in ("*", route)


@dataclass
class _Window:
    method: str
    route: str
    count: int
    per: float
    header: bool
    accepted: collections.deque[float] = field(default_factory=collections.deque)

    def matches(self, method: str, route: str) -> bool:
        return self.method in ("*", method) and self.route in ("*", route)


class Faults:
    """Thread-safe list of rules; each one answers the next N requests it matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Where rate windows read the time; a test may share its FakeClock's.
        self.now: Callable[[], float] = time.monotonic
        self._rules: list[_Rule] = []
        self._windows: list[_Window] = []
        self._drops: list[list[Any]] = []
        self._failures: list[list[Any]] = []

    # ------------------------------------------------------------- HTTP rules

    def add(self, method: str, route: str, answer: Answer, times: int = 1) -> None:
        """Answer the next ``times`` requests of ``method`` on ``route`` with ``answer``."""
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        with self._lock:
            self._rules.append(_Rule(method.upper(), route, times, answer))

    def rate_limit(
        self, method: str, route: str, times: int = 1, retry_after: int | None = 0
    ) -> None:
        """Answer 429, with ``Retry-After`` unless it is ``None``."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        body = error_body(
            RATE_LIMIT_CODE, "Too many requests. Please wait and try again later.", 429
        )
        self.add(method, route, Answer(429, body, headers), times)

    def server_error(self, method: str, route: str, times: int = 1, status: int = 503) -> None:
        """Answer a 5xx."""
        body = error_body("service_unavailable", "The service is unavailable right now.", status)
        self.add(method, route, Answer(status, body), times)

    def limit_rate(
        self,
        method: str,
        route: str,
        count: int,
        per: float = 60.0,
        *,
        retry_after: bool = True,
    ) -> None:
        """Accept at most ``count`` requests per ``per`` seconds; answer 429 beyond.

        With ``retry_after``, the 429 says in ``Retry-After`` (whole seconds,
        rounded up) when the oldest accepted request leaves the window.
        Refused requests do not count against the window.
        """
        if count < 1 or per <= 0:
            raise ValueError(f"count must be positive and per above 0, not {count}, {per}")
        with self._lock:
            self._windows.append(_Window(method.upper(), route, count, per, retry_after))

    def _over_rate(self, method: str, route: str) -> Answer | None:
        moment = self.now()
        for window in self._windows:
            if not window.matches(method, route):
                continue
            while window.accepted and window.accepted[0] <= moment - window.per:
                window.accepted.popleft()
            if len(window.accepted) >= window.count:
                wait = math.ceil(window.accepted[0] + window.per - moment)
                headers = {"Retry-After": str(max(wait, 0))} if window.header else {}
                body = error_body(
                    RATE_LIMIT_CODE, "Too many requests. Please wait and try again later.", 429
                )
                return Answer(429, body, headers)
        for window in self._windows:
            if window.matches(method, route):
                window.accepted.append(moment)
        return None

    def take(self, method: str, route: str) -> Answer | None:
        """Return the answer of the first rule matching the request, using one of its turns.

        Rate windows are asked first; a request they accept is counted in them
        (even when a one-off rule then answers it).
        """
        with self._lock:
            limited = self._over_rate(method, route)
            if limited is not None:
                return limited
            for rule in self._rules:
                if rule.matches(method, route):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule.answer
        return None

    # ------------------------------------------------------------- job rules

    def drop_response(self, times: int = 1, status: int | None = 502) -> None:
        """Create the next ``times`` jobs, then answer ``status`` (``None``: hang up)."""
        with self._lock:
            self._drops.append([times, status])

    def take_drop(self) -> tuple[bool, int | None]:
        """Return whether the created job's answer is dropped, and how."""
        with self._lock:
            if not self._drops:
                return False, None
            entry = self._drops[0]
            entry[0] -= 1
            if entry[0] == 0:
                self._drops.pop(0)
            return True, entry[1]

    def fail_jobs(
        self,
        times: int = 1,
        *,
        code: int = MAX_TIME_CODE,
        reason: str = "Ran too long",
        status: str = "Cancelled",
        tag: str | None = None,
    ) -> None:
        """End the next ``times`` jobs created (carrying ``tag``, if given) with ``code``."""
        with self._lock:
            self._failures.append([times, tag, code, reason, status])

    def take_failure(self, tags: list[str]) -> tuple[int, str, str] | None:
        """Return ``(code, reason, status)`` if a new job with ``tags`` is to fail."""
        with self._lock:
            for entry in self._failures:
                if entry[1] is None or entry[1] in tags:
                    entry[0] -= 1
                    if entry[0] == 0:
                        self._failures.remove(entry)
                    return entry[2], entry[3], entry[4]
        return None
