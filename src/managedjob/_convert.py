"""Sampler results as legacy results: ``PrimitiveResult`` to :class:`qiskit.result.Result`.

A Sampler primitive returns, for each circuit, one
:class:`~qiskit.primitives.BitArray` per classical register. The legacy
:class:`~qiskit.result.Result` wants, per circuit, one integer per shot in
which bit ``k`` is the value of the circuit's clbit ``k``; counts and memory
hold those integers as hex strings (``"0x5"``) and the experiment header
(``creg_sizes``, ``memory_slots``) tells :meth:`Result.get_counts` how to turn
them into register-separated bitstrings such as ``"10 1"``. Built this way, a
converted result answers ``get_counts``, ``get_memory`` and ``data`` exactly as
a ``BasicSimulator`` result of the same circuits does.

Clbits that belong to no register are not reported by Sampler primitives.
:func:`add_loose_clbit_registers` gives each such clbit a one-bit register of
its own before the circuit is sampled, and the conversion reads the bit back
from it; a result of a circuit that was sampled without those registers reads
such clbits as 0.

The conversion is vectorised with NumPy over the shots: registers are read
from the ``BitArray`` bytes as ``uint64`` columns, combined with shifts, and
counted with :func:`numpy.bincount` when the clbits are few, else
:func:`numpy.unique`. Circuits with more than 64 clbits take a
slower path over unpacked bits that is exact for any width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from numpy.typing import NDArray
from qiskit.circuit import ClassicalRegister, QuantumCircuit
from qiskit.primitives import BitArray, PrimitiveResult
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from managedjob._naming import LOOSE_CLBIT_PREFIX
from managedjob.exceptions import ResultDataNotAvailableError

__all__ = ["add_loose_clbit_registers", "primitive_result_to_result"]

_U64_BITS = 64
_MIN_TALLY = 256


@dataclass(frozen=True)
class _Placement:
    """Where the bits of one register of the sampler's data go in the clbit integer.

    Attributes:
        name: The register's name: its key in the pub result's ``DataBin``.
        size: Bits in the register.
        start: When bit ``j`` of the register is clbit ``start + j`` for every
            ``j``, the clbit of bit 0; else ``None``.
        pairs: ``(bit in the register, clbit index)`` for each clbit this
            register supplies. A clbit in several registers is taken from the
            first.
        optional: ``True`` for the one-bit registers of loose clbits, which
            only results of augmented circuits hold.
    """

    name: str
    size: int
    start: int | None
    pairs: tuple[tuple[int, int], ...]
    optional: bool = False


def _loose_register_names(circuit: QuantumCircuit) -> dict[int, str]:
    """Name a one-bit register for each clbit of ``circuit`` that is in no register.

    The names depend only on the circuit, so the target that adds the
    registers and the conversion that reads them agree.
    """
    taken = {creg.name for creg in circuit.cregs}
    names: dict[int, str] = {}
    for index, bit in enumerate(circuit.clbits):
        if circuit.find_bit(bit).registers:
            continue
        name = f"{LOOSE_CLBIT_PREFIX}{index}"
        while name in taken:
            name += "_"
        taken.add(name)
        names[index] = name
    return names


def add_loose_clbit_registers(circuit: QuantumCircuit) -> QuantumCircuit:
    """Return ``circuit`` with a one-bit register over each clbit that is in no register.

    Sampler primitives only report registers, so without this a clbit outside
    every register would be lost. The clbits, their order and the
    instructions stay the same; only registers are added, to a copy.

    Args:
        circuit: The circuit to sample.

    Returns:
        ``circuit`` itself when every clbit is in a register, else a copy with
        the added registers.
    """
    names = _loose_register_names(circuit)
    if not names:
        return circuit
    augmented = circuit.copy()
    for index, name in names.items():
        augmented.add_register(ClassicalRegister(name=name, bits=[circuit.clbits[index]]))
    return augmented


def _placements(circuit: QuantumCircuit) -> list[_Placement]:
    assigned: set[int] = set()
    placements: list[_Placement] = []
    for creg in circuit.cregs:
        pairs: list[tuple[int, int]] = []
        for position, bit in enumerate(creg):
            index = circuit.find_bit(bit).index
            if index not in assigned:
                assigned.add(index)
                pairs.append((position, index))
        if not pairs:
            # Size 0, or every bit already taken from an earlier register.
            continue
        start = pairs[0][1] - pairs[0][0]
        contiguous = len(pairs) == creg.size and all(k == start + j for j, k in pairs)
        placements.append(
            _Placement(creg.name, creg.size, start if contiguous else None, tuple(pairs))
        )
    for index, name in _loose_register_names(circuit).items():
        placements.append(_Placement(name, 1, index, ((0, index),), optional=True))
    return placements


def _shot_rows(value: object, name: str, index: int) -> tuple[NDArray[np.uint8], int]:
    """Return the ``(shots, bytes)`` array and bit count of one register's data."""
    if not isinstance(value, BitArray):
        raise ResultDataNotAvailableError(
            f"experiment {index}: the data of classical register {name!r} is a "
            f"{type(value).__name__}, not a BitArray of classified shots"
        )
    array: NDArray[np.uint8] = value.array
    if array.ndim > 2:
        if int(np.prod(array.shape[:-2])) != 1:
            raise ResultDataNotAvailableError(
                f"experiment {index}: register {name!r} holds data for a pub of shape "
                f"{value.shape}; only pubs with one set of parameter values convert to "
                f"one experiment"
            )
        array = array.reshape(array.shape[-2:])
    return array, int(value.num_bits)


