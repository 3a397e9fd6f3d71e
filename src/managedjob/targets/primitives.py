"""Target adapter for PUB workloads: any ``BaseSamplerV2`` or ``BaseEstimatorV2``.

A job set of PUBs (see :meth:`JobManager.run_pubs <managedjob.JobManager.run_pubs>`)
runs each of its jobs as one ``primitive.run(pubs, **options)`` call on the
primitive the user gave: ``StatevectorSampler``/``StatevectorEstimator``,
``BackendSamplerV2``/``BackendEstimatorV2``, Qiskit Aer's V2 primitives, or
qiskit-ibm-runtime's ``SamplerV2``/``EstimatorV2`` in job, batch, session or
local mode. The items of a job are :class:`~managedjob._pubs.PubItem` s
(PUBs already cut and checked, their shots or precision on each PUB); the
job is a :class:`PubJobV1`, a :class:`qiskit.providers.JobV1` whose
``result()`` is a :class:`~managedjob._pubs.PubJobResult` carrying the
primitive's ``PrimitiveResult``.

Run options are the keyword arguments of the primitive's ``run()`` other
than ``shots`` and ``precision`` (which are set on each PUB); anything else
is refused before submission. A runtime primitive gets the job set's tags,
with the job's place in its set, in ``options.environment.job_tags`` for
the duration of each ``run()`` call, so that a PUB set can be found on the
service by its tag as a set of circuits can; with them goes the tag
``managedjob:pubs:<parts>`` that names the input PUBs (and rows or shots of
them) the job runs, so the set can be rebuilt and merged from the service
alone, without a journal.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.providers import JobV1

from managedjob._pubs import PubItem, PubJobResult, pubs_tag
from managedjob.exceptions import InvalidInputError, UnsupportedRunOptionError
from managedjob.targets._base import TargetBase, TargetLimits
from managedjob.targets.ibm_runtime._client import service_of
from managedjob.targets.ibm_runtime._errors import translate_submit_error
from managedjob.targets.ibm_runtime._slices import SliceCreation
from managedjob.targets.ibm_runtime._tags import slice_tags
from managedjob.targets.ibm_runtime._target import DEFAULT_MAX_PAYLOAD_BYTES, RUNTIME_POLL_SECONDS
from managedjob.targets.sampler import PrimitiveJobV1, _backend_of, _failure_text, _sampler_name

__all__ = [
    "DEFAULT_RUNTIME_SHOTS",
    "RUNTIME_MAX_EXECUTIONS",
    "PubJobV1",
    "PubTarget",
    "holds_the_interpreter",
    "is_pub_primitive",
    "runs_in_process",
]

#: Most executions in one runtime Sampler job: IBM's 10 million.
RUNTIME_MAX_EXECUTIONS = 10_000_000
#: Shots a runtime Sampler runs when neither the PUB nor its options say.
DEFAULT_RUNTIME_SHOTS = 4096

# Set on each PUB, never passed to run().
_PUB_OPTIONS = frozenset({"pubs", "shots", "precision"})


def is_pub_primitive(obj: object) -> bool:
    """Return whether ``obj`` is a Sampler or Estimator V2 primitive.

    Args:
        obj: Anything a user may pass to ``run_pubs``.

    Returns:
        ``True`` for a ``BaseSamplerV2`` or a ``BaseEstimatorV2``.
    """
    return isinstance(obj, (BaseSamplerV2, BaseEstimatorV2))


#: Modules of simulators that hold the interpreter lock while they run a job:
#: Aer, and the fake devices that simulate on it.
_LOCK_HOLDING_MODULES = (
    "qiskit_aer.",
    "qiskit.providers.fake_provider.",
    "qiskit_ibm_runtime.fake_provider.",
)
#: Modules of primitives and backends that compute in this process.
_IN_PROCESS_MODULES = (
    "qiskit.primitives.statevector_",
    "qiskit.providers.basic_provider.",
    *_LOCK_HOLDING_MODULES,
)


def _from_modules(objects: Sequence[object], modules: tuple[str, ...]) -> bool:
    """Whether a class of one of ``objects`` (or a base class) comes from ``modules``."""
    return any(
        cls.__module__.startswith(modules)
        for obj in objects
        if obj is not None
        for cls in type(obj).__mro__
    )


def runs_in_process(primitive: object, backend: object = None) -> bool:
    """Whether ``primitive`` computes its jobs in this process (a local simulator).

    ``StatevectorSampler``/``StatevectorEstimator``, Aer's primitives, and a
    primitive on a local simulator or fake device (``BackendSamplerV2`` on
    ``AerSimulator``, a runtime primitive in local mode) do; a primitive on
    a remote backend does not.
    """
    if backend is None:
        backend = _backend_of(primitive)
    return _from_modules((primitive, backend), _IN_PROCESS_MODULES)


def holds_the_interpreter(backend: object) -> bool:
    """Whether ``backend`` simulates in this process holding the interpreter lock.

    Aer and the fake devices built on it do: while one of their jobs runs in
    a thread, the rest of the process (a Ctrl-C handler included) waits.
    ``BasicSimulator`` and the Statevector primitives do not.
    """
    return _from_modules((backend,), _LOCK_HOLDING_MODULES)


def _is_runtime(primitive: object) -> bool:
    return type(primitive).__module__.startswith("qiskit_ibm_runtime")


def _environment(primitive: object) -> Any:
    """The ``options.environment`` of a runtime primitive, if it has one with job tags."""
    environment = getattr(getattr(primitive, "options", None), "environment", None)
    return environment if hasattr(environment, "job_tags") else None


def _positive(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


class PubJobV1(PrimitiveJobV1):
    """A primitive's job as a :class:`qiskit.providers.JobV1` whose result carries PUB results.

    Status, cancellation, waiting and error messages are those of
    :class:`~managedjob.targets.PrimitiveJobV1`; :meth:`result` gives a
    :class:`~managedjob._pubs.PubJobResult` whose ``primitive_result`` is the
    primitive's own ``PrimitiveResult``, unchanged.

    Args:
        primitive_job: The job returned by ``primitive.run``.
        items: The PUB parts the job runs, in order.
        backend_name: The name results report.
        backend: The backend the primitive runs on, if it has one.
        job_name: The name the job manager gave the job.
        job_tags: The tags the job manager gave the job.
    """

    def __init__(
        self,
        primitive_job: Any,
        items: Sequence[PubItem],
        *,
        backend_name: str,
        backend: Any = None,
        job_name: str | None = None,
        job_tags: Sequence[str] = (),
    ) -> None:
        super().__init__(
            primitive_job,
            [item.pub.circuit for item in items],
            shots=0,
            memory=False,
            backend_name=backend_name,
            backend=backend,
            job_name=job_name,
            job_tags=job_tags,
        )
        self._items = tuple(items)
        self._pub_result: PubJobResult | None = None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} job_id={self.job_id()!r} backend={self._backend_name!r} "
            f"pubs={len(self._items)}>"
        )

    @property
    def items(self) -> tuple[PubItem, ...]:
        """The PUB parts the job runs."""
        return self._items

    def result(self, timeout: float | None = None) -> PubJobResult:
        """Return the job's result, waiting for it if it is not finished.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            JobTimeoutError: If the job is not finished within ``timeout``.
            JobError: If the job failed or was cancelled; the primitive job's
                error is the ``__cause__``.
        """
        cached = self._pub_result
        if cached is not None:
            return cached
        if timeout is not None:
            self.wait_for_final_state(timeout)
        with self._result_lock:
            if self._pub_result is None:
                try:
                    native = self._native_result()
                except Exception as err:
                    from qiskit.providers import JobError

                    raise JobError(
                        f"job {self.job_id()} on {self._backend_name!r} "
                        f"({len(self._items)} PUBs) did not complete: {_failure_text(err)}"
                    ) from err
                self._pub_result = PubJobResult(
                    native, backend_name=self._backend_name, job_id=self.job_id()
                )
            return self._pub_result


class PubTarget(TargetBase):
    """Runs each job of a PUB set as one ``primitive.run(pubs, **options)`` call.

    Args:
        primitive: A ``BaseSamplerV2`` or ``BaseEstimatorV2``.

    Raises:
        InvalidInputError: If ``primitive`` is neither.
    """

    def __init__(self, primitive: BaseSamplerV2 | BaseEstimatorV2) -> None:
        if not is_pub_primitive(primitive):
            raise InvalidInputError(
                f"{primitive!r} is not a Sampler or Estimator primitive "
                f"(qiskit.primitives.BaseSamplerV2 or BaseEstimatorV2)"
            )
        self._primitive = primitive
        self._name = _sampler_name(primitive)
        self._backend = _backend_of(primitive)
        self._runtime = _is_runtime(primitive)
        # Held while a runtime primitive's options carry one job's tags.
        self._options_lock = threading.Lock()
        # In-process primitives run one job at a time (see _run_in_turn).
        self._in_process = runs_in_process(primitive, self._backend)
        self._turn_lock = threading.Lock()
        self._last_job: Any = None

    def __repr__(self) -> str:
        return f"<PubTarget {self._name!r} ({type(self._primitive).__name__})>"

    def __reduce__(self) -> tuple[type[PubTarget], tuple[Any]]:
        # An executor that runs submissions in another process takes the
        # primitive along; the lock is made anew there.
        return (PubTarget, (self._primitive,))

    @property
    def name(self) -> str:
        """The backend's name, or the primitive's class in snake case."""
        return self._name

    @property
    def wrapped(self) -> object:
        """The primitive."""
        return self._primitive

    @property
    def is_sampler(self) -> bool:
        """Whether the primitive is a Sampler (else an Estimator)."""
        return isinstance(self._primitive, BaseSamplerV2)

    @property
    def supports_job_tags(self) -> bool:
        """Whether the primitive's jobs keep tags (runtime primitives' do)."""
        return _environment(self._primitive) is not None

    def limits(self) -> TargetLimits:
        """Return IBM's limits for a runtime primitive; no limit otherwise.

        A runtime job's inputs hold at most 50 MB, and a runtime Sampler's
        job at most 10 million executions.
        """
        if not self._runtime:
            return TargetLimits()
        return TargetLimits(
            max_executions=RUNTIME_MAX_EXECUTIONS if self.is_sampler else None,
            max_payload_bytes=DEFAULT_MAX_PAYLOAD_BYTES,
            poll_interval=RUNTIME_POLL_SECONDS,
        )

    def default_shots(self) -> int | None:
        """Return the shots the Sampler runs a PUB that sets none, if it can tell.

        ``None`` for an Estimator, or a Sampler that does not say.
        """
        if not self.is_sampler:
            return None
        primitive = self._primitive
        for candidate in (
            getattr(primitive, "default_shots", None),
            getattr(getattr(primitive, "options", None), "default_shots", None),
        ):
            shots = _positive(candidate)
            if shots is not None:
                return shots
        return DEFAULT_RUNTIME_SHOTS if self._runtime else None

    def _run_parameters(self) -> tuple[set[str], bool]:
        """The names ``run()`` takes besides the PUBs, and whether it takes any (``**``)."""
        try:
            parameters = inspect.signature(self._primitive.run).parameters.values()
        except (TypeError, ValueError):
            return set(), True
        names = {
            p.name
            for p in parameters
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in _PUB_OPTIONS
        }
        return names, any(p.kind is p.VAR_KEYWORD for p in parameters)

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject options the primitive's ``run()`` does not take.

        Raises:
            UnsupportedRunOptionError: Naming the first option ``run()`` does
                not take (``shots`` and ``precision`` are set on each PUB).
        """
        names, anything = self._run_parameters()
        for key in run_config:
            if key in _PUB_OPTIONS or (key not in names and not anything):
                taken = ", ".join(sorted(names)) or "none"
                raise UnsupportedRunOptionError(
                    f"run option {key!r} is not taken by {type(self._primitive).__name__}.run() "
                    f"(options it takes besides shots/precision: {taken})",
                    option=key,
                )

    def _run_in_turn(
        self, pubs: list[Any], tags: Sequence[str], options: Mapping[str, Any]
    ) -> Any:
        """Run one job; an in-process primitive's only once its previous job is over.

        An in-process primitive computes in a thread of this process and holds
        the GIL while it does: jobs running side by side only take turns, and
        on two cores they took twice as long as one after the other.
        """
        if not self._in_process:
            return self._run(pubs, tags, options)
        with self._turn_lock:
            previous = self._last_job
            if previous is not None:
                with contextlib.suppress(Exception):  # its own managed job reports it
                    previous.result()
            job = self._run(pubs, tags, options)
            self._last_job = job
            return job

    def _run(self, pubs: list[Any], tags: Sequence[str], options: Mapping[str, Any]) -> Any:
        environment = _environment(self._primitive)
        if environment is None:
            return self._primitive.run(pubs, **options)
        # Runtime primitives read their options inside run(): the tags need
        # to be in place for the call only.
        with self._options_lock:
            previous = environment.job_tags
            environment.job_tags = list(tags)
            try:
                return self._primitive.run(pubs, **options)
            finally:
                environment.job_tags = previous

    def submit(
        self,
        circuits: Sequence[PubItem],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        """Run the PUB parts ``circuits`` as one primitive job and wrap it.

        Args:
            circuits: The job's items (:class:`~managedjob._pubs.PubItem`).
            job_name: ``"{set name}_{index}_"``; on runtime jobs, its set name
                and index go in tags.
            job_tags: The set's tags, its long id tag included.
            run_config: Options for ``run()``, checked by :meth:`check_run_config`.
            start_index: The index of the first item in the set, when known.

        Raises:
            UnsupportedRunOptionError: See :meth:`check_run_config`.
            InvalidInputError: If an item is not a PUB part.
            IBMJobLimitError: A runtime service has too many pending jobs.
        """
        items = list(circuits)
        for index, item in enumerate(items):
            if not isinstance(item, PubItem):
                raise InvalidInputError(
                    f"item {index} of job {job_name} is a {type(item).__name__}, not a PubItem"
                )
        own = slice_tags(job_name, len(items), start_index, False)
        parts_tag = pubs_tag([item.part for item in items])
        if parts_tag is not None:
            own.append(parts_tag)
        tags = list(dict.fromkeys([*job_tags, *own]))
        creation = SliceCreation(self._service(), tags)
        try:
            job = self._run_in_turn([item.pub for item in items], tags, run_config)
        except InvalidInputError:
            raise
        except Exception as err:
            # A runtime service's refusals (job limit, quota, 429); None for any other error.
            translated = translate_submit_error(err, job_name, len(items))
            if translated is not None:
                raise translated from err
            # Not refused in words: the answer may be what was lost, not the job.
            job = creation.made_despite(err, job_name)
            if job is None:
                raise
        wrapped = PubJobV1(
            job,
            items,
            backend_name=self._name,
            backend=self._backend,
            job_name=job_name,
            job_tags=tags,
        )
        wrapped.cancelled_duplicates = creation.cancel_duplicates(wrapped.job_id())
        return wrapped

    def _service(self) -> Any:
        """The runtime service the primitive's jobs go to, if it is a runtime primitive."""
        if not self._runtime or self._backend is None:
            return None
        try:
            return service_of(self._backend)
        except Exception:  # local testing mode: no service
            return None
