"""Target adapter for IBM Quantum Runtime: ``IBMBackend``, ``Batch`` and ``Session``.

IBM hardware no longer runs ``backend.run()``; jobs go through the runtime
Sampler primitive. :class:`IBMRuntimeTarget` runs each job of a set as one
runtime ``SamplerV2`` job (one PUB per circuit) and reuses
:class:`~managedjob.targets.SamplerTarget` for the checks, the shots and the
conversion of results, so a job is an :class:`IBMRuntimeJobV1`: a
:class:`~managedjob.targets.PrimitiveJobV1` whose ``result()`` is a legacy
:class:`qiskit.result.Result`.

What it wraps:

* an ``IBMBackend``: by default the adapter opens one ``Batch`` for the job
  set on the first submission (``mode="batch"``); ``mode="job"`` submits
  each job on its own. The batch is closed by :meth:`IBMRuntimeTarget.close`
  (also on leaving a ``with`` block), or when the adapter is garbage
  collected; closing lets queued jobs finish, and a later submission opens
  a new batch;
* a ``Batch`` or a ``Session`` the user opened: jobs run in it, and it is
  never closed by the adapter;
* in local testing mode, ``Batch(backend=FakeManilaV2())`` and
  ``Session(backend=...)`` of ``qiskit_ibm_runtime.fake_provider`` backends;
* the fakes of :mod:`managedjob.testing` (``FakeRuntimeBackend``,
  ``FakeRuntimeSession``, ``FakeRuntimeBatch``), which submit to a scripted
  ``FakeRuntimeService`` instead of the network.

``qiskit-ibm-runtime`` is never imported by this module: an object can only
be one of its classes when the user has imported it already.

Tags:
    Runtime jobs have no names, so everything a job set needs to be rebuilt
    from the service alone goes in the job's tags
    (``options.environment.job_tags``, set on a sampler made for that one job):

    * the tags given to :meth:`IBMRuntimeTarget.submit`: the user's tags and
      the set's long id tag;
    * ``managedjob:name:<set name>``, from the job name ``"{set name}_{index}_"``
      (names longer than 100 characters are cut to 100);
    * ``managedjob:slice:<index>:<start>-<end>`` when the slice's first
      experiment index is known, else ``managedjob:slice:<index>:<count>``;
    * ``managedjob:memory`` when the job keeps each shot's outcome.

    The client checks only that tags are strings; the service rejects jobs
    with too many tags or too long ones (error codes 1204 and 1205). The
    adapter adds at most three tags, of letters, digits, ``:`` and ``-``
    besides the set's name.

Errors:
    The service refuses a job when the instance has too many pending jobs
    (error code 3458, "You have reached the limit of N pending jobs"): that
    becomes :class:`IBMJobLimitError`, a
    :class:`~managedjob.exceptions.JobLimitError`, so the managed job waits
    for the oldest pending job (:meth:`IBMRuntimeTarget.oldest_pending_job`)
    and tries again. When the instance's monthly quota is used up (error
    code 4317), :class:`IBMRuntimeQuotaError` is raised; it is not retried.

Limits:
    Besides a circuit count (``max_experiments``, from the backend's
    ``max_circuits`` if it has one, or given), the runtime limits a Sampler
    job to 10 million executions (circuits times shots) and its inputs to a
    payload size: 50 MB is the documented limit that :data:`DEFAULT_MAX_PAYLOAD_BYTES`
    keeps to (IBM has since raised it). :func:`estimate_payload_bytes` gives
    an upper bound of one circuit's share. Both limits are constructor keywords.
"""

from __future__ import annotations

import copy
import io
import logging
import re
import sys
import threading
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseSamplerV2
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import BackendV2, JobError, JobV1
from qiskit.result import Result

