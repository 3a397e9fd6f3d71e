"""Tests for the legacy Qobj view built from circuits and run options."""

from __future__ import annotations

import copy
import json
import math
import pickle
import uuid
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.circuit.library import UnitaryGate
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from managedjob._qobj import (
    QasmQobj,
    QasmQobjConfig,
    QasmQobjExperiment,
    QasmQobjExperimentHeader,
    QasmQobjInstruction,
    QobjHeader,
    build_qobj,
)
from managedjob.exceptions import InvalidInputError

# ---------------------------------------------------------------- circuits


def bell_two_registers() -> QuantumCircuit:
    qr = QuantumRegister(2, "qr")
    left = ClassicalRegister(1, "left")
    right = ClassicalRegister(1, "right")
    circuit = QuantumCircuit(qr, left, right, name="bell")
    circuit.h(qr[0])
    circuit.cx(qr[0], qr[1])
    circuit.measure(qr[0], left[0])
    circuit.measure(qr[1], right[0])
    return circuit


def barrier_reset_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 2, name="directives")
    circuit.x(2)
    circuit.barrier()
    circuit.reset(0)
    circuit.delay(16, 1)
    circuit.barrier(0, 2)
    circuit.measure([0, 2], [1, 0])
    return circuit


def rotation_circuit() -> tuple[QuantumCircuit, Parameter]:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1, name="rotation")
    circuit.rx(theta, 0)
    circuit.rz(2 * theta, 0)
    circuit.measure(0, 0)
    return circuit, theta


def instruction_dicts(qobj: QasmQobj, index: int = 0) -> list[dict[str, Any]]:
    return [instruction.to_dict() for instruction in qobj.experiments[index].instructions]


# ---------------------------------------------------------------- header


def test_header_describes_the_registers_of_a_bell_circuit() -> None:
    qobj = build_qobj([bell_two_registers()])
    header = qobj.experiments[0].header

    assert header.name == "bell"
    assert header.n_qubits == 2
    assert header.memory_slots == 2
    assert header.qreg_sizes == [["qr", 2]]
    assert header.creg_sizes == [["left", 1], ["right", 1]]
    assert header.qubit_labels == [["qr", 0], ["qr", 1]]
    assert header.clbit_labels == [["left", 0], ["right", 0]]
    assert header.global_phase == 0.0
    assert header.metadata == {}
    assert qobj.experiments[0].config.n_qubits == 2
    assert qobj.experiments[0].config.memory_slots == 2


@pytest.mark.parametrize(
    "circuit",
    [
        bell_two_registers(),
        barrier_reset_circuit(),
        transpile(bell_two_registers(), FakeManilaV2(), seed_transpiler=7),
    ],
    ids=["bell", "directives", "transpiled-manila"],
)
def test_header_matches_the_result_header_of_a_real_simulator(circuit: QuantumCircuit) -> None:
    # BasicSimulator still writes the legacy experiment header into its results, so
    # the two must agree field for field.
    circuit.metadata = {"experiment": "cross-check", "index": 3}
    result = BasicSimulator().run(circuit, shots=4, seed_simulator=11).result()
    simulated = dict(result.results[0].header)

    assert build_qobj([circuit]).experiments[0].header.to_dict() == simulated


def test_metadata_and_global_phase_come_from_the_circuit() -> None:
    circuit = QuantumCircuit(1, name="tagged", metadata={"run": 4, "tags": ["a", "b"]})
    circuit.global_phase = math.pi / 4
    header = build_qobj([circuit]).experiments[0].header

    assert header.metadata == {"run": 4, "tags": ["a", "b"]}
    assert header.global_phase == pytest.approx(math.pi / 4)
    assert isinstance(header.global_phase, float)


def test_circuit_without_classical_bits_has_no_memory_slots() -> None:
    circuit = QuantumCircuit(3)
    circuit.h(0)
    qobj = build_qobj([circuit])

    assert qobj.experiments[0].header.memory_slots == 0
    assert qobj.experiments[0].header.creg_sizes == []
    assert qobj.config.memory_slots == 0


# ---------------------------------------------------------------- instructions