def _register_ints(rows: NDArray[np.uint8], num_bits: int) -> NDArray[np.uint64]:
    """Read big-endian packed rows of at most 8 bytes as one ``uint64`` per shot."""
    num_bytes = rows.shape[1]
    if num_bytes == 0:
        return np.zeros(rows.shape[0], dtype=np.uint64)
    values = rows[:, 0].astype(np.uint64)
    eight = np.uint64(8)
    for column in range(1, num_bytes):
        values = (values << eight) | rows[:, column]
    if num_bits % 8:
        # Bits left of the register's width are padding and may hold anything.
        values &= np.uint64((1 << num_bits) - 1)
    return values


def _combine_u64(
    registers: list[tuple[_Placement, NDArray[np.uint8], int]], shots: int
) -> NDArray[np.uint64]:
    combined = np.zeros(shots, dtype=np.uint64)
    one = np.uint64(1)
    for placement, rows, num_bits in registers:
        values = _register_ints(rows, num_bits)
        if placement.start is not None:
            combined |= values << np.uint64(placement.start)
            continue
        for position, clbit in placement.pairs:
            combined |= ((values >> np.uint64(position)) & one) << np.uint64(clbit)
    return combined


def _combine_wide(
    registers: list[tuple[_Placement, NDArray[np.uint8], int]], shots: int, num_clbits: int
) -> NDArray[np.uint8]:
    """Combine registers into big-endian packed rows of ``num_clbits`` bits."""
    bits = np.zeros((shots, num_clbits), dtype=np.uint8)  # column k is clbit k
    for placement, rows, num_bits in registers:
        # unpackbits is big-endian: reverse so that column j is bit j of the register.
        unpacked = np.unpackbits(rows, axis=1, bitorder="big")[:, ::-1][:, :num_bits]
        positions = [position for position, _ in placement.pairs]
        clbits = [clbit for _, clbit in placement.pairs]
        bits[:, clbits] = unpacked[:, positions]
    pad = -num_clbits % 8
    big_endian = np.pad(bits[:, ::-1], ((0, 0), (pad, 0)))
    packed: NDArray[np.uint8] = np.packbits(big_endian, axis=1, bitorder="big")
    return packed


def _hex_outcomes(
    registers: list[tuple[_Placement, NDArray[np.uint8], int]],
    shots: int,
    num_clbits: int,
    memory: bool,
) -> tuple[dict[str, int], list[str] | None]:
    """Count the shots' clbit integers; also list them per shot when ``memory``."""
    if num_clbits == 0:
        return {}, ([] if memory else None)
    inverse: NDArray[np.intp]
    if num_clbits <= _U64_BITS and (1 << num_clbits) <= max(_MIN_TALLY, 4 * shots):
        # Few possible outcomes: a tally is linear where np.unique sorts.
        outcomes = _combine_u64(registers, shots).astype(np.intp)
        tally = np.bincount(outcomes, minlength=1 << num_clbits)
        unique = np.flatnonzero(tally)
        keys = [hex(int(value)) for value in unique]
        histogram = dict(zip(keys, tally[unique].tolist(), strict=True))
        if not memory:
            return histogram, None
        table = np.empty(tally.shape[0], dtype=object)
        table[unique] = keys
        return histogram, table[outcomes].tolist()
    if num_clbits <= _U64_BITS:
        combined = _combine_u64(registers, shots)
        unique, inverse, counts = np.unique(combined, return_inverse=True, return_counts=True)
        keys = [hex(int(value)) for value in unique]
    else:
        rows = _combine_wide(registers, shots, num_clbits)
        unique_rows, inverse, counts = np.unique(
            rows, axis=0, return_inverse=True, return_counts=True
        )
        keys = [hex(int.from_bytes(row.tobytes(), "big")) for row in unique_rows]
    histogram = dict(zip(keys, counts.tolist(), strict=True))
    if not memory:
        return histogram, None
    per_shot: list[str] = np.asarray(keys, dtype=object)[inverse.ravel()].tolist()
    return histogram, per_shot