from managedjob._naming import (
    INTERNAL_TAG_PREFIX,
    JOB_NAME_RE,
    LOOSE_CLBIT_PREFIX,
    MEMORY_TAG,
    NAME_TAG_PREFIX,
    SLICE_TAG_PREFIX,
)
from managedjob.exceptions import (
    InvalidInputError,
    JobLimitError,
    JobManagerError,
    UnsupportedRunOptionError,
)
from managedjob.targets._base import FoundJob, TargetLimits
from managedjob.targets.sampler import PrimitiveJobV1, SamplerTarget

__all__ = [
    "DEFAULT_MAX_EXECUTIONS",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_PAGE_SIZE",
    "IBMJobLimitError",
    "IBMRuntimeQuotaError",
    "IBMRuntimeJobFinder",
    "IBMRuntimeJobV1",
    "IBMRuntimeTarget",
    "estimate_payload_bytes",
    "is_ibm_runtime",
    "is_runtime_service",
]

logger = logging.getLogger(__name__)

#: Most executions (circuits times shots) in one runtime Sampler job.
DEFAULT_MAX_EXECUTIONS = 10_000_000

#: Most bytes of job inputs: the 50 MB IBM documented for runtime jobs.
DEFAULT_MAX_PAYLOAD_BYTES = 50_000_000

#: Jobs asked for per ``service.jobs()`` call when a job set is looked up.
DEFAULT_PAGE_SIZE = 1000

_JOB_LIMIT_CODE = 3458
_QUOTA_CODE = 4317
_MAX_NAME_CHARS = 100
_SLICE_RE = re.compile(rf"^{re.escape(SLICE_TAG_PREFIX)}(\d+):(?:(\d+)-(\d+)|(\d+))$")
_ERROR_CODE_RE = re.compile(r"(?:error\s*code|\"code\")\W{0,3}(\d{4})\b", re.IGNORECASE)
_PENDING_LIMIT_RE = re.compile(
    r"limit of (\d+) pending jobs|maximum number \((\d+)\) of concurrent jobs|"
    r"maximum number of pending jobs",
    re.IGNORECASE,
)
_QUOTA_RE = re.compile(r"monthly quota", re.IGNORECASE)
_LOOSE_NAME_RE = re.compile(rf"^{re.escape(LOOSE_CLBIT_PREFIX)}(\d+)_*$")
_SAMPLER_DEPRECATION = "The SamplerV2 class is deprecated"
# Held while a runtime SamplerV2 is built with its deprecation warning silenced:
# warnings.catch_warnings changes process-wide state.
_SAMPLER_LOCK = threading.Lock()


class IBMJobLimitError(JobLimitError):
    """IBM Quantum refused a job: the instance has too many pending jobs (code 3458).

    A managed job that meets it waits for a pending job to finish and submits
    again.

    Attributes:
        code: The service's error code, 3458.
        limit: How many pending jobs the instance may have, when the service said.
    """

    code = _JOB_LIMIT_CODE

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class IBMRuntimeQuotaError(JobManagerError):
    """IBM Quantum refused a job: the instance's monthly quota is used up (code 4317).

    It is not retried: no job runs until the quota resets or more time is
    made available to the instance.

    Attributes:
        code: The service's error code, 4317.
    """

    code = _QUOTA_CODE


# --------------------------------------------------------------------- detection


def _loaded(module: str, *names: str) -> tuple[type, ...]:
    """Return the named classes of ``module`` if it is imported already, else nothing."""
    found = sys.modules.get(module)
    if found is None:
        return ()
    classes = tuple(getattr(found, name, None) for name in names)
    return tuple(cls for cls in classes if isinstance(cls, type))


def _real_modes() -> tuple[type, ...]:
    return _loaded("qiskit_ibm_runtime", "IBMBackend", "Session")  # Batch is a Session


def _fake_modes() -> tuple[type, ...]:
    return _loaded("managedjob.testing", "FakeRuntimeBackend", "FakeRuntimeSession")


def _real_services() -> tuple[type, ...]:
    return _loaded("qiskit_ibm_runtime", "QiskitRuntimeService")


def _fake_services() -> tuple[type, ...]:
    return _loaded("managedjob.testing", "FakeRuntimeService")


