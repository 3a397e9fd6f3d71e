"""The jobs of the fake IBM Quantum Runtime service, shaped like RuntimeJobV2."""

from __future__ import annotations

import copy
import io
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from qiskit import qpy
from qiskit.exceptions import QiskitError
from qiskit.primitives import BackendSamplerV2, PrimitiveResult
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError

from managedjob.testing._runtime import RUNTIME_FINAL, runtime_exception
from managedjob.testing._timed import TimedRun

if TYPE_CHECKING:
    from managedjob.testing._runtime import FakeRuntimeBackend
    from managedjob.testing._runtime_service import FakeRuntimeService

__all__ = ["FakeRuntimeJob", "status_at"]


# Creation dates are this moment plus the clock's time at submission.
_FAKE_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


class FakeRuntimeJob(TimedRun, BasePrimitiveJob):
    """A job of a :class:`FakeRuntimeService`, shaped like ``qiskit_ibm_runtime.RuntimeJobV2``.

    Its :meth:`status` is a runtime status word that follows the service's
    clock: ``"QUEUED"`` for the first half of its run time, ``"RUNNING"`` for
    the second, then ``"DONE"``, or ``"ERROR"`` if the service scripted it to
    fail; ``"CANCELLED"`` once cancelled. :meth:`result` waits through the
    clock and returns a real :class:`~qiskit.primitives.PrimitiveResult`,
    sampled by ``BackendSamplerV2`` on ``BasicSimulator`` (with the
    sampler's ``seed_simulator``). :attr:`inputs` gives the PUBs back as the
    service does: ``[circuit, parameter values, shots]`` lists whose circuits
    went through QPY.

    Jobs are made by the service, never by hand.

    Threading:
        All methods may be called from several threads at once; the PUBs
        are sampled once, by the first call to :meth:`result`.
    """

    def __init__(
        self,
        service: FakeRuntimeService,
        job_id: str,
        *,
        index: int,
        backend: FakeRuntimeBackend,
        pubs: Sequence[SamplerPub],
        tags: Sequence[str],
        seed: int | None,
        other_options: Mapping[str, Any],
        session_id: str | None,
        submitted_at: float,
        run_time: float,
        failure: str | None,
    ) -> None:
        super().__init__(job_id=job_id)
        self._service = service
        self._index = index
        self._backend = backend
        self._pubs = list(pubs)
        self._tags = list(tags)
        self._seed = seed
        self._other_options = dict(other_options)
        self._session_id = session_id
        self._submitted_at = submitted_at
        self._run_time = run_time
        self._failure = failure
        self._cancelled = False
        self._result: PrimitiveResult | None = None
        self._lock = threading.Lock()
        self._result_lock = threading.Lock()

    @property
    def creation_date(self) -> datetime:
        """When the job was created: a fixed date plus the clock's time at submission."""
        return _FAKE_EPOCH + timedelta(seconds=self._submitted_at)

    @property
    def session_id(self) -> str | None:
        """The id of the session or batch the job ran in, if any."""
        return self._session_id

    @property
    def primitive_id(self) -> str:
        """``"sampler"``."""
        return "sampler"

    @property
    def tags(self) -> list[str]:
        """The job's tags."""
        with self._lock:
            return list(self._tags)

    def update_tags(self, new_tags: Sequence[str]) -> list[str]:
        """Replace the job's tags, as ``RuntimeJobV2.update_tags`` does.

        Returns:
            The new tags.

        Raises:
            ValueError: If ``new_tags`` is not a list of str.
        """
        if isinstance(new_tags, str) or not all(isinstance(tag, str) for tag in new_tags):
            raise ValueError(f"job_tags needs to be a list of strings, not {new_tags!r}")
        with self._lock:
            self._tags = list(dict.fromkeys(new_tags))
            return list(self._tags)

    @property
    def inputs(self) -> dict[str, Any]:
        """The job's inputs as the service gives them back: PUBs as lists, circuits via QPY."""
        buffer = io.BytesIO()
        qpy.dump([pub.circuit for pub in self._pubs], buffer)
        buffer.seek(0)
        circuits = qpy.load(buffer)
        pubs = [
            [circuit, pub.parameter_values.as_array(pub.circuit.parameters), pub.shots]
            for circuit, pub in zip(circuits, self._pubs, strict=True)
        ]
        options: dict[str, Any] = {"simulator": {"seed_simulator": self._seed}}
        options.update(copy.deepcopy(self._other_options))
        return {"pubs": pubs, "options": options, "version": 2, "support_qiskit": True}

    def backend(self) -> FakeRuntimeBackend:
        """Return the backend the job runs on."""
        return self._backend

    def _status_at(self, now: float) -> str:
        return self._phase_at(now)

    def status(self) -> str:
        """Return the job's status word at the clock's current time."""
        with self._lock:
            return self._status_at(self._service.clock.monotonic())

    def done(self) -> bool:
        """Return whether the job ran successfully."""
        return self.status() == "DONE"

    def running(self) -> bool:
        """Return whether the job is running."""
        return self.status() == "RUNNING"

    def cancelled(self) -> bool:
        """Return whether the job was cancelled."""
        return self.status() == "CANCELLED"

    def errored(self) -> bool:
        """Return whether the job failed."""
        return self.status() == "ERROR"

    def in_final_state(self) -> bool:
        """Return whether the job is done, failed or cancelled."""
        return self.status() in RUNTIME_FINAL

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it has not failed."""
        if self.status() != "ERROR":
            return None
        return f"Job {self.job_id()} has failed:\n{self._failure}"

    def cancel(self) -> None:
        """Cancel the job.

        Raises:
            QiskitError: If the job is already final
                (``RuntimeInvalidStateError`` when qiskit-ibm-runtime is installed).
        """
        with self._lock:
            status = self._status_at(self._service.clock.monotonic())
            if status not in RUNTIME_FINAL:
                self._cancelled = True
                return
        error = runtime_exception("RuntimeInvalidStateError", QiskitError)
        raise error(f"Job cannot be cancelled: job {self.job_id()} is {status}")

    def wait_for_final_state(
        self, timeout: float | None = None, poll_interval: float | None = None
    ) -> None:
        """Wait through the service's clock until the job is final.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
            poll_interval: Ignored: the fake knows when the job ends.

        Raises:
            JobTimeoutError: If the job is not final within ``timeout``
                (``RuntimeJobTimeoutError`` when qiskit-ibm-runtime is installed).
        """
        clock = self._service.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        while True:
            with self._lock:
                now = clock.monotonic()
                if self._status_at(now) in RUNTIME_FINAL:
                    return
                left = self.finish_time - now
            if deadline is not None:
                if deadline - now <= 0:
                    error = runtime_exception("RuntimeJobTimeoutError", QiskitJobTimeoutError)
                    raise error(
                        f"Timed out waiting for job {self.job_id()} to complete after "
                        f"{timeout} secs."
                    )
                left = min(left, deadline - now)
            clock.sleep(max(left, 0.0))

    def result(self, timeout: float | None = None) -> PrimitiveResult:
        """Wait until the job is final, then return its ``PrimitiveResult``.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Returns:
            One pub result per PUB, with a ``BitArray`` per classical register.

        Raises:
            JobError: If the job failed (``RuntimeJobFailureError`` when
                qiskit-ibm-runtime is installed).
            QiskitError: If the job was cancelled (``RuntimeInvalidStateError``).
            JobTimeoutError: If the job is not final within ``timeout``.
        """
        self.wait_for_final_state(timeout)
        status = self.status()
        if status == "ERROR":
            error = runtime_exception("RuntimeJobFailureError", JobError)
            raise error(f"Unable to retrieve job result. {self._failure}")
        if status == "CANCELLED":
            cancelled = runtime_exception("RuntimeInvalidStateError", QiskitError)
            raise cancelled(
                f"Unable to retrieve result for job {self.job_id()}. Job was cancelled."
            )
        with self._result_lock:
            if self._result is None:
                options: dict[str, Any] = {}
                if self._seed is not None:
                    options["seed_simulator"] = self._seed
                sampler = BackendSamplerV2(backend=BasicSimulator(), options=options)
                self._result = sampler.run(self._pubs).result()
            return self._result

    def __repr__(self) -> str:
        return f"<FakeRuntimeJob {self.job_id()!r} #{self._index} on {self._backend.name!r}>"


def status_at(job: FakeRuntimeJob, now: float) -> str:
    """Return the job's status word at the clock time ``now``, without taking its lock."""
    return job._status_at(now)