def test_bell_instructions_have_indices_and_memory() -> None:
    qobj = build_qobj([bell_two_registers()])
    h, cx, first, second = qobj.experiments[0].instructions

    assert (h.name, h.qubits) == ("h", [0])
    assert (cx.name, cx.qubits) == ("cx", [0, 1])
    assert (first.name, first.qubits, first.memory) == ("measure", [0], [0])
    assert (second.name, second.qubits, second.memory) == ("measure", [1], [1])
    # Without classically conditioned control flow the legacy gave measures no register.
    assert not hasattr(first, "register")
    assert not hasattr(h, "memory")
    assert not hasattr(h, "params")


def test_barrier_reset_and_delay_are_kept_like_the_legacy() -> None:
    assert instruction_dicts(build_qobj([barrier_reset_circuit()])) == [
        {"name": "x", "qubits": [2]},
        {"name": "barrier", "qubits": [0, 1, 2]},
        {"name": "reset", "qubits": [0]},
        {"name": "delay", "params": [16], "qubits": [1]},
        {"name": "barrier", "qubits": [0, 2]},
        {"name": "measure", "qubits": [0], "memory": [1]},
        {"name": "measure", "qubits": [2], "memory": [0]},
    ]


def test_delay_in_seconds_carries_its_unit() -> None:
    circuit = QuantumCircuit(1)
    circuit.delay(1.5, 0, unit="us")
    (delay,) = build_qobj([circuit]).experiments[0].instructions

    assert delay.to_dict() == {"name": "delay", "params": [1.5], "qubits": [0], "unit": "us"}


def test_bound_parameters_are_plain_floats() -> None:
    circuit, theta = rotation_circuit()
    bound = circuit.assign_parameters({theta: 0.25})
    rx, rz, _ = build_qobj([bound]).experiments[0].instructions

    assert rx.params == [0.25]
    assert rz.params == [0.5]
    assert all(type(value) is float for value in (*rx.params, *rz.params))


def test_integer_gate_parameters_become_floats() -> None:
    circuit = QuantumCircuit(1)
    circuit.rx(1, 0)
    circuit.rz(np.float32(0.5), 0)
    rx, rz = build_qobj([circuit]).experiments[0].instructions

    assert rx.params == [1.0] and type(rx.params[0]) is float
    assert rz.params == [0.5] and type(rz.params[0]) is float


def test_unbound_parameters_are_strings() -> None:
    circuit, theta = rotation_circuit()
    circuit.global_phase = theta
    qobj = build_qobj([circuit])
    rx, rz, _ = qobj.experiments[0].instructions

    assert rx.params == ["theta"]
    assert rz.params == [str(2 * theta)]
    assert qobj.experiments[0].header.global_phase == "theta"
    json.dumps(qobj.to_dict())


def test_matrix_and_complex_parameters_are_json_pairs() -> None:
    circuit = QuantumCircuit(1)
    circuit.append(UnitaryGate(np.array([[0, 1j], [1j, 0]])), [0])
    circuit.initialize([1 / math.sqrt(2), 1j / math.sqrt(2)], [0])
    unitary, initialize = instruction_dicts(build_qobj([circuit]))

    assert unitary["params"] == [[[[0.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 0.0]]]]
    (real, imag) = initialize["params"][1]
    assert real == pytest.approx(0.0) and imag == pytest.approx(1 / math.sqrt(2))
    json.dumps(unitary)
    json.dumps(initialize)


def test_labels_are_kept() -> None:
    circuit = QuantumCircuit(1)
    circuit.x(0, label="flip")
    (flip,) = build_qobj([circuit]).experiments[0].instructions

    assert flip.label == "flip"


def test_control_flow_is_one_instruction_and_measures_get_registers() -> None:
    circuit = QuantumCircuit(2, 2, name="feed-forward")
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    circuit.measure(1, 1)
    _, first, branch, second = instruction_dicts(build_qobj([circuit]))

    assert first == {"name": "measure", "qubits": [0], "register": [0], "memory": [0]}
    assert second == {"name": "measure", "qubits": [1], "register": [1], "memory": [1]}
    assert branch == {"name": "if_else", "qubits": [1], "memory": [0]}


def test_for_loop_does_not_make_measures_conditional() -> None:
    circuit = QuantumCircuit(1, 1)
    with circuit.for_loop(range(2)):
        circuit.x(0)
    circuit.measure(0, 0)
    loop, measure = build_qobj([circuit]).experiments[0].instructions

    assert loop.name == "for_loop" and not hasattr(loop, "params")
    assert not hasattr(measure, "register")


# ---------------------------------------------------------------- config


