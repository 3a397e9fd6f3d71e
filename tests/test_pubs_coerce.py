from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import Pauli, SparsePauliOp

from managedjob._pubs import (
    check_precision,
    check_shots,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
)
from managedjob.exceptions import InvalidInputError


def bell(measure: bool = True) -> QuantumCircuit:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2, name="bell")
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    return circuit


def pair() -> QuantumCircuit:
    vector = ParameterVector("v", 2)
    circuit = QuantumCircuit(2, name="pair")
    circuit.ry(vector[0], 0)
    circuit.rx(vector[1], 1)
    return circuit


def fixed() -> QuantumCircuit:
    circuit = QuantumCircuit(1, name="fixed")
    circuit.x(0)
    circuit.measure_all()
    return circuit


# ------------------------------------------------------------------ sampler


def test_sampler_forms_match_what_the_primitive_makes_of_them() -> None:
    circuit = bell()
    given = [
        fixed(),
        (fixed(),),
        (circuit, [0.1]),
        (circuit, np.linspace(0, 1, 6).reshape(3, 2), 30),
        (circuit, {"theta": [0.1, 0.2]}),
        SamplerPub.coerce((circuit, [0.5])),
        SamplerPub.coerce((circuit, [0.5]), shots=9),
    ]
    ours = coerce_sampler_pubs(given, shots=50)
    theirs = [SamplerPub.coerce(item, 50) for item in given]
    assert [(p.shape, p.shots) for p in ours] == [(p.shape, p.shots) for p in theirs]
    assert [p.shots for p in ours] == [50, 50, 50, 30, 50, 50, 9]
    # A PUB that needs no change is kept as it is.
    assert ours[6] is given[6]
    # And the primitive runs them as it runs its own coercion.
    result = StatevectorSampler(seed=1).run(ours).result()
    assert [r.data.meas.shape for r in result] == [p.shape for p in theirs]


def test_sampler_shots_left_unset_stay_unset() -> None:
    (pub,) = coerce_sampler_pubs([(bell(), [0.3])])
    assert pub.shots is None


