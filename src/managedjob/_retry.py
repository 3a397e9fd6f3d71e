"""When and how long to retry a submission that failed.

Two kinds of failure are retried:

* *transient* errors (connection resets, time-outs): again after an
  exponential back-off, a bounded number of times;
* :class:`~managedjob.exceptions.JobLimitError`: the target has too many
  pending jobs. The submission waits for the oldest pending job to finish
  when the target can name it, else backs off, and tries again.
* too many requests (:class:`~managedjob.exceptions.TooManyRequestsError`,
  or any error carrying HTTP status 429): the submission waits as long as
  the target asked (``Retry-After``), else backs off, and tries again. Like
  a job limit, a refusal is not counted as a try.

Anything else fails the submission at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from managedjob._throttle import retry_after, too_many_requests
from managedjob._wait import Clock

__all__ = ["RetryPolicy", "retry_after", "too_many_requests"]

T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """How a managed job retries its submission.

    Attributes:
        max_attempts: Tries for one submission hit by transient errors,
            counting the first (1 means no retry).
        initial_delay: Seconds before the first retry.
        max_delay: Longest wait between two tries, in seconds.
        multiplier: Growth of the wait from one retry to the next.
        transient: Exception types that count as transient.
        job_limit_timeout: Seconds one submission may spend waiting out the
            target's pending-job limit in total; ``None`` waits as long as it
            takes.
        job_limit_backoff: Seconds to wait before trying again when the
            target is at its job limit and cannot name a job to wait for.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    transient: tuple[type[BaseException], ...] = TRANSIENT_ERRORS
    job_limit_timeout: float | None = None
    job_limit_backoff: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts!r}")
        for name in ("initial_delay", "max_delay", "job_limit_backoff"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)!r}")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be at least 1, not {self.multiplier!r}")

    def is_transient(self, error: BaseException) -> bool:
        """Return whether ``error`` is worth another try after a back-off."""
        return isinstance(error, self.transient)

    def call(
        self,
        fn: Callable[[], T],
        clock: Clock,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> T:
        """Call ``fn``, retrying transient errors as this policy says.

        Args:
            fn: What to call.
            clock: Sleeps between tries go through ``clock.sleep``.
            on_retry: Told the error and the wait before each retry.

        Returns:
            What ``fn`` returned.

        Raises:
            Exception: The last error, once it is not transient or the tries
                are used up.
        """

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action:
                error = state.outcome.exception()
                if error is not None:
                    on_retry(error, state.next_action.sleep)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(
                multiplier=self.initial_delay, exp_base=self.multiplier, max=self.max_delay
            ),
            retry=tenacity.retry_if_exception(self.is_transient),
            sleep=clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)