def test_config_defaults() -> None:
    small = QuantumCircuit(2, 1)
    large = QuantumCircuit(5, 3)
    qobj = build_qobj([small, large, small])

    assert qobj.config.shots == 1024
    assert qobj.config.memory is False
    assert qobj.config.n_qubits == 5
    assert qobj.config.memory_slots == 3
    assert not hasattr(qobj.config, "parameter_binds")
    assert qobj.config.to_dict() == {
        "shots": 1024,
        "memory": False,
        "memory_slots": 3,
        "n_qubits": 5,
    }


def test_run_options_show_in_config() -> None:
    circuit, theta = rotation_circuit()
    binds = [{theta: [0.1, 0.2]}]
    qobj = build_qobj(
        [circuit],
        {
            "shots": 333,
            "memory": True,
            "seed_simulator": np.int64(42),
            "parameter_binds": binds,
            "method": "statevector",
            "memory_slots": 99,
        },
    )
    config = qobj.config

    assert config.shots == 333
    assert config.memory is True
    assert config.seed_simulator == 42 and type(config.seed_simulator) is int
    assert config.method == "statevector"
    assert config.parameter_binds == binds
    # Computed sizes win over anything passed in, as in the legacy.
    assert config.memory_slots == 1
    as_dict = config.to_dict()
    assert as_dict["parameter_binds"] == [{"theta": [0.1, 0.2]}]
    assert as_dict["method"] == "statevector"
    assert as_dict["seed_simulator"] == 42
    json.dumps(as_dict)


def test_numpy_run_options_are_plain_in_to_dict() -> None:
    qobj = build_qobj([QuantumCircuit(1)], {"weights": np.array([0.5, 1.5]), "scale": 2 + 1j})

    assert qobj.config.to_dict()["weights"] == [0.5, 1.5]
    assert qobj.config.to_dict()["scale"] == [2.0, 1.0]
    json.dumps(qobj.to_dict())


def test_qobj_id_defaults_to_a_fresh_uuid4() -> None:
    first = build_qobj([bell_two_registers()])
    second = build_qobj([bell_two_registers()])

    assert uuid.UUID(first.qobj_id).version == 4
    assert first.qobj_id != second.qobj_id
    assert build_qobj([QuantumCircuit(1)], qobj_id="job-7").qobj_id == "job-7"


def test_qobj_header_fields_are_attributes() -> None:
    qobj = build_qobj(
        [QuantumCircuit(1)],
        qobj_header={"backend_name": "fake_manila", "backend_version": "1.0.0"},
    )

    assert qobj.header.backend_name == "fake_manila"
    assert qobj.header.to_dict() == {"backend_name": "fake_manila", "backend_version": "1.0.0"}
    assert build_qobj([QuantumCircuit(1)]).header.to_dict() == {}


def test_qobj_id_and_header_may_come_in_the_run_options() -> None:
    qobj = build_qobj([QuantumCircuit(1)], {"qobj_id": "abc", "qobj_header": {"user": "me"}})

    assert qobj.qobj_id == "abc"
    assert qobj.header.user == "me"
    assert not hasattr(qobj.config, "qobj_header")
    explicit = build_qobj([QuantumCircuit(1)], {"qobj_id": "abc"}, qobj_id="wins")
    assert explicit.qobj_id == "wins"


# ---------------------------------------------------------------- whole qobj


def test_to_dict_has_the_legacy_schema_and_is_json() -> None:
    circuit, theta = rotation_circuit()
    circuit.metadata = {"sweep": 1}
    qobj = build_qobj(
        [bell_two_registers(), circuit.assign_parameters({theta: 1.0}), barrier_reset_circuit()],
        {"shots": 10, "seed_simulator": 3},
        qobj_id="q-1",
        qobj_header={"backend_name": "basic_simulator"},
    )
    as_dict = qobj.to_dict()

    assert set(as_dict) == {"qobj_id", "header", "config", "schema_version", "type", "experiments"}
    assert as_dict["qobj_id"] == "q-1"
    assert as_dict["type"] == qobj.type == "QASM"
    assert as_dict["schema_version"] == qobj.schema_version == "1.3.0"
    assert len(as_dict["experiments"]) == 3
    for experiment in as_dict["experiments"]:
        assert set(experiment) == {"config", "header", "instructions"}
        assert set(experiment["header"]) == {
            "qubit_labels",
            "n_qubits",
            "qreg_sizes",
            "clbit_labels",
            "memory_slots",
            "creg_sizes",
            "name",
            "global_phase",
            "metadata",
        }
    assert as_dict["experiments"][1]["header"]["metadata"] == {"sweep": 1}
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_single_circuit_is_one_experiment() -> None:
    qobj = build_qobj(bell_two_registers())

    assert len(qobj.experiments) == 1
    assert qobj.experiments[0].header.name == "bell"


