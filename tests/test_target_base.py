"""The target seam: the full protocol, its defaults, and adapters of the smaller one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobV1

from helpers import basis_circuit, expected_key
from managedjob import JobManager
from managedjob.exceptions import InvalidInputError, UnsupportedRunOptionError
from managedjob.targets import (
    BackendTarget,
    IBMRuntimeTarget,
    MinimalTarget,
    SamplerTarget,
    Target,
    TargetBase,
    TargetLimits,
    estimate_payload_bytes,
    register_target,
    resolve_target,
)
from managedjob.targets.ibm_runtime import (
    QiskitRuntimeClient,
    RuntimeClient,
    is_ibm_runtime,
    register_runtime_client,
)
from managedjob.testing import (
    FakeClock,
    FakeRuntimeBackend,
    FakeRuntimeBatch,
    FakeRuntimeSampler,
    FakeRuntimeService,
    ScriptedBackend,
)

SHOTS = 20


def circuits(count: int) -> list[QuantumCircuit]:
    return [basis_circuit(i) for i in range(count)]


class OldAdapter:
    """An adapter written to the protocol before its optional part was declared."""

    def __init__(self, backend: ScriptedBackend) -> None:
        self._backend = backend
        self.submitted: list[dict[str, Any]] = []

    @property
    def name(self) -> str:
        return "old_adapter"

    @property
    def wrapped(self) -> object:
        return self._backend

    def limits(self) -> TargetLimits:
        return TargetLimits(max_experiments=2)

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        if set(run_config) - {"shots"}:
            raise UnsupportedRunOptionError("only shots", option="?")

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
    ) -> JobV1:
        self.submitted.append({"job_name": job_name, "count": len(circuits)})
        return self._backend.run(list(circuits), **run_config)

    def oldest_pending_job(self) -> JobV1 | None:
        return None

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        return None


class OldAdapterWithExtras(OldAdapter):
    """An old-style adapter with some optional methods of its own (not a TargetBase)."""

    def __init__(self, backend: ScriptedBackend) -> None:
        super().__init__(backend)
        self.closed = 0
        self.start_indices: list[int | None] = []

    supports_job_tags = True

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        if any(circuit.name == "refused" for circuit in circuits):
            raise InvalidInputError("refused")

    def estimate_payload_bytes(self, circuit: QuantumCircuit) -> int:
        return 7

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        self.start_indices.append(start_index)
        return super().submit(
            circuits, job_name=job_name, job_tags=job_tags, run_config=run_config
        )

    def close(self) -> None:
        self.closed += 1


class Subclassed(TargetBase):
    """The least an adapter built on the base class writes."""

    def __init__(self, backend: ScriptedBackend) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        return "subclassed"

    @property
    def wrapped(self) -> object:
        return self._backend

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        return None

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        return self._backend.run(list(circuits), **run_config)


# --- adapters of the smaller protocol ---------------------------------------------


def test_an_old_adapter_still_runs_a_set() -> None:
    clock = FakeClock()
    adapter = OldAdapter(ScriptedBackend(clock=clock))
    assert isinstance(adapter, MinimalTarget)
    assert not isinstance(adapter, Target)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(5), backend=adapter, name="old", shots=SHOTS)
        results = job_set.results()
    assert [entry["count"] for entry in adapter.submitted] == [2, 2, 1]
    assert sorted(entry["job_name"] for entry in adapter.submitted) == [
        "old_0_",
        "old_1_",
        "old_2_",
    ]
    for index in range(5):
        assert results.get_counts(index) == {expected_key(index): SHOTS}


def test_an_old_adapter_is_completed_once_with_the_defaults() -> None:
    adapter = OldAdapter(ScriptedBackend(clock=FakeClock()))
    target = resolve_target(adapter)
    assert isinstance(target, Target)
    assert resolve_target(adapter) is target
    assert target.name == "old_adapter"
    assert target.wrapped is adapter.wrapped
    assert target.limits() == TargetLimits(max_experiments=2)
    assert target.supports_job_names is False
    assert target.supports_job_tags is False
    assert target.oldest_pending_job() is None
    assert target.retrieve_job("any") is None
    circuit = basis_circuit(3)
    target.check_circuits([circuit])
    assert target.estimate_payload_bytes(circuit) == estimate_payload_bytes(circuit)
    target.close()
    with pytest.raises(UnsupportedRunOptionError):
        target.check_run_config({"memory": True})
    # start_index is accepted, and not passed to a submit that does not name it.
    job = target.submit(
        [circuit], job_name="s_0_", job_tags=[], run_config={"shots": SHOTS}, start_index=4
    )
    assert adapter.submitted == [{"job_name": "s_0_", "count": 1}]
    assert job.result().get_counts(0) == {expected_key(3): SHOTS}


def test_an_old_adapter_keeps_the_optional_methods_it_has() -> None:
    adapter = OldAdapterWithExtras(ScriptedBackend(clock=FakeClock()))
    target = resolve_target(adapter)
    assert target.supports_job_tags is True
    assert target.supports_job_names is False
    assert target.estimate_payload_bytes(basis_circuit(0)) == 7
    with pytest.raises(InvalidInputError, match="refused"):
        target.check_circuits([QuantumCircuit(1, 1, name="refused")])
    target.submit(circuits(1), job_name="s_0_", job_tags=[], run_config={}, start_index=6)
    assert adapter.start_indices == [6]
    target.close()
    assert adapter.closed == 1


def test_a_registered_factory_may_build_an_old_adapter() -> None:
    class Marker:
        def __init__(self) -> None:
            self.backend = ScriptedBackend(clock=FakeClock())

    register_target(lambda obj: isinstance(obj, Marker), lambda obj: OldAdapter(obj.backend))  # type: ignore[attr-defined]
    target = resolve_target(Marker())
    assert isinstance(target, Target)
    assert target.name == "old_adapter"
    assert target.estimate_payload_bytes(basis_circuit(1)) > 0


# --- adapters built on the base class ---------------------------------------------


def test_a_subclass_of_the_base_gets_the_defaults() -> None:
    clock = FakeClock()
    target = Subclassed(ScriptedBackend(clock=clock))
    assert resolve_target(target) is target
    assert isinstance(target, Target)
    assert target.limits() == TargetLimits()
    assert target.oldest_pending_job() is None
    assert target.retrieve_job("any") is None
    assert target.supports_job_names is False
    assert target.supports_job_tags is False
    circuit = basis_circuit(2)
    target.check_circuits([circuit])
    assert target.estimate_payload_bytes(circuit) == estimate_payload_bytes(circuit)
    with target as entered:
        assert entered is target
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(3), backend=target, max_experiments_per_job=2, shots=SHOTS)
        assert job_set.results().get_counts(2) == {expected_key(2): SHOTS}


def test_the_base_requires_what_has_no_default() -> None:
    class Incomplete(TargetBase):
        @property
        def name(self) -> str:
            return "incomplete"

        @property
        def wrapped(self) -> object:
            return None

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]


def test_the_shipped_adapters_are_built_on_the_base() -> None:
    for adapter in (BackendTarget, SamplerTarget, IBMRuntimeTarget):
        assert issubclass(adapter, TargetBase), adapter


# --- the runtime client seam ------------------------------------------------------


class RecordingClient(RuntimeClient):
    """The fakes as a client of one's own, recording what the adapter builds."""

    def __init__(self) -> None:
        self.samplers: list[Any] = []
        self.batches: list[Any] = []

    def is_mode(self, obj: object) -> bool:
        return isinstance(obj, FakeRuntimeBackend)

    def sampler(self, mode: Any, options: Mapping[str, Any]) -> FakeRuntimeSampler:
        sampler = FakeRuntimeSampler(mode=mode, options=options)
        self.samplers.append(sampler)
        return sampler

    def batch(self, backend: Any) -> Any:
        batch = FakeRuntimeBatch(backend=backend)
        self.batches.append(batch)
        return batch


