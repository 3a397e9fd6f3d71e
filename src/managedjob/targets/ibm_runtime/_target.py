"""The adapter that runs each job of a set as one runtime Sampler job."""

from __future__ import annotations

import copy
import logging
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseSamplerV2
from qiskit.providers import JobV1

from managedjob._checks import check_positive_int
from managedjob._wait import SYSTEM_CLOCK, Clock
from managedjob.exceptions import InvalidInputError, UnsupportedRunOptionError
from managedjob.targets._base import TargetBase, TargetLimits
from managedjob.targets.ibm_runtime._client import RuntimeClient, client_for, service_of
from managedjob.targets.ibm_runtime._errors import is_session_closed, translate_submit_error
from managedjob.targets.ibm_runtime._job import IBMRuntimeJobV1, backend_name_of
from managedjob.targets.ibm_runtime._rate import creation_rate_for
from managedjob.targets.ibm_runtime._slices import SliceCreation
from managedjob.targets.ibm_runtime._tags import slice_tags
from managedjob.targets.sampler import SamplerTarget

__all__ = ["DEFAULT_MAX_EXECUTIONS", "DEFAULT_MAX_PAYLOAD_BYTES", "IBMRuntimeTarget"]

logger = logging.getLogger(__name__)

#: Most executions (circuits times shots) in one runtime Sampler job.
DEFAULT_MAX_EXECUTIONS = 10_000_000

#: Most bytes of job inputs: the 50 MB IBM documented for runtime jobs.
DEFAULT_MAX_PAYLOAD_BYTES = 50_000_000


#: The longest wait between two status reads of a runtime job: IBM Quantum
#: rate-limits reads too, and a job takes seconds at the least.
RUNTIME_POLL_SECONDS = 5.0

#: Run options of ``run()`` that are the runtime Sampler's own options, set per job.
SAMPLER_RUN_OPTIONS = ("max_execution_time",)


