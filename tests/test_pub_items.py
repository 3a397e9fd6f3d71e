"""A PUB set's job items: stored without pickle, and the plan rebuilt from them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives import DataBin, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._journal import workload_codec
from managedjob._pubs import (
    PubCost,
    PubItem,
    PubJobResult,
    decode_items,
    encode_items,
    part_pub,
    plan_of_items,
    plan_pub_jobs,
)
from managedjob.exceptions import InvalidInputError


def sampler_pub(rows: int, shots: int) -> SamplerPub:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, name="rot")
    circuit.ry(theta, 0)
    circuit.measure_all()
    return SamplerPub.coerce((circuit, np.linspace(0, 1, rows)[:, None], shots))


def items_of(pubs: list[SamplerPub], plan_jobs: tuple) -> list[list[PubItem]]:
    return [[PubItem(part_pub(pubs[part.pub], part), part) for part in job] for job in plan_jobs]


@settings(max_examples=40, deadline=None)
@given(
    shapes=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    max_pubs=st.one_of(st.none(), st.integers(1, 4)),
    max_executions=st.one_of(st.none(), st.integers(1, 40)),
)
def test_the_plan_rebuilt_from_job_items_is_the_plan(
    shapes: list[int], max_pubs: int | None, max_executions: int | None
) -> None:
    costs = [PubCost((rows,), 5, True, 5) for rows in shapes]
    plan = plan_pub_jobs(costs, max_pubs, max_executions)
    pubs = [sampler_pub(rows, 5) for rows in shapes]
    slices = items_of(pubs, plan.jobs)
    assert plan_of_items(slices) == plan
    stored = [decode_items(encode_items(items)) for items in slices]
    assert plan_of_items(stored) == plan
    for before, after in zip(slices, stored, strict=True):
        for one, two in zip(before, after, strict=True):
            assert one.part == two.part
            assert one.pub.shots == two.pub.shots
            assert one.pub.shape == two.pub.shape
            np.testing.assert_array_equal(
                one.pub.parameter_values.as_array(), two.pub.parameter_values.as_array()
            )


def test_a_missing_job_is_named() -> None:
    plan = plan_pub_jobs([PubCost(())] * 3, max_pubs_per_job=1)
    pubs = [EstimatorPub.coerce((QuantumCircuit(1), "Z")) for _ in range(3)]
    slices = items_of(pubs, plan.jobs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[1\]"):
        plan_of_items([slices[0], [], slices[2]])


def test_damaged_items_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="job items"):
        decode_items(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")


def test_the_journal_codec_keeps_a_jobs_result_and_items() -> None:
    codec = workload_codec("pubs")
    result = PubJobResult(
        PrimitiveResult(
            [PubResult(DataBin(evs=np.arange(3.0), shape=(3,)), metadata={"k": 1})],
            metadata={"version": 2},
        ),
        backend_name="statevector_estimator",
        job_id="job-1",
    )
    back = codec.decode_result(codec.encode_result(result))
    assert isinstance(back, PubJobResult)
    assert (back.backend_name, back.job_id) == ("statevector_estimator", "job-1")
    np.testing.assert_array_equal(back.primitive_result[0].data.evs, np.arange(3.0))
    assert back.primitive_result[0].metadata == {"k": 1}
    items = items_of([sampler_pub(2, 7)], plan_pub_jobs([PubCost((2,), 7, True, 7)]).jobs)[0]
    blob = codec.encode_slice(items)
    assert [item.part for item in codec.decode_slice(blob)] == [item.part for item in items]
    assert codec.names(items) == [None]
