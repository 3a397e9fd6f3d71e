"""Small circuit builders, backends and waits shared by the tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

from managedjob import JobManager
from managedjob.testing import ScriptedBackend


def basis_circuit(index: int, width: int = 3, name: str | None = None) -> QuantumCircuit:
    """A deterministic circuit preparing the low bits of ``index``."""
    qc = QuantumCircuit(width, width, name=name or f"basis_{index}")
    for bit in range(width):
        if (index >> bit) & 1:
            qc.x(bit)
    qc.measure(range(width), range(width))
    return qc


def expected_key(index: int, width: int = 3) -> str:
    """The single outcome of ``basis_circuit(index, width)``."""
    return format(index % (1 << width), f"0{width}b")


def two_registers() -> QuantumCircuit:
    """X on q0 and q2, measured into registers of sizes 2 and 1."""
    qc = QuantumCircuit(
        QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(1, "c")
    )
    qc.name = "two_registers"
    qc.x(0)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def ghz() -> QuantumCircuit:
    """A 3-qubit GHZ state, measured."""
    qc = QuantumCircuit(3, 3, name="ghz")
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure(range(3), range(3))
    return qc


@contextmanager
def in_order(**settings: Any) -> Iterator[JobManager]:
    """A job manager whose jobs reach the backend one after another, in slice order.

    One worker thread runs the submissions, so the backend's job ``i`` is the
    set's job ``i``: faults scripted by job or call index land where a test
    expects them. (A lock alone does not order the threads waiting for it.)
    """
    with ThreadPoolExecutor(max_workers=1) as pool, JobManager(pool, **settings) as manager:
        yield manager


def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = 30.0, interval: float = 0.01
) -> None:
    """Wait in real time for work on other threads or processes, failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


class LookupBackend(ScriptedBackend):
    """Records which job ids it was asked to find again (a backend in a new process
    knows none of the old jobs)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.looked_up: list[str] = []

    def retrieve_job(self, job_id: str) -> Any:
        self.looked_up.append(job_id)
        return super().retrieve_job(job_id)


def runtime_local_sampler(device: Any) -> Any:
    """qiskit-ibm-runtime's SamplerV2 in local testing mode on ``device`` (no network)."""
    import warnings

    from qiskit_ibm_runtime import SamplerV2

    with warnings.catch_warnings():
        # Deprecated in qiskit-ibm-runtime 0.50 in favour of the executor-based Sampler.
        warnings.filterwarnings(
            "ignore", message="The SamplerV2 class is deprecated", category=DeprecationWarning
        )
        return SamplerV2(mode=device)
