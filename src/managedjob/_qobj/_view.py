"""The Qobj view of a whole job: its experiments, and how it is built from circuits."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, NoReturn, cast

from qiskit.circuit import QuantumCircuit

from managedjob._qobj._records import (
    QasmQobjConfig,
    QasmQobjExperimentConfig,
    QasmQobjExperimentHeader,
    QasmQobjInstruction,
    QobjHeader,
    circuit_instructions,
)
from managedjob.exceptions import InvalidInputError

__all__ = ["DEFAULT_SHOTS", "SCHEMA_VERSION", "QasmQobj", "QasmQobjExperiment", "build_qobj"]

#: The schema version the legacy ``QasmQobj`` reported.
SCHEMA_VERSION = "1.3.0"

#: Shots when the run options name none, as the legacy ``assemble()`` used.
DEFAULT_SHOTS = 1024


class QasmQobjExperiment:
    """One experiment of a Qobj: a circuit's header, config and instructions.

    Made from a circuit by :meth:`from_circuit`, the header and config are
    built on first access and the instructions on theirs, then kept.

    Args:
        header: The experiment's header.
        config: The experiment's config; by default its ``n_qubits`` and
            ``memory_slots`` are the header's.
        instructions: The experiment's instructions, in order.
    """

    __slots__ = ("_circuit", "_config", "_header", "_instructions")

    _circuit: QuantumCircuit | None
    _config: QasmQobjExperimentConfig | None
    _header: QasmQobjExperimentHeader | None
    _instructions: tuple[QasmQobjInstruction, ...] | None

    def __init__(
        self,
        header: QasmQobjExperimentHeader,
        config: QasmQobjExperimentConfig | None = None,
        instructions: Iterable[QasmQobjInstruction] = (),
    ) -> None:
        object.__setattr__(self, "_circuit", None)
        object.__setattr__(self, "_header", header)
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_instructions", tuple(instructions))

    @classmethod
    def from_circuit(cls, circuit: QuantumCircuit) -> QasmQobjExperiment:
        """Make a lazy experiment view of ``circuit``.

        Args:
            circuit: The circuit; it is referenced, not copied.

        Returns:
            The experiment; nothing is computed until an attribute is read.
        """
        experiment = cls.__new__(cls)
        object.__setattr__(experiment, "_circuit", circuit)
        object.__setattr__(experiment, "_header", None)
        object.__setattr__(experiment, "_config", None)
        object.__setattr__(experiment, "_instructions", None)
        return experiment

    @property
    def header(self) -> QasmQobjExperimentHeader:
        """The experiment's header (name, registers, labels, metadata...)."""
        header = self._header
        if header is None:
            # Two threads may both build it; they build equal headers, and either may stay.
            header = QasmQobjExperimentHeader.from_circuit(cast(QuantumCircuit, self._circuit))
            object.__setattr__(self, "_header", header)
        return header

    @property
    def config(self) -> QasmQobjExperimentConfig:
        """The experiment's config (``n_qubits`` and ``memory_slots``)."""
        config = self._config
        if config is None:
            header = self.header
            config = QasmQobjExperimentConfig(
                n_qubits=header.n_qubits, memory_slots=header.memory_slots
            )
            object.__setattr__(self, "_config", config)
        return config

    @property
    def instructions(self) -> tuple[QasmQobjInstruction, ...]:
        """The experiment's instructions, one per circuit operation, in order."""
        instructions = self._instructions
        if instructions is None:
            instructions = circuit_instructions(cast(QuantumCircuit, self._circuit))
            object.__setattr__(self, "_instructions", instructions)
        return instructions

    def to_dict(self) -> dict[str, Any]:
        """Return the experiment as a new dict of plain values, in the legacy schema.

        Returns:
            ``{"config": ..., "header": ..., "instructions": [...]}``.
        """
        return {
            "config": self.config.to_dict(),
            "header": self.header.to_dict(),
            "instructions": [instruction.to_dict() for instruction in self.instructions],
        }

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"QasmQobjExperiment is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"QasmQobjExperiment is read-only; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        if self._circuit is not None:
            return (QasmQobjExperiment.from_circuit, (self._circuit,))
        return (QasmQobjExperiment, (self.header, self.config, self.instructions))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QasmQobjExperiment):
            return NotImplemented
        return (
            self.header == other.header
            and self.config == other.config
            and self.instructions == other.instructions
        )

    def __repr__(self) -> str:
        if self._instructions is not None:
            count = len(self._instructions)
        else:
            count = len(cast(QuantumCircuit, self._circuit).data)
        header = self.header
        return (
            f"QasmQobjExperiment(name={header.name!r}, n_qubits={header.n_qubits}, "
            f"memory_slots={header.memory_slots}, instructions={count})"
        )


