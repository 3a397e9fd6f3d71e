from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.primitives import (
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubResult,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import SparsePauliOp

from managedjob._pubs import (
    PubPlan,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    estimate_circuit_bytes,
    format_indexes,
    job_pubs,
    merge_pub_results,
    plan_pub_jobs,
    pub_costs,
)
from managedjob.exceptions import InvalidInputError, ResultDataNotAvailableError


def registers_circuit() -> QuantumCircuit:
    """Five qubits, each turned by its own angle, read into registers of 2 and 3 bits."""
    angles = ParameterVector("t", 5)
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(3, "b")
    circuit = QuantumCircuit(QuantumRegister(5), a, b)
    for qubit, angle in enumerate(angles):
        circuit.rx(angle, qubit)
    circuit.measure(range(2), a)
    circuit.measure(range(2, 5), b)
    return circuit


def deterministic_values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Angles of 0 or pi: every shot of an element gives the same bits."""
    rng = np.random.default_rng(seed)
    return np.pi * rng.integers(0, 2, size=(*shape, 5)).astype(float)


def run_split(pubs: Sequence[SamplerPub], plan: PubPlan, seed: int = 0) -> list[PrimitiveResult]:
    return [
        StatevectorSampler(seed=seed + job).run(parts).result()
        for job, parts in enumerate(job_pubs(pubs, plan))
    ]


def sampler_pubs() -> list[SamplerPub]:
    circuit = registers_circuit()
    return coerce_sampler_pubs(
        [
            (circuit, deterministic_values((4, 3), 1), 6),
            (circuit, deterministic_values((), 2), 6),
            (circuit, deterministic_values((2, 2, 2), 3), 6),
            (circuit, deterministic_values((5,), 4), 3),
        ]
    )


def assert_same_sampler_result(merged: PrimitiveResult, direct: PrimitiveResult) -> None:
    assert len(merged) == len(direct)
    for ours, theirs in zip(merged, direct, strict=True):
        assert type(ours) is type(theirs) is SamplerPubResult
        assert ours.data.shape == theirs.data.shape
        assert list(ours.data) == list(theirs.data) == ["a", "b"]
        for name in ("a", "b"):
            mine, want = ours.data[name], theirs.data[name]
            assert (mine.shape, mine.num_shots, mine.num_bits) == (
                want.shape,
                want.num_shots,
                want.num_bits,
            )
            assert mine.array.dtype == want.array.dtype
            np.testing.assert_array_equal(mine.array, want.array)
        assert ours.metadata["shots"] == theirs.metadata["shots"]


@pytest.mark.parametrize(
    ("max_pubs", "max_executions", "cut"),
    [
        (2, None, "none"),
        (None, 40, "shots"),  # (4, 3) at 6 shots is 72; at one shot 12 fits
        (None, 8, "rows"),  # a row of 3 at one shot fits, a row at all shots does not
        (3, 2, "blocks"),  # a row of 3 is over the budget even at one shot
    ],
)
def test_split_sampler_run_merges_to_the_direct_run_bit_for_bit(
    max_pubs: int | None, max_executions: int | None, cut: str
) -> None:
    pubs = sampler_pubs()
    plan = plan_pub_jobs(pub_costs(pubs), max_pubs, max_executions)
    parts = [part for pub_parts in plan.parts for part in pub_parts]
    if cut == "none":
        assert all(part.whole for part in parts)
    if cut in ("shots", "blocks"):
        assert any(part.shots is not None for part in parts)
    if cut in ("rows", "blocks"):
        assert any(part.rows is not None for part in parts)
    merged = merge_pub_results(plan, run_split(pubs, plan))
    direct = StatevectorSampler(seed=99).run(pubs).result()
    assert_same_sampler_result(merged, direct)


@settings(max_examples=25, deadline=None)
@given(
    max_pubs=st.none() | st.integers(1, 4),
    max_executions=st.none() | st.integers(1, 80),
    seed=st.integers(0, 2**16),
)
def test_any_plan_merges_to_the_direct_run(
    max_pubs: int | None, max_executions: int | None, seed: int
) -> None:
    pubs = sampler_pubs()
    plan = plan_pub_jobs(pub_costs(pubs), max_pubs, max_executions)
    merged = merge_pub_results(plan, run_split(pubs, plan, seed))
    assert_same_sampler_result(merged, StatevectorSampler(seed=seed).run(pubs).result())


def test_random_bits_keep_shapes_dtypes_and_shot_counts() -> None:
    circuit = QuantumCircuit(3)
    circuit.h(range(3))
    circuit.measure_all()
    pubs = coerce_sampler_pubs([circuit, (circuit, None, 50)], shots=37)
    plan = plan_pub_jobs(pub_costs(pubs), max_executions_per_job=16)
    results = run_split(pubs, plan)
    merged = merge_pub_results(plan, results)
    direct = StatevectorSampler(seed=1).run(pubs).result()
    for ours, theirs in zip(merged, direct, strict=True):
        mine, want = ours.data.meas, theirs.data.meas
        assert (mine.shape, mine.num_shots, mine.num_bits) == (
            want.shape,
            want.num_shots,
            want.num_bits,
        )
        assert mine.array.shape == want.array.shape and mine.array.dtype == want.array.dtype
    assert [r.metadata["shots"] for r in merged] == [37, 50]
    assert [len(r.metadata["parts"]) for r in merged] == [3, 4]
    # The parts' shots are joined in order.
    joined = np.concatenate(
        [results[part.job][part.position].data.meas.array for part in plan.parts[1]]
    )
    np.testing.assert_array_equal(merged[1].data.meas.array, joined)


def estimator_pubs() -> list[EstimatorPub]:
    angles = ParameterVector("t", 2)
    circuit = QuantumCircuit(2)
    circuit.ry(angles[0], 0)
    circuit.rx(angles[1], 1)
    circuit.cx(0, 1)
    rng = np.random.default_rng(5)
    observables = [
        [SparsePauliOp("ZZ")],
        [SparsePauliOp(["XI", "IY"], [0.5, -1.5])],
        [SparsePauliOp("ZI")],
    ]
    return coerce_estimator_pubs(
        [
            (circuit, observables, rng.uniform(0, np.pi, (3, 4, 2))),
            (circuit, observables, rng.uniform(0, np.pi, (4, 2))),  # values broadcast along rows
            (circuit, "XX", rng.uniform(0, np.pi, 2)),
            (circuit, ["ZZ", "XY"], rng.uniform(0, np.pi, (7, 1, 2)), 0.0),
        ]
    )


@pytest.mark.parametrize("max_executions", [None, 1, 5, 8, 13])
def test_split_estimator_run_merges_to_the_direct_run(max_executions: int | None) -> None:
    pubs = estimator_pubs()
    plan = plan_pub_jobs(pub_costs(pubs), None, max_executions)
    estimator = StatevectorEstimator()
    results = [estimator.run(parts).result() for parts in job_pubs(pubs, plan)]
    merged = merge_pub_results(plan, results)
    direct = estimator.run(pubs).result()
    for ours, theirs in zip(merged, direct, strict=True):
        assert type(ours) is type(theirs)
        assert ours.data.shape == theirs.data.shape
        assert list(ours.data) == list(theirs.data)
        for name in theirs.data:
            assert ours.data[name].dtype == theirs.data[name].dtype
            np.testing.assert_allclose(ours.data[name], theirs.data[name], rtol=0, atol=1e-12)
        assert ours.metadata["target_precision"] == theirs.metadata["target_precision"]
    if max_executions == 1:
        assert plan.num_jobs > len(pubs)


def test_a_payload_budget_cuts_along_rows_and_merges_to_the_direct_run() -> None:
    pubs = estimator_pubs()
    costs = pub_costs(pubs, circuit_bytes=estimate_circuit_bytes)
    # Room for the circuit and about two rows of observables and values.
    budget = max(cost.fixed_bytes + 2 * cost.row_bytes for cost in costs)
    plan = plan_pub_jobs(costs, max_payload_bytes=budget)
    assert any(part.rows is not None for parts in plan.parts for part in parts)
    estimator = StatevectorEstimator()
    merged = merge_pub_results(
        plan, [estimator.run(parts).result() for parts in job_pubs(pubs, plan)]
    )
    for ours, theirs in zip(merged, estimator.run(pubs).result(), strict=True):
        np.testing.assert_allclose(ours.data.evs, theirs.data.evs, rtol=0, atol=1e-12)
        assert ours.data.evs.shape == theirs.data.evs.shape


def test_a_whole_pub_keeps_its_result_object_and_one_job_its_metadata() -> None:
    pubs = sampler_pubs()[:3]  # all at 6 shots: one job
    plan = plan_pub_jobs(pub_costs(pubs))
    (result,) = run_split(pubs, plan)
    merged = merge_pub_results(plan, [result])
    assert all(ours is theirs for ours, theirs in zip(merged, result, strict=True))
    assert merged.metadata == result.metadata


def test_a_failed_job_fails_only_its_pubs() -> None:
    pubs = sampler_pubs()
    plan = plan_pub_jobs(pub_costs(pubs), max_executions_per_job=40)
    results: list[PrimitiveResult | None] = list(run_split(pubs, plan))
    failed_job = plan.parts[2][0].job
    results[failed_job] = None
    with pytest.raises(
        ResultDataNotAvailableError, match=r"PUBs 2 have no result \(job \d+: gone"
    ):
        merge_pub_results(plan, results, reasons={failed_job: "gone"})
    with pytest.raises(ResultDataNotAvailableError, match=r"no result \(job \d+: no result\)"):
        merge_pub_results(plan, results)
    partial = merge_pub_results(plan, results, partial=True)
    assert partial[2] is None
    assert [r is None for r in partial] == [False, False, True, False]
    assert partial.metadata["jobs"][failed_job] is None
    assert len(partial.metadata["jobs"]) == plan.num_jobs


def test_results_must_match_the_plan() -> None:
    pubs = sampler_pubs()[:3]
    plan = plan_pub_jobs(pub_costs(pubs), max_pubs_per_job=2)
    results = run_split(pubs, plan)
    with pytest.raises(InvalidInputError, match="2 jobs, but 1 results"):
        merge_pub_results(plan, results[:1])
    with pytest.raises(InvalidInputError, match="job 1 returned 2 PUB results for its 1 PUBs"):
        merge_pub_results(plan, [results[0], results[0]])
    with pytest.raises(InvalidInputError, match="job 0 returned 1 PUB results for its 2"):
        merge_pub_results(plan, [StatevectorSampler().run(pubs[:1]).result(), results[1]])


def test_a_field_without_shots_cannot_be_joined_along_shots() -> None:
    pubs = coerce_sampler_pubs([(registers_circuit(), deterministic_values((), 0), 4)])
    plan = plan_pub_jobs(pub_costs(pubs), max_executions_per_job=2)
    assert plan.num_jobs == 2
    odd = PrimitiveResult([SamplerPubResult(DataBin(flag=np.float64(1.0)), {"shots": 2})])
    with pytest.raises(InvalidInputError, match=r"field 'flag' .* no shots axis"):
        merge_pub_results(plan, [odd, odd])


def test_empty_plan_merges_to_an_empty_result() -> None:
    plan = plan_pub_jobs([])
    merged = merge_pub_results(plan, [])
    assert len(merged) == 0 and merged.metadata == {"jobs": []}


def test_bit_arrays_of_parts_are_joined_in_order() -> None:
    bits = BitArray.from_counts({"01": 2, "10": 1}, num_bits=2)
    assert BitArray.concatenate_shots([bits, bits]).num_shots == 6
    assert format_indexes([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"
    assert format_indexes([]) == ""