def _header(circuit: QuantumCircuit) -> dict[str, Any]:
    header: dict[str, Any] = {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "qreg_sizes": [[qreg.name, qreg.size] for qreg in circuit.qregs],
        "creg_sizes": [[creg.name, creg.size] for creg in circuit.cregs],
        "qubit_labels": [[qreg.name, j] for qreg in circuit.qregs for j in range(qreg.size)],
        "clbit_labels": [[creg.name, j] for creg in circuit.cregs for j in range(creg.size)],
        "memory_slots": circuit.num_clbits,
        "metadata": circuit.metadata if circuit.metadata is not None else {},
    }
    try:
        header["global_phase"] = float(circuit.global_phase)
    except TypeError:  # a phase that still holds unbound parameters
        header["global_phase"] = str(circuit.global_phase)
    return header


def _experiment(
    pub_result: Any, circuit: QuantumCircuit, index: int, *, shots: int, memory: bool
) -> ExperimentResult:
    data = pub_result.data
    registers: list[tuple[_Placement, NDArray[np.uint8], int]] = []
    found_shots: int | None = None
    for placement in _placements(circuit):
        if placement.name not in data:
            if placement.optional:
                continue  # a loose clbit the sampler was not asked for: it reads 0
            raise ResultDataNotAvailableError(
                f"experiment {index} ({circuit.name!r}): the sampler returned no data for "
                f"classical register {placement.name!r}; it returned {sorted(data.keys())}"
            )
        rows, num_bits = _shot_rows(data[placement.name], placement.name, index)
        if num_bits != placement.size:
            raise ResultDataNotAvailableError(
                f"experiment {index} ({circuit.name!r}): register {placement.name!r} has "
                f"{placement.size} bits in the circuit but {num_bits} in the result"
            )
        if found_shots is None:
            found_shots = rows.shape[0]
        elif rows.shape[0] != found_shots:
            raise ResultDataNotAvailableError(
                f"experiment {index} ({circuit.name!r}): register {placement.name!r} holds "
                f"{rows.shape[0]} shots, other registers {found_shots}"
            )
        registers.append((placement, rows, num_bits))
    shots_taken = shots if found_shots is None else found_shots
    counts, per_shot = _hex_outcomes(registers, shots_taken, circuit.num_clbits, memory)
    if per_shot is None:
        result_data = ExperimentResultData(counts=counts)
    else:
        result_data = ExperimentResultData(counts=counts, memory=per_shot)
    return ExperimentResult(
        shots=shots_taken,
        success=True,
        data=result_data,
        meas_level=2,
        status="DONE",
        header=_header(circuit),
    )


def primitive_result_to_result(
    primitive_result: PrimitiveResult,
    circuits: Sequence[QuantumCircuit],
    *,
    shots: int,
    memory: bool,
    backend_name: str,
    job_id: str,
) -> Result:
    """Turn a Sampler's ``PrimitiveResult`` into a legacy :class:`~qiskit.result.Result`.

    Args:
        primitive_result: The sampler's result, one pub result per circuit.
        circuits: The circuits as the user gave them, in pub order. Headers,
            names and the register layout of the counts come from them (not
            from circuits augmented by :func:`add_loose_clbit_registers`).
        shots: The shots asked for; an experiment whose result holds no
            register data (a circuit without clbits) reports this many.
        memory: Whether to list each shot's outcome as hex in ``data.memory``.
        backend_name: The ``backend_name`` of the result.
        job_id: The ``job_id`` of the result.

    Returns:
        A successful result with one experiment per circuit: hex counts, hex
        memory when asked for, and the headers ``get_counts`` needs.

    Raises:
        ResultDataNotAvailableError: If the number of pub results is not the
            number of circuits, or an experiment's data does not fit its
            circuit (a missing register, a register of another width, data
            that are not classified shots, or a pub with several parameter
            sets). The message names the experiment's index.
    """
    if len(primitive_result) != len(circuits):
        raise ResultDataNotAvailableError(
            f"job {job_id}: the primitive result holds {len(primitive_result)} pub results "
            f"for {len(circuits)} circuits"
        )
    experiments = [
        _experiment(pub_result, circuit, index, shots=shots, memory=memory)
        for index, (pub_result, circuit) in enumerate(zip(primitive_result, circuits, strict=True))
    ]
    return Result(
        backend_name=backend_name,
        backend_version=None,
        job_id=job_id,
        success=True,
        results=experiments,
        date=datetime.now(timezone.utc).isoformat(),
        status="COMPLETED",
    )