class QasmQobj:
    """A legacy-shaped, read-only view of a QASM Qobj.

    Args:
        qobj_id: The Qobj's identifier.
        config: The run configuration.
        experiments: One experiment per circuit, in order.
        header: The Qobj's header; empty by default.

    Attributes:
        qobj_id: The Qobj's identifier.
        type: Always ``"QASM"``.
        schema_version: The legacy schema version, ``"1.3.0"``.
    """

    __slots__ = ("_config", "_experiments", "_header", "_qobj_id")

    type: ClassVar[str] = "QASM"
    schema_version: ClassVar[str] = SCHEMA_VERSION

    _config: QasmQobjConfig
    _experiments: tuple[QasmQobjExperiment, ...]
    _header: QobjHeader
    _qobj_id: str

    def __init__(
        self,
        qobj_id: str,
        config: QasmQobjConfig,
        experiments: Iterable[QasmQobjExperiment],
        header: QobjHeader | None = None,
    ) -> None:
        object.__setattr__(self, "_qobj_id", qobj_id)
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_experiments", tuple(experiments))
        object.__setattr__(self, "_header", header if header is not None else QobjHeader())

    @property
    def qobj_id(self) -> str:
        """The Qobj's identifier."""
        return self._qobj_id

    @property
    def config(self) -> QasmQobjConfig:
        """The run configuration (``shots``, ``memory_slots``, run options...)."""
        return self._config

    @property
    def header(self) -> QobjHeader:
        """The Qobj's header (free-form fields)."""
        return self._header

    @property
    def experiments(self) -> tuple[QasmQobjExperiment, ...]:
        """The experiments, one per circuit, in order."""
        return self._experiments

    def to_dict(self) -> dict[str, Any]:
        """Return the Qobj as a new dict of plain values, in the legacy schema.

        Everything the view computed is JSON-serialisable; values passed in
        by the caller are too once they are made of numbers, strings, lists,
        dicts, numpy values or parameters.

        Returns:
            ``{"qobj_id", "header", "config", "schema_version", "type",
            "experiments"}`` as the legacy ``QasmQobj.to_dict()`` gave them.
        """
        return {
            "qobj_id": self.qobj_id,
            "header": self.header.to_dict(),
            "config": self.config.to_dict(),
            "schema_version": self.schema_version,
            "type": self.type,
            "experiments": [experiment.to_dict() for experiment in self.experiments],
        }

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"QasmQobj is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"QasmQobj is read-only; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (QasmQobj, (self.qobj_id, self.config, self.experiments, self.header))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QasmQobj):
            return NotImplemented
        return (
            self.qobj_id == other.qobj_id
            and self.header == other.header
            and self.config == other.config
            and self.experiments == other.experiments
        )

    def __repr__(self) -> str:
        count = len(self.experiments)
        noun = "experiment" if count == 1 else "experiments"
        return (
            f"QasmQobj(qobj_id={self.qobj_id!r}, config={self.config!r}, "
            f"header={self.header!r}, experiments=<{count} {noun}>)"
        )


def _count(value: Any, what: str) -> int:
    """Return ``value`` as a positive int, or raise naming ``what``."""
    try:
        number = operator.index(value)
    except TypeError as err:
        raise InvalidInputError(
            f"run option {what!r} must be an integer, not {value!r} ({type(value).__name__})"
        ) from err
    if number < 1:
        raise InvalidInputError(f"run option {what!r} must be at least 1, not {number}")
    return number


def build_qobj(
    circuits: Sequence[QuantumCircuit] | QuantumCircuit,
    run_config: Mapping[str, Any] | None = None,
    *,
    qobj_id: str | None = None,
    qobj_header: Mapping[str, Any] | None = None,
) -> QasmQobj:
    """Build the legacy Qobj view of ``circuits`` run with ``run_config``.

    Nothing is copied and little is computed here: the config now, each
    experiment's header and instructions when first read (see the module
    documentation). Building the view of a thousand circuits costs about as
    much as reading their sizes.

    Args:
        circuits: The circuits, one experiment each, in order; a single
            circuit is one experiment.
        run_config: The run options as given to the target. ``shots``
            defaults to 1024 and ``memory`` to ``False``; ``memory_slots``
            and ``n_qubits`` are computed (the largest over the circuits) and
            override any given; every other option is kept as is. A
            ``qobj_id`` or ``qobj_header`` option is used as the arguments of
            those names are, when those are not given.
        qobj_id: The Qobj's identifier; a new UUID4 string by default.
        qobj_header: Fields of the Qobj header, such as ``backend_name``.

    Returns:
        The read-only Qobj view.

    Raises:
        InvalidInputError: If there are no circuits, an item is not a
            :class:`~qiskit.circuit.QuantumCircuit`, a run option name is not
            a string, or ``shots`` is not a positive integer.
    """
    circuits = [circuits] if isinstance(circuits, QuantumCircuit) else list(circuits)
    if not circuits:
        raise InvalidInputError("cannot build a qobj from no circuits")
    for index, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise InvalidInputError(
                f"circuits[{index}] is a {type(circuit).__name__}, not a QuantumCircuit"
            )

    options = dict(run_config or {})
    for key in options:
        if not isinstance(key, str):
            raise InvalidInputError(f"run option names must be strings, not {key!r}")
    given_id = options.pop("qobj_id", None)
    given_header = options.pop("qobj_header", None)
    if qobj_id is None:
        qobj_id = str(given_id) if given_id is not None else str(uuid.uuid4())
    if qobj_header is None:
        qobj_header = given_header or {}
    if not isinstance(qobj_header, Mapping):
        raise InvalidInputError(f"qobj_header must be a mapping, not {qobj_header!r}")

    shots = options.pop("shots", None)
    memory = options.pop("memory", None)
    options.pop("memory_slots", None)
    options.pop("n_qubits", None)
    seed = options.get("seed_simulator")
    if seed is not None:
        try:
            options["seed_simulator"] = operator.index(seed)
        except TypeError as err:
            raise InvalidInputError(
                f"run option 'seed_simulator' must be an integer, not {seed!r}"
            ) from err

    config = QasmQobjConfig(
        shots=DEFAULT_SHOTS if shots is None else _count(shots, "shots"),
        memory=False if memory is None else bool(memory),
        memory_slots=max(circuit.num_clbits for circuit in circuits),
        n_qubits=max(circuit.num_qubits for circuit in circuits),
        **options,
    )
    header = QobjHeader(**{str(key): value for key, value in qobj_header.items()})
    experiments = [QasmQobjExperiment.from_circuit(circuit) for circuit in circuits]
    return QasmQobj(qobj_id=qobj_id, config=config, experiments=experiments, header=header)