def _merge_options(
    base: Mapping[str, Any], tags: Sequence[str], per_job: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    options = copy.deepcopy(dict(base))
    environment = dict(options.get("environment") or {})
    environment["job_tags"] = list(tags)
    options["environment"] = environment
    options.update(per_job or {})
    return options


def _close_quietly(batch: Any) -> None:
    try:
        batch.close()
    except Exception as err:  # the batch is gone already, or the network is
        logger.debug("Could not close batch %r: %s", batch, err)


class IBMRuntimeTarget(TargetBase):
    """Runs each job as one runtime Sampler job, tagged so its set can be found again.

    Args:
        backend: An ``IBMBackend``, a ``Batch`` or a ``Session``, or a backend,
            batch or session of another registered :class:`RuntimeClient`
            (such as the fakes of :mod:`managedjob.testing`).
        mode: For a backend: ``"batch"`` (the default) runs the jobs in one
            ``Batch`` opened on the first submission; ``"job"`` submits each
            job on its own. Ignored for a batch or session.
        max_experiments: Most circuits per job; the backend's ``max_circuits``
            applies too when it has one.
        max_executions: Most circuits times shots per job.
        max_payload_bytes: Most bytes of job inputs per job.
        sampler_options: Options for each job's ``SamplerV2`` (a mapping as
            ``SamplerV2(options=...)`` takes, such as ``{"twirling":
            {"enable_gates": True}}``); the job tags are added to them.
        client: The runtime client that builds the samplers and batches; by
            default the registered client whose object ``backend`` is
            (:class:`QiskitRuntimeClient` for ``qiskit-ibm-runtime``).
        max_jobs_per_minute: Most job creations started in any minute, shared
            by every adapter of the same service; ``"default"`` is the
            client's ``max_jobs_per_minute`` (5, what IBM Quantum documents,
            for qiskit-ibm-runtime; none for clients that do not say), and
            ``None`` is no limit. The service answers 429 beyond its own
            limit, which is waited out in any case.
        clock: Where the creation limit reads the time and waits, and how
            jobs wait out a "too many requests" answer to a result download.

    Raises:
        InvalidInputError: If ``backend`` is not an object of a runtime client
            (or of ``client``), ``mode`` is unknown, a limit is not a positive
            integer, or the Sampler rejects ``sampler_options``.

    Threading:
        Each job gets a sampler of its own, so jobs are submitted in
        parallel without sharing options. Only building that sampler (and
        opening the batch) happens under a lock. qiskit-ibm-runtime 0.50
        deprecated ``SamplerV2``; the adapter silences that one warning while
        it builds its samplers, which changes the process-wide warning
        filters for that moment.
    """

    def __init__(
        self,
        backend: object,
        *,
        mode: Literal["batch", "job"] = "batch",
        max_experiments: int | None = None,
        max_executions: int | None = DEFAULT_MAX_EXECUTIONS,
        max_payload_bytes: int | None = DEFAULT_MAX_PAYLOAD_BYTES,
        sampler_options: Mapping[str, Any] | None = None,
        client: RuntimeClient | None = None,
        max_jobs_per_minute: int | Literal["default"] | None = "default",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        found = client_for(backend) if client is None else client
        if found is None or not found.is_mode(backend):
            raise InvalidInputError(
                f"{backend!r} is not an IBM Quantum runtime backend, batch or session"
            )
        if mode not in ("batch", "job"):
            raise InvalidInputError(f"mode must be 'batch' or 'job', not {mode!r}")
        for label, value in (
            ("max_experiments", max_experiments),
            ("max_executions", max_executions),
            ("max_payload_bytes", max_payload_bytes),
        ):
            if value is not None:
                check_positive_int(label, value)
        if sampler_options is not None and not isinstance(sampler_options, Mapping):
            raise InvalidInputError(f"sampler_options must be a mapping, not {sampler_options!r}")
        self._wrapped = backend
        self._client = found
        self._session: Any = backend if found.is_session(backend) else None
        if self._session is not None:
            self._backend: Any = getattr(backend, "_backend", None)
            self._mode = "session"
        else:
            self._backend = backend
            self._mode = mode
        self._service = service_of(backend)
        if max_jobs_per_minute == "default":
            # The client's documented limit, for its real service (not local mode).
            real = self._service is not None and found.is_service(self._service)
            per_minute = getattr(found, "max_jobs_per_minute", None) if real else None
        else:
            per_minute = max_jobs_per_minute
        self._clock = clock
        self._creation_rate = (
            None if per_minute is None else creation_rate_for(self._service, per_minute, clock)
        )
        self._name = (
            backend_name_of(self._backend) or self._session_backend_name() or "ibm_runtime"
        )
        self._max_experiments = max_experiments
        self._max_executions = max_executions
        self._max_payload_bytes = max_payload_bytes
        self._sampler_options = copy.deepcopy(dict(sampler_options or {}))
        self._lock = threading.Lock()
        self._batch: Any = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        try:
            checking = self._new_sampler(self._session if self._session else self._backend, [])
        except Exception as err:
            raise InvalidInputError(
                f"no runtime Sampler can be made for {backend!r} with sampler_options "
                f"{self._sampler_options!r}: {type(err).__name__}: {err}"
            ) from err
        # Checks run options and circuits; each job gets a sampler of its own.
        self._checker = SamplerTarget(checking)

    def _session_backend_name(self) -> str | None:
        backend = getattr(self._session, "backend", None)
        try:
            name = backend() if callable(backend) else backend
        except Exception:  # a session that cannot tell
            return None
        return name if isinstance(name, str) and name else None

    def _new_sampler(
        self, mode: Any, tags: Sequence[str], per_job: Mapping[str, Any] | None = None
    ) -> BaseSamplerV2:
        return self._client.sampler(mode, _merge_options(self._sampler_options, tags, per_job))

    def _create(
        self,
        circuits: Sequence[QuantumCircuit],
        job_name: str,
        tags: list[str],
        run_config: Mapping[str, Any],
    ) -> Any:
        """Make the job; in a new batch if the one this adapter opened was closed meanwhile."""
        per_job = {k: run_config[k] for k in SAMPLER_RUN_OPTIONS if k in run_config}
        run_config = {k: v for k, v in run_config.items() if k not in per_job}
        mode = self._mode_for_job()
        try:
            sampler = self._new_sampler(mode, tags, per_job)
            return SamplerTarget(sampler).submit(
                circuits, job_name=job_name, job_tags=tags, run_config=run_config
            )
        except InvalidInputError:
            raise
        except Exception as err:
            if mode is not self._batch or not is_session_closed(err):
                raise
            # The service closed the batch (it reached its end): open another.
            with self._lock:
                if self._batch is mode:
                    logger.warning(
                        "The batch of %s is closed (%s); job %s goes to a new batch.",
                        self.name,
                        err,
                        job_name,
                    )
                    self._batch = None
                    if self._finalizer is not None:
                        self._finalizer.detach()
                        self._finalizer = None
            sampler = self._new_sampler(self._mode_for_job(), tags, per_job)
            return SamplerTarget(sampler).submit(
                circuits, job_name=job_name, job_tags=tags, run_config=run_config
            )

    def _mode_for_job(self) -> Any:
        if self._session is not None:
            return self._session
        if self._mode == "job":
            return self._backend
        with self._lock:
            if self._batch is None:
                self._batch = self._client.batch(self._backend)
                self._finalizer = weakref.finalize(self, _close_quietly, self._batch)
            return self._batch

    # ---------------------------------------------------------------- protocol

    @property
    def name(self) -> str:
        """The backend's name."""
        return self._name

    @property
    def wrapped(self) -> object:
        """The backend, batch or session the user passed."""
        return self._wrapped

    @property
    def mode(self) -> str:
        """How jobs run: ``"batch"``, ``"job"``, or ``"session"`` for a given batch or session."""
        return self._mode

    @property
    def creation_limit(self) -> int | None:
        """Job creations started in any minute at most; ``None`` for no limit."""
        return None if self._creation_rate is None else self._creation_rate.per_minute

    @property
    def batch(self) -> Any:
        """The batch this adapter opened and has not closed yet, if any."""
        return self._batch

    @property
    def service(self) -> Any:
        """The runtime service the jobs go to."""
        return self._service

    @property
    def client(self) -> RuntimeClient:
        """The runtime client that builds the samplers and batches."""
        return self._client

    @property
    def supports_job_names(self) -> bool:
        """``True``: job names are kept in tags and read back from them."""
        return True

    @property
    def supports_job_tags(self) -> bool:
        """``True``: runtime jobs keep tags."""
        return True

    @property
    def sampler_options(self) -> dict[str, Any]:
        """A copy of the ``sampler_options`` every job's Sampler is given."""
        return copy.deepcopy(self._sampler_options)

    def limits(self) -> TargetLimits:
        """Return the circuit, execution and payload limits of one job."""
        candidates = [] if self._max_experiments is None else [self._max_experiments]
        max_circuits = getattr(self._backend, "max_circuits", None)
        if (
            isinstance(max_circuits, int)
            and not isinstance(max_circuits, bool)
            and max_circuits > 0
        ):
            candidates.append(max_circuits)
        return TargetLimits(
            max_experiments=min(candidates) if candidates else None,
            max_executions=self._max_executions,
            max_payload_bytes=self._max_payload_bytes,
            poll_interval=RUNTIME_POLL_SECONDS,
        )

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject run options the runtime Sampler cannot honour.

        ``shots``, ``memory`` and ``seed_simulator`` are accepted, as by
        :class:`~managedjob.targets.SamplerTarget`; ``seed_simulator`` only
        where circuits are simulated (local testing mode and the fakes): not
        where the client says the backend is a device. ``max_execution_time``
        (seconds, a positive int) becomes the Sampler option of that name for
        each job: the service stops a job past it (error code 1305).

        Raises:
            UnsupportedRunOptionError: Naming the first option that is not supported.
            InvalidInputError: If a value is not valid.
        """
        for key in SAMPLER_RUN_OPTIONS:
            value = run_config.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                raise InvalidInputError(f"{key} must be a positive int of seconds, not {value!r}")
        self._checker.check_run_config(
            {k: v for k, v in run_config.items() if k not in SAMPLER_RUN_OPTIONS}
        )
        if run_config.get("seed_simulator") is not None and self._client.runs_on_hardware(
            self._backend
        ):
            raise UnsupportedRunOptionError(
                f"run option 'seed_simulator' is not supported by {self.name!r}: it is a "
                "quantum device, not a simulator",
                option="seed_simulator",
            )

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Reject circuits a Sampler cannot run as one experiment each.

        Raises:
            InvalidInputError: See :meth:`SamplerTarget.check_circuits`.
        """
        self._checker.check_circuits(circuits)

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> IBMRuntimeJobV1:
        """Run the circuits as one runtime Sampler job, tagged for its job set.

        Args:
            circuits: The job's circuits (ISA circuits for a device).
            job_name: ``"{set name}_{index}_"``; the set name and index go in tags.
            job_tags: The set's tags, its long id tag included.
            run_config: ``shots``, ``memory``, ``seed_simulator``.
            start_index: Index of the first circuit in the set, when known; it
                goes in the slice tag.

        Returns:
            The job.

        Raises:
            IBMJobLimitError: The instance has too many pending jobs.
            IBMRuntimeQuotaError: The instance's monthly quota is used up.
            UnsupportedRunOptionError: See :meth:`check_run_config`.
            InvalidInputError: A circuit a Sampler cannot run, or a tag that is
                not a str.
        """
        self.check_run_config(run_config)
        for position, tag in enumerate(job_tags):
            if not isinstance(tag, str):
                raise InvalidInputError(f"job_tags[{position}] must be a str, not {tag!r}")
        own = slice_tags(
            job_name, len(circuits), start_index, bool(run_config.get("memory", False))
        )
        tags = list(dict.fromkeys([*job_tags, *own]))
        if self._creation_rate is not None:
            waited = self._creation_rate.acquire()
            if waited:
                logger.info(
                    "Job %s waited %.3g s for the limit of %d job creations a minute.",
                    job_name,
                    waited,
                    self._creation_rate.per_minute,
                )
        creation = SliceCreation(self._service, tags)
        try:
            job = self._create(circuits, job_name, tags, run_config)
        except InvalidInputError:
            raise
        except Exception as err:
            translated = translate_submit_error(err, job_name, len(circuits))
            if translated is not None:
                raise translated from err
            # Not refused in words: the answer may be what was lost, not the job.
            kept = creation.made_despite(err, job_name)
            if kept is None:
                raise
            wrapped = IBMRuntimeJobV1(kept, job_tags=tags, clock=self._clock)
        else:
            wrapped = IBMRuntimeJobV1._adopt(job, self._clock)
        wrapped.cancelled_duplicates = creation.cancel_duplicates(wrapped.job_id())
        return wrapped

    def oldest_pending_job(self) -> JobV1 | None:
        """Return the oldest unfinished job of the service's instance.

        Uses ``service.jobs(pending=True, descending=False, limit=1)``;
        ``None`` where the service cannot list jobs (local testing mode).
        """
        jobs = getattr(self._service, "jobs", None)
        if not callable(jobs):
            return None
        try:
            found = list(jobs(pending=True, descending=False, limit=1))
        except Exception as err:
            logger.debug("Could not list the pending jobs on %s: %s", self.name, err)
            return None
        return IBMRuntimeJobV1(found[0], clock=self._clock) if found else None

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Find a job by id with ``service.job(job_id)``, or ``None`` if it cannot."""
        lookup = getattr(self._service, "job", None)
        if not callable(lookup):
            return None
        try:
            found = lookup(job_id)
        except Exception as err:
            logger.debug("Service of %s cannot retrieve job %s: %s", self.name, job_id, err)
            return None
        return IBMRuntimeJobV1(found, clock=self._clock)

    def close(self) -> None:
        """Close the batch this adapter opened, if any; queued jobs still run.

        A later submission opens a new batch. A batch or session the user
        passed is never closed here.
        """
        with self._lock:
            batch, self._batch = self._batch, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if batch is not None:
            _close_quietly(batch)

    def __repr__(self) -> str:
        return f"<IBMRuntimeTarget {self.name!r} mode={self.mode!r}>"
