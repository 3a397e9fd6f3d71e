"""Fault knobs of the loopback service: answers it gives instead of the normal ones.

A rule matches a request by method and route (``"/jobs"``,
``"/jobs/{id}"``, ``"/jobs/{id}/results"``, ... relative to the runtime API
root, or ``"*"`` for every route) and answers the next ``times`` matching
requests in its own way. Rules are taken in the order they were added.
"""

from __future__ import annotations

import threading
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


class Faults:
    """Thread-safe list of rules; each one answers the next N requests it matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
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

    def take(self, method: str, route: str) -> Answer | None:
        """Return the answer of the first rule matching the request, using one of its turns."""
        with self._lock:
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
