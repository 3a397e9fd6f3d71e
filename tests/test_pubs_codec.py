from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import (
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import SparsePauliOp

from managedjob._pubs import (
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    decode_pubs,
    decode_result,
    encode_pubs,
    encode_result,
    job_pubs,
    merge_pub_results,
    plan_pub_jobs,
    pub_costs,
)
from managedjob.exceptions import InvalidInputError


def sampler_circuits() -> tuple[QuantumCircuit, QuantumCircuit]:
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    three = QuantumCircuit(3, name="three")
    three.ry(a, 0)
    three.rx(b, 1)
    three.rz(c, 2)
    three.h(2)
    three.measure_all()
    vector = ParameterVector("v", 2)
    pair = QuantumCircuit(2, 2, name="pair")
    pair.ry(vector[0], 0)
    pair.ry(vector[1], 1)
    pair.measure([0, 1], [1, 0])
    return three, pair


def sampler_pubs() -> list[SamplerPub]:
    three, pair = sampler_circuits()
    fixed = QuantumCircuit(1, name="fixed")
    fixed.h(0)
    fixed.measure_all()
    rng = np.random.default_rng(3)
    return coerce_sampler_pubs(
        [
            (three, {"a": rng.uniform(size=(2, 3)), ("b", "c"): rng.uniform(size=(2, 3, 2))}),
            (pair, rng.uniform(size=(4, 2)), 11),
            (three, {"a": 0.1, "b": 0.2, "c": 0.3}),
            fixed,
            SamplerPub(pair, BindingsArray({("v[0]", "v[1]"): np.ones((5, 1, 2))}, shape=(5, 1))),
        ],
        shots=20,
    )


def assert_same_bindings(ours: BindingsArray, theirs: BindingsArray) -> None:
    assert ours.shape == theirs.shape
    assert ours.data.keys() == theirs.data.keys()
    for key, values in theirs.data.items():
        assert ours.data[key].dtype == values.dtype
        np.testing.assert_array_equal(ours.data[key], values)


def test_sampler_pubs_round_trip_and_run_the_same() -> None:
    pubs = sampler_pubs()
    decoded = decode_pubs(encode_pubs(pubs))
    assert len(decoded) == len(pubs)
    for ours, theirs in zip(decoded, pubs, strict=True):
        assert isinstance(ours, SamplerPub)
        assert ours.circuit == theirs.circuit
        assert ours.circuit.name == theirs.circuit.name
        assert (ours.shape, ours.shots) == (theirs.shape, theirs.shots)
        assert_same_bindings(ours.parameter_values, theirs.parameter_values)
    # A circuit shared by several PUBs is stored, and read back, once.
    assert decoded[0].circuit is decoded[2].circuit
    mine = StatevectorSampler(seed=8).run(decoded).result()
    direct = StatevectorSampler(seed=8).run(pubs).result()
    for ours, theirs in zip(mine, direct, strict=True):
        assert ours.data.keys() == theirs.data.keys()
        for name in theirs.data:
            assert ours.data[name] == theirs.data[name]


def estimator_pubs() -> list[EstimatorPub]:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2, name="ansatz")
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    rng = np.random.default_rng(4)
    observables = [
        [SparsePauliOp(["ZZ", "XI"], [1.5, -0.25])],
        [SparsePauliOp("YY")],
        [{"IZ": 0.5, "ZI": 0.5}],
    ]
    return coerce_estimator_pubs(
        [
            (circuit, observables, rng.uniform(size=4)),
            (circuit, "XX", [0.3], 0.0),
            (circuit, SparsePauliOp(["ZZ", "XX"], [1e-17, 1 / 3]), rng.uniform(size=(2, 1))),
        ],
        precision=0.0,
    )


def test_estimator_pubs_round_trip_and_run_the_same() -> None:
    pubs = estimator_pubs()
    decoded = decode_pubs(encode_pubs(pubs))
    for ours, theirs in zip(decoded, pubs, strict=True):
        assert isinstance(ours, EstimatorPub)
        assert ours.circuit == theirs.circuit
        assert (ours.shape, ours.precision) == (theirs.shape, theirs.precision)
        assert ours.observables.shape == theirs.observables.shape
        assert ours.observables.tolist() == theirs.observables.tolist()
        assert_same_bindings(ours.parameter_values, theirs.parameter_values)
    mine = StatevectorEstimator().run(decoded).result()
    direct = StatevectorEstimator().run(pubs).result()
    for ours, theirs in zip(mine, direct, strict=True):
        np.testing.assert_array_equal(ours.data.evs, theirs.data.evs)


def test_observables_beyond_paulis_and_empty_arrays_round_trip() -> None:
    circuit = QuantumCircuit(2)
    projectors = EstimatorPub.coerce((circuit, {"0+": 1.0, "lr": -0.5}))
    empty = EstimatorPub(circuit, EstimatorPub.coerce((circuit, [["ZZ"]])).observables[:0])
    wide = EstimatorPub.coerce((circuit, np.array([[], []], dtype=object).reshape(2, 0)))
    for pub in (projectors, empty, wide):
        (decoded,) = decode_pubs(encode_pubs([pub]))
        assert decoded.observables.shape == pub.observables.shape
        assert decoded.observables.tolist() == pub.observables.tolist()


def test_no_pubs_and_mixed_pubs() -> None:
    assert decode_pubs(encode_pubs([])) == []
    with pytest.raises(InvalidInputError, match="cannot be written together"):
        encode_pubs([*sampler_pubs()[:1], *estimator_pubs()[:1]])


