"""ManagedJobSet: the jobs of one run, handled as one (the front of its parts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.primitives import PrimitiveResult
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from managedjob._checks import (
    check_positive_int,
    check_timeout,
    drop_unset_options,
    hide_account_details,
    warn_job_share_level,
)
from managedjob._job_set._display import set_html
from managedjob._job_set._fetching import Fetcher
from managedjob._job_set._lookup import Lookups
from managedjob._job_set._plan import RunPlan
from managedjob._job_set._primitive import PrimitiveResults
from managedjob._job_set._resubmission import Resubmitter
from managedjob._job_set._retrieval import Retriever
from managedjob._job_set._state import SetState, SetStateView
from managedjob._job_set._submission import Submitter
from managedjob._job_set._waiting import Waiter
from managedjob._journal import AttemptRecorder, Journal, SliceObserver
from managedjob._managed_job import ManagedJob
from managedjob._results import Experiment, ExperimentIndex, ManagedResults
from managedjob._retry import RetryPolicy
from managedjob._wait import DEFAULT_POLL, SYSTEM_CLOCK, Clock, PollPolicy
from managedjob.exceptions import InvalidInputError

if TYPE_CHECKING:
    from managedjob._qobj import QasmQobj

__all__ = ["DEFAULT_MAX_PARALLEL_FETCHES", "DEFAULT_MAX_PARALLEL_SUBMITS", "ManagedJobSet"]

#: How many jobs of a set are submitted at once by default: ``None``, an
#: adaptive limit (see :mod:`managedjob._limits`).
DEFAULT_MAX_PARALLEL_SUBMITS: int | None = None
#: How many results of a set are fetched at once by default: adaptive too.
DEFAULT_MAX_PARALLEL_FETCHES: int | None = None


class ManagedJobSet(SetStateView):
    """The jobs of one run, handled as one.

    :meth:`JobManager.run` returns one. Its methods give a combined view of
    the jobs: :meth:`statuses`, :meth:`results`, :meth:`error_messages`,
    :meth:`report`, and act on all of them: :meth:`cancel`,
    :meth:`update_name`, :meth:`update_tags`, :meth:`retry_failed`.

    With a journal, the set is recorded as it runs (see
    :class:`~managedjob.Journal`), so that another process can rebuild it
    with :meth:`JobManager.retrieve_job_set`.

    Args:
        name: Name of the set; the current date and time if not given. Each
            job is named ``"{name}_{index}_"``.
        short_id: Id of the set; a new unique one if not given.
        clock: Where time comes from (tests pass a fake one).
        retry_policy: How submissions are retried.
        poll_policy: How jobs without a future are polled.
        max_parallel_submits: How many jobs may be submitted at once. 1
            submits one job at a time, as the legacy manager did. ``None``
            (the default) adapts: it starts at 16 and grows while
            submissions keep their speed, up to 64 or the target's declared
            ``max_concurrent_requests``, and backs off when the target
            answers "too many requests" or a job limit, fails, or slows down.
        max_parallel_fetches: How many results may be fetched at once; a
            number is a fixed bound, ``None`` (the default) adapts as above.
        journal: Where the set is recorded as it runs (see
            :class:`~managedjob.Journal`); ``None`` records nothing. A
            :class:`JobManager` passes its own.
        journal_required: If the journal cannot be written: raise
            :class:`~managedjob.JournalError` before anything is submitted
            (``True``), or warn and run on without it (``False``).

    Threading:
        Methods that need the jobs (results, jobs, cancel, ...) first wait for
        every submission to finish. :meth:`results` waits for all jobs at once,
        each in its own thread, up to ``max_parallel_fetches``.
    """

    #: The class of the jobs a set makes; a subclass may plug in its own.
    managed_job_class: type[ManagedJob] = ManagedJob

    def __init__(
        self,
        name: str | None = None,
        short_id: str | None = None,
        *,
        clock: Clock | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        max_parallel_submits: int | None = DEFAULT_MAX_PARALLEL_SUBMITS,
        max_parallel_fetches: int | None = DEFAULT_MAX_PARALLEL_FETCHES,
        journal: Journal | None = None,
        journal_required: bool = True,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidInputError(f"name must be a str, not {name!r}")
        if max_parallel_submits is not None:
            check_positive_int("max_parallel_submits", max_parallel_submits)
        if max_parallel_fetches is not None:
            check_positive_int("max_parallel_fetches", max_parallel_fetches)
        # One state, shared by the parts, each with one job: submitting,
        # resubmitting, waiting, fetching results, lookups and retrieval.
        self._state = state = SetState(
            name,
            short_id,
            clock=clock or SYSTEM_CLOCK,
            retry_policy=retry_policy,
            poll_policy=poll_policy or DEFAULT_POLL,
            max_parallel_submits=max_parallel_submits,
            max_parallel_fetches=max_parallel_fetches,
            journal=journal,
            journal_required=journal_required,
            new_managed_job=self._new_managed_job,
        )
        self._submitter = Submitter(state, self._observer)
        self._resubmitter = Resubmitter(state, self._submitter, self._observer)
        self._waiter = Waiter(state, self._submitter, self._resubmitter)
        self._fetcher = Fetcher(state, self._submitter, self._new_results)
        self._lookups = Lookups(state, self._submitter)
        self._retriever = Retriever(state)
        self._primitive = PrimitiveResults(state, self._fetcher)

    def __repr__(self) -> str:
        state = self._state
        jobs = len(state.managed_jobs)
        return f"<ManagedJobSet name={state.name!r} id={state.id!r} jobs={jobs}>"

    def _repr_html_(self) -> str:
        return set_html(self._state, self.statuses(), self._lookups.backend_name())

    # ------------------------------------------------------------------ parts' hooks

    def _new_managed_job(
        self, start_index: int, experiments_count: int, job: JobV1 | None = None
    ) -> ManagedJob:
        mjob = self.managed_job_class(start_index, experiments_count, job)
        mjob.clock = self._state.clock
        mjob.poll_policy = self._state.poll_policy
        if self._state.retry_policy is not None:
            mjob.retry_policy = self._state.retry_policy
        return mjob

    def _observer(self, number: int, attempt: AttemptRecorder | None) -> SliceObserver:
        return SliceObserver(self, number, attempt)

    def _new_results(self, success: bool, results: list[Result | None]) -> ManagedResults:
        return ManagedResults(self, self._lookups.backend_name(), success, results=results)

    def _slice_failed(self, mjob: ManagedJob) -> None:
        """Apply the set's resubmission policy to a job seen to fail (by its observer)."""
        self._resubmitter.job_failed(mjob)

    def _experiment_index(self) -> ExperimentIndex:
        return self._lookups.experiment_index()

    def _adopt_restored(self, **restored: Any) -> None:
        """Take the state of a set rebuilt from the journal."""
        self._retriever.adopt_restored(**restored)

    def _run_plan(self, plan: RunPlan, executor: Executor) -> None:
        """Submit a run that was planned and checked already (by :class:`JobManager`)."""
        self._submitter.start(plan, executor)

    def _close(self) -> None:
        """Let go of what the set owns: the thread pools for resubmissions and fetches."""
        self._resubmitter.close()
        self._fetcher.close()

    # ------------------------------------------------------------------ submit

    def run(
        self,
        experiment_list: Sequence[Sequence[QuantumCircuit]],
        backend: Any,
        executor: Executor,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        *,
        max_resubmits: int = 0,
        **run_config: Any,
    ) -> None:
        """Submit the experiments, one job per inner list.

        With a journal, the set and each job's circuits are journaled before
        that job is submitted.

        Args:
            experiment_list: The circuits of each job, in order.
            backend: What to run on: a backend, a sampler or a target.
            executor: Runs the submissions.
            job_share_level: Ignored, with a :class:`DeprecationWarning`.
            job_tags: Tags for the set, given to every job that keeps tags.
            max_resubmits: How many times a job that fails (ends in
                ``ERROR``, or cannot be submitted) is resubmitted by itself,
                as soon as the failure is seen. Cancelled jobs are not.
            **run_config: Run options for every job, such as ``shots``.

        Raises:
            IBMQJobManagerInvalidStateError: If the jobs were already submitted.
            InvalidInputError: If a value is not valid (nothing is submitted then).
            JournalError: If the journal is required and cannot be written
                (nothing is submitted then).
        """
        warn_job_share_level(job_share_level)
        plan = RunPlan.build(experiment_list, backend, job_tags, max_resubmits, run_config)
        self._submitter.start(plan, executor)

    # ------------------------------------------------------------------ retry

    def retry_failed(
        self,
        backend: Any = None,
        *,
        circuits: Sequence[QuantumCircuit] | None = None,
        **run_config: Any,
    ) -> list[ManagedJob]:
        """Resubmit every job that failed, keeping each experiment's index.

        A job is retried if its submission failed, it ended in ``ERROR``, it
        was cancelled, or it is lost (a set rebuilt from the journal whose
        job the target no longer knows, or that was never submitted). Jobs
        that are queued, running or done are left alone. Each retried job
        runs the same circuits with the same run options, from memory or,
        for a set rebuilt in another process, from the journal.
        :meth:`results` afterwards waits for the new jobs too.

        Args:
            backend: Where to run them. By default the set's backend; for a
                set rebuilt from the journal, the ``provider`` given to
                :meth:`JobManager.retrieve_job_set` if it can run circuits.
                A backend given here becomes the set's backend. Jobs of a
                rebuilt set that were not attached are first looked up on it,
                and so are slices whose job id was never journaled (by the
                set's tags, where it lists jobs by tag): a job found there is
                followed, not submitted again.
            circuits: The set's circuits again, all of them in the order given
                to ``run()``: the circuits of jobs that neither memory nor
                the journal has are taken from them; the others keep their
                own.
            **run_config: Run options to use instead of the journaled ones;
                needed for options that could not be journaled (such as a
                noise model). An option given as ``None`` is not set: the
                journaled value stays.

        Returns:
            The new managed jobs, in order; empty if nothing failed.

        Raises:
            IBMQJobManagerInvalidStateError: If there is no backend to run
                on, or the run options are not known; or, after every job
                that can be is resubmitted, naming by experiment range the
                jobs whose circuits are not known (pass ``circuits``).
            InvalidInputError: If ``circuits`` is not a list of the set's
                circuits (nothing is submitted then).
            InvalidInputError: If the backend cannot run circuits or rejects
                a run option (nothing is submitted then).
            JournalError: If the journal cannot be read.
        """
        return self._resubmitter.retry_failed(backend, drop_unset_options(run_config), circuits)

    # ------------------------------------------------------------------ retrieve

    def retrieve_jobs(self, provider: Any, refresh: bool = False) -> None:
        """Find the jobs of this set on ``provider`` by the set's id tag.

        ``provider`` is anything with ``jobs(job_tags=..., skip=..., limit=...)``
        (or a ``backend`` attribute that has it), such as a legacy-style
        provider or :class:`managedjob.testing.ScriptedBackend`. Jobs are
        ordered by the index in their names.

        Args:
            provider: Where the jobs were submitted.
            refresh: Look again even if the jobs are already known.

        Raises:
            IBMQJobManagerUnknownJobSet: If no job of this set is found.
            IBMQJobManagerInvalidStateError: If jobs are found but do not make
                a whole set.
        """
        self._retriever.retrieve_jobs(provider, refresh)

    # ------------------------------------------------------------------ query

    def statuses(self) -> list[JobStatus | None]:
        """Return the status of each job.

        Returns:
            One status per job, in order; ``None`` where the status cannot be
            had (a failed submission, a failing status query).
        """
        return [mjob.status() for mjob in self._state.managed_jobs]

    def report(self, detailed: bool = True, *, show_account_details: bool = False) -> str:
        """Return a report on the jobs' statuses.

        Args:
            detailed: Add one block per job to the summary.
            show_account_details: Show IBM Cloud resource names (instance
                CRNs) that the service put in error messages; by default
                they read ``crn:v1:<hidden>``.

        Returns:
            The report.
        """
        report = self._lookups.report(self.statuses(), detailed)
        return report if show_account_details else hide_account_details(report)

    def wait(
        self,
        timeout: float | None = None,
        progress: bool = False,
        callback: Callable[[ManagedJob], object] | None = None,
    ) -> list[JobStatus | None]:
        """Wait until every job is finished, failed or cancelled; fetch nothing.

        Jobs that run in a future (Qiskit Aer, local primitives) are waited
        for on it when the set's clock is the real one, and asked for their
        status (through :meth:`ManagedJob.status`) once, when it is done;
        other jobs are polled as the set's :class:`~managedjob.PollPolicy`
        says. A job that fails while ``max_resubmits`` allows another try is
        followed into its resubmission.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
            progress: Show a progress bar of finished jobs (``tqdm``; in a
                notebook, its widget).
            callback: Called with each managed job once it is final (or its
                submission failed), in the waiting thread, in the order they
                are seen to finish.

        Returns:
            The final statuses, as :meth:`statuses` gives them.

        Raises:
            IBMQJobManagerTimeoutError: If jobs are still running after
                ``timeout``, naming their experiments.
            InvalidInputError: If ``timeout`` is negative.
        """
        check_timeout(timeout)
        self._state.require_jobs()
        return self._waiter.wait(timeout, progress, callback)

    async def wait_async(
        self,
        timeout: float | None = None,
        progress: bool = False,
        callback: Callable[[ManagedJob], object] | None = None,
    ) -> list[JobStatus | None]:
        """Await :meth:`wait` without blocking the event loop (it runs in a thread).

        Args:
            timeout: As for :meth:`wait`.
            progress: As for :meth:`wait`.
            callback: As for :meth:`wait`; called in the worker thread.

        Returns:
            The final statuses.
        """
        return await asyncio.to_thread(self.wait, timeout, progress, callback)

    async def results_async(
        self, timeout: float | None = None, partial: bool = False, refresh: bool = False
    ) -> ManagedResults:
        """Await :meth:`results` without blocking the event loop (it runs in a thread).

        Args:
            timeout: As for :meth:`results`.
            partial: As for :meth:`results`.
            refresh: As for :meth:`results`.

        Returns:
            The results.
        """
        return await asyncio.to_thread(self.results, timeout, partial, refresh)

    def results(
        self, timeout: float | None = None, partial: bool = False, refresh: bool = False
    ) -> ManagedResults:
        """Wait for every job and return their results as one.

        The jobs are waited for together, not one after another. A job that
        failed does not make this raise: the returned results have
        ``success`` false and reading that job's experiments raises
        :class:`~managedjob.exceptions.IBMQManagedResultDataNotAvailable`.

        Args:
            timeout: Seconds to wait for all jobs together; ``None`` waits as
                long as it takes.
            partial: Keep the results of failed jobs, so that their experiments
                that succeeded can be read.
            refresh: Fetch results again instead of using the cached ones.

        Returns:
            The results.

        Raises:
            IBMQJobManagerTimeoutError: If the jobs are not all finished
                within ``timeout``.
            InvalidInputError: If ``timeout`` is negative.
        """
        check_timeout(timeout)
        return self._fetcher.results(timeout, partial, refresh)

    def primitive_result(
        self, timeout: float | None = None, partial: bool = False
    ) -> PrimitiveResult[Any]:
        """Wait for every job of a PUB set and return one result of all its PUBs.

        The result has one ``PubResult`` per input PUB, in input order; a PUB
        that was cut across jobs (by shots, or along its leading axis) is
        joined back as one run would have given it.

        Args:
            timeout: Seconds to wait for all jobs together; ``None`` waits as
                long as it takes.
            partial: Give ``None`` in the place of each PUB a failed job
                leaves without a result, instead of raising.

        Returns:
            The merged ``PrimitiveResult``.

        Raises:
            IBMQManagedResultDataNotAvailable: If a job failed and ``partial``
                is false; the message names the PUBs without a result and why.
            IBMQJobManagerTimeoutError: If the jobs are not all finished
                within ``timeout``.
            IBMQJobManagerInvalidStateError: If the set runs circuits, not PUBs.
        """
        check_timeout(timeout)
        return self._primitive.primitive_result(timeout, partial)

    def error_messages(self) -> str | None:
        """Explain the failures of the set's jobs.

        Returns:
            One block per failed job (its experiments, index and id, then the
            message), or ``None`` if no job failed.
        """
        return self._lookups.error_messages()

    def cancel(self) -> None:
        """Cancel every job of the set; jobs that cannot be cancelled are logged."""
        self._state.cancel_requested = True  # and resubmit nothing any more
        if not self._state.managed_jobs:
            self._submitter.require_jobs()
        for mjob in self._state.managed_jobs:
            mjob.cancel()

    def jobs(self) -> list[JobV1 | None]:
        """Return the jobs, in order; ``None`` where a submission failed."""
        self._submitter.require_jobs()
        return [mjob.job for mjob in self._state.managed_jobs]

    def job(self, experiment: Experiment) -> tuple[JobV1 | None, int]:
        """Return the job that ran an experiment, and the experiment's index in it.

        If 1000 experiments ran as two jobs of 500, ``job(501)`` is the second
        job and index 1. The lookup takes constant time.

        Args:
            experiment: The experiment's index in the set, its name, or its
                circuit (found by name).

        Returns:
            The job (``None`` if its submission failed) and the index.

        Raises:
            IBMQJobManagerJobNotFound: If no experiment matches.
        """
        number, index = self._lookups.locate(experiment)
        return self._state.managed_jobs[number].job, index

    def qobjs(self) -> list[QasmQobj | None]:
        """Return a legacy-shaped Qobj view of each job (``None`` where unavailable)."""
        self._submitter.require_jobs()
        return [mjob.qobj() for mjob in self._state.managed_jobs]

    def name(self) -> str:
        """Return the name of the set."""
        return self._state.name

    def update_name(self, name: str) -> str:
        """Rename the set, and each job whose target keeps names.

        Args:
            name: The new name.

        Returns:
            The new name.

        Raises:
            InvalidInputError: If ``name`` is not a non-empty str.
        """
        return self._lookups.update_name(name)

    def job_set_id(self) -> str:
        """Return the id of the set, for :meth:`JobManager.retrieve_job_set`."""
        return self._state.id

    def managed_jobs(self) -> list[ManagedJob]:
        """Return the managed jobs, in order."""
        return self._state.managed_jobs

    def tags(self) -> list[str]:
        """Return the set's tags (the set's own id tag is not among them)."""
        return list(self._state.tags)

    def update_tags(
        self,
        replacement_tags: list[str] | None = None,
        additional_tags: list[str] | None = None,
        removal_tags: list[str] | None = None,
    ) -> list[str]:
        """Change the set's tags, and those of each job whose target keeps tags.

        The changes apply in this order: replace, then add, then remove. The
        set's own id tag stays on the jobs whatever is asked.

        Args:
            replacement_tags: Tags to use instead of the current ones.
            additional_tags: Tags to add.
            removal_tags: Tags to remove; tags the set does not have are ignored.

        Returns:
            The new tags.

        Raises:
            IBMQJobManagerInvalidStateError: If no argument is given.
            InvalidInputError: If an argument is not a list of str.
        """
        return self._lookups.update_tags(replacement_tags, additional_tags, removal_tags)