@pytest.mark.parametrize(
    ("pubs", "shots", "message"),
    [
        ([fixed(), 3], None, r"pub 1: not a sampler PUB: 3"),
        ([fixed(), "abc"], None, r"pub 1: not a sampler PUB: 'abc'"),
        ([(fixed(), None, 5, 6)], None, r"pub 0: a sampler PUB tuple has 1 to 3 items"),
        ([("circuit", [1])], None, r"pub 0: the first item .* must be a QuantumCircuit"),
        ([fixed(), (bell(),)], None, r"pub 1: parameter values bind 0 parameters.*has 1"),
        ([(pair(), [0.1, 0.2, 0.3])], None, r"pub 0: parameter values .* do not fit .* 2 para"),
        (
            [(bell(), {"phi": [0.1]})],
            None,
            r"pub 0: .* bind no value to \[.theta.\]",
        ),
        ([(fixed(), None, 0)], None, r"pub 0: shots must be a positive integer, not 0"),
        ([(fixed(), None, -5)], None, r"pub 0: shots must be a positive integer, not -5"),
        ([(fixed(), None, 2.0)], None, r"pub 0: shots must be a positive integer, not 2.0"),
        ([(fixed(), None, True)], None, r"pub 0: shots must be a positive integer, not True"),
        ([fixed()], 0, r"^shots must be a positive integer, not 0"),
        ([fixed()], 1.5, r"^shots must be a positive integer, not 1.5"),
        ([(bell(False), SparsePauliOp("ZZ"))], None, r"pub 0: a sampler takes no observables"),
        ([(bell(False), "ZZ")], None, r"pub 0: a sampler takes no observables, got 'ZZ'"),
        ([(bell(False), {"ZZ": 1.0})], None, r"pub 0: a sampler takes no observables"),
        ([(bell(False), [Pauli("XZ")])], None, r"pub 0: a sampler takes no observables"),
        ([fixed(), EstimatorPub.coerce((bell(False), "ZZ", [1.0]))], None, r"pub 1: an Estim"),
        (fixed(), None, r"not one PUB \(QuantumCircuit 'fixed'"),
        ((bell(), [0.1]), None, r"wrap a single PUB in a list"),
        ({"a": 1}, None, r"pubs must be a list of sampler PUBs, not dict"),
    ],
)
def test_bad_sampler_input_is_named(pubs: object, shots: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        coerce_sampler_pubs(pubs, shots)  # type: ignore[arg-type]


def test_parameters_named_like_paulis_are_values_not_observables() -> None:
    x = Parameter("X")
    circuit = QuantumCircuit(1)
    circuit.rx(x, 0)
    circuit.measure_all()
    (pub,) = coerce_sampler_pubs([(circuit, {"X": [0.1, 0.2]})])
    assert pub.shape == (2,)


def test_a_tuple_of_circuits_is_a_list_of_pubs() -> None:
    pubs = coerce_sampler_pubs((fixed(), fixed()), shots=3)
    assert len(pubs) == 2 and pubs[0].shots == 3


# ---------------------------------------------------------------- estimator


def test_estimator_forms_match_what_the_primitive_makes_of_them() -> None:
    circuit = bell(False)
    two = pair()
    given = [
        (circuit, "ZZ", [0.4]),
        (circuit, [[SparsePauliOp("ZZ")], [SparsePauliOp(["XX", "YY"], [0.5, 0.5])]], [0.1, 0.2]),
        (two, {"ZI": 1.0, "IX": -2.0}, np.ones((3, 2)), 0.5),
        (circuit, SparsePauliOp("XZ"), {"theta": 0.3}),
        EstimatorPub.coerce((circuit, Pauli("XY"), [0.2])),
    ]
    ours = coerce_estimator_pubs(given, precision=0.0)
    theirs = [EstimatorPub.coerce(item, 0.0) for item in given]
    assert [(p.shape, p.precision) for p in ours] == [(p.shape, p.precision) for p in theirs]
    assert [p.precision for p in ours] == [0.0, 0.0, 0.5, 0.0, 0.0]
    # Seeded alike, both runs draw the same noise for the PUB with precision 0.5.
    mine = StatevectorEstimator(seed=7).run(ours).result()
    direct = StatevectorEstimator(seed=7).run(theirs).result()
    for a, b in zip(mine, direct, strict=True):
        np.testing.assert_array_equal(a.data.evs, b.data.evs)


@pytest.mark.parametrize(
    ("pubs", "precision", "message"),
    [
        ([(bell(False), "ZZZ", [0.1])], None, r"pub 0: observables act on 3 qubits, .* has 2"),
        ([(bell(False), 5, [0.1])], None, r"pub 0: observables 5 are not valid"),
        ([(bell(False), {"ZZ": 1j}, [0.1])], None, r"pub 0: observables .* not valid: Non-Herm"),
        (
            [(bell(False), ["ZZ", "XX", "YY"], [[0.1], [0.2]])],
            None,
            r"pub 0: observables of shape \(3,\) and parameter values of shape \(2,\) do not",
        ),
        ([(bell(False), "ZZ")], None, r"pub 0: parameter values bind 0 parameters"),
        ([(bell(False), "ZZ", [0.1], -0.1)], None, r"pub 0: precision must be a finite, non-n"),
        ([(bell(False), "ZZ", [0.1], float("nan"))], None, r"pub 0: precision .* not nan"),
        ([(bell(False), "ZZ", [0.1])], float("inf"), r"^precision must be .* not inf"),
        ([(bell(False), "ZZ", [0.1])], -1, r"^precision must be a finite"),
        ([(bell(False), "ZZ", [0.1]), bell(False)], None, r"pub 1: an estimator PUB needs obs"),
        ([(bell(False),)], None, r"pub 0: an estimator PUB tuple has 2 to 4 items"),
        ([SamplerPub.coerce(fixed())], None, r"pub 0: a SamplerPub was given to an estimator"),
        ((bell(False), "ZZ", [0.1]), None, r"wrap a single PUB in a list"),
    ],
)
def test_bad_estimator_input_is_named(pubs: object, precision: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        coerce_estimator_pubs(pubs, precision)  # type: ignore[arg-type]


def test_scalar_checks() -> None:
    assert check_shots(np.int64(5)) == 5
    assert check_shots(None) is None
    assert check_precision(np.float32(0.5)) == 0.5
    assert check_precision(0) == 0.0
    with pytest.raises(InvalidInputError, match="default_shots must be"):
        check_shots(-1, "default_shots")
    with pytest.raises(InvalidInputError, match="precision must be"):
        check_precision(True)