class Wrapped:
    """An object only :class:`WrappedClient` knows."""


class WrappedClient(RuntimeClient):
    def is_mode(self, obj: object) -> bool:
        return isinstance(obj, Wrapped)


def test_the_fakes_are_driven_through_a_registered_client() -> None:
    target = resolve_target(FakeRuntimeService().backend())
    assert isinstance(target, IBMRuntimeTarget)
    assert isinstance(target.client, RuntimeClient)
    assert not isinstance(target.client, QiskitRuntimeClient)


def test_a_client_of_ones_own_builds_the_samplers_and_batches() -> None:
    clock = FakeClock()
    service = FakeRuntimeService(clock=clock)
    backend = service.backend()
    client = RecordingClient()
    target = IBMRuntimeTarget(backend, client=client)
    assert target.client is client
    job = target.submit(
        circuits(2), job_name="mine_0_", job_tags=["t"], run_config={"shots": SHOTS}
    )
    clock.advance(1000.0)
    assert job.result().get_counts(1) == {expected_key(1): SHOTS}
    assert len(client.batches) == 1
    # One sampler checks options at construction; each job gets one of its own.
    assert len(client.samplers) == 2
    assert client.samplers[-1].mode is client.batches[0]
    target.close()
    assert not client.batches[0].active


def test_a_registered_client_makes_its_objects_runtime_targets() -> None:
    client = WrappedClient()
    assert not is_ibm_runtime(Wrapped())
    register_runtime_client(client)
    assert is_ibm_runtime(Wrapped())
    with pytest.raises(InvalidInputError, match="not an IBM Quantum runtime"):
        IBMRuntimeTarget(Wrapped(), client=QiskitRuntimeClient())
