"""Checks of arguments shared by the job manager, its job sets and jobs."""

from __future__ import annotations

import warnings

from managedjob.exceptions import InvalidInputError

__all__ = ["check_positive_int", "check_timeout", "warn_job_share_level"]


def check_timeout(timeout: float | None) -> None:
    """Reject a negative timeout.

    Raises:
        InvalidInputError: Naming the value.
    """
    if timeout is not None and timeout < 0:
        raise InvalidInputError(f"timeout must not be negative, not {timeout!r}")


def check_positive_int(name: str, value: object) -> None:
    """Reject anything but a positive ``int`` (``bool`` included).

    Raises:
        InvalidInputError: Naming the setting and the value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, not {value!r}")


def warn_job_share_level(job_share_level: object, stacklevel: int = 3) -> None:
    """Warn that ``job_share_level`` is ignored, when it is given."""
    if job_share_level is not None:
        warnings.warn(
            "job_share_level is no longer supported and is ignored",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
