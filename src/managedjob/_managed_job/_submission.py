"""Submitting one slice to its target: transient errors retried, job limits waited out.

With an adaptive limit (the set's default), every call to the target
reports how long it took and how it ended, and a submission refused with
"too many requests" gives its place back while it waits, so that the
refused ones queue for places instead of all trying again at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

from managedjob._limits import AdaptiveLimit, Outcome
from managedjob._managed_job._errors import job_id
from managedjob._retry import RetryPolicy, retry_after, too_many_requests
from managedjob._wait import Clock, PollPolicy, wait_for_final_state
from managedjob.exceptions import JobLimitError
from managedjob.targets import Target

__all__ = ["SliceSubmission", "SubmissionCalledOff"]

logger = logging.getLogger("managedjob._managed_job")


class SubmissionCalledOff(Exception):
    """The job was cancelled while its submission waited for the target's job limit."""


@dataclass(frozen=True)
class SliceSubmission:
    """One submission of a slice's circuits to a target, as a policy says.

    Attributes:
        target: Where the job goes.
        circuits: The slice's circuits.
        job_name: The job's name.
        job_tags: The job's tags.
        run_config: Run options for the target.
        start_index: The slice's first experiment in its set.
        end_index: The slice's last experiment.
        retry_policy: How transient errors and job limits are handled.
        poll_policy: How a pending job is polled while waiting for a free slot.
        clock: Where time comes from.
        called_off: Tells whether the job was cancelled meanwhile.
        limit: The adaptive limit whose place the submission holds, if any:
            told how each call went, and given the place back during a wait
            for "too many requests".
    """

    target: Target
    circuits: list[QuantumCircuit]
    job_name: str
    job_tags: list[str]
    run_config: dict[str, Any]
    start_index: int
    end_index: int
    retry_policy: RetryPolicy
    poll_policy: PollPolicy
    clock: Clock
    called_off: Callable[[], bool]
    limit: AdaptiveLimit | None = None

    def run(self) -> JobV1:
        """Submit, retrying transient errors and waiting out the target's job limit.

        Returns:
            The job.

        Raises:
            SubmissionCalledOff: If the job was cancelled while waiting for
                the job limit.
            Exception: The error that ended the submission.
        """
        policy, clock, target = self.retry_policy, self.clock, self.target

        limit = self.limit

        def attempt() -> JobV1:
            started = clock.monotonic()
            try:
                job = target.submit(
                    self.circuits,
                    job_name=self.job_name,
                    job_tags=self.job_tags,
                    run_config=self.run_config,
                    start_index=self.start_index,
                )
            except Exception as err:
                if limit is not None:
                    pushed_back = isinstance(err, JobLimitError) or too_many_requests(err)
                    outcome: Outcome = "throttled" if pushed_back else "error"
                    limit.record(clock.monotonic() - started, outcome)
                raise
            if limit is not None:
                limit.record(clock.monotonic() - started, "ok")
            return job

        limit_since: float | None = None
        refused_since: float | None = None
        refusals = 0
        while True:
            try:
                return policy.call(attempt, clock, self._on_retry)
            except JobLimitError:
                if self.called_off():  # cancel() is waiting: give up the wait
                    raise SubmissionCalledOff() from None
                now = clock.monotonic()
                if limit_since is None:
                    limit_since = now
                    logger.warning(
                        "The target's job limit is reached; job %s for experiments %d-%d "
                        "waits for a pending job to finish.",
                        self.job_name,
                        self.start_index,
                        self.end_index,
                    )
                waited = now - limit_since
                if policy.job_limit_timeout is not None and waited >= policy.job_limit_timeout:
                    raise
                left = (
                    None if policy.job_limit_timeout is None else policy.job_limit_timeout - waited
                )
                self._wait_for_a_free_slot(left)
            except Exception as err:
                if not too_many_requests(err):
                    raise
                if self.called_off():
                    raise SubmissionCalledOff() from None
                now = clock.monotonic()
                if refused_since is None:
                    refused_since = now
                    logger.info(
                        "The target refused job %s for experiments %d-%d: too many "
                        "requests; it tries again later.",
                        self.job_name,
                        self.start_index,
                        self.end_index,
                    )
                waited = now - refused_since
                if policy.job_limit_timeout is not None and waited >= policy.job_limit_timeout:
                    raise
                delay = retry_after(err)
                if delay is None:
                    delay = min(
                        policy.max_delay, policy.initial_delay * policy.multiplier**refusals
                    )
                refusals += 1
                if policy.job_limit_timeout is not None:
                    delay = min(delay, policy.job_limit_timeout - waited)
                self._wait_refused(delay)

    def _wait_refused(self, delay: float) -> None:
        """Wait ``delay`` seconds, out of the limit's places, then take one again."""
        limit = self.limit
        if limit is not None:
            limit.release()
        try:
            self.clock.sleep(delay)
        finally:
            if limit is not None:
                limit.acquire()

    def _on_retry(self, error: BaseException, delay: float) -> None:
        logger.info(
            "Submitting job %s for experiments %d-%d failed (%s); trying again in %.3g s.",
            self.job_name,
            self.start_index,
            self.end_index,
            error,
            delay,
        )

    def _wait_for_a_free_slot(self, timeout: float | None) -> None:
        clock = self.clock
        started = clock.monotonic()
        try:
            oldest = self.target.oldest_pending_job()
        except Exception as err:
            logger.debug("Could not list pending jobs: %s", err)
            oldest = None
        if oldest is not None:
            try:
                wait_for_final_state(oldest, timeout, clock=clock, poll=self.poll_policy)
            except Exception as err:
                logger.debug("Could not wait for job %s: %s", job_id(oldest), err)
        if clock.monotonic() == started:
            # Nothing to wait for, or it had already finished: back off instead
            # of asking the target again at once.
            backoff = self.retry_policy.job_limit_backoff
            clock.sleep(backoff if timeout is None else min(backoff, timeout))
