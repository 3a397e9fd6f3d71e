"""A job's PUB parts in one runtime tag, and PUBs read back from a service's inputs."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import SparsePauliOp

from managedjob._pubs import PubPart, items_from_service, parse_pubs_tag, pubs_tag
from managedjob._pubs._tags import MAX_PUBS_TAG_CHARS


def part(pub: int, rows: range | None = None, shots: range | None = None) -> PubPart:
    return PubPart(pub, 0, 0, rows, shots)


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ([part(0)], "0"),
        ([part(3), part(4), part(5)], "3-5"),
        ([part(0), part(2), part(3)], "0,2-3"),
        ([part(7, rows=range(20, 40))], "7r20-39"),
        ([part(7, shots=range(5000))], "7s0-4999"),
        ([part(1, rows=range(1), shots=range(100, 200)), part(2)], "1r0-0s100-199,2"),
    ],
)
def test_parts_round_trip_through_their_tag(parts: list[PubPart], text: str) -> None:
    tag = pubs_tag(parts)
    assert tag == "managedjob:pubs:" + text
    assert parse_pubs_tag(["user", tag]) == [(p.pub, p.rows, p.shots) for p in parts]


def test_no_tag_is_written_past_its_length_and_none_is_read_without_one() -> None:
    interleaved = [part(index) for index in range(0, 400, 2)]
    assert pubs_tag(interleaved) is None
    assert len(pubs_tag([part(index) for index in range(0, 80, 2)]) or "") <= MAX_PUBS_TAG_CHARS
    assert parse_pubs_tag(["user", "managedjob:slice:0:0-1"]) is None


@pytest.mark.parametrize("bad", ["managedjob:pubs:5-2", "managedjob:pubs:1x3", "managedjob:pubs:"])
def test_a_malformed_tag_is_an_error_that_names_it(bad: str) -> None:
    with pytest.raises(ValueError, match="malformed PUBs tag"):
        parse_pubs_tag([bad])


def _as_the_service_returns(pubs: list[Any]) -> list[Any]:
    """The PUBs through qiskit-ibm-runtime's own JSON encoder and decoder, as a job's inputs."""
    runtime_json = pytest.importorskip("qiskit_ibm_runtime.utils.json")
    text = json.dumps({"pubs": pubs}, cls=runtime_json.RuntimeEncoder)
    decoded: dict[str, Any] = json.loads(text, cls=runtime_json.RuntimeDecoder)
    return list(decoded["pubs"])


def test_sampler_and_estimator_pubs_are_read_back_from_a_jobs_inputs() -> None:
    theta = Parameter("θ")
    circuit = QuantumCircuit(1)
    circuit.ry(theta, 0)
    measured = circuit.copy()
    measured.measure_all()
    sampler_pub = SamplerPub.coerce((measured, np.array([[0.1], [0.2]]), 64))
    estimator_pub = EstimatorPub.coerce(
        (circuit, SparsePauliOp(["Z", "X"]).paulis, np.array([[0.3]]), 0.05)
    )
    tags = ["managedjob:pubs:4r2-3,9"]
    items = items_from_service(_as_the_service_returns([sampler_pub, estimator_pub]), tags, 6)
    assert items is not None
    first, second = items
    assert isinstance(first.pub, SamplerPub) and first.pub.shots == 64
    assert first.pub.shape == (2,) and first.part == PubPart(4, 6, 0, range(2, 4), None)
    assert isinstance(second.pub, EstimatorPub) and second.pub.precision == 0.05
    assert second.pub.observables.shape == (2,)
    assert second.part == PubPart(9, 6, 1, None, None)
    np.testing.assert_allclose(second.pub.parameter_values.as_array(circuit.parameters), [[0.3]])


def test_inputs_that_do_not_match_the_tag_are_refused() -> None:
    circuit = QuantumCircuit(1)
    circuit.measure_all()
    raw = _as_the_service_returns([SamplerPub.coerce(circuit, 10)])
    with pytest.raises(ValueError, match="the tags name 2 PUBs but the job ran 1"):
        items_from_service(raw, ["managedjob:pubs:0-1"], 0)
    with pytest.raises(ValueError, match="neither a Sampler nor an Estimator PUB"):
        items_from_service([[circuit, 10]], ["managedjob:pubs:0"], 0)
