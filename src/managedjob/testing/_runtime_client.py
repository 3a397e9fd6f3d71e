"""The fake runtime objects as a runtime client, plugged in like any other.

IBM runtime targets know no client's classes: a registered
:class:`~managedjob.targets.ibm_runtime.RuntimeClient` says which objects
are its backends, sessions and services and makes their samplers and
batches. Importing :mod:`managedjob.testing` registers this one, so the
fakes are driven through the same seam as qiskit-ibm-runtime itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qiskit.primitives import BaseSamplerV2

from managedjob.targets.ibm_runtime import RuntimeClient, register_runtime_client
from managedjob.testing._runtime import FakeRuntimeBackend, FakeRuntimeBatch, FakeRuntimeSession
from managedjob.testing._runtime_sampler import FakeRuntimeSampler
from managedjob.testing._runtime_service import FakeRuntimeService

__all__ = ["FakeRuntimeClient"]


class FakeRuntimeClient(RuntimeClient):
    """The fakes of this package as a runtime client."""

    def is_mode(self, obj: object) -> bool:
        """Whether ``obj`` is a fake runtime backend or session."""
        return isinstance(obj, (FakeRuntimeBackend, FakeRuntimeSession))

    def is_session(self, obj: object) -> bool:
        """Whether ``obj`` is a fake session (or batch)."""
        return isinstance(obj, FakeRuntimeSession)

    def is_service(self, obj: object) -> bool:
        """Whether ``obj`` is a fake runtime service."""
        return isinstance(obj, FakeRuntimeService)

    def sampler(self, mode: Any, options: Mapping[str, Any]) -> BaseSamplerV2:
        """Make a fake runtime sampler in ``mode``."""
        return FakeRuntimeSampler(mode=mode, options=options)

    def batch(self, backend: Any) -> Any:
        """Open a fake batch on ``backend``."""
        return FakeRuntimeBatch(backend=backend)


register_runtime_client(FakeRuntimeClient())
