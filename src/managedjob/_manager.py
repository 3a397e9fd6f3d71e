"""The job manager: splits experiments into jobs and keeps the job sets."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2

from managedjob._checks import (
    check_positive_int,
    drop_unset_options,
    hide_account_details,
    warn_job_share_level,
)
from managedjob._estimate import RunEstimate, apply_usage_budget, estimate_run, split_circuits
from managedjob._job_set import (
    DEFAULT_MAX_PARALLEL_FETCHES,
    DEFAULT_MAX_PARALLEL_SUBMITS,
    ManagedJobSet,
    ResubmitPolicy,
    RunPlan,
    plan_pub_run,
    validate_tags,
)
from managedjob._journal import Journal, JournalError, JournalPolicy
from managedjob._limits import ADAPTIVE_MAXIMUM
from managedjob._managed_job import CheckedRun
from managedjob._manager_exit import register_for_exit
from managedjob._manager_sets import (
    JobSetFilter,
    check_manager_settings,
    flush_journal,
    followed_jobs,
    full_job_set_id,
    rebuild_job_set,
    select_job_sets,
)
from managedjob._report import format_manager_report
from managedjob._retry import RetryPolicy
from managedjob._wait import Clock, PollPolicy
from managedjob.exceptions import (
    InvalidInputError,
    JobManagerInvalidStateError,
)
from managedjob.targets import Target, resolve_target

__all__ = ["IBMQJobManager", "JobManager"]

logger = logging.getLogger(__name__)


def _check_experiments(experiments: object) -> list[QuantumCircuit]:
    if isinstance(experiments, QuantumCircuit):
        return [experiments]
    if isinstance(experiments, (str, bytes)) or not isinstance(experiments, Sequence):
        raise InvalidInputError(
            f"experiments must be a QuantumCircuit or a list of them, not "
            f"{type(experiments).__name__}"
        )
    circuits = list(experiments)
    if not circuits:
        raise InvalidInputError("experiments is empty: there is nothing to run")
    for index, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise InvalidInputError(
                f"experiments[{index}] is a {type(circuit).__name__}, not a QuantumCircuit: "
                f"{circuit!r:.80}"
            )
    return circuits


def _check_circuit_backend(backend: Any) -> None:
    """Refuse an Estimator given to run circuits: it has ``run()``, but takes PUBs."""
    if isinstance(backend, BaseEstimatorV2):
        raise InvalidInputError(
            f"backend is an Estimator primitive ({type(backend).__name__}), which runs "
            f"PUBs, not circuits: use JobManager.run_pubs(pubs, estimator)"
        )


class JobManager:
    """Runs many experiments as a set of jobs and hands the results back as one.

    It splits the experiments into jobs that the target accepts, submits
    them in the background, and returns a :class:`ManagedJobSet` to follow and
    collect them::

        from managedjob import JobManager

        with JobManager() as manager:
            job_set = manager.run(circuits, backend=backend, name="sweep")
            counts = job_set.results().get_counts(5)

    ``IBMQJobManager`` is the same class, under its legacy name.

    Args:
        executor: Runs the submissions. By default the manager makes a thread
            pool of its own and shuts it down in :meth:`close`.
        max_parallel_submits: How many jobs of a set may be submitted at once;
            1 submits one after another as the legacy manager did. ``None``
            (the default) adapts to the target: see
            :class:`~managedjob.ManagedJobSet`.
        max_parallel_fetches: How many results of a set are fetched at once;
            ``None`` (the default) adapts as well.
        retry_policy: How failed submissions are retried.
        poll_policy: How often jobs without a future are polled.
        clock: Where time comes from; tests pass
            :class:`managedjob.testing.FakeClock`.
        journal: Where job sets are recorded so that they survive the
            process: ``True`` (the default) for the file named by
            ``MANAGEDJOB_JOURNAL``, else ``journal.sqlite3`` in the user data
            directory; a path for that file; a :class:`~managedjob.Journal`;
            or ``False`` for no journal. Opened on first use.
        journal_required: What happens when the journal cannot be opened or
            written: ``True`` raises :class:`~managedjob.JournalError` (before
            anything is submitted); ``False`` warns with a
            :class:`~managedjob.JournalWarning` and runs on without it.

    Raises:
        InvalidInputError: If a setting is not valid.
    """

    #: The class of the job sets the manager makes; a subclass may plug in its own.
    job_set_class: type[ManagedJobSet] = ManagedJobSet

    def __init__(
        self,
        executor: Executor | None = None,
        *,
        max_parallel_submits: int | None = DEFAULT_MAX_PARALLEL_SUBMITS,
        max_parallel_fetches: int | None = DEFAULT_MAX_PARALLEL_FETCHES,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        clock: Clock | None = None,
        journal: bool | str | os.PathLike[str] | Journal = True,
        journal_required: bool = True,
    ) -> None:
        check_manager_settings(
            executor, max_parallel_submits, max_parallel_fetches, journal, journal_required
        )
        self._owns_executor = executor is None
        workers = ADAPTIVE_MAXIMUM if max_parallel_submits is None else max_parallel_submits
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=max(workers, 4), thread_name_prefix="managedjob-submit"
        )
        self._settings: dict[str, Any] = {
            "max_parallel_submits": max_parallel_submits,
            "max_parallel_fetches": max_parallel_fetches,
            "retry_policy": retry_policy,
            "poll_policy": poll_policy,
            "clock": clock,
        }
        self._journal_setting = journal
        self._journal_required = journal_required
        self._journal: Journal | None = None
        self._journal_resolved = False
        self._journal_lock = threading.Lock()
        self._job_sets: list[ManagedJobSet] = []
        self._lock = threading.Lock()
        self._closed = False
        register_for_exit(self)  # finishes submissions and in-process jobs at exit

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Shut down the executor the manager made (not one it was given).

        Submissions already started finish first; then the thread pools its
        job sets made for resubmissions are shut down, and what the journal
        has queued is written. A journal the manager opened itself is closed
        too, which folds SQLite's ``-wal`` file back into the journal file: the
        file alone is then complete (it opens again on next use).
        """
        self._closed = True
        if self._owns_executor:
            self._executor.shutdown(wait=True)
        with self._lock:
            job_sets = list(self._job_sets)
        for job_set in job_sets:
            job_set._close()
        with self._journal_lock:
            journal = self._journal
        if journal is not None:
            journal.flush()
            if journal is not self._journal_setting:  # opened here, not given
                journal.close()

    @property
    def journal(self) -> Journal | None:
        """The journal job sets are recorded in, opened on first use; ``None`` if off.

        Raises:
            JournalError: If it cannot be opened and ``journal_required`` is true.
        """
        with self._journal_lock:
            if not self._journal_resolved:
                self._journal = self._open_journal()
                self._journal_resolved = True
            return self._journal

    def _open_journal(self) -> Journal | None:
        setting = self._journal_setting
        if setting is False:
            return None
        if isinstance(setting, Journal):
            return setting
        try:
            return Journal(None if setting is True else setting)
        except JournalError as err:
            JournalPolicy(self._journal_required).failed(err, "Running without a journal")
            return None

    def __enter__(self) -> JobManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ run

    def _new_job_set(self, name: str | None = None, short_id: str | None = None) -> ManagedJobSet:
        job_set = self.job_set_class(
            name=name,
            short_id=short_id,
            journal=self.journal,
            journal_required=self._journal_required,
            **self._settings,
        )
        job_set._executor = self._executor  # where retries of a retrieved set go
        return job_set

    def run(
        self,
        experiments: QuantumCircuit | Sequence[QuantumCircuit],
        backend: Any,
        name: str | None = None,
        max_experiments_per_job: int | None = None,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        *,
        max_resubmits: int = 0,
        max_usage_seconds: float | None = None,
        **run_config: Any,
    ) -> ManagedJobSet:
        """Run experiments on a target as a set of jobs.

        Every value is checked before anything is submitted. With a journal
        (the default), the set and its circuits are journaled before they
        are submitted, then each job's id, then each result as soon as the
        job finishes.

        Args:
            experiments: A circuit or a list of circuits.
            backend: What to run on: a ``BackendV2`` (or anything with
                ``run()``), a Sampler primitive, or a
                :class:`~managedjob.targets.Target`.
            name: Name of the set; each job is named ``"{name}_{index}_"``.
                The current date and time if not given.
            max_experiments_per_job: Most experiments in one job. The
                target's own limit applies when it is smaller.
            job_share_level: Ignored, with a :class:`DeprecationWarning`.
            job_tags: Tags for the set and each of its jobs.
            max_resubmits: How many times a job that fails (ends in
                ``ERROR``, or cannot be submitted) is resubmitted by itself,
                as soon as the failure is seen; 0 (the default) never.
                :meth:`ManagedJobSet.results` waits for the resubmissions.
            max_usage_seconds: On IBM Quantum, stop submitting jobs once those
                submitted (their reported usage, else their estimate; see
                :meth:`plan`) and the next would pass it. The others are not
                submitted (a ``UsageBudgetError`` each); ``retry_failed()``
                submits them.
            **run_config: Run options for every job, such as ``shots``,
                ``memory`` or ``seed_simulator``. An option the target cannot
                honour is an error.

        Returns:
            The job set; its jobs are being submitted in the background.

        Raises:
            InvalidInputError: If a value is not valid, naming it.
            IBMQJobManagerInvalidStateError: If the manager is closed.
            JournalError: If the journal cannot be written and
                ``journal_required`` is true (nothing is submitted then).
        """
        if self._closed:
            raise JobManagerInvalidStateError("this JobManager is closed")
        run_config = drop_unset_options(run_config)
        warn_job_share_level(job_share_level)
        _check_circuit_backend(backend)
        circuits = _check_experiments(experiments)
        if name is not None and not isinstance(name, str):
            raise InvalidInputError(f"name must be a str, not {name!r}")
        if job_tags is not None:
            validate_tags(job_tags)
        if max_experiments_per_job is not None:
            check_positive_int("max_experiments_per_job", max_experiments_per_job)
        resubmit = ResubmitPolicy(max_resubmits)
        # The target is resolved and every option checked here, once: the set
        # and its jobs are handed the plan and check nothing again.
        target = resolve_target(backend)
        experiment_list = self._split_experiments(
            circuits, target, max_experiments_per_job, run_config=run_config
        )
        plan = RunPlan(
            CheckedRun.check(backend, run_config, target),
            tuple(tuple(part) for part in experiment_list),
            tuple(job_tags or ()),
            resubmit,
        )
        job_set = self._new_job_set(name=name)
        apply_usage_budget(job_set, plan, max_usage_seconds, run_config)
        if type(job_set).run is not ManagedJobSet.run:
            # A subclass that overrides run() (as in-house job managers of the
            # legacy API did) is called the legacy way; it checks again.
            job_set.run(
                [list(part) for part in plan.slices],
                backend=backend,
                executor=self._executor,
                job_tags=list(job_tags) if job_tags is not None else None,
                max_resubmits=max_resubmits,
                **run_config,
            )
        else:
            job_set._run_plan(plan, self._executor)
        with self._lock:
            self._job_sets.append(job_set)
        return job_set

    def run_pubs(
        self,
        pubs: Sequence[Any],
        sampler_or_estimator: Any,
        max_pubs_per_job: int | None = None,
        max_executions_per_job: int | None = None,
        name: str | None = None,
        job_tags: list[str] | None = None,
        max_resubmits: int = 0,
        shots: int | None = None,
        precision: float | None = None,
        **options: Any,
    ) -> ManagedJobSet:
        """Run Sampler or Estimator PUBs as a set of jobs; merge their results back as one.

        Jobs are packed greedily (see the "PUB workloads" page of the docs);
        a PUB too big for a job is cut by shots or along its leading axis and
        joined back by :meth:`ManagedJobSet.primitive_result`. Everything is
        checked before anything is submitted; the journal records the set as
        for :meth:`run`.

        Args:
            pubs: Sampler PUBs (circuits, ``(circuit[, parameter_values[, shots]])``,
                ``SamplerPub``) or Estimator PUBs (``(circuit, observables[,
                parameter_values[, precision]])``, ``EstimatorPub``), in a list.
            sampler_or_estimator: A ``BaseSamplerV2`` or ``BaseEstimatorV2``
                (local, Aer, or qiskit-ibm-runtime in any mode).
            max_pubs_per_job: Most PUBs in one job; ``None`` for no limit.
            max_executions_per_job: Most executions in one job; ``None`` for
                the primitive's own limit, if any.
            name: Name of the set; each job is named ``"{name}_{index}_"``.
            job_tags: Tags for the set and each of its jobs (runtime jobs keep them).
            max_resubmits: How many times a failed job is resubmitted by itself.
            shots: Shots of the Sampler PUBs that set none.
            precision: Precision of the Estimator PUBs that set none.
            **options: Other keyword arguments of the primitive's ``run()``,
                and ``max_usage_seconds`` (as for :meth:`run`).

        Returns:
            The job set; :meth:`ManagedJobSet.primitive_result` gives its result.

        Raises:
            InvalidInputError: Naming the bad value (a PUB by its index).
            UnsupportedRunOptionError: Naming an option ``run()`` does not take.
            IBMQJobManagerInvalidStateError: If the manager is closed.
            JournalError: If the journal cannot be written and
                ``journal_required`` is true (nothing is submitted then).
        """
        if self._closed:
            raise JobManagerInvalidStateError("this JobManager is closed")
        max_usage_seconds = options.pop("max_usage_seconds", None)
        plan, _ = plan_pub_run(
            pubs,
            sampler_or_estimator,
            max_pubs_per_job=max_pubs_per_job,
            max_executions_per_job=max_executions_per_job,
            job_tags=job_tags,
            max_resubmits=max_resubmits,
            shots=shots,
            precision=precision,
            options=options,
        )
        job_set = self._new_job_set(name=name)
        apply_usage_budget(job_set, plan, max_usage_seconds, {"shots": shots})
        job_set._run_plan(plan, self._executor)
        with self._lock:
            self._job_sets.append(job_set)
        return job_set

    def plan(
        self,
        circuits_or_pubs: Any,
        backend: Any,
        max_experiments_per_job: int | None = None,
        **options: Any,
    ) -> RunEstimate:
        """Return the jobs a run would make, and what they would cost; submit nothing.

        Checks and splits as :meth:`run` (circuits) or :meth:`run_pubs`
        (PUBs, or an Estimator) would, with the same options
        (``max_pubs_per_job``, ``shots``, ... for PUBs); nothing is journaled.

        Returns:
            Per job: its circuits or PUB parts, executions, payload bytes and,
            on IBM Quantum, the estimated QPU seconds; and their totals.

        Raises:
            InvalidInputError: As :meth:`run` or :meth:`run_pubs` would.
        """
        options = drop_unset_options(options)
        return estimate_run(self, circuits_or_pubs, backend, max_experiments_per_job, options)

    def _split_experiments(
        self,
        experiments: list[QuantumCircuit],
        target: Target,
        max_experiments_per_job: int | None = None,
        *,
        run_config: Mapping[str, Any] | None = None,
    ) -> list[list[QuantumCircuit]]:
        """Cut the experiments into the circuits of each job (see :func:`split_circuits`)."""
        return split_circuits(experiments, target, max_experiments_per_job, run_config)

    # ------------------------------------------------------------------ sets

    def report(self, detailed: bool = True, *, show_account_details: bool = False) -> str:
        """Return a report on the jobs of every set this manager ran or retrieved.

        Args:
            detailed: Add one block per job to the summary.
            show_account_details: Show IBM Cloud resource names (instance
                CRNs) that the service put in error messages; by default
                they read ``crn:v1:<hidden>``.

        Returns:
            The report.
        """
        with self._lock:
            job_sets = list(self._job_sets)
        rows = [(s.name(), s.job_set_id(), s.statuses(), s.managed_jobs()) for s in job_sets]
        report = format_manager_report(rows, detailed)
        return report if show_account_details else hide_account_details(report)

    def job_sets(
        self,
        name: str | None = None,
        *,
        tags: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        from_journal: bool = False,
    ) -> list[ManagedJobSet]:
        """Return the job sets this manager ran or retrieved; with ``from_journal``, every set.

        By default, as in the legacy API, only the sets of this manager: a
        script run twice does not see the first run's sets. With
        ``from_journal=True`` the sets recorded in the journal by any process
        come too; a set found only there is rebuilt from it without
        contacting any target: journaled results are there, other jobs are
        not attached (status ``None``); :meth:`retrieve_job_set` with a
        provider follows them.

        Args:
            name: Only the sets of this name.
            tags: Only the sets that have every one of these tags.
            since: Only the sets run at or after this time.
            until: Only the sets run at or before this time. Naive datetimes
                are local time.
            from_journal: Add the sets of the journal, run by this process or
                another.

        Returns:
            The job sets, oldest first.

        Raises:
            JournalError: If the journal cannot be read and ``journal_required``
                is true.
        """
        with self._lock:
            mine = list(self._job_sets)
        journal = self.journal if from_journal else None
        return select_job_sets(
            mine,
            JobSetFilter(name, tuple(tags or ()), since, until),
            journal,
            self._journal_required,
            lambda job_set_id: self._new_job_set(short_id=job_set_id),
        )

    def retrieve_job_set(
        self, job_set_id: str, provider: Any = None, refresh: bool = False
    ) -> ManagedJobSet:
        """Return a job set run earlier, by its id, in this process or another.

        A set this manager knows is returned as it is, unless ``refresh`` is
        true. A set in the journal is rebuilt from it: journaled results are
        read from the journal without contacting the target; jobs without
        one are re-attached through ``provider`` (its ``retrieve_job``) when
        it still knows them; the others are lost, and report status ``None``
        with an error message saying why (:meth:`ManagedJobSet.retry_failed`
        reruns them). Otherwise the set's jobs are looked up on ``provider``
        by the set's id tag (see :meth:`ManagedJobSet.retrieve_jobs`).

        Args:
            job_set_id: The id, from :meth:`ManagedJobSet.job_set_id`, or
                enough of its start to name one set (as the command line
                shows it).
            provider: Where the set's jobs were submitted: a backend, or a
                provider that finds jobs by id or by tag. May be ``None`` for
                a journaled set; unfinished jobs are then not attached. A
                provider that can run circuits is where
                :meth:`ManagedJobSet.retry_failed` runs by default.
            refresh: Look a known set's jobs up again. Jobs this process
                follows (submitted, being submitted, or failed to submit)
                are kept as they are; if every job is, the known set is
                returned. Otherwise the set is rebuilt, after the journal's
                queued writes are written, and its jobs re-attached through
                ``provider`` or, if none is given, the backend the set ran
                on; only a job neither knows is lost.

        Returns:
            The job set.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set cannot be found.
            InvalidInputError: If ``job_set_id`` is the start of several ids.
            IBMQJobManagerInvalidStateError: If jobs are found but do not make
                a whole set.
            JournalError: If the journal cannot be read and
                ``journal_required`` is true.
        """
        if not isinstance(job_set_id, str) or not job_set_id:
            raise InvalidInputError(f"job_set_id must be a non-empty str, not {job_set_id!r}")
        with self._lock:
            ids = [s.job_set_id() for s in self._job_sets]
        job_set_id = full_job_set_id(job_set_id, ids, self.journal, self._journal_required)
        with self._lock:
            known = next((s for s in self._job_sets if s.job_set_id() == job_set_id), None)
        if known is not None and not refresh:
            return known
        followed = followed_jobs(known) if known is not None else None
        if known is not None and provider is None:  # look up through where the set ran
            provider = known._state.backend
        journal = self.journal
        flush_journal(journal, self._journal_required)  # a rebuild reads every write
        # A refresh replaces the known set only once the new one is built: a
        # rebuild that fails leaves the manager with the set it had.
        job_set = rebuild_job_set(
            job_set_id,
            lambda: self._new_job_set(short_id=job_set_id),
            journal,
            self._journal_required,
            provider,
            refresh,
            followed,
        )
        with self._lock:
            self._job_sets[:] = [s for s in self._job_sets if s.job_set_id() != job_set_id]
            self._job_sets.append(job_set)
        return job_set


IBMQJobManager = JobManager
