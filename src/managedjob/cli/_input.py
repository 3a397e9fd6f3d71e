"""Circuit files: OpenQASM 2, OpenQASM 3 and QPY, given as files, directories or globs."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from qiskit import QuantumCircuit

from managedjob.cli._errors import CliError, one_line

__all__ = ["CIRCUIT_SUFFIXES", "load_circuits"]

#: The suffixes of the files ``run`` reads, and of those it picks from a directory.
CIRCUIT_SUFFIXES = (".qasm", ".qasm2", ".qasm3", ".qpy")


def _expand(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        if any(char in raw for char in "*?["):
            matches = sorted(glob.glob(raw))
            if not matches:
                raise CliError(f"{raw}: no file matches this pattern")
            candidates = [Path(match) for match in matches]
        else:
            candidates = [Path(raw)]
        for path in candidates:
            if path.is_dir():
                inside = sorted(p for p in path.iterdir() if p.suffix in CIRCUIT_SUFFIXES)
                if not inside:
                    raise CliError(f"{path}: no circuit files ({', '.join(CIRCUIT_SUFFIXES)})")
                files.extend(inside)
            elif path.is_file():
                files.append(path)
            else:
                raise CliError(f"{path}: no such file or directory")
    return files


def _load_qasm(path: Path) -> QuantumCircuit:
    text = path.read_text(encoding="utf-8")
    head = "\n".join(
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("//")
    )
    if not head:
        raise CliError(f"{path}: the file is empty: it holds no circuit")
    if head.lstrip().startswith("OPENQASM 3"):
        try:
            from qiskit import qasm3

            circuit = qasm3.loads(text)
        except ImportError as err:
            raise CliError(
                f"{path}: reading OpenQASM 3 needs the qiskit-qasm3-import package "
                "(pip install qiskit-qasm3-import)"
            ) from err
        except Exception as err:
            raise CliError(f"{path}: {one_line(err)}") from err
    else:
        from qiskit import qasm2

        try:
            circuit = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        except Exception as err:
            # The parser says "<input>:LINE,COL: ..."; name the file instead.
            raise CliError(f"{path}: {one_line(err).replace('<input>:', 'line ', 1)}") from err
    circuit.name = path.stem
    if circuit.num_qubits == 0:
        raise CliError(f"{path}: the circuit has no qubits")
    return circuit


def check_measured(circuits: Sequence[QuantumCircuit]) -> None:
    """Refuse circuits that measure nothing: their jobs would give no counts.

    Raises:
        CliError: Naming the first such circuit (and its index when unnamed).
    """
    for index, circuit in enumerate(circuits):
        if not any(instruction.operation.name == "measure" for instruction in circuit.data):
            raise CliError(
                f"circuit {circuit.name!r} (number {index}) has no measurements, so it would "
                "give no counts: measure its qubits (for example 'measure q -> c;')"
            )


def _load_qpy(path: Path) -> list[QuantumCircuit]:
    from qiskit import qpy

    try:
        with path.open("rb") as handle:
            loaded = qpy.load(handle)
    except Exception as err:
        raise CliError(f"{path}: not a readable QPY file: {one_line(err)}") from err
    circuits = [item for item in loaded if isinstance(item, QuantumCircuit)]
    if len(circuits) != len(loaded):
        raise CliError(f"{path}: holds something other than circuits")
    return circuits


def load_circuits(paths: Sequence[str]) -> list[QuantumCircuit]:
    """Read every circuit from OpenQASM 2, OpenQASM 3 and QPY files, in order.

    Args:
        paths: Files, directories (their circuit files, sorted) or glob patterns.

    Returns:
        The circuits; a circuit from an OpenQASM file is named after the file.

    Raises:
        CliError: Naming the file (and line) that cannot be read.
    """
    circuits: list[QuantumCircuit] = []
    for path in _expand(paths):
        if path.suffix == ".qpy":
            circuits.extend(_load_qpy(path))
        elif path.suffix in (".qasm", ".qasm2", ".qasm3"):
            circuits.append(_load_qasm(path))
        else:
            raise CliError(f"{path}: not a circuit file ({', '.join(CIRCUIT_SUFFIXES)})")
    if not circuits:
        raise CliError("the files hold no circuits")
    check_measured(circuits)
    return circuits
