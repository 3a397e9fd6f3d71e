"""The jobs of a scripted backend: bare JobV1 ones, and ones with the legacy extras."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
from qiskit.result import Result
from qiskit.result.models import ExperimentResult

from managedjob.exceptions import (
    InvalidInputError,
    JobTimeoutError,
)
from managedjob.testing._experiments import failed_experiment, fixed_experiment
from managedjob.testing._timed import FINAL_STATES, TimedRun

if TYPE_CHECKING:
    from managedjob.testing._backend import ScriptedBackend

__all__ = ["BareJob", "ScriptedJob", "is_final", "name_of", "tags_of"]


class BareJob(TimedRun, JobV1):
    """A scripted job with only the plain :class:`~qiskit.providers.JobV1` API.

    :meth:`ScriptedBackend.run` makes these when the backend is built with
    ``legacy_api=False``. They have no ``error_message()``, ``name()``,
    ``tags()`` or ``circuits()``, like most jobs of Qiskit 2.x providers, so a
    test can check that code under test does without them.
    :class:`ScriptedJob` adds those methods.

    Do not build jobs yourself; the backend does. A job's status follows the
    backend's clock: it is ``QUEUED`` for the first half of its run time,
    ``RUNNING`` for the second half, then ``DONE``, or ``ERROR`` if the
    backend scripted it to fail. :meth:`cancel` makes it ``CANCELLED``.

    Threading:
        All methods may be called from several threads at once. The circuits
        are simulated once, by the first call to :meth:`result`; other
        callers wait for that simulation.
    """

    def __init__(
        self,
        backend: ScriptedBackend,
        job_id: str,
        *,
        index: int,
        circuits: Sequence[QuantumCircuit],
        options: Mapping[str, Any],
        job_name: str | None,
        job_tags: Sequence[str],
        submitted_at: float,
        run_time: float,
        failure: str | None,
        job_failed: bool,
        failing_experiments: Collection[str],
        status_errors: int | None,
    ) -> None:
        super().__init__(backend, job_id)
        self._scripted = backend
        self._clock = backend.clock
        self._index = index
        self._circuits = list(circuits)
        self._options = dict(options)
        self._job_name = job_name
        self._job_tags = list(job_tags)
        self._submitted_at = submitted_at
        self._run_time = run_time
        self._failure = failure
        self._job_failed = job_failed
        self._failing_experiments = frozenset(failing_experiments)
        self._status_errors = status_errors
        self._status_calls = 0
        self._cancelled = False
        self._result: Result | None = None
        self._lock = threading.Lock()
        self._result_lock = threading.Lock()

    @property
    def status_calls(self) -> int:
        """How many times :meth:`status` was called, scripted errors included.

        A test can hold code to a polling budget with it, for example that
        waiting for a job of 10 s asks for its status a few times a second
        at most.
        """
        with self._lock:
            return self._status_calls

    def _status_at(self, now: float) -> JobStatus:
        return JobStatus[self._phase_at(now)]

    def _current_status(self) -> JobStatus:
        with self._lock:
            return self._status_at(self._clock.monotonic())

    def _is_final(self) -> bool:
        return self._current_status() in FINAL_STATES

    def submit(self) -> None:
        """Not supported: :meth:`ScriptedBackend.run` submits its jobs.

        Raises:
            NotImplementedError: Always.
        """
        raise NotImplementedError(
            f"job {self.job_id()} was submitted by {self._scripted.name}.run(); "
            "it cannot be submitted again"
        )

    def status(self) -> JobStatus:
        """Return the job's status at the clock's current time.

        It spends the backend's ``status_latency`` first.

        Raises:
            JobError: If the backend scripted status errors for this job and
                some are left.
        """
        latency = self._scripted.status_latency
        if latency:
            self._clock.sleep(latency)
        with self._lock:
            self._status_calls += 1
            calls = self._status_calls
            budget = self._status_errors
            if budget is None or calls <= budget:
                which = "(all of them)" if budget is None else f"{calls} of {budget}"
                raise JobError(
                    f"scripted status error {which} for job {self.job_id()} "
                    f"on backend {self._scripted.name!r}"
                )
            return self._status_at(self._clock.monotonic())

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[[str, JobStatus, JobV1], None] | None = None,
    ) -> None:
        """Poll :meth:`status` every ``wait`` seconds of the backend's clock until final.

        Unlike :meth:`JobV1.wait_for_final_state`, waiting goes through the
        backend's clock, so with a :class:`FakeClock` it takes no real time.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.
            wait: Seconds between two status queries.
            callback: Called as ``callback(job_id, status, job)`` after each
                query that leaves the job unfinished.

        Raises:
            JobTimeoutError: If the job is not final after ``timeout`` seconds.
            JobError: A scripted status error.
        """
        start = self._clock.monotonic()
        status = self.status()
        while status not in FINAL_STATES:
            elapsed = self._clock.monotonic() - start
            if timeout is not None and elapsed >= timeout:
                raise JobTimeoutError(
                    f"job {self.job_id()} was still {status.name} after {timeout} s"
                )
            if callback is not None:
                callback(self.job_id(), status, self)
            self._clock.sleep(wait)
            status = self.status()

    def result(self, timeout: float | None = None) -> Result:
        """Wait until the job is final, then return its result.

        Waiting goes through the backend's clock. Getting the result then
        spends the backend's ``result_latency``. The first call simulates the
        circuits; later calls return the same :class:`~qiskit.result.Result`.

        A failed job's result has ``success=False``, and so has each failed
        experiment's; when only some experiments failed, the others have their
        counts (a partial result). If the backend was built with
        ``failed_result="raise"``, a failed job raises instead.

        Args:
            timeout: Seconds to wait for the job at most; ``None`` waits for
                as long as it takes.

        Returns:
            The result, with this job's id and the backend's name.

        Raises:
            JobTimeoutError: If the job is not final after ``timeout`` seconds.
            JobError: If the job was cancelled, if it failed and the backend
                raises for failed jobs, or if its circuits could not be simulated.
        """
        self._wait(timeout)
        latency = self._scripted.result_latency
        if latency:
            self._clock.sleep(latency)
        status = self._current_status()
        if status is JobStatus.CANCELLED:
            raise JobError(f"job {self.job_id()} was cancelled; it has no result")
        if status is JobStatus.ERROR and self._scripted.failed_result == "raise":
            raise JobError(f"job {self.job_id()} failed: {self._failure}")
        with self._result_lock:
            if self._result is None:
                self._result = self._build_result()
            return self._result

    def _wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        while True:
            with self._lock:
                now = self._clock.monotonic()
                if self._status_at(now) in FINAL_STATES:
                    return
                left = self.finish_time - now
            if deadline is not None:
                time_left = deadline - now
                if time_left <= 0:
                    raise JobTimeoutError(
                        f"job {self.job_id()} on backend {self._scripted.name!r} did not "
                        f"finish within {timeout} s"
                    )
                left = min(left, time_left)
            self._clock.sleep(max(left, 0.0))

    def cancel(self) -> bool:
        """Cancel the job if it is not final yet.

        Returns:
            ``True`` if the job is now cancelled, ``False`` if it had already
            finished, failed or been cancelled.

        Raises:
            JobError: If the backend was built with ``cancellable=False``.
        """
        if not self._scripted.cancellable:
            raise JobError(
                f"job {self.job_id()} cannot be cancelled: backend "
                f"{self._scripted.name!r} does not support cancellation"
            )
        with self._lock:
            if self._status_at(self._clock.monotonic()) in FINAL_STATES:
                return False
            self._cancelled = True
            return True

    def _build_result(self) -> Result:
        shots = int(self._options["shots"])
        if self._job_failed:
            message = self._scripted.failure_message
            experiments = [failed_experiment(c, shots, message) for c in self._circuits]
        else:
            failed = self._failing_experiments
            message = self._scripted.failure_message
            produced = iter(
                self._run_experiments([c for c in self._circuits if c.name not in failed])
            )
            experiments = [
                failed_experiment(c, shots, message) if c.name in failed else next(produced)
                for c in self._circuits
            ]
        success = all(experiment.success for experiment in experiments)
        return Result(
            backend_name=self._scripted.name,
            backend_version=self._scripted.backend_version,
            job_id=self.job_id(),
            success=success,
            results=experiments,
            status="COMPLETED" if success else self._failure,
        )

    def _run_experiments(self, circuits: list[QuantumCircuit]) -> list[ExperimentResult]:
        if not circuits:
            return []
        shots = int(self._options["shots"])
        memory = bool(self._options["memory"])
        if not self._scripted.simulate:
            return [fixed_experiment(c, shots, memory) for c in circuits]
        run_options: dict[str, Any] = {"shots": shots, "memory": memory}
        seed = self._options["seed_simulator"]
        if seed is not None:
            run_options["seed_simulator"] = seed
        # A simulator per job: BasicSimulator keeps per-run state on itself.
        try:
            simulated = BasicSimulator().run(circuits, **run_options).result()
        except Exception as err:
            raise JobError(
                f"job {self.job_id()}: BasicSimulator could not run its circuits: {err}"
            ) from err
        return list(simulated.results)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.job_id()!r} #{self._index} on {self._scripted.name!r}>"
        )


class ScriptedJob(BareJob):
    """A scripted job with the legacy ``IBMQJob`` extras.

    Besides the plain :class:`~qiskit.providers.JobV1` API of
    :class:`BareJob`, it has ``error_message()``, ``name()``, ``tags()``,
    ``update_name()``, ``update_tags()`` and ``circuits()``, shaped like those
    of the legacy ``qiskit-ibmq-provider`` jobs. :meth:`ScriptedBackend.run`
    makes these unless the backend is built with ``legacy_api=False``.
    """

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it has not failed."""
        if self._current_status() is not JobStatus.ERROR:
            return None
        return self._failure

    def name(self) -> str | None:
        """Return the ``job_name`` given to ``run()``, if any."""
        with self._lock:
            return self._job_name

    def update_name(self, name: str) -> str:
        """Rename the job.

        Returns:
            The new name.
        """
        with self._lock:
            self._job_name = name
            return name

    def tags(self) -> list[str]:
        """Return the job's tags."""
        with self._lock:
            return list(self._job_tags)

    def update_tags(
        self,
        replacement_tags: Sequence[str] | None = None,
        additional_tags: Sequence[str] | None = None,
        removal_tags: Sequence[str] | None = None,
    ) -> list[str]:
        """Change the job's tags, as the legacy ``IBMQJob.update_tags`` did.

        ``replacement_tags``, when given, replace all tags and the other two
        arguments are ignored. Otherwise ``additional_tags`` are added and
        then ``removal_tags`` removed.

        Returns:
            The tags after the update.

        Raises:
            InvalidInputError: If no argument is given.
        """
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise InvalidInputError(
                f"nothing to update for the tags of job {self.job_id()}: give replacement_tags, "
                "additional_tags or removal_tags"
            )
        with self._lock:
            if replacement_tags is not None:
                tags = list(dict.fromkeys(replacement_tags))
            else:
                tags = list(dict.fromkeys([*self._job_tags, *(additional_tags or ())]))
                removed = set(removal_tags or ())
                tags = [tag for tag in tags if tag not in removed]
            self._job_tags = tags
            return list(tags)

    def circuits(self) -> list[QuantumCircuit]:
        """Return the circuits the job runs, as given to ``run()``."""
        return list(self._circuits)


def is_final(job: BareJob) -> bool:
    """Return whether the job is done, failed or cancelled at its clock's current time."""
    return job._is_final()


def name_of(job: BareJob) -> str | None:
    """Return the ``job_name`` the job was submitted with, even for a :class:`BareJob`."""
    with job._lock:
        return job._job_name


def tags_of(job: BareJob) -> list[str]:
    """Return the job's tags, even for a :class:`BareJob`."""
    with job._lock:
        return list(job._job_tags)
