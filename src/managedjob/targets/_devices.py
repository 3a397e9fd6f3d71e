"""Backends that must be made ready once before they run jobs side by side.

The fake devices of ``qiskit_ibm_runtime.fake_provider`` build their
simulator on their first ``run()``: they create a bare ``AerSimulator`` and
only then attach the device's noise model to it. A second ``run()`` that
starts in between finds the simulator already there and copies the
backend's options, still without a noise model, onto it: its job runs
noiseless, and so can the first one's. Nothing fails; the counts are just
ideal. :func:`prepare_backend` builds such a simulator once, under a lock
per backend, before any job of a set is submitted to it, so every job is
simulated with the device's noise.
"""

from __future__ import annotations

import sys
import threading
import weakref

__all__ = ["prepare_backend"]

_LOCKS: weakref.WeakKeyDictionary[object, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()
# Backends whose simulator is complete. Their ``sim`` attribute alone cannot
# tell: it is set before the noise model is attached to it.
_READY: weakref.WeakSet[object] = weakref.WeakSet()


_FAKE_BACKEND_MODULE = "qiskit_ibm_runtime.fake_provider.fake_backend"


def _is_fake_device(backend: object) -> bool:
    # A fake device's class comes from that module, so it is imported already
    # if the backend is one: never import qiskit-ibm-runtime (about a second)
    # on the first submission to any other backend.
    module = sys.modules.get(_FAKE_BACKEND_MODULE)
    fake = getattr(module, "FakeBackendV2", None)
    return fake is not None and isinstance(backend, fake)


def _lock_for(backend: object) -> threading.Lock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(backend)
        if lock is None:
            lock = _LOCKS[backend] = threading.Lock()
    return lock


def prepare_backend(backend: object) -> None:
    """Make ``backend`` safe to run several jobs at once, where it needs it.

    For a fake device whose simulator is not built yet, build it (noise model
    included) exactly once, whichever thread gets here first; later calls
    return at once. Other backends are left as they are.

    Args:
        backend: Any backend object; ``None`` is allowed and ignored.
    """
    if backend is None or backend in _READY or not _is_fake_device(backend):
        return
    with _lock_for(backend):
        if backend in _READY:
            return
        if getattr(backend, "sim", None) is None:
            # The fake backend's own set-up, the one run() would call: the
            # simulator and the noise model are in place before it returns.
            backend._setup_sim()  # type: ignore[attr-defined]
        _READY.add(backend)