def test_equality() -> None:
    circuits = [bell_two_registers(), barrier_reset_circuit()]
    qobj = build_qobj(circuits, {"shots": 5}, qobj_id="same")

    assert qobj == build_qobj([c.copy() for c in circuits], {"shots": 5}, qobj_id="same")
    assert qobj != build_qobj(circuits, {"shots": 6}, qobj_id="same")
    assert qobj != build_qobj(circuits, {"shots": 5}, qobj_id="other")
    assert qobj != build_qobj(circuits[:1], {"shots": 5}, qobj_id="same")
    assert qobj != qobj.to_dict()
    assert qobj.experiments[0] == build_qobj([bell_two_registers()]).experiments[0]
    assert qobj.experiments[0] != qobj.experiments[1]
    assert qobj.experiments[0].instructions[0] == QasmQobjInstruction("h", qubits=[0])


def test_repr_is_short_and_readable() -> None:
    qobj = build_qobj([bell_two_registers()] * 3, qobj_id="r")

    text = repr(qobj)
    assert text.startswith("QasmQobj(qobj_id='r', config=QasmQobjConfig(shots=1024")
    assert text.endswith("experiments=<3 experiments>)")
    assert repr(qobj.experiments[0]) == (
        "QasmQobjExperiment(name='bell', n_qubits=2, memory_slots=2, instructions=4)"
    )
    assert repr(qobj.experiments[0].instructions[3]) == (
        "QasmQobjInstruction(name='measure', qubits=[1], memory=[1])"
    )


def test_view_is_read_only() -> None:
    qobj = build_qobj([bell_two_registers()])
    experiment = qobj.experiments[0]

    with pytest.raises(AttributeError, match="read-only"):
        qobj.qobj_id = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        qobj.config.shots = 1  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        experiment.header = experiment.header  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del experiment.instructions[0].name

    experiment.header.creg_sizes.append(["extra", 1])
    experiment.instructions[0].qubits.append(7)
    qobj.to_dict()["experiments"][0]["header"]["name"] = "changed"
    assert experiment.header.creg_sizes == [["left", 1], ["right", 1]]
    assert experiment.instructions[0].qubits == [0]
    assert experiment.header.name == "bell"


def test_missing_fields_raise_attribute_error() -> None:
    qobj = build_qobj([QuantumCircuit(1)])

    with pytest.raises(AttributeError, match="seed_simulator"):
        _ = qobj.config.seed_simulator
    assert "shots" in dir(qobj.config)


def test_pickle_and_copy_keep_the_view() -> None:
    circuit, theta = rotation_circuit()
    qobj = build_qobj(
        [bell_two_registers(), circuit],
        {"parameter_binds": [{theta: [0.5]}]},
        qobj_header={"backend_name": "b"},
    )

    assert pickle.loads(pickle.dumps(qobj)) == qobj
    assert copy.deepcopy(qobj) == qobj
    assert copy.copy(qobj.config) == qobj.config


def test_parts_can_be_built_directly() -> None:
    header = QasmQobjExperimentHeader.from_circuit(bell_two_registers())
    experiment = QasmQobjExperiment(header, instructions=[QasmQobjInstruction("h", qubits=[0])])
    config = QasmQobjConfig(shots=1, memory=False, memory_slots=2, n_qubits=2)
    qobj = QasmQobj("direct", config, [experiment], QobjHeader(note="hand-made"))

    assert qobj.experiments[0].config.to_dict() == {"n_qubits": 2, "memory_slots": 2}
    assert qobj.to_dict()["experiments"][0]["instructions"] == [{"name": "h", "qubits": [0]}]
    assert qobj.header.note == "hand-made"
    assert pickle.loads(pickle.dumps(qobj)) == qobj


def test_a_thousand_circuits() -> None:
    circuits = []
    for index in range(1000):
        circuit = QuantumCircuit(3, 3, name=f"c{index}")
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.measure(range(3), range(3))
        circuits.append(circuit)
    qobj = build_qobj(circuits)

    assert qobj.experiments[999].header.name == "c999"
    assert [e["header"]["name"] for e in qobj.to_dict()["experiments"]] == [
        c.name for c in circuits
    ]


