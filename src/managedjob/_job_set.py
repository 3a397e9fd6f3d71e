"""A set of managed jobs: the jobs of one run, handled as one."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from managedjob._checks import check_positive_int, check_timeout, warn_job_share_level
from managedjob._journal import (
    Journal,
    JournalError,
    SliceObserver,
    _journal_warning,
    _SetRecorder,
    reattach,
    watch_job,
)
from managedjob._managed_job import QOBJ_ONLY_OPTIONS, ManagedJob, experiment_name, install_watcher
from managedjob._naming import INTERNAL_TAG_PREFIX, JOB_NAME_FORMAT, JOB_NAME_RE, JOB_SET_ID_PREFIX
from managedjob._report import format_job_details, format_status_counts
from managedjob._results import Experiment, ExperimentIndex, ManagedResults
from managedjob._retry import RetryPolicy
from managedjob._wait import (
    DEFAULT_POLL,
    FINAL_STATES,
    SYSTEM_CLOCK,
    Clock,
    PollPolicy,
    is_real_time,
    job_future,
)
from managedjob.exceptions import (
    InvalidInputError,
    JobManagerInvalidStateError,
    JobManagerTimeoutError,
    JobTimeoutError,
    UnknownJobSetError,
)
from managedjob.targets import FoundJob, Target, resolve_job_finder, resolve_target

if TYPE_CHECKING:
    from managedjob._qobj import QasmQobj

__all__ = ["ManagedJobSet"]

logger = logging.getLogger(__name__)

# The journal's background watcher follows jobs for ManagedJob.add_done_callback.
install_watcher(watch_job)


DEFAULT_MAX_PARALLEL_SUBMITS = 16
DEFAULT_MAX_PARALLEL_FETCHES = 16


def _needs_retry(mjob: ManagedJob) -> bool:
    """Whether :meth:`ManagedJobSet.retry_failed` resubmits ``mjob``."""
    if mjob.submit_error is not None or mjob._lost_reason is not None:
        return True
    if mjob._cancelled_before_submit:
        return True
    job = mjob.job
    if job is None:
        return mjob.future is None
    try:
        status = job.status()
    except Exception as err:
        logger.warning(
            "Not retrying experiments %d-%d: their job's status is unknown (%s).",
            mjob.start_index,
            mjob.end_index,
            err,
        )
        return False
    return status in (JobStatus.ERROR, JobStatus.CANCELLED)


def _unfinished_future(mjob: ManagedJob, real_time: bool) -> Future[Any] | None:
    """Return the future ``mjob`` is waiting on, if it is not done yet.

    That is its submission while one is under way (it ends in real time,
    whatever the clock), then, with the real clock, the future its job runs
    in, if it has one.
    """
    job = mjob.job
    if job is None:
        submission = mjob._submission_future()
        return submission if submission is not None and not submission.done() else None
    if not real_time:
        return None
    future = job_future(job)
    return future if future is not None and not future.done() else None


def _progress_bar(total: int, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="job", desc=name, leave=True)


class SubmitSemaphore:
    """The submit lock of a set: at most ``value`` submissions at once.

    It can travel to another process (for process executors and Dask): the
    copy is a new semaphore of that process, since a lock cannot be shared
    across processes; there, the executor's own size bounds concurrency.

    Args:
        value: How many holders at once.
    """

    def __init__(self, value: int) -> None:
        self._value = value
        self._semaphore = threading.BoundedSemaphore(value)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a place, waiting for one if ``blocking``."""
        return self._semaphore.acquire(blocking, timeout)

    def release(self) -> None:
        """Give a place back."""
        self._semaphore.release()

    def __reduce__(self) -> tuple[type[SubmitSemaphore], tuple[int]]:
        return (SubmitSemaphore, (self._value,))


def _circuits_of(job: JobV1) -> list[QuantumCircuit] | None:
    """Return the circuits a job ran, if it tells them (a method or a property)."""
    circuits = getattr(job, "circuits", None)
    if callable(circuits):
        circuits = circuits()
    if isinstance(circuits, (list, tuple)) and all(
        isinstance(circuit, QuantumCircuit) for circuit in circuits
    ):
        return list(circuits)
    return None


