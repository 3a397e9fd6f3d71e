"""A runtime Sampler job as a :class:`qiskit.providers.JobV1` with legacy results."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import BackendV2, JobError
from qiskit.result import Result

from managedjob._naming import (
    INTERNAL_TAG_PREFIX,
    JOB_NAME_RE,
    LOOSE_CLBIT_PREFIX,
    NAME_TAG_PREFIX,
)
from managedjob._wait import SYSTEM_CLOCK, Clock
from managedjob.exceptions import InvalidInputError
from managedjob.targets.ibm_runtime._tags import MAX_NAME_CHARS, parse_tags, runtime_tags
from managedjob.targets.sampler import PrimitiveJobV1

__all__ = ["IBMRuntimeJobV1", "backend_name_of"]

_LOOSE_NAME_RE = re.compile(rf"^{re.escape(LOOSE_CLBIT_PREFIX)}(\d+)_*$")


def backend_name_of(obj: object) -> str | None:
    """Return the name of a backend (``name`` or ``name()``), or ``None`` if it has none."""
    name = getattr(obj, "name", None)
    if callable(name):
        name = name()
    return name if isinstance(name, str) and name else None


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
        clock: How :meth:`result` waits out a "too many requests" answer.
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
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        tags = list(job_tags) if job_tags is not None else (runtime_tags(runtime_job) or [])
        info = parse_tags(tags)
        if backend is None:
            backend = _job_backend(runtime_job)
        name = backend_name or (backend_name_of(backend) if backend is not None else None)
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
            clock=clock,
        )
        self._inputs_read = circuits is not None and shots is not None
        self._inputs_lock = threading.Lock()
        self._tags_lock = threading.Lock()

    @classmethod
    def _adopt(cls, job: PrimitiveJobV1, clock: Clock = SYSTEM_CLOCK) -> IBMRuntimeJobV1:
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
            clock=clock,
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
        live = runtime_tags(self._primitive_job)
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
            tags.append(NAME_TAG_PREFIX + matched.group(1)[:MAX_NAME_CHARS])
            self._replace_tags(tags)
        self._job_name = name
        return name
