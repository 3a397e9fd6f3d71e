"""How the service answers: the reply type and IBM Cloud's error shape and codes."""

from __future__ import annotations

from typing import Any

#: An answer: HTTP status, body (JSON-able, text or ``None``), extra headers.
Reply = tuple[int, Any, dict[str, str]]

#: The error code IBM Quantum gives with a 429 (too many requests).
RATE_LIMIT_CODE = "1202"
#: Too many pending jobs on the instance.
PENDING_LIMIT_CODE = 3458
#: The instance's quota is used up.
QUOTA_CODE = 4317
#: A job ran longer than its maximum execution time.
MAX_TIME_CODE = 1305
#: A job is part of a session (or batch) that has been closed.
SESSION_CLOSED_CODE = 4001

MORE_INFO = "https://cloud.ibm.com/apidocs/quantum-computing#error-handling"


def error_body(code: int | str, message: str, status: int) -> dict[str, Any]:
    """Return an error answer shaped as IBM Cloud APIs shape them."""
    return {
        "errors": [{"code": str(code), "message": message, "more_info": MORE_INFO}],
        "trace": "loopback-trace",
        "status_code": status,
    }


def error(code: int | str, message: str, status: int) -> Reply:
    """Return an error reply."""
    return status, error_body(code, message, status), {}