def validate_tags(tags: object, what: str = "job_tags") -> list[str]:
    """Return ``tags`` as a list of str.

    Raises:
        InvalidInputError: If ``tags`` is not a list of str, naming the bad item.
    """
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise InvalidInputError(f"{what} must be a list of str, not {tags!r}")
    for index, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise InvalidInputError(f"{what}[{index}] must be a str, not {tag!r}")
    return list(tags)


class ManagedJobSet:
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
            submits one job at a time, as the legacy manager did.
        max_parallel_fetches: How many results may be fetched at once.
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

    _id_prefix = JOB_SET_ID_PREFIX
    _id_suffix = "_"

    def __init__(
        self,
        name: str | None = None,
        short_id: str | None = None,
        *,
        clock: Clock | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        max_parallel_submits: int = DEFAULT_MAX_PARALLEL_SUBMITS,
        max_parallel_fetches: int = DEFAULT_MAX_PARALLEL_FETCHES,
        journal: Journal | None = None,
        journal_required: bool = True,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise InvalidInputError(f"name must be a str, not {name!r}")
        check_positive_int("max_parallel_submits", max_parallel_submits)
        check_positive_int("max_parallel_fetches", max_parallel_fetches)
        self._managed_jobs: list[ManagedJob] = []
        self._jobs_version = 0
        self._settled_version = -1
        self._created_at = datetime.now(timezone.utc)
        self._name = name or self._created_at.replace(tzinfo=None).isoformat()
        self._id = short_id or uuid.uuid4().hex + "-" + str(time.time()).replace(".", "")
        self._id_long = self._id_prefix + self._id + self._id_suffix
        self._tags: list[str] = []
        self._backend: Any = None
        self._target: Target | None = None
        self._experiments: list[QuantumCircuit] | None = None
        self._index: ExperimentIndex | None = None
        self._managed_results: ManagedResults | None = None
        self._clock = clock or SYSTEM_CLOCK
        self._retry_policy = retry_policy
        self._poll_policy = poll_policy or DEFAULT_POLL
        self._max_parallel_fetches = max_parallel_fetches
        self._job_submit_lock = SubmitSemaphore(max_parallel_submits)
        self._state_lock = threading.RLock()
        # Durability: the journal, this set's records in it, and what a set
        # rebuilt from it knows without its circuits.
        self._journal = journal
        self._journal_required = journal_required
        self._recorder: _SetRecorder | None = None
        self._names_hint: list[str | None] | None = None
        self._backend_name_hint: str | None = None
        # Resubmission: how often a failed job is resubmitted by itself, and
        # where resubmissions go.
        self._max_resubmits = 0
        self._executor: Executor | None = None
        self._cancel_requested = False

    def __repr__(self) -> str:
        return (
            f"<ManagedJobSet name={self._name!r} id={self._id!r} jobs={len(self._managed_jobs)}>"
        )

    # ------------------------------------------------------------------ submit

    def _new_managed_job(
        self, start_index: int, experiments_count: int, job: JobV1 | None = None
    ) -> ManagedJob:
        mjob = self.managed_job_class(start_index, experiments_count, job)
        mjob.clock = self._clock
        mjob.poll_policy = self._poll_policy
        if self._retry_policy is not None:
            mjob.retry_policy = self._retry_policy
        return mjob

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
        with self._state_lock:
            if self._managed_jobs:
                raise JobManagerInvalidStateError(
                    f"The jobs of job set {self._id!r} have already been submitted."
                )
            tags = validate_tags(job_tags) if job_tags is not None else []
            if isinstance(max_resubmits, bool) or not isinstance(max_resubmits, int):
                raise InvalidInputError(f"max_resubmits must be an integer, not {max_resubmits!r}")
            if max_resubmits < 0:
                raise InvalidInputError(f"max_resubmits must not be negative, not {max_resubmits}")
            target = resolve_target(backend)
            options = {k: v for k, v in run_config.items() if k not in ("qobj_id", "qobj_header")}
            target.check_run_config(options)
            flat: list[QuantumCircuit] = []
            sizes: list[int] = []
            slices: list[list[QuantumCircuit]] = []
            for number, experiments in enumerate(experiment_list):
                circuits = list(experiments)
                slices.append(circuits)
                if not circuits:
                    raise InvalidInputError(f"experiment_list[{number}] is empty")
                for index, circuit in enumerate(circuits):
                    if not isinstance(circuit, QuantumCircuit):
                        raise InvalidInputError(
                            f"experiment_list[{number}][{index}] is a "
                            f"{type(circuit).__name__}, not a QuantumCircuit"
                        )
                flat.extend(circuits)
                sizes.append(len(circuits))
            if not flat:
                raise InvalidInputError("experiment_list holds no experiments")

            start = 0
            jobs: list[ManagedJob] = []
            for size in sizes:
                mjob = self._new_managed_job(start, size)
                mjob._target = target
                jobs.append(mjob)
                start += size
            job_names = [JOB_NAME_FORMAT.format(self._name, n) for n in range(len(jobs))]
            recorder = self._start_journal(
                target, tags, run_config, jobs, slices, job_names, max_resubmits
            )
            self._backend = backend
            self._target = target
            self._tags = tags
            self._experiments = flat
            self._executor = executor
            self._max_resubmits = max_resubmits
            self._recorder = recorder
            for number, mjob in enumerate(jobs):
                attempt = recorder.first_attempt(number) if recorder is not None else None
                mjob._observer = SliceObserver(self, number, attempt)
            self._managed_jobs = jobs
            self._jobs_version += 1
            for number, (mjob, circuits) in enumerate(zip(jobs, slices, strict=True)):
                logger.debug(
                    "Submitting job %d/%d of job set %s.", number + 1, len(jobs), self._name
                )
                mjob.submit(
                    circuits,
                    job_name=job_names[number],
                    backend=backend,
                    executor=executor,
                    submit_lock=self._job_submit_lock,
                    job_tags=[*self._tags, self._id_long],
                    **run_config,
                )

    def _start_journal(
        self,
        target: Target,
        tags: list[str],
        run_config: dict[str, Any],
        jobs: list[ManagedJob],
        slices: list[list[QuantumCircuit]],
        job_names: list[str],
        max_resubmits: int,
    ) -> _SetRecorder | None:
        """Journal the set before its submission; ``None`` if it has no journal."""
        journal = self._journal
        if journal is None:
            return None
        try:
            return journal._record_job_set(
                job_set_id=self._id,
                name=self._name,
                tags=tags,
                created_at=self._created_at,
                target=target,
                run_config=run_config,
                slices=[
                    (mjob.start_index, mjob.end_index, circuits, job_name)
                    for mjob, circuits, job_name in zip(jobs, slices, job_names, strict=True)
                ],
                max_resubmits=max_resubmits,
                required=self._journal_required,
            )
        except JournalError as err:
            if self._journal_required:
                raise
            _journal_warning(f"Job set {self._id} runs without a journal: {err}")
            return None

    def _wait_for_submissions(self, timeout: float | None = None) -> bool:
        # Submissions only ever finish, so once every job of this version of the
        # list has been seen submitted, later calls return at once (lookups stay
        # O(1)); a resubmission makes a new version.
        while True:
            with self._state_lock:
                version = self._jobs_version
                if self._settled_version == version:
                    return True
                jobs = list(self._managed_jobs)
            futures = [f for mjob in jobs if (f := mjob._submission_future()) is not None]
            _, pending = wait_futures(futures, timeout=timeout)
            if pending:
                return False
            with self._state_lock:  # a failed submission may have been resubmitted
                if self._jobs_version == version:
                    self._settled_version = version
                    return True

    # ------------------------------------------------------------------ retry

    def retry_failed(self, backend: Any = None, **run_config: Any) -> list[ManagedJob]:
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
                rebuilt set that were not attached are first looked up on it.
            **run_config: Run options to use instead of the journaled ones;
                needed for options that could not be journaled (such as a
                noise model).

        Returns:
            The new managed jobs, in order; empty if nothing failed.

        Raises:
            IBMQJobManagerInvalidStateError: If there is no backend to run
                on, or a job's circuits or run options are not known.
            InvalidInputError: If the backend cannot run circuits or rejects
                a run option (nothing is submitted then).
            JournalError: If the journal cannot be read.
        """
        self._require_jobs()
        chosen = backend if backend is not None else self._backend
        if chosen is not None:
            for mjob in list(self._managed_jobs):
                self._reattach_detached(mjob, chosen)
        with self._state_lock:
            jobs = list(self._managed_jobs)
        failed = [(number, mjob) for number, mjob in enumerate(jobs) if _needs_retry(mjob)]
        if not failed:
            return []
        if chosen is None:
            raise JobManagerInvalidStateError(
                f"Job set {self._id} has no backend to retry its failed jobs on: "
                "pass retry_failed(backend=...)."
            )
        target = resolve_target(chosen)
        plans: list[tuple[int, ManagedJob, list[QuantumCircuit], dict[str, Any]]] = []
        for number, mjob in failed:
            circuits, config = self._submission_of(mjob, run_config)
            target.check_run_config(
                {k: v for k, v in config.items() if k not in QOBJ_ONLY_OPTIONS}
            )
            plans.append((number, mjob, circuits, config))
        with self._state_lock:
            self._backend, self._target = chosen, target
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix="managedjob-retry"
                )
            executor = self._executor
        resubmitted = [
            self._resubmit(number, mjob, circuits, config, chosen, executor)
            for number, mjob, circuits, config in plans
        ]
        logger.info("Resubmitted %d job(s) of job set %s.", len(resubmitted), self._id)
        return resubmitted

    def _reattach_detached(self, mjob: ManagedJob, backend: Any) -> None:
        """Look a job that a rebuilt set did not attach up on ``backend``."""
        observer = mjob._observer
        if not isinstance(observer, SliceObserver) or observer.detached_job_id is None:
            return
        job_id, observer.detached_job_id = observer.detached_job_id, None
        job, why = reattach(backend, job_id)
        if job is None:
            mjob._lost_reason = (
                f"Job {job_id} for experiments {mjob.start_index}-{mjob.end_index} {why}."
            )
            return
        mjob.job = job
        mjob._lost_reason = None
        observer.watch(mjob)

    def _submission_of(
        self, mjob: ManagedJob, overrides: dict[str, Any]
    ) -> tuple[list[QuantumCircuit], dict[str, Any]]:
        """Return a job's circuits and run options (Qobj options included) for resubmission."""
        span = f"{mjob.start_index}-{mjob.end_index}"
        unsaved: list[str] = []
        if mjob._circuits is not None:
            circuits = mjob._circuits
            config = {**mjob._run_config, **mjob._qobj_options}
        else:
            observer = mjob._observer
            recorder = observer.recorder if isinstance(observer, SliceObserver) else None
            if recorder is None or not isinstance(observer, SliceObserver):
                raise JobManagerInvalidStateError(
                    f"The circuits of experiments {span} of job set {self._id} are not known: "
                    "it was not run or journaled by managedjob."
                )
            circuits, stored, qobj_options = recorder.owner.load_submission(observer.index)
            config = {**stored, **qobj_options}
            unsaved = recorder.owner.unsaved_options
        missing = [key for key in unsaved if key not in overrides]
        if missing:
            raise JobManagerInvalidStateError(
                f"Run option(s) {', '.join(map(repr, missing))} of job set {self._id} were not "
                "journaled (they have no JSON form): pass them to retry_failed()."
            )
        config.update(overrides)
        return list(circuits), config

    def _resubmit(
        self,
        number: int,
        old: ManagedJob,
        circuits: list[QuantumCircuit],
        config: dict[str, Any],
        backend: Any,
        executor: Executor,
    ) -> ManagedJob:
        """Replace job ``number`` by a new submission of the same experiments."""
        new = self._new_managed_job(old.start_index, old.experiments_count)
        new._attempt = old._attempt + 1
        target = self._target
        if target is not None and (target is backend or target.wrapped is backend):
            new._target = target
        job_name = JOB_NAME_FORMAT.format(self._name, number)
        recorder = self._recorder
        attempt = (
            None if recorder is None else recorder.new_attempt(number, new._attempt, job_name)
        )
        new._observer = SliceObserver(self, number, attempt)
        with self._state_lock:
            self._managed_jobs[number] = new
            self._jobs_version += 1
            old._superseded = True
            self._managed_results = None
        try:
            new.submit(
                circuits,
                job_name=job_name,
                backend=backend,
                executor=executor,
                submit_lock=self._job_submit_lock,
                job_tags=[*self._tags, self._id_long],
                **config,
            )
        except BaseException:
            with self._state_lock:
                self._managed_jobs[number] = old
                self._jobs_version += 1
                old._superseded = False
            raise
        return new

    def _may_resubmit(self, mjob: ManagedJob) -> bool:
        """Whether ``max_resubmits`` lets a failure of ``mjob`` be resubmitted."""
        return mjob._attempt < self._max_resubmits and not self._cancel_requested

    def _slice_failed(self, mjob: ManagedJob) -> None:
        """Resubmit a job that failed, if ``max_resubmits`` allows (called by its observer)."""
        if not self._may_resubmit(mjob):
            return
        with self._state_lock:
            number = next(
                (n for n, current in enumerate(self._managed_jobs) if current is mjob), None
            )
            backend, executor = self._backend, self._executor
            if number is None or backend is None or executor is None:
                return
            try:
                circuits, config = self._submission_of(mjob, {})
                self._resubmit(number, mjob, circuits, config, backend, executor)
            except Exception as err:
                logger.warning(
                    "Unable to resubmit experiments %d-%d of job set %s: %s",
                    mjob.start_index,
                    mjob.end_index,
                    self._id,
                    err,
                )
                return
        logger.info(
            "Experiments %d-%d of job set %s failed; resubmitted them (%d of at most %d).",
            mjob.start_index,
            mjob.end_index,
            self._id,
            mjob._attempt + 1,
            self._max_resubmits,
        )

    def _adopt_restored(
        self,
        *,
        name: str,
        tags: list[str],
        created_at: datetime,
        jobs: list[ManagedJob],
        names: list[str | None],
        backend: Any,
        target: Target | None,
        backend_name: str,
        max_resubmits: int,
        recorder: _SetRecorder,
    ) -> None:
        """Take the state of a set rebuilt from the journal."""
        with self._state_lock:
            self._name = name
            self._tags = tags
            self._created_at = created_at
            self._managed_jobs = jobs
            self._jobs_version += 1
            self._experiments = None
            self._names_hint = names
            self._backend = backend
            self._target = target
            self._backend_name_hint = backend_name
            self._max_resubmits = max_resubmits
            self._recorder = recorder
            self._index = None
            self._managed_results = None

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
        if self._managed_jobs and not refresh:
            return
        finder = resolve_job_finder(provider)
        found = (
            finder.find_job_set_jobs(self._id_long)
            if finder is not None
            else self._find_by_name(provider)
        )
        if not found:
            raise UnknownJobSetError(f"{self._id} is not a known job set on {provider!r}.")
        # Newest first: a slice that was retried has several jobs; keep the latest.
        by_index: dict[int, FoundJob] = {}
        for item in found:
            by_index.setdefault(item.index, item)
        order = sorted(by_index)
        if order != list(range(len(order))):
            raise JobManagerInvalidStateError(
                f"Unable to retrieve all jobs of job set {self._id}: found job indexes {order}."
            )
        set_name = next((item.set_name for item in found if item.set_name), None)
        jobs: list[ManagedJob] = []
        circuits: list[QuantumCircuit] | None = []
        start = 0
        for number in order:
            item = by_index[number]
            job_circuits = _circuits_of(item.job)
            count = item.experiments_count or (len(job_circuits) if job_circuits else None)
            if not count:
                raise JobManagerInvalidStateError(
                    f"Job {item.job.job_id()} of job set {self._id} does not tell how many "
                    "experiments it runs."
                )
            if item.start_index is not None and item.start_index != start:
                raise JobManagerInvalidStateError(
                    f"Job {item.job.job_id()} of job set {self._id} starts at experiment "
                    f"{item.start_index}, but the jobs before it end at {start - 1}."
                )
            mjob = self._new_managed_job(start, count, item.job)
            mjob.job_name = JOB_NAME_FORMAT.format(set_name or self._name, number)
            jobs.append(mjob)
            if circuits is not None and job_circuits:
                circuits.extend(job_circuits)
            else:
                circuits = None
            start += count
        first = by_index[order[0]]
        with self._state_lock:
            self._name = set_name or self._name
            self._tags = [
                tag
                for tag in first.tags
                if tag != self._id_long and not tag.startswith(INTERNAL_TAG_PREFIX)
            ]
            backend = getattr(first.job, "backend", None)
            self._backend = backend() if callable(backend) else None
            self._target = None
            self._experiments = circuits
            self._managed_jobs = jobs
            self._jobs_version += 1
            self._index = None
            self._managed_results = None

    def _find_by_name(self, provider: Any) -> list[FoundJob]:
        """Find the set's jobs the legacy way: by tag, placed by their names."""
        lister = getattr(provider, "jobs", None)
        if not callable(lister):
            lister = getattr(getattr(provider, "backend", None), "jobs", None)
        if not callable(lister):
            raise UnknownJobSetError(
                f"{self._id} is not a known job set: {provider!r} cannot list jobs by tag."
            )
        jobs: list[JobV1] = []
        page = 1000
        while True:
            batch = list(lister(job_tags=[self._id_long], skip=len(jobs), limit=page))
            jobs.extend(batch)
            if len(batch) < page:
                break
        found: list[FoundJob] = []
        for job in jobs:
            name_fn = getattr(job, "name", None)
            matched = JOB_NAME_RE.match(name_fn()) if callable(name_fn) else None
            if matched is None:
                raise JobManagerInvalidStateError(
                    f"Job {job.job_id()} is tagged for job set {self._id} but its name "
                    "does not say its place in the set."
                )
            tags_fn = getattr(job, "tags", None)
            tags = tuple(tags_fn()) if callable(tags_fn) else ()
            found.append(
                FoundJob(
                    index=int(matched.group(2)), job=job, set_name=matched.group(1), tags=tags
                )
            )
        return found

    # ------------------------------------------------------------------ query

    def statuses(self) -> list[JobStatus | None]:
        """Return the status of each job.

        Returns:
            One status per job, in order; ``None`` where the status cannot be
            had (a failed submission, a failing status query).
        """
        return [mjob.status() for mjob in self._managed_jobs]

    def report(self, detailed: bool = True) -> str:
        """Return a report on the jobs' statuses.

        Args:
            detailed: Add one block per job to the summary.

        Returns:
            The report.
        """
        statuses = self.statuses()
        lines = [
            f"Job set name: {self.name()}",
            f"          ID: {self.job_set_id()}",
            f"        tags: {self.tags()}",
            "Summary report:",
            *format_status_counts(statuses),
        ]
        if detailed:
            lines.append("\nDetail report:")
            lines.extend(format_job_details(statuses, self._managed_jobs))
        return "\n".join(lines)

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
        if not self._managed_jobs:
            self._require_jobs()
        clock = self._clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        # Submissions end in real time (their futures); a fake clock must not run
        # ahead while they do.
        if not self._wait_for_submissions(timeout):
            raise JobManagerTimeoutError(
                f"Timeout while waiting for job set {self._id}: its jobs were not all "
                f"submitted within {timeout} s."
            )
        bar = _progress_bar(len(self._managed_jobs), self._name) if progress else None
        settled: dict[int, JobStatus | None] = {}
        interval = self._poll_policy.initial
        # With the real clock, a job that runs in a future (Aer, local
        # primitives) is waited for on it: no status calls until it is done,
        # and no poll interval between its end and the wait noticing it.
        real_time = is_real_time(clock)
        try:
            while True:
                with self._state_lock:
                    jobs = list(self._managed_jobs)
                running: list[Future[Any]] = []
                polled = replaced = False
                for number, mjob in enumerate(jobs):
                    if number in settled:
                        continue
                    future = _unfinished_future(mjob, real_time)
                    if future is not None:
                        running.append(future)
                        continue
                    status = mjob.status()
                    # Without a job (failed or cancelled submission, a lost job)
                    # nothing will change any more.
                    if mjob.job is not None and status not in FINAL_STATES:
                        polled = True
                        continue
                    if status is JobStatus.ERROR and self._may_resubmit(mjob):
                        # Reading the failed result is what resubmits the slice
                        # (its observer does): do it now, and wait for the new job.
                        mjob._prefetch()
                    with self._state_lock:
                        if self._managed_jobs[number] is not mjob:  # resubmitted
                            replaced = True
                            continue
                    settled[number] = status
                    if bar is not None:
                        bar.update(1)
                    if callback is not None:
                        callback(mjob)
                if len(settled) == len(jobs):
                    return [settled[number] for number in range(len(jobs))]
                if deadline is not None and clock.monotonic() >= deadline:
                    late = [
                        f"{mjob.start_index}-{mjob.end_index}"
                        for number, mjob in enumerate(jobs)
                        if number not in settled
                    ]
                    raise JobManagerTimeoutError(
                        f"Timeout while waiting for job set {self._id}: the jobs for "
                        f"experiments {', '.join(late)} did not finish within {timeout} s."
                    )
                if replaced:
                    continue  # look at the new jobs at once
                pause = interval if polled else self._poll_policy.maximum
                if deadline is not None:
                    pause = max(0.0, min(pause, deadline - clock.monotonic()))
                if running:
                    # Wakes when a future is done, else after the others' poll
                    # pause. Never without a limit: a pending future that is
                    # cancelled tells no waiter until its executor drops it.
                    wait_futures(running, timeout=pause, return_when=FIRST_COMPLETED)
                else:
                    clock.sleep(pause)
                if polled:
                    interval = self._poll_policy.next_interval(interval)
        finally:
            if bar is not None:
                bar.close()

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
        self._require_jobs()
        with self._state_lock:
            cached = self._managed_results
            if cached is not None and not refresh and cached._partial == partial:
                return cached
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        with self._state_lock:
            jobs = list(self._managed_jobs)
        results = self._fetch_results(jobs, deadline, timeout, partial, refresh)
        while True:  # a failed job may have been resubmitted: wait for its replacement
            with self._state_lock:
                current = list(self._managed_jobs)
            changed = [n for n, (a, b) in enumerate(zip(jobs, current, strict=True)) if a is not b]
            if not changed:
                break
            fresh = self._fetch_results([current[n] for n in changed], deadline, timeout, partial)
            for number, result in zip(changed, fresh, strict=True):
                results[number] = result
            jobs = current

        success = all(result is not None and result.success for result in results)
        managed = ManagedResults(self, self._backend_name(), success, results=results)
        managed._partial = partial
        with self._state_lock:
            self._managed_results = managed
        return managed

    def _fetch_results(
        self,
        jobs: list[ManagedJob],
        deadline: float | None,
        timeout: float | None,
        partial: bool,
        refresh: bool = False,
    ) -> list[Result | None]:
        """Fetch the jobs' results at once, all within ``deadline``."""
        clock = self._clock

        def fetch(mjob: ManagedJob) -> Result | None:
            left = None if deadline is None else max(0.0, deadline - clock.monotonic())
            try:
                return mjob.result(timeout=left, partial=partial, refresh=refresh)
            except JobTimeoutError:
                raise
            except Exception as err:  # a failing job never spoils the others
                logger.warning(
                    "Unable to get the result for experiments %d-%d: %s",
                    mjob.start_index,
                    mjob.end_index,
                    err,
                )
                return None

        workers = min(self._max_parallel_fetches, len(jobs))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="managedjob-fetch")
        try:
            futures: list[Future[Result | None]] = [pool.submit(fetch, mjob) for mjob in jobs]
            # Every fetch gives up at the deadline by itself; waiting for all of
            # them (not just the first to time out) keeps a job that finished
            # in time from being reported late because its thread started late.
            _, pending = wait_futures(futures, timeout=timeout)
            late = [
                mjob
                for mjob, future in zip(jobs, futures, strict=True)
                if future in pending or (future.done() and future.exception() is not None)
            ]
            if late:
                cause = next(
                    (f.exception() for f in futures if f.done() and f.exception() is not None),
                    None,
                )
                raise JobManagerTimeoutError(
                    f"Timeout while waiting for the results of job set {self._id}: the jobs "
                    f"for experiments "
                    f"{', '.join(f'{m.start_index}-{m.end_index}' for m in late)} "
                    f"did not finish within {timeout} s."
                ) from cause
            return [future.result() for future in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _backend_name(self) -> str:
        if self._target is not None:
            return self._target.name
        backend = self._backend
        if backend is None:
            return self._backend_name_hint or "unknown"
        try:
            return resolve_target(backend).name
        except Exception:
            return type(backend).__name__

    def _require_jobs(self) -> None:
        if not self._managed_jobs:
            raise JobManagerInvalidStateError(
                f"Job set {self._id!r} has no jobs: run() it or retrieve its jobs first."
            )
        self._wait_for_submissions()

    def error_messages(self) -> str | None:
        """Explain the failures of the set's jobs.

        Returns:
            One block per failed job (its experiments, index and id, then the
            message), or ``None`` if no job failed.
        """
        self._require_jobs()
        report: list[str] = []
        for number, mjob in enumerate(self._managed_jobs):
            message = mjob.error_message()
            if not message:
                continue
            job_id = mjob.job.job_id() if mjob.job is not None else None
            report.append(
                f"Experiments {mjob.start_index}-{mjob.end_index}, "
                f"job index={number}, job ID={job_id}:"
            )
            report.extend("  " + line for line in message.split("\n"))
        return "\n".join(report) if report else None

    def cancel(self) -> None:
        """Cancel every job of the set; jobs that cannot be cancelled are logged."""
        self._cancel_requested = True  # and resubmit nothing any more
        if not self._managed_jobs:
            self._require_jobs()
        for mjob in self._managed_jobs:
            mjob.cancel()

    def jobs(self) -> list[JobV1 | None]:
        """Return the jobs, in order; ``None`` where a submission failed."""
        self._require_jobs()
        return [mjob.job for mjob in self._managed_jobs]

    def _experiment_index(self) -> ExperimentIndex:
        with self._state_lock:
            if self._index is None:
                slices = [(mjob.start_index, mjob.end_index) for mjob in self._managed_jobs]
                self._index = ExperimentIndex(slices, self._experiment_names())
            return self._index

    def _experiment_names(self) -> list[str | None]:
        if self._experiments is not None:
            return [circuit.name for circuit in self._experiments]
        if self._names_hint is not None:
            return list(self._names_hint)
        names: list[str | None] = []
        for mjob in self._managed_jobs:
            result = mjob._raw_result
            if result is not None and len(result.results) == mjob.experiments_count:
                names.extend(experiment_name(exp) for exp in result.results)
            else:
                names.extend([None] * mjob.experiments_count)
        return names

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
        self._require_jobs()
        number, index = self._experiment_index().locate(experiment)
        return self._managed_jobs[number].job, index

    def qobjs(self) -> list[QasmQobj | None]:
        """Return a legacy-shaped Qobj view of each job (``None`` where unavailable)."""
        self._require_jobs()
        return [mjob.qobj() for mjob in self._managed_jobs]

    def name(self) -> str:
        """Return the name of the set."""
        return self._name

    def update_name(self, name: str) -> str:
        """Rename the set, and each job whose target keeps names.

        Args:
            name: The new name.

        Returns:
            The new name.

        Raises:
            InvalidInputError: If ``name`` is not a non-empty str.
        """
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"name must be a non-empty str, not {name!r}")
        self._require_jobs()
        for number, mjob in enumerate(self._managed_jobs):
            new_name = JOB_NAME_FORMAT.format(name, number)
            mjob.job_name = new_name
            self._push_to_job(mjob, "update_name", "rename", new_name)
        self._name = name
        if self._recorder is not None:
            self._recorder.update(name=name)
        return self._name

    def _push_to_job(
        self, mjob: ManagedJob, method: str, what: str, *args: Any, **kwargs: Any
    ) -> None:
        """Call ``method`` on the job if its target keeps such things; log a failure."""
        update = getattr(mjob.job, method, None)
        if not callable(update):
            return
        try:
            update(*args, **kwargs)
        except Exception as err:
            logger.warning(
                "Unable to %s job %s of job set %s: %s",
                what,
                mjob.job.job_id() if mjob.job is not None else None,
                self._id,
                err,
            )

    def job_set_id(self) -> str:
        """Return the id of the set, for :meth:`JobManager.retrieve_job_set`."""
        return self._id

    def managed_jobs(self) -> list[ManagedJob]:
        """Return the managed jobs, in order."""
        return self._managed_jobs

    def tags(self) -> list[str]:
        """Return the set's tags (the set's own id tag is not among them)."""
        return list(self._tags)

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
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise JobManagerInvalidStateError(
                "The tags cannot be updated since none of the parameters are specified."
            )
        tags = (
            validate_tags(replacement_tags, "replacement_tags")
            if replacement_tags is not None
            else list(self._tags)
        )
        if additional_tags is not None:
            tags.extend(
                tag for tag in validate_tags(additional_tags, "additional_tags") if tag not in tags
            )
        if removal_tags is not None:
            removed = set(validate_tags(removal_tags, "removal_tags"))
            tags = [tag for tag in tags if tag not in removed]
        tags = [tag for tag in dict.fromkeys(tags) if tag != self._id_long]
        if self._managed_jobs:
            self._wait_for_submissions()
        for mjob in self._managed_jobs:
            self._push_to_job(
                mjob, "update_tags", "update the tags of", replacement_tags=[*tags, self._id_long]
            )
        self._tags = tags
        if self._recorder is not None:
            self._recorder.update(tags=tags)
        return list(self._tags)
