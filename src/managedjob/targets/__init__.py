"""Target adapters: how circuits reach each kind of object they can run on.

The job manager picks an adapter once per run from the object passed as
``backend``:

* an object that already implements :class:`Target` is used as it is
  (a :class:`TargetBase`), or completed with the defaults of the
  capabilities it lacks (an adapter of the smaller :class:`MinimalTarget`
  protocol);
* adapters registered with :func:`register_target` are asked in turn,
  the latest first (IBM Quantum runtime backends, batches and sessions are an
  :class:`IBMRuntimeTarget`; Sampler primitives a :class:`SamplerTarget`);
* anything else with a ``run()`` method is a :class:`BackendTarget`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from managedjob.exceptions import InvalidInputError
from managedjob.targets._adapt import complete_target
from managedjob.targets._base import (
    FoundJob,
    JobFinder,
    MinimalTarget,
    Target,
    TargetBase,
    TargetLimits,
)
from managedjob.targets._payload import estimate_payload_bytes
from managedjob.targets._workers import WorkerJob, WorkerPool, WorkerTarget
from managedjob.targets.backend import BackendTarget
from managedjob.targets.ibm_runtime import (
    IBMJobLimitError,
    IBMRuntimeJobFinder,
    IBMRuntimeJobV1,
    IBMRuntimeQuotaError,
    IBMRuntimeTarget,
    is_ibm_runtime,
    is_runtime_service,
)
from managedjob.targets.primitives import PubJobV1, PubTarget, is_pub_primitive
from managedjob.targets.sampler import PrimitiveJobV1, SamplerTarget, is_sampler, job_status_from

__all__ = [
    "BackendTarget",
    "FoundJob",
    "IBMJobLimitError",
    "IBMRuntimeJobFinder",
    "IBMRuntimeJobV1",
    "IBMRuntimeQuotaError",
    "IBMRuntimeTarget",
    "JobFinder",
    "MinimalTarget",
    "PrimitiveJobV1",
    "PubJobV1",
    "PubTarget",
    "SamplerTarget",
    "Target",
    "TargetBase",
    "TargetLimits",
    "WorkerJob",
    "WorkerPool",
    "WorkerTarget",
    "estimate_payload_bytes",
    "is_ibm_runtime",
    "is_pub_primitive",
    "is_runtime_service",
    "is_sampler",
    "job_status_from",
    "register_job_finder",
    "register_target",
    "resolve_job_finder",
    "resolve_target",
]

_Made = TypeVar("_Made")


class _Registry(Generic[_Made]):
    """Factories for kinds of objects, asked the latest registered first."""

    def __init__(self) -> None:
        self._entries: list[tuple[Callable[[object], bool], Callable[[object], _Made]]] = []
        self._lock = threading.Lock()

    def add(self, matches: Callable[[object], bool], factory: Callable[[object], _Made]) -> None:
        with self._lock:
            self._entries.insert(0, (matches, factory))

    def make(self, obj: object) -> _Made | None:
        """Build with the first factory whose ``matches`` takes ``obj``; ``None`` if none does."""
        with self._lock:
            entries = list(self._entries)
        for matches, factory in entries:
            if matches(obj):
                return factory(obj)
        return None


_targets: _Registry[MinimalTarget] = _Registry()
_finders: _Registry[JobFinder] = _Registry()


def register_target(
    matches: Callable[[object], bool], factory: Callable[[object], MinimalTarget]
) -> None:
    """Teach the job manager a new kind of target.

    Adapters registered later are asked first, so a specific adapter can
    take over from a general one. The adapter may subclass
    :class:`TargetBase` or have only the members of :class:`MinimalTarget`.

    Args:
        matches: Says whether an object passed as ``backend`` is of this kind.
        factory: Builds the adapter for such an object.
    """
    _targets.add(matches, factory)


def resolve_target(backend: object) -> Target:
    """Return the adapter for ``backend``, with every member of :class:`Target`.

    An adapter that has only the members of :class:`MinimalTarget` (passed
    as ``backend``, or built by a registered factory) is completed with
    :class:`TargetBase`'s defaults, once: resolving it again gives the same
    target.

    Raises:
        InvalidInputError: If nothing can run circuits on ``backend``.
    """
    if backend is None:
        raise InvalidInputError("backend is None: pass a backend, a sampler or a target")
    if isinstance(backend, TargetBase):
        return backend
    if isinstance(backend, MinimalTarget):
        return complete_target(backend)
    target = _targets.make(backend)
    return complete_target(target) if target is not None else BackendTarget(backend)


def register_job_finder(
    matches: Callable[[object], bool], factory: Callable[[object], JobFinder]
) -> None:
    """Teach :meth:`JobManager.retrieve_job_set` to find job sets on a new kind of provider.

    Args:
        matches: Says whether an object passed as ``provider`` is of this kind.
        factory: Builds the finder for such an object.
    """
    _finders.add(matches, factory)


def resolve_job_finder(provider: object) -> JobFinder | None:
    """Return the finder for ``provider``, or ``None`` if none is registered for it."""
    if isinstance(provider, JobFinder):
        return provider
    return _finders.make(provider)


register_target(is_sampler, SamplerTarget)
register_target(is_ibm_runtime, IBMRuntimeTarget)
register_job_finder(is_runtime_service, IBMRuntimeJobFinder)
