"""Submitting one slice to its target: transient errors retried, job limits waited out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

from managedjob._managed_job._errors import job_id
from managedjob._retry import RetryPolicy
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

        def attempt() -> JobV1:
            return target.submit(
                self.circuits,
                job_name=self.job_name,
                job_tags=self.job_tags,
                run_config=self.run_config,
                start_index=self.start_index,
            )

        limit_since: float | None = None
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