def is_ibm_runtime(obj: object) -> bool:
    """Return whether :class:`IBMRuntimeTarget` can wrap ``obj``.

    Args:
        obj: Anything a user may pass as ``backend``.

    Returns:
        ``True`` for a ``qiskit_ibm_runtime`` ``IBMBackend``, ``Batch`` or
        ``Session``, and for the ``FakeRuntimeBackend``, ``FakeRuntimeSession``
        and ``FakeRuntimeBatch`` of :mod:`managedjob.testing`.
    """
    modes = _real_modes() + _fake_modes()
    return bool(modes) and isinstance(obj, modes)


def is_runtime_service(obj: object) -> bool:
    """Return whether :class:`IBMRuntimeJobFinder` can look job sets up on ``obj``.

    Args:
        obj: Anything a user may pass as ``provider`` to ``retrieve_job_set``.

    Returns:
        ``True`` for a ``QiskitRuntimeService`` or a
        :class:`~managedjob.testing.FakeRuntimeService`, and for anything
        :func:`is_ibm_runtime` accepts whose ``service`` is one of those.
    """
    services = _real_services() + _fake_services()
    if not services:
        return False
    if isinstance(obj, services):
        return True
    return is_ibm_runtime(obj) and isinstance(_service_of(obj), services)


def _is_fake(obj: object) -> bool:
    fakes = _fake_modes()
    return bool(fakes) and isinstance(obj, fakes)


def _is_session(obj: object) -> bool:
    sessions = _loaded("qiskit_ibm_runtime", "Session") + _loaded(
        "managedjob.testing", "FakeRuntimeSession"
    )
    return bool(sessions) and isinstance(obj, sessions)


def _service_of(obj: object) -> Any:
    try:
        return getattr(obj, "service", None)
    except Exception:  # a mode that cannot tell
        return None


def _backend_name(obj: object) -> str | None:
    name = getattr(obj, "name", None)
    if callable(name):
        name = name()
    return name if isinstance(name, str) and name else None


# --------------------------------------------------------------------- tags


@dataclass(frozen=True)
class _TagInfo:
    """What managedjob's tags on a runtime job say."""

    index: int | None = None
    start: int | None = None
    count: int | None = None
    set_name: str | None = None
    memory: bool = False


def _parse_tags(tags: Sequence[str]) -> _TagInfo:
    index = start = count = None
    set_name = None
    memory = False
    for tag in tags:
        if tag == MEMORY_TAG:
            memory = True
        elif tag.startswith(NAME_TAG_PREFIX):
            set_name = tag[len(NAME_TAG_PREFIX) :]
        else:
            matched = _SLICE_RE.match(tag)
            if matched is None:
                continue
            index = int(matched.group(1))
            if matched.group(2) is not None:
                start, end = int(matched.group(2)), int(matched.group(3))
                count = end - start + 1
            else:
                count = int(matched.group(4))
    return _TagInfo(index, start, count, set_name, memory)


def _slice_tags(job_name: str, count: int, start_index: int | None, memory: bool) -> list[str]:
    """Return managedjob's own tags for one job."""
    tags: list[str] = []
    matched = JOB_NAME_RE.match(job_name)
    if matched is not None:
        tags.append(NAME_TAG_PREFIX + matched.group(1)[:_MAX_NAME_CHARS])
        index = int(matched.group(2))
        if start_index is None:
            tags.append(f"{SLICE_TAG_PREFIX}{index}:{count}")
        else:
            tags.append(f"{SLICE_TAG_PREFIX}{index}:{start_index}-{start_index + count - 1}")
    if memory:
        tags.append(MEMORY_TAG)
    return tags


def _runtime_tags(runtime_job: Any) -> list[str] | None:
    try:
        tags = getattr(runtime_job, "tags", None)
        if callable(tags):
            tags = tags()
    except Exception:  # a job that cannot tell
        return None
    if isinstance(tags, (list, tuple)):
        return [str(tag) for tag in tags]
    return None


# --------------------------------------------------------------------- errors