# --------------------------------------------------------------- results


def assert_same_result(ours: PrimitiveResult, theirs: PrimitiveResult) -> None:
    assert ours.metadata == theirs.metadata
    assert len(ours) == len(theirs)
    for mine, want in zip(ours, theirs, strict=True):
        if want is None:
            assert mine is None
            continue
        assert type(mine) is type(want)
        assert mine.metadata == want.metadata
        assert mine.data.shape == want.data.shape
        assert list(mine.data) == list(want.data)
        for name, value in want.data.items():
            got = mine.data[name]
            assert type(got) is type(value)
            if isinstance(value, BitArray):
                assert got.num_bits == value.num_bits
                assert got.array.dtype == value.array.dtype
                np.testing.assert_array_equal(got.array, value.array)
            elif isinstance(value, np.ndarray):
                assert got.dtype == value.dtype
                np.testing.assert_array_equal(got, value)
            else:
                assert got == value


def test_sampler_and_estimator_results_round_trip() -> None:
    sampled = StatevectorSampler(seed=2).run(sampler_pubs()).result()
    assert_same_result(decode_result(encode_result(sampled)), sampled)
    estimated = StatevectorEstimator().run(estimator_pubs()).result()
    assert_same_result(decode_result(encode_result(estimated)), estimated)


def test_merged_and_partial_results_round_trip() -> None:
    pubs = sampler_pubs()
    plan = plan_pub_jobs(pub_costs(pubs), max_executions_per_job=50)
    results: list[PrimitiveResult | None] = [
        StatevectorSampler(seed=job).run(parts).result()
        for job, parts in enumerate(job_pubs(pubs, plan))
    ]
    merged = merge_pub_results(plan, results)
    assert "parts" in merged[0].metadata
    assert_same_result(decode_result(encode_result(merged)), merged)
    results[0] = None
    partial = merge_pub_results(plan, results, partial=True)
    assert partial[0] is None
    assert_same_result(decode_result(encode_result(partial)), partial)


def test_metadata_values_come_back_equal() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    objects = np.empty(2, dtype=object)
    objects[:] = ["x", {"y": 1}]
    metadata: dict[str, Any] = {
        "tuple": (1, (2.5, "three")),
        "complex": 1 - 2j,
        "when": moment,
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "objects": objects,
        "keys": {1: "one", (2, 3): "pair"},
        "$mj": "a key like the codec's own",
        "nan": float("nan"),
        "nested": [{"deep": [np.float64(0.5), None, True]}],
    }
    result = PrimitiveResult(
        [PubResult(DataBin(evs=np.float64(1.5), label="plain"), metadata=metadata)],
        metadata={"version": 2},
    )
    decoded = decode_result(encode_result(result))
    back = decoded[0].metadata
    assert back["tuple"] == (1, (2.5, "three"))
    assert back["complex"] == 1 - 2j
    assert back["when"] == moment
    assert back["array"].dtype == np.int16
    np.testing.assert_array_equal(back["array"], metadata["array"])
    assert back["objects"].dtype == object and list(back["objects"]) == ["x", {"y": 1}]
    assert back["keys"] == {1: "one", (2, 3): "pair"}
    assert back["$mj"] == metadata["$mj"]
    assert np.isnan(back["nan"])
    assert back["nested"] == [{"deep": [0.5, None, True]}]
    assert decoded[0].data.evs == 1.5 and decoded[0].data.label == "plain"


def test_values_of_unknown_types_are_kept_as_text_never_as_objects() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "Opaque()"

    result = PrimitiveResult([], metadata={"thing": Opaque(), "set": {3}})
    decoded = decode_result(encode_result(result))
    assert decoded.metadata == {"thing": "Opaque()", "set": [3]}


@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    shots=st.integers(0, 9),
    num_bits=st.integers(1, 20),
    seed=st.integers(0, 2**16),
)
def test_any_bit_array_round_trips(
    shape: tuple[int, ...], shots: int, num_bits: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bits = BitArray.from_bool_array(rng.integers(0, 2, (*shape, shots, num_bits)).astype(bool))
    result = PrimitiveResult([SamplerPubResult(DataBin(meas=bits, shape=shape), {"shots": shots})])
    assert_same_result(decode_result(encode_result(result)), result)


@given(
    hnp.arrays(
        dtype=st.sampled_from(["<f8", ">f8", "<f4", "<c16", "|i1", "<u8", "|b1"]).map(np.dtype),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_any_numeric_array_round_trips(array: np.ndarray) -> None:
    result = PrimitiveResult([PubResult(DataBin(field=array), {})])
    back = decode_result(encode_result(result))[0].data.field
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    back[...] = array  # writable


def test_structured_arrays_go_through_npy() -> None:
    array = np.zeros(3, dtype=[("x", "<f8"), ("n", "<i4")])
    array["n"] = [1, 2, 3]
    back = decode_result(encode_result(PrimitiveResult([], metadata={"a": array}))).metadata["a"]
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not ours" + data[8:],
        lambda data: data[:-1],
        lambda data: data + b"\x00",
        lambda data: data[:20],
        lambda data: data[:8] + b"\xff" * 8 + data[16:],
    ],
)
def test_damaged_bytes_are_refused(damage: Any) -> None:
    data = encode_result(StatevectorSampler(seed=1).run(sampler_pubs()[:2]).result())
    with pytest.raises(InvalidInputError, match="not a primitive result written by managedjob"):
        decode_result(damage(data))
    with pytest.raises(InvalidInputError, match="not PUBs written by managedjob"):
        decode_pubs(data)
