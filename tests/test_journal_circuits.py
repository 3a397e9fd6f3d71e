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


def test_repeated_bodies_are_stored_once_and_come_back_with_their_names() -> None:
    circuits = []
    for index in range(60):
        circuit = basis_circuit(index % 3, name=f"shot_{index}")
        circuit.metadata = {"index": index, "tags": ["a", "b"]}
        circuits.append(circuit)
    blob = encode_circuits(circuits)
    assert blob.startswith(MAGIC)
    payload = zlib.decompress(blob[len(MAGIC) :])
    size = int.from_bytes(payload[:4], "big")
    entries = json.loads(payload[4 : 4 + size])
    assert entries[:4] == [0, 1, 2, [0, "shot_3", {"index": 3, "tags": ["a", "b"]}]]
    assert len(qpy.load(io.BytesIO(payload[4 + size :]))) == 3  # three bodies written
    back = decode_circuits(blob)
    assert len(back) == 60 and all(same(a, b) for a, b in zip(circuits, back, strict=True))
    back[1].x(0)  # a copy of its own: the others do not change
    assert same(back[4], circuits[4])


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