def _error_chain(error: BaseException) -> list[BaseException]:
    # qiskit-ibm-runtime raises its errors ``from None``: the HTTP error is
    # still the __context__.
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _translate_submit_error(error: Exception, job_name: str, count: int) -> JobManagerError | None:
    """Return the managedjob error for a refusal the service explained, if it is one."""
    text = "\n".join(str(item) for item in _error_chain(error))
    codes = {int(code) for code in _ERROR_CODE_RE.findall(text)}
    where = f"job {job_name} ({count} circuits)"
    if _QUOTA_CODE in codes or _QUOTA_RE.search(text):
        return IBMRuntimeQuotaError(
            f"IBM Quantum refused {where}: the instance's monthly quota is used up "
            f"(error code {_QUOTA_CODE}). The job is not retried; submit it again once "
            f"the quota resets or more time is made available. The service said: {error}"
        )
    pending = _PENDING_LIMIT_RE.search(text)
    if _JOB_LIMIT_CODE in codes or pending is not None:
        limit_text = None if pending is None else (pending.group(1) or pending.group(2))
        limit = int(limit_text) if limit_text else None
        reached = "its limit" if limit is None else f"its limit of {limit}"
        return IBMJobLimitError(
            f"IBM Quantum refused {where}: the instance has reached {reached} pending "
            f"jobs (error code {_JOB_LIMIT_CODE}); it is submitted again once a pending "
            f"job finishes. The service said: {error}",
            limit=limit,
        )
    return None


# --------------------------------------------------------------------- payload


