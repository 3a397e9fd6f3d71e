"""A target's "too many requests" (HTTP 429): recognising it, and how long it asks to wait.

A refusal of this kind is never a failure: submissions wait and try again
(``_retry``), and status reads wait and read again (``_wait``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from managedjob.exceptions import TooManyRequestsError

__all__ = ["error_chain", "retry_after", "retry_after_seconds", "too_many_requests"]


def error_chain(error: BaseException) -> list[BaseException]:
    """The error and those it came from (clients often raise ``from None``)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _http_status(error: BaseException) -> object:
    # ``requests``' HTTPError keeps it on its response; other clients on the error.
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    return status


def too_many_requests(error: BaseException) -> bool:
    """Whether ``error`` (or one it came from) is a "too many requests" (HTTP 429)."""
    return any(
        isinstance(item, TooManyRequestsError) or _http_status(item) == 429
        for item in error_chain(error)
    )


def retry_after_seconds(value: object) -> float | None:
    """Read a ``Retry-After``: seconds (a number or its text), or an HTTP date.

    Returns:
        The seconds to wait from now (0 for a moment past), or ``None`` if
        ``value`` is neither.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(0.0, float(value))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def retry_after(error: BaseException) -> float | None:
    """The seconds a "too many requests" error asks to wait, if it names them."""
    for item in error_chain(error):
        seconds = getattr(item, "retry_after", None)
        if seconds is None:
            headers: Any = getattr(getattr(item, "response", None), "headers", None)
            seconds = headers.get("Retry-After") if headers is not None else None
        if seconds is not None:
            return retry_after_seconds(seconds)
    return None