# ---------------------------------------------------------------- errors


def test_no_circuits_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="no circuits"):
        build_qobj([])


def test_an_item_that_is_not_a_circuit_is_named_by_index() -> None:
    with pytest.raises(InvalidInputError, match=r"circuits\[1\] is a str"):
        build_qobj([QuantumCircuit(1), "h q[0];"])


@pytest.mark.parametrize("shots", [0, -3, 1.5, "100"])
def test_bad_shots_are_rejected(shots: object) -> None:
    with pytest.raises(InvalidInputError, match="shots"):
        build_qobj([QuantumCircuit(1)], {"shots": shots})


def test_bad_seed_and_option_names_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="seed_simulator") as info:
        build_qobj([QuantumCircuit(1)], {"seed_simulator": "seven"})
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(InvalidInputError, match="strings"):
        build_qobj([QuantumCircuit(1)], {3: "x"})  # type: ignore[dict-item]


# ---------------------------------------------------------------- properties


@st.composite
def register_circuits(draw: st.DrawFn) -> QuantumCircuit:
    qregs = [
        QuantumRegister(size, f"q{i}")
        for i, size in enumerate(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    ]
    cregs = [
        ClassicalRegister(size, f"c{i}")
        for i, size in enumerate(draw(st.lists(st.integers(1, 3), max_size=3)))
    ]
    circuit = QuantumCircuit(*qregs, *cregs, name=draw(st.text(min_size=1, max_size=8)))
    num_qubits, num_clbits = circuit.num_qubits, circuit.num_clbits
    for _ in range(draw(st.integers(0, 6))):
        qubit = draw(st.integers(0, num_qubits - 1))
        kind = draw(st.sampled_from(["h", "rx", "cx", "measure", "barrier", "reset"]))
        if kind == "h":
            circuit.h(qubit)
        elif kind == "rx":
            circuit.rx(draw(st.floats(-10, 10)), qubit)
        elif kind == "cx" and num_qubits > 1:
            circuit.cx(qubit, (qubit + 1) % num_qubits)
        elif kind == "measure" and num_clbits:
            circuit.measure(qubit, draw(st.integers(0, num_clbits - 1)))
        elif kind == "barrier":
            circuit.barrier()
        elif kind == "reset":
            circuit.reset(qubit)
    return circuit


@settings(max_examples=60, deadline=None)
@given(st.lists(register_circuits(), min_size=1, max_size=4))
def test_sizes_follow_the_circuits(circuits: list[QuantumCircuit]) -> None:
    qobj = build_qobj(circuits)

    assert qobj.config.n_qubits == max(c.num_qubits for c in circuits)
    assert qobj.config.memory_slots == max(c.num_clbits for c in circuits)
    for circuit, experiment in zip(circuits, qobj.experiments, strict=True):
        header = experiment.header
        assert header.name == circuit.name
        assert header.memory_slots == circuit.num_clbits == len(header.clbit_labels)
        assert header.n_qubits == circuit.num_qubits == len(header.qubit_labels)
        assert sum(size for _, size in header.creg_sizes) == header.memory_slots
        assert len(experiment.instructions) == len(circuit.data)
        for instruction, item in zip(experiment.instructions, circuit.data, strict=True):
            assert instruction.name == item.name
            qubits = getattr(instruction, "qubits", [])
            assert qubits == [circuit.find_bit(bit).index for bit in item.qubits]
    assert json.loads(json.dumps(qobj.to_dict())) == qobj.to_dict()


#: Run options build_qobj reads or computes itself rather than passing through.
SPECIAL_OPTIONS = {"memory_slots", "n_qubits", "qobj_id", "qobj_header", "seed_simulator"}


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(
            lambda key: (
                key not in SPECIAL_OPTIONS
                and not key.startswith("_")
                and not hasattr(QasmQobjConfig, key)
            )
        ),
        st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none()),
        max_size=5,
    )
)
def test_every_other_run_option_is_kept(options: dict[str, Any]) -> None:
    config = build_qobj([QuantumCircuit(1)], options).config

    assert {key: config.to_dict()[key] for key in options} == options
    for key, value in options.items():
        assert getattr(config, key) == value
