"""When a job set resubmits a job that failed, by itself."""

from __future__ import annotations

from dataclasses import dataclass

from managedjob.exceptions import InvalidInputError

__all__ = ["ResubmitPolicy"]


@dataclass(frozen=True)
class ResubmitPolicy:
    """How often a slice whose job fails is resubmitted without being asked.

    A job fails when it ends in ``ERROR`` or cannot be submitted; cancelled
    jobs are not resubmitted, nor is anything once the set was cancelled.
    The set applies the policy in one place, whoever sees the failure first
    (a wait, a result being read, the background watcher, the submission).

    Attributes:
        max_resubmits: How many resubmissions each slice may have; 0 never.
    """

    max_resubmits: int = 0

    def __post_init__(self) -> None:
        value = self.max_resubmits
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"max_resubmits must be an integer, not {value!r}")
        if value < 0:
            raise InvalidInputError(f"max_resubmits must not be negative, not {value}")

    def allows(self, attempt: int, cancelled: bool = False) -> bool:
        """Whether a failure of submission number ``attempt`` (0 first) is resubmitted."""
        return not cancelled and attempt < self.max_resubmits
