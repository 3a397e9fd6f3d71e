"""PrimitiveResult -> legacy Result, checked against BasicSimulator's own results."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit, Parameter
from qiskit.exceptions import QiskitError
from qiskit.primitives import (
    BackendSamplerV2,
    BitArray,
    DataBin,
    PrimitiveResult,
    SamplerPubResult,
    StatevectorSampler,
)
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result

from helpers import ghz, two_registers
from managedjob._convert import add_loose_clbit_registers, primitive_result_to_result
from managedjob.exceptions import ResultDataNotAvailableError

SHOTS = 256


# --- circuits -----------------------------------------------------------------


def crossed_registers() -> QuantumCircuit:
    """Registers of different sizes, measured out of order, one holding no measurement."""
    q = QuantumRegister(4, "q")
    big = ClassicalRegister(3, "big")
    small = ClassicalRegister(1, "small")
    idle = ClassicalRegister(2, "idle")
    qc = QuantumCircuit(q, small, big, idle, name="crossed", metadata={"kind": "crossed"})
    qc.x(q[1])
    qc.x(q[3])
    qc.measure(q[3], small[0])
    qc.measure(q[0], big[2])
    qc.measure(q[1], big[0])
    qc.measure(q[2], big[1])
    return qc


def loose_clbits() -> QuantumCircuit:
    """Clbits outside every register, between and after register bits."""
    q = QuantumRegister(3, "q")
    a = ClassicalRegister(2, "a")
    c = ClassicalRegister(1, "c")
    loose = [Clbit(), Clbit()]
    qc = QuantumCircuit(q, a, name="loose")
    qc.add_bits(loose)
    qc.add_register(c)
    qc.x(0)
    qc.x(2)
    qc.measure(0, loose[0])
    qc.measure(1, a[0])
    qc.measure(2, c[0])
    qc.measure(2, loose[1])
    qc.measure(0, a[1])
    return qc


def only_loose_clbits() -> QuantumCircuit:
    """No register at all; BasicSimulator reports the clbits unseparated."""
    qc = QuantumCircuit(QuantumRegister(2, "q"), name="only_loose")
    bits = [Clbit(), Clbit(), Clbit()]
    qc.add_bits(bits)
    qc.x(1)
    qc.measure(1, bits[0])
    qc.measure(0, bits[1])
    qc.measure(1, bits[2])
    return qc


def overlapping_registers() -> QuantumCircuit:
    """A register built over bits of another, in another order."""
    q = QuantumRegister(3, "q")
    main = ClassicalRegister(3, "main")
    qc = QuantumCircuit(q, main, name="overlap")
    qc.add_register(ClassicalRegister(name="view", bits=[main[2], main[0]]))
    qc.x(0)
    qc.x(1)
    qc.measure(q, main)
    return qc


def wide() -> QuantumCircuit:
    """70 clbits (past one uint64) in registers of 40 and 30 bits."""
    q = QuantumRegister(3, "q")
    low = ClassicalRegister(40, "low")
    high = ClassicalRegister(30, "high")
    qc = QuantumCircuit(q, low, high, name="wide")
    qc.x(0)
    qc.x(2)
    for index in range(70):
        qc.measure(index % 3, index)
    return qc


def scrambled(num_clbits: int) -> QuantumCircuit:
    """A register over clbits in shuffled order, then a plain one and a loose clbit."""
    bits = [Clbit() for _ in range(num_clbits - 3)]
    order = np.random.default_rng(num_clbits).permutation(len(bits))
    q = QuantumRegister(3, "q")
    tail = ClassicalRegister(2, "tail")
    qc = QuantumCircuit(q, name=f"scrambled_{num_clbits}")
    qc.add_bits(bits)
    qc.add_register(ClassicalRegister(name="shuffled", bits=[bits[i] for i in order]))
    qc.add_register(tail)
    loose = Clbit()
    qc.add_bits([loose])
    qc.x(0)
    qc.x(2)
    for index, bit in enumerate(bits):
        qc.measure(index % 3, bit)
    qc.measure(q[2], tail[1])
    qc.measure(q[0], loose)
    return qc


def scrambled_small() -> QuantumCircuit:
    return scrambled(9)


def scrambled_wide() -> QuantumCircuit:
    return scrambled(72)


DETERMINISTIC = [
    two_registers,
    crossed_registers,
    loose_clbits,
    only_loose_clbits,
    overlapping_registers,
    wide,
    scrambled_small,
    scrambled_wide,
]


def basic_result(circuits: list[QuantumCircuit], **options: object) -> Result:
    return BasicSimulator().run(circuits, shots=SHOTS, **options).result()


def convert(
    primitive_result: PrimitiveResult, circuits: list[QuantumCircuit], *, memory: bool = True
) -> Result:
    return primitive_result_to_result(
        primitive_result,
        circuits,
        shots=SHOTS,
        memory=memory,
        backend_name="test_backend",
        job_id="job-1",
    )


def sample(circuits: list[QuantumCircuit]) -> PrimitiveResult:
    pubs = [add_loose_clbit_registers(circuit) for circuit in circuits]
    return StatevectorSampler(seed=5).run(pubs, shots=SHOTS).result()


# --- agreement with BasicSimulator --------------------------------------------


@pytest.mark.parametrize("make", DETERMINISTIC, ids=lambda make: make.__name__)
def test_deterministic_counts_memory_and_data_match_basic_simulator(make):
    circuit = make()
    expected = basic_result([circuit], memory=True)
    result = convert(sample([circuit]), [circuit])
    assert result.get_counts() == expected.get_counts()
    assert result.get_counts(0) == expected.get_counts(0)
    assert result.get_memory(0) == expected.get_memory(0)
    assert result.data(0) == expected.data(0)
    assert result.results[0].header == expected.results[0].header


def test_two_registers_key_puts_last_register_leftmost():
    circuit = two_registers()
    result = convert(sample([circuit]), [circuit])
    # a = (q1, q0) = "01", c = q2 = "1"; BasicSimulator writes "c a".
    assert result.get_counts() == basic_result([circuit]).get_counts()
    assert list(result.get_counts()) == ["1 01"]
    assert result.data(0)["counts"] == {"0x5": SHOTS}
    assert result.data(0)["memory"] == ["0x5"] * SHOTS


def test_many_circuits_in_one_result_keep_their_order():
    circuits = [make() for make in DETERMINISTIC]
    expected = basic_result(circuits, memory=True)
    result = convert(sample(circuits), circuits)
    assert result.get_counts() == expected.get_counts()
    for index in range(len(circuits)):
        assert result.get_memory(index) == expected.get_memory(index)


def test_random_circuits_match_basic_simulator_shot_for_shot():
    # BackendSamplerV2 over BasicSimulator with the same seed draws the same shots,
    # so even random outcomes must convert to BasicSimulator's memory exactly.
    q = QuantumRegister(3, "q")
    a = ClassicalRegister(2, "a")
    b = ClassicalRegister(1, "b")
    spread = QuantumCircuit(q, a, b, name="spread")
    spread.h(q)
    spread.measure(q[0], b[0])
    spread.measure(q[1], a[0])
    spread.measure(q[2], a[1])
    circuits = [ghz(), spread]
    expected = basic_result(circuits, memory=True, seed_simulator=11)
    sampler = BackendSamplerV2(backend=BasicSimulator(), options={"seed_simulator": 11})
    result = convert(sampler.run(circuits, shots=SHOTS).result(), circuits)
    assert result.get_counts() == expected.get_counts()
    assert result.get_memory(0) == expected.get_memory(0)
    assert result.get_memory(1) == expected.get_memory(1)
    assert set(result.get_counts(0)) == {"000", "111"}


def test_lookup_by_name_and_by_circuit():
    circuits = [two_registers(), ghz()]
    result = convert(sample(circuits), circuits)
    assert result.get_counts("two_registers") == result.get_counts(0)
    assert result.get_counts(circuits[1]) == result.get_counts(1)
    assert sum(result.get_counts("ghz").values()) == SHOTS


def test_circuit_without_clbits_gives_empty_counts_like_basic_simulator():
    circuit = QuantumCircuit(2, name="no_clbits")
    circuit.x(0)
    expected = basic_result([circuit], memory=True)
    empty = PrimitiveResult([SamplerPubResult(DataBin(), metadata={"shots": SHOTS})])
    result = convert(empty, [circuit])
    assert result.get_counts(0) == expected.get_counts(0) == {}
    assert result.get_memory(0) == expected.get_memory(0) == []
    assert result.results[0].shots == SHOTS
    assert result.results[0].header == expected.results[0].header


def test_without_memory_get_memory_fails_like_basic_simulator():
    circuit = two_registers()
    result = convert(sample([circuit]), [circuit], memory=False)
    assert "memory" not in result.data(0)
    with pytest.raises(QiskitError):
        basic_result([circuit], memory=False).get_memory(0)
    with pytest.raises(QiskitError):
        result.get_memory(0)


def test_result_and_experiment_fields():
    circuit = crossed_registers()
    result = convert(sample([circuit]), [circuit])
    assert result.success is True
    assert result.backend_name == "test_backend"
    assert result.job_id == "job-1"
    assert datetime.fromisoformat(result.date).tzinfo is not None
    experiment = result.results[0]
    assert experiment.shots == SHOTS
    assert experiment.success is True
    assert experiment.status == "DONE"
    assert experiment.header["metadata"] == {"kind": "crossed"}
    assert experiment.header["name"] == "crossed"
    assert experiment.header["memory_slots"] == 6
    assert experiment.header["creg_sizes"] == [["small", 1], ["big", 3], ["idle", 2]]
    # The dict form round-trips, as legacy code that stores results relies on.
    assert Result.from_dict(result.to_dict()).get_counts() == result.get_counts()


def test_shots_come_from_the_data():
    circuit = two_registers()
    primitive_result = StatevectorSampler().run([circuit], shots=37).result()
    result = primitive_result_to_result(
        primitive_result, [circuit], shots=SHOTS, memory=False, backend_name="b", job_id="j"
    )
    assert result.results[0].shots == 37
    assert result.get_counts() == {"1 01": 37}


def test_loose_clbits_read_zero_without_their_registers():
    circuit = loose_clbits()
    # Sampled as given: the sampler reports registers a and c only.
    primitive_result = StatevectorSampler().run([circuit], shots=SHOTS).result()
    result = convert(primitive_result, [circuit])
    # clbits: a0 a1 loose0 loose1 c0 = 0 1 0 0 1 -> 0b10010
    assert result.data(0)["counts"] == {hex(0b10010): SHOTS}


def test_add_loose_clbit_registers_keeps_the_circuit_and_its_bits():
    circuit = loose_clbits()
    augmented = add_loose_clbit_registers(circuit)
    assert augmented is not circuit
    assert [creg.name for creg in circuit.cregs] == ["a", "c"]
    assert augmented.clbits == circuit.clbits
    assert augmented.data == circuit.data
    assert len(augmented.cregs) == 4
    plain = two_registers()
    assert add_loose_clbit_registers(plain) is plain


def test_loose_register_names_avoid_existing_names():
    circuit = QuantumCircuit(QuantumRegister(1, "q"), ClassicalRegister(1, "mj_loose_clbit_1"))
    bit = Clbit()
    circuit.add_bits([bit])
    circuit.x(0)
    circuit.measure(0, 0)
    circuit.measure(0, bit)
    augmented = add_loose_clbit_registers(circuit)
    assert len({creg.name for creg in augmented.cregs}) == 2
    expected = basic_result([circuit], memory=True)
    result = convert(sample([circuit]), [circuit])
    assert result.get_memory(0) == expected.get_memory(0)


# --- random bit arrays against an independent oracle --------------------------


def random_bit_array(rng: np.random.Generator, num_bits: int, shots: int) -> BitArray:
    bools = rng.integers(0, 2, size=(shots, num_bits), dtype=np.uint8).astype(bool)
    return BitArray.from_bool_array(bools)


@pytest.mark.parametrize("sizes", [(3, 5, 9), (1,), (8, 8), (64,), (40, 41), (7, 100, 1)])
def test_random_registers_agree_with_bitstring_concatenation(sizes):
    rng = np.random.default_rng(sum(sizes))
    shots = 500
    circuit = QuantumCircuit(
        *[ClassicalRegister(size, f"r{index}") for index, size in enumerate(sizes)], name="rand"
    )
    arrays = {f"r{index}": random_bit_array(rng, size, shots) for index, size in enumerate(sizes)}
    primitive_result = PrimitiveResult([SamplerPubResult(DataBin(**arrays))])
    result = convert(primitive_result, [circuit])
    # Oracle: Qiskit's convention is the last register leftmost, one space apart.
    per_register = [arrays[f"r{index}"].get_bitstrings() for index in range(len(sizes))]
    expected_memory = [" ".join(reversed(bits)) for bits in zip(*per_register, strict=True)]
    assert result.get_memory(0) == expected_memory
    expected_counts: dict[str, int] = {}
    for key in expected_memory:
        expected_counts[key] = expected_counts.get(key, 0) + 1
    assert result.get_counts(0) == expected_counts
    assert sum(result.data(0)["counts"].values()) == shots


def test_padding_bits_of_a_register_are_ignored():
    # A 3-bit register in one byte; the 5 padding bits are set and must not leak.
    array = np.full((10, 1), 0b1111_1010, dtype=np.uint8)
    circuit = QuantumCircuit(ClassicalRegister(3, "c"), name="padded")
    primitive_result = PrimitiveResult([SamplerPubResult(DataBin(c=BitArray(array, 3)))])
    result = convert(primitive_result, [circuit])
    assert result.data(0)["counts"] == {"0x2": 10}
    assert result.get_counts(0) == {"010": 10}


# --- errors -------------------------------------------------------------------


def test_pub_count_must_match_circuit_count():
    circuits = [two_registers(), ghz()]
    with pytest.raises(ResultDataNotAvailableError, match="1 pub results for 2 circuits"):
        convert(sample(circuits[:1]), circuits)


def test_missing_register_is_named():
    circuit = two_registers()
    data = DataBin(a=BitArray(np.zeros((4, 1), dtype=np.uint8), 2))
    with pytest.raises(ResultDataNotAvailableError, match=r"experiment 0 .*register 'c'"):
        convert(PrimitiveResult([SamplerPubResult(data)]), [circuit])


def test_register_width_must_match():
    circuit = two_registers()
    data = DataBin(
        a=BitArray(np.zeros((4, 1), dtype=np.uint8), 3),
        c=BitArray(np.zeros((4, 1), dtype=np.uint8), 1),
    )
    with pytest.raises(ResultDataNotAvailableError, match="'a' has 2 bits"):
        convert(PrimitiveResult([SamplerPubResult(data)]), [circuit])


def test_level_one_data_is_rejected():
    circuit = QuantumCircuit(QuantumRegister(1, "q"), ClassicalRegister(1, "c"))
    data = DataBin(c=np.zeros((4, 1), dtype=complex))
    with pytest.raises(ResultDataNotAvailableError, match="not a BitArray"):
        convert(PrimitiveResult([SamplerPubResult(data)]), [circuit])


def test_parameter_sweep_pub_is_rejected_with_its_index():
    theta = Parameter("theta")
    swept = QuantumCircuit(1, 1, name="swept")
    swept.rx(theta, 0)
    swept.measure(0, 0)
    primitive_result = StatevectorSampler().run([(swept, [[0.0], [np.pi]])], shots=8).result()
    fixed = two_registers()
    both = PrimitiveResult([sample([fixed])[0], primitive_result[0]])
    with pytest.raises(ResultDataNotAvailableError, match=r"experiment 1: .*shape \(2,\)"):
        convert(both, [fixed, swept])
