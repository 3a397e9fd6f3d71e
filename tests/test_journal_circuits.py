"""A slice's circuits in the journal: repeated bodies stored once, every circuit back whole."""

from __future__ import annotations

import io
import json
import zlib

from qiskit import QuantumCircuit, qpy, transpile
from qiskit.circuit import Parameter
from qiskit.circuit.classical import types

from helpers import basis_circuit
from managedjob._journal._circuits import MAGIC, decode_circuits, encode_circuits


def same(a: QuantumCircuit, b: QuantumCircuit) -> bool:
    return a == b and a.name == b.name and a.metadata == b.metadata


def plain_qpy(circuits: list[QuantumCircuit]) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(circuits, buffer)
    return zlib.compress(buffer.getvalue())


def test_a_circuit_repeated_in_a_slice_is_stored_once() -> None:
    distinct = []
    for index in range(3):
        circuit = basis_circuit(index, name=f"shot_{index}")
        circuit.metadata = {"index": index, "tags": ["a", "b"]}
        distinct.append(circuit)
    circuits = distinct * 20
    blob = encode_circuits(circuits)
    assert blob.startswith(MAGIC)
    payload = zlib.decompress(blob[len(MAGIC) :])
    size = int.from_bytes(payload[:4], "big")
    entries = json.loads(payload[4 : 4 + size])
    assert entries[:4] == [0, 1, 2, [0, "shot_0", {"index": 0, "tags": ["a", "b"]}]]
    assert len(qpy.load(io.BytesIO(payload[4 + size :]))) == 3  # three bodies written
    back = decode_circuits(blob)
    assert len(back) == 60 and all(same(a, b) for a, b in zip(circuits, back, strict=True))
    back[3].x(0)  # a copy of its own: the others do not change
    assert same(back[0], circuits[0]) and same(back[6], circuits[6])


def test_equal_circuits_that_are_separate_objects_are_written_whole() -> None:
    circuits = [basis_circuit(1, name=f"again_{index}") for index in range(10)]
    blob = encode_circuits(circuits)
    assert not blob.startswith(MAGIC)
    assert [c.name for c in decode_circuits(blob)] == [c.name for c in circuits]


def test_distinct_circuits_are_plain_qpy_as_journals_always_stored_them() -> None:
    theta = Parameter("theta")
    template = QuantumCircuit(2, 2)
    template.rx(theta, 0)
    template.cx(0, 1)
    template.measure([0, 1], [0, 1])
    sweep = [template.assign_parameters([k / 10]) for k in range(20)]
    blob = encode_circuits(sweep)
    assert not blob.startswith(MAGIC)
    assert [c.data for c in decode_circuits(blob)] == [c.data for c in sweep]
    assert decode_circuits(plain_qpy(sweep)) == sweep  # what older journals hold


def test_what_qpy_writes_beyond_the_instructions_keeps_circuits_apart() -> None:
    base = basis_circuit(1, name="base")
    phased = base.copy(name="phased")
    phased.global_phase = 0.5
    symbolic = base.copy(name="symbolic")
    symbolic.global_phase = Parameter("phi")
    with_var = QuantumCircuit(3, 3, name="with_var")
    with_var.add_input("flag", types.Bool())
    with_var.x(0)
    with_var.measure(range(3), range(3))
    circuits = [base, base.copy(name="again"), phased, symbolic, with_var, with_var.copy("v2")]
    back = decode_circuits(encode_circuits(circuits))
    assert [c.name for c in back] == ["base", "again", "phased", "symbolic", "with_var", "v2"]
    assert [c.global_phase for c in back[:3]] == [0.0, 0.0, 0.5]
    assert str(back[3].global_phase) == "phi"
    assert all(same(a, b) for a, b in zip(circuits, back, strict=True))
    assert [var.name for var in back[5].iter_input_vars()] == ["flag"]


def test_transpiled_circuits_keep_their_own_layouts() -> None:
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    device = FakeManilaV2()
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    first = transpile(bell, device, initial_layout=[0, 1], seed_transpiler=1)
    second = transpile(bell, device, initial_layout=[1, 0], seed_transpiler=1)
    circuits = [first, first, second]
    back = decode_circuits(encode_circuits(circuits))
    for original, restored in zip(circuits, back, strict=True):
        assert restored.layout is not None
        assert restored.layout.initial_index_layout() == original.layout.initial_index_layout()
        assert same(original, restored)


def test_a_circuit_with_variables_is_never_taken_for_a_body_without() -> None:
    plain = QuantumCircuit(2, 2, name="plain")
    plain.x(0)
    plain.measure([0, 1], [0, 1])
    with_var = plain.copy(name="with_var")
    with_var.add_input("flag", types.Bool())
    circuits = [plain, with_var, plain.copy(name="plain_again")]
    back = decode_circuits(encode_circuits(circuits))
    assert [var.name for var in back[1].iter_input_vars()] == ["flag"]
    assert list(back[2].iter_input_vars()) == []
    assert all(same(a, b) for a, b in zip(circuits, back, strict=True))


def test_what_circuit_data_equality_lets_pass_keeps_circuits_apart() -> None:
    from qiskit.circuit.library import PauliEvolutionGate, XGate
    from qiskit.quantum_info import SparsePauliOp

    plain = QuantumCircuit(1, 1, name="plain")
    plain.x(0)
    plain.measure(0, 0)
    labelled = QuantumCircuit(1, 1, name="labelled")
    labelled.append(XGate(label="flip"), [0])
    labelled.measure(0, 0)
    evolution = QuantumCircuit(1, name="t1")
    evolution.append(PauliEvolutionGate(SparsePauliOp("X"), time=1.0), [0])
    nudged = QuantumCircuit(1, name="t2")
    nudged.append(PauliEvolutionGate(SparsePauliOp("X"), time=1.0 + 1e-12), [0])
    positive = QuantumCircuit(1, name="plus_zero")
    positive.rz(0.0, 0)
    negative = QuantumCircuit(1, name="minus_zero")
    negative.rz(-0.0, 0)
    circuits = [plain, labelled, evolution, nudged, positive, negative, plain]
    back = decode_circuits(encode_circuits(circuits))
    assert [inst.operation.label for inst in back[1].data] == ["flip", None]
    assert back[3].data[0].operation.params[0] == 1.0 + 1e-12
    assert str(back[5].data[0].operation.params[0]) == "-0.0"
    assert [c.name for c in back] == [c.name for c in circuits]
    assert all(same(a, b) for a, b in zip(circuits, back, strict=True))


def test_longer_circuits_are_written_again_rather_than_compared() -> None:
    long = QuantumCircuit(2, 2, name="long")
    for _ in range(5):
        long.h(0)
        long.cx(0, 1)
    long.measure([0, 1], [0, 1])
    circuits = [long.copy(name=f"long_{index}") for index in range(10)]
    blob = encode_circuits(circuits)
    assert not blob.startswith(MAGIC)
    assert all(same(a, b) for a, b in zip(circuits, decode_circuits(blob), strict=True))
