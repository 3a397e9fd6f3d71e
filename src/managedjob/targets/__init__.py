"""Target adapters: how circuits reach each kind of object they can run on.

The job manager picks an adapter once per run from the object passed as
``backend``:

* an object that already implements :class:`Target` is used as it is;
* adapters registered with :func:`register_target` are asked in turn
  (Sampler primitives and IBM Quantum runtime backends register here);
* anything else with a ``run()`` method is a :class:`BackendTarget`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from managedjob.exceptions import InvalidInputError
from managedjob.targets._base import Target, TargetLimits
from managedjob.targets.backend import BackendTarget

__all__ = ["BackendTarget", "Target", "TargetLimits", "register_target", "resolve_target"]

_registry: list[tuple[Callable[[object], bool], Callable[[object], Target]]] = []
_registry_lock = threading.Lock()


def register_target(
    matches: Callable[[object], bool], factory: Callable[[object], Target]
) -> None:
    """Teach the job manager a new kind of target.

    Adapters registered later are asked first, so a specific adapter can
    take over from a general one.

    Args:
        matches: Says whether an object passed as ``backend`` is of this kind.
        factory: Builds the adapter for such an object.
    """
    with _registry_lock:
        _registry.insert(0, (matches, factory))


def resolve_target(backend: object) -> Target:
    """Return the adapter for ``backend``.

    Raises:
        InvalidInputError: If nothing can run circuits on ``backend``.
    """
    if backend is None:
        raise InvalidInputError("backend is None: pass a backend, a sampler or a target")
    if isinstance(backend, Target):
        return backend
    with _registry_lock:
        registry = list(_registry)
    for matches, factory in registry:
        if matches(backend):
            return factory(backend)
    return BackendTarget(backend)
