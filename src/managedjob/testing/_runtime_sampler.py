"""The fake IBM Quantum Runtime's Sampler, with the runtime Sampler's options."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qiskit.exceptions import QiskitError
from qiskit.primitives import BaseSamplerV2
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob.testing._runtime import (
    FakeRuntimeBackend,
    FakeRuntimeSession,
    runtime_exception,
    session_backend,
)
from managedjob.testing._runtime_service import submit

if TYPE_CHECKING:
    from managedjob.testing._runtime_job import FakeRuntimeJob

__all__ = ["FakeRuntimeSampler"]

_RUNTIME_DEFAULT_SHOTS = 4096


@dataclass
class _FakeEnvironmentOptions:
    job_tags: list[str] = field(default_factory=list)


@dataclass
class _FakeSimulatorOptions:
    seed_simulator: int | None = None


@dataclass
class _FakeSamplerOptions:
    """The options a :class:`FakeRuntimeSampler` reads; others are kept in ``other``."""

    default_shots: int | None = None
    environment: _FakeEnvironmentOptions = field(default_factory=_FakeEnvironmentOptions)
    simulator: _FakeSimulatorOptions = field(default_factory=_FakeSimulatorOptions)
    other: dict[str, Any] = field(default_factory=dict)


def _sampler_options(
    options: Mapping[str, Any] | _FakeSamplerOptions | None,
) -> _FakeSamplerOptions:
    if options is None:
        return _FakeSamplerOptions()
    if isinstance(options, _FakeSamplerOptions):
        return copy.deepcopy(options)
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a mapping, not {type(options).__name__}")
    given = dict(options)
    environment = dict(given.pop("environment", None) or {})
    simulator = dict(given.pop("simulator", None) or {})
    tags = environment.pop("job_tags", None) or []
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"environment.job_tags must be a list of str, not {tags!r}")
    other = copy.deepcopy(given)
    if environment:
        other["environment"] = environment
    if simulator.keys() - {"seed_simulator"}:
        other["simulator"] = {k: v for k, v in simulator.items() if k != "seed_simulator"}
    return _FakeSamplerOptions(
        default_shots=given.pop("default_shots", None),
        environment=_FakeEnvironmentOptions(job_tags=list(tags)),
        simulator=_FakeSimulatorOptions(seed_simulator=simulator.get("seed_simulator")),
        other={k: v for k, v in other.items() if k != "default_shots"},
    )


class FakeRuntimeSampler(BaseSamplerV2):
    """A Sampler that submits to a :class:`FakeRuntimeService`, like the runtime ``SamplerV2``.

    Its options are read the way the runtime Sampler's are:
    ``options.default_shots``, ``options.environment.job_tags`` (the tags of
    each job it submits) and ``options.simulator.seed_simulator`` (the seed
    the fake uses to sample). Other options are accepted and recorded in the
    job's inputs.

    Args:
        mode: A :class:`FakeRuntimeBackend` (job mode), :class:`FakeRuntimeSession`
            or :class:`FakeRuntimeBatch`.
        options: A mapping such as ``{"environment": {"job_tags": ["a"]}}``.

    Raises:
        ValueError: If ``mode`` is none of those, or the job tags are not a list of str.
    """

    def __init__(
        self,
        mode: FakeRuntimeBackend | FakeRuntimeSession,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(mode, FakeRuntimeSession):
            self._mode: FakeRuntimeSession | None = mode
            self._backend = session_backend(mode)
        elif isinstance(mode, FakeRuntimeBackend):
            self._mode = None
            self._backend = mode
        else:
            raise ValueError(
                f"mode must be a fake runtime backend, batch or session, not {mode!r}"
            )
        self.options = _sampler_options(options)

    @property
    def mode(self) -> FakeRuntimeSession | None:
        """The session or batch jobs run in, or ``None`` in job mode."""
        return self._mode

    def backend(self) -> FakeRuntimeBackend:
        """Return the backend jobs run on."""
        return self._backend

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> FakeRuntimeJob:
        """Submit the PUBs as one job of the service.

        Args:
            pubs: Circuits, or ``(circuit, parameter values[, shots])`` tuples.
            shots: Shots for PUBs that do not set their own; else
                ``options.default_shots``, else 4096 as on IBM Quantum.

        Returns:
            The job.

        Raises:
            QiskitError: If the session is closed, or the service refuses the
                job (``IBMRuntimeError`` when qiskit-ibm-runtime is installed).
            ValueError: If a circuit is wider than the backend.
        """
        if self._mode is not None and not self._mode.active:
            raise runtime_exception("IBMRuntimeError", QiskitError)("The session is closed.")
        default = shots if shots is not None else self.options.default_shots
        coerced = [
            SamplerPub.coerce(pub, default if default is not None else _RUNTIME_DEFAULT_SHOTS)
            for pub in pubs
        ]
        width = self._backend.target.num_qubits
        for index, pub in enumerate(coerced):
            if pub.circuit.num_qubits > width:
                raise ValueError(
                    f"circuit {index} ({pub.circuit.name!r}) has {pub.circuit.num_qubits} "
                    f"qubits, but backend {self._backend.name!r} has {width}"
                )
        return submit(
            self._backend.service,
            backend=self._backend,
            pubs=coerced,
            tags=list(self.options.environment.job_tags),
            seed=self.options.simulator.seed_simulator,
            other_options=copy.deepcopy(self.options.other),
            session=self._mode,
        )