def estimate_payload_bytes(circuit: QuantumCircuit) -> int:
    """Return an upper bound of the bytes ``circuit`` adds to a runtime job's inputs.

    The runtime client sends each circuit as QPY, compressed and base64
    encoded; this counts the base64 length of the uncompressed QPY, plus a
    little for the PUB around it, so compression only ever makes the real
    size smaller.

    Args:
        circuit: A circuit as it will be submitted.

    Returns:
        The estimate, in bytes.

    Raises:
        InvalidInputError: If ``circuit`` cannot be serialized to QPY.
    """
    buffer = io.BytesIO()
    try:
        qpy.dump(circuit, buffer)
    except Exception as err:
        raise InvalidInputError(
            f"circuit {getattr(circuit, 'name', circuit)!r} cannot be serialized to QPY "
            f"for IBM Quantum: {err}"
        ) from err
    size = buffer.tell()
    return 4 * ((size + 2) // 3) + 64


# --------------------------------------------------------------------- jobs


def _layout_circuit(circuit: QuantumCircuit) -> QuantumCircuit:
    """Drop the one-bit registers the sampler target added for loose clbits.

    A retrieved job's circuits are its PUBs, so the registers
    ``add_loose_clbit_registers`` added are in them; without those the
    counts are keyed as they were for the user's circuits.
    """
    dropped = []
    for creg in circuit.cregs:
        matched = _LOOSE_NAME_RE.match(creg.name)
        if matched is None or creg.size != 1:
            continue
        location = circuit.find_bit(creg[0])
        if location.index == int(matched.group(1)) and len(location.registers) == 1:
            dropped.append(creg)
    if not dropped:
        return circuit
    kept = [creg for creg in circuit.cregs if creg not in dropped]
    return QuantumCircuit(
        circuit.qubits,
        circuit.clbits,
        *circuit.qregs,
        *kept,
        name=circuit.name,
        global_phase=circuit.global_phase,
        metadata=circuit.metadata,
    )


def _pub_parts(pub: object, position: int) -> tuple[QuantumCircuit, int | None]:
    """Return the circuit and shots of one PUB as a runtime job gives its inputs back."""
    if isinstance(pub, SamplerPub):
        return pub.circuit, pub.shots
    if isinstance(pub, QuantumCircuit):
        return pub, None
    if isinstance(pub, (list, tuple)) and pub and isinstance(pub[0], QuantumCircuit):
        shots = pub[2] if len(pub) > 2 else None
        return pub[0], int(shots) if isinstance(shots, int) else None
    raise JobError(f"PUB {position} of the job's inputs is a {type(pub).__name__}, not a circuit")


def _job_backend(runtime_job: Any) -> BackendV2 | None:
    # RuntimeJobV2.backend() waits for the job to finish when it holds no
    # backend, so the backend it holds is read instead where there is one.
    if hasattr(runtime_job, "_backend"):
        found = runtime_job._backend
    else:
        backend = getattr(runtime_job, "backend", None)
        try:
            found = backend() if callable(backend) else backend
        except Exception:  # the service cannot say now
            return None
    return found if isinstance(found, BackendV2) else None


class IBMRuntimeJobV1(PrimitiveJobV1):
    """A runtime Sampler job as a :class:`qiskit.providers.JobV1` with legacy results.

    Besides what :class:`~managedjob.targets.PrimitiveJobV1` does, it keeps
    the runtime job's tags, and reads the circuits from the service when it
    was found again rather than submitted here: a job found by
    :class:`IBMRuntimeJobFinder` downloads its inputs only when its result
    or circuits are first asked for.

    ``name()`` is ``"{set name}_{index}_"``, read from managedjob's tags when
    the job was found again. ``update_name`` and ``update_tags`` change the
    tags on the service (where the job can) and keep managedjob's own tags.

    Args:
        runtime_job: The runtime job (``RuntimeJobV2``, ``LocalRuntimeJob`` or
            :class:`~managedjob.testing.FakeRuntimeJob`).
        circuits: The circuits as the user gave them; ``None`` reads them from
            the job's inputs when needed.
        shots: The shots each PUB ran with; read from the inputs if ``None``.
        memory: Whether results list each shot's outcome (also when the job's
            tags say so).
        backend_name: The name results report; the job's backend's by default.
        backend: The backend the job ran on; asked of the job by default.
        job_name: The job's name; read from the tags by default.
        job_tags: The job's tags; asked of the job by default.
    """

    def __init__(
        self,
        runtime_job: Any,
        circuits: Sequence[QuantumCircuit] | None = None,
        *,
        shots: int | None = None,
        memory: bool = False,
        backend_name: str | None = None,
        backend: BackendV2 | None = None,
        job_name: str | None = None,
        job_tags: Sequence[str] | None = None,
    ) -> None:
        tags = list(job_tags) if job_tags is not None else (_runtime_tags(runtime_job) or [])
        info = _parse_tags(tags)
        if backend is None:
            backend = _job_backend(runtime_job)
        name = backend_name or (_backend_name(backend) if backend is not None else None)
        if job_name is None and info.index is not None and info.set_name is not None:
            job_name = f"{info.set_name}_{info.index}_"
        super().__init__(
            runtime_job,
            () if circuits is None else circuits,
            shots=0 if shots is None else shots,
            memory=memory or info.memory,
            backend_name=name or "ibm_runtime",
            backend=backend,
            job_name=job_name,
            job_tags=tags,
        )
        self._inputs_read = circuits is not None and shots is not None
        self._inputs_lock = threading.Lock()
        self._tags_lock = threading.Lock()

    @classmethod
    def _adopt(cls, job: PrimitiveJobV1) -> IBMRuntimeJobV1:
        """Rewrap a job that :class:`~managedjob.targets.SamplerTarget` submitted."""
        return cls(
            job.primitive_job,
            job.circuits,
            shots=job._shots,
            memory=job._memory,
            backend_name=job._backend_name,
            backend=job._backend,
            job_name=job._job_name,
            job_tags=job._job_tags,
        )

    def _read_inputs(self) -> None:
        with self._inputs_lock:
            if self._inputs_read:
                return
            try:
                inputs = self._primitive_job.inputs
                pubs = list(inputs["pubs"])
                parts = [_pub_parts(pub, position) for position, pub in enumerate(pubs)]
            except Exception as err:
                raise JobError(
                    f"job {self.job_id()} on {self._backend_name!r}: its circuits cannot be "
                    f"read from the job's inputs: {type(err).__name__}: {err}"
                ) from err
            if not self._circuits:
                self._circuits = tuple(_layout_circuit(circuit) for circuit, _ in parts)
            if not self._shots:
                self._shots = next((shots for _, shots in parts if shots), 0)
            self._inputs_read = True

    @property
    def circuits(self) -> tuple[QuantumCircuit, ...]:
        """The circuits of the job: as given, or as the service gives them back.

        Raises:
            JobError: If the job's inputs cannot be read.
        """
        if not self._circuits:
            self._read_inputs()
        return self._circuits

    @property
    def runtime_job(self) -> Any:
        """The runtime job, as ``qiskit-ibm-runtime`` returned it."""
        return self._primitive_job

    @property
    def creation_date(self) -> Any:
        """When the service created the job, if it says."""
        return getattr(self._primitive_job, "creation_date", None)

    def result(self, timeout: float | None = None) -> Result:
        """Return the job's result as a legacy :class:`~qiskit.result.Result`.

        A job found again reads its circuits from the service first.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            JobTimeoutError: If the job is not finished within ``timeout``.
            JobError: If the job failed or was cancelled, or its inputs cannot
                be read.
        """
        if self._result is None and not self._inputs_read:
            self._read_inputs()
        return super().result(timeout)

    def tags(self) -> list[str]:
        """Return the job's tags, as the service has them when it can tell."""
        live = _runtime_tags(self._primitive_job)
        with self._tags_lock:
            if live is not None:
                self._job_tags = live
            return list(self._job_tags)

    def _replace_tags(self, tags: list[str]) -> list[str]:
        update = getattr(self._primitive_job, "update_tags", None)
        if callable(update):
            result = update(tags)
            if isinstance(result, (list, tuple)):
                tags = [str(tag) for tag in result]
        with self._tags_lock:
            self._job_tags = list(tags)
            return list(tags)

    def update_tags(
        self,
        replacement_tags: Sequence[str] | None = None,
        additional_tags: Sequence[str] | None = None,
        removal_tags: Sequence[str] | None = None,
    ) -> list[str]:
        """Change the job's tags, as the legacy ``IBMQJob.update_tags`` did.

        ``replacement_tags`` replace the tags; otherwise ``additional_tags``
        are added and then ``removal_tags`` removed. managedjob's own tags
        (``managedjob:...``) are kept either way.

        Returns:
            The tags after the update.

        Raises:
            InvalidInputError: If no argument is given.
        """
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise InvalidInputError(
                f"nothing to update for the tags of job {self.job_id()}: give "
                "replacement_tags, additional_tags or removal_tags"
            )
        current = self.tags()
        own = [tag for tag in current if tag.startswith(INTERNAL_TAG_PREFIX)]
        if replacement_tags is not None:
            theirs = list(replacement_tags)
        else:
            removed = set(removal_tags or ())
            theirs = [
                tag
                for tag in [*current, *(additional_tags or ())]
                if not tag.startswith(INTERNAL_TAG_PREFIX) and tag not in removed
            ]
        return self._replace_tags(list(dict.fromkeys([*theirs, *own])))

    def update_name(self, name: str) -> str:
        """Rename the job: ``"{set name}_{index}_"`` changes the set name in its tags.

        Returns:
            The new name.
        """
        matched = JOB_NAME_RE.match(name)
        if matched is not None:
            tags = [tag for tag in self.tags() if not tag.startswith(NAME_TAG_PREFIX)]
            tags.append(NAME_TAG_PREFIX + matched.group(1)[:_MAX_NAME_CHARS])
            self._replace_tags(tags)
        self._job_name = name
        return name


# --------------------------------------------------------------------- target


def _merge_options(base: Mapping[str, Any], tags: Sequence[str]) -> dict[str, Any]:
    options = copy.deepcopy(dict(base))
    environment = dict(options.get("environment") or {})
    environment["job_tags"] = list(tags)
    options["environment"] = environment
    return options


def _check_limit(label: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{label} must be a positive integer, not {value!r}")


def _close_quietly(batch: Any) -> None:
    try:
        batch.close()
    except Exception as err:  # the batch is gone already, or the network is
        logger.debug("Could not close batch %r: %s", batch, err)


class IBMRuntimeTarget:
    """Runs each job as one runtime Sampler job, tagged so its set can be found again.

    Args:
        backend: An ``IBMBackend``, a ``Batch`` or a ``Session`` (or one of the
            fakes of :mod:`managedjob.testing`).
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

    Raises:
        InvalidInputError: If ``backend`` is not an IBM Quantum runtime object,
            ``mode`` is unknown, a limit is not a positive integer, or the
            Sampler rejects ``sampler_options``.

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
    ) -> None:
        if not is_ibm_runtime(backend):
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
            _check_limit(label, value)
        if sampler_options is not None and not isinstance(sampler_options, Mapping):
            raise InvalidInputError(f"sampler_options must be a mapping, not {sampler_options!r}")
        self._wrapped = backend
        self._fake = _is_fake(backend)
        self._session: Any = backend if _is_session(backend) else None
        if self._session is not None:
            self._backend: Any = getattr(backend, "_backend", None)
            self._mode = "session"
        else:
            self._backend = backend
            self._mode = mode
        self._service = _service_of(backend)
        self._name = _backend_name(self._backend) or self._session_backend_name() or "ibm_runtime"
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

    def _new_sampler(self, mode: Any, tags: Sequence[str]) -> BaseSamplerV2:
        options = _merge_options(self._sampler_options, tags)
        if self._fake:
            from managedjob.testing import FakeRuntimeSampler

            return FakeRuntimeSampler(mode=mode, options=options)
        runtime = sys.modules["qiskit_ibm_runtime"]
        with _SAMPLER_LOCK, warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_SAMPLER_DEPRECATION, category=DeprecationWarning
            )
            sampler: BaseSamplerV2 = runtime.SamplerV2(mode=mode, options=options)
        return sampler

    def _open_batch(self) -> Any:
        if self._fake:
            from managedjob.testing import FakeRuntimeBatch

            return FakeRuntimeBatch(backend=self._backend)
        runtime = sys.modules["qiskit_ibm_runtime"]
        return runtime.Batch(backend=self._backend)

    def _mode_for_job(self) -> Any:
        if self._session is not None:
            return self._session
        if self._mode == "job":
            return self._backend
        with self._lock:
            if self._batch is None:
                self._batch = self._open_batch()
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
    def batch(self) -> Any:
        """The batch this adapter opened and has not closed yet, if any."""
        return self._batch

    @property
    def service(self) -> Any:
        """The runtime service the jobs go to."""
        return self._service

    @property
    def supports_job_names(self) -> bool:
        """``True``: job names are kept in tags and read back from them."""
        return True

    @property
    def supports_job_tags(self) -> bool:
        """``True``: runtime jobs keep tags."""
        return True

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
        )

    def _runs_on_hardware(self) -> bool:
        if self._fake or not isinstance(
            self._backend, _loaded("qiskit_ibm_runtime", "IBMBackend")
        ):
            return False
        backend: Any = self._backend
        try:
            return not bool(backend.configuration().simulator)
        except Exception:  # no configuration: assume a device
            return True

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject run options the runtime Sampler cannot honour.

        ``shots``, ``memory`` and ``seed_simulator`` are accepted, as by
        :class:`~managedjob.targets.SamplerTarget`; ``seed_simulator`` only
        where circuits are simulated (local testing mode and the fakes).

        Raises:
            UnsupportedRunOptionError: Naming the first option that is not supported.
            InvalidInputError: If a value is not valid.
        """
        self._checker.check_run_config(run_config)
        if run_config.get("seed_simulator") is not None and self._runs_on_hardware():
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
        own = _slice_tags(
            job_name, len(circuits), start_index, bool(run_config.get("memory", False))
        )
        tags = list(dict.fromkeys([*job_tags, *own]))
        try:
            sampler = self._new_sampler(self._mode_for_job(), tags)
            job = SamplerTarget(sampler).submit(
                circuits, job_name=job_name, job_tags=tags, run_config=run_config
            )
        except InvalidInputError:
            raise
        except Exception as err:
            translated = _translate_submit_error(err, job_name, len(circuits))
            if translated is None:
                raise
            raise translated from err
        return IBMRuntimeJobV1._adopt(job)

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
        return IBMRuntimeJobV1(found[0]) if found else None

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
        return IBMRuntimeJobV1(found)

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

    def __enter__(self) -> IBMRuntimeTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<IBMRuntimeTarget {self.name!r} mode={self.mode!r}>"


# --------------------------------------------------------------------- finder


class IBMRuntimeJobFinder:
    """Finds the jobs of a job set on IBM Quantum Runtime by the set's id tag.

    Pages through ``service.jobs(job_tags=[tag], limit=page_size, skip=n,
    descending=False)`` until a page comes back short, oldest first so that
    jobs created meanwhile do not shift the pages, and returns the jobs
    newest first: when a slice was submitted more than once, its latest job
    comes first. Each job's place in its
    set, its count of experiments and the set's name come from managedjob's
    tags; jobs carrying the set's tag but none of those are left out, with a
    warning. Jobs download their circuits only when their results are asked
    for. Failed and cancelled jobs are found like the others: their status
    and error message say what happened.

    Args:
        provider: A ``QiskitRuntimeService``, or a backend, batch or session
            whose ``service`` is one (or the fakes of :mod:`managedjob.testing`).
        page_size: Jobs asked for per call.

    Raises:
        InvalidInputError: If ``provider`` has no runtime service, or
            ``page_size`` is not a positive integer.
    """

    def __init__(self, provider: object, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        _check_limit("page_size", page_size)
        service: Any = _service_of(provider) if is_ibm_runtime(provider) else provider
        if not callable(getattr(service, "jobs", None)):
            raise InvalidInputError(
                f"{provider!r} cannot list IBM Quantum runtime jobs: it is no "
                "QiskitRuntimeService, and has no service that is one"
            )
        self._service = service
        self._page_size = page_size

    @property
    def service(self) -> Any:
        """The service jobs are looked up on."""
        return self._service

    def find_job_set_jobs(self, job_set_tag: str) -> list[FoundJob]:
        """Return every job carrying ``job_set_tag`` that managedjob's tags place in a set.

        Args:
            job_set_tag: The set's long id tag.

        Returns:
            The jobs, newest first.
        """
        found: list[FoundJob] = []
        skip = 0
        while True:
            page = list(
                self._service.jobs(
                    job_tags=[job_set_tag],
                    limit=self._page_size,
                    skip=skip,
                    descending=False,
                )
            )
            skip += len(page)
            for runtime_job in page:
                item = self._found(runtime_job, job_set_tag)
                if item is not None:
                    found.append(item)
            if len(page) < self._page_size:
                found.reverse()
                return found

    def retrieve_job(self, job_id: str) -> IBMRuntimeJobV1 | None:
        """Find one job by id with ``service.job(job_id)``, or ``None`` if it cannot."""
        try:
            found = self._service.job(job_id)
        except Exception as err:
            logger.debug("The service cannot retrieve job %s: %s", job_id, err)
            return None
        return IBMRuntimeJobV1(found)

    @staticmethod
    def _found(runtime_job: Any, job_set_tag: str) -> FoundJob | None:
        tags = _runtime_tags(runtime_job) or []
        info = _parse_tags(tags)
        if info.index is None:
            logger.warning(
                "Job %s carries tag %s but no managedjob slice tag; it is left out.",
                runtime_job.job_id(),
                job_set_tag,
            )
            return None
        return FoundJob(
            index=info.index,
            job=IBMRuntimeJobV1(runtime_job, job_tags=tags),
            experiments_count=info.count,
            start_index=info.start,
            set_name=info.set_name,
            tags=tuple(tags),
        )
