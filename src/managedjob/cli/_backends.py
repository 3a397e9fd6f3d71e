"""The backend specs of ``--backend``: aer, basic, fake:<name>, ibm:<name>, scripted:<s>."""

from __future__ import annotations

from typing import Any

from managedjob.cli._errors import CliError, one_line

__all__ = ["backend_choices", "backend_spec_for", "make_backend"]

_CHOICES = "aer, basic, fake:<name> (e.g. fake:manila), ibm:<name>"


def backend_choices() -> str:
    """Return the backend specs the command knows, for help texts and errors."""
    return _CHOICES


def _aer() -> Any:
    try:
        from qiskit_aer import AerSimulator
    except ImportError as err:
        raise CliError(
            f"backend 'aer' needs qiskit-aer (pip install qiskit-aer); choose from: "
            f"{backend_choices()}"
        ) from err
    return AerSimulator()


def _basic() -> Any:
    from qiskit.providers.basic_provider import BasicSimulator

    return BasicSimulator()


def _fake(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import fake_provider
    except ImportError as err:
        raise CliError(
            "fake backends need qiskit-ibm-runtime (pip install qiskit-ibm-runtime)"
        ) from err
    classes = {
        attr[4:-2].lower(): getattr(fake_provider, attr)
        for attr in dir(fake_provider)
        if attr.startswith("Fake") and attr.endswith("V2") and attr != "FakeBackendV2"
    }
    wanted = name.lower().removeprefix("fake_").removeprefix("fake").removesuffix("v2")
    if wanted not in classes:
        raise CliError(f"unknown fake backend {name!r}; known: {', '.join(sorted(classes))}")
    return classes[wanted]()


def _ibm(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import QiskitRuntimeService
    except ImportError as err:
        raise CliError(
            "ibm backends need qiskit-ibm-runtime (pip install qiskit-ibm-runtime)"
        ) from err
    try:
        return QiskitRuntimeService().backend(name)
    except Exception as err:
        raise CliError(f"cannot reach IBM Quantum backend {name!r}: {one_line(err)}") from err


def _scripted(spec: str) -> Any:
    from managedjob._wait import SystemClock
    from managedjob.testing import ScriptedBackend

    try:
        run_time = float(spec) if spec else 0.0
    except ValueError as err:
        raise CliError(f"scripted:<seconds> takes a number of seconds, not {spec!r}") from err
    return ScriptedBackend(clock=SystemClock(), run_time=run_time, num_qubits=32)


def make_backend(spec: str | None) -> Any:
    """Return the backend named by ``--backend``.

    ``aer`` (the default when qiskit-aer is installed), ``basic``
    (Qiskit's ``BasicSimulator``, the default otherwise), ``fake:<name>`` (a
    fake backend of qiskit-ibm-runtime), ``ibm:<name>`` (through the saved
    IBM Quantum account) and ``scripted:<seconds>`` (a scripted test backend
    whose jobs take that long, for trying the command out).

    Raises:
        CliError: For an unknown or unavailable backend, naming the alternatives.
    """
    if spec is None:
        try:
            return _aer()
        except CliError:
            return _basic()
    kind, _, rest = spec.partition(":")
    if kind == "aer" and not rest:
        return _aer()
    if kind == "basic" and not rest:
        return _basic()
    if kind == "fake" and rest:
        return _fake(rest)
    if kind == "ibm" and rest:
        return _ibm(rest)
    if kind == "scripted":
        return _scripted(rest)
    raise CliError(f"unknown backend {spec!r}; choose from: {backend_choices()}")


def backend_spec_for(backend_name: str) -> str | None:
    """Return the ``--backend`` spec that makes a backend of this name, if there is one."""
    if backend_name == "aer_simulator":
        return "aer"
    if backend_name == "basic_simulator":
        return "basic"
    if backend_name == "scripted_backend":
        return "scripted:0"
    if backend_name.startswith("fake_"):
        return "fake:" + backend_name.removeprefix("fake_")
    if backend_name.startswith("ibm"):
        return "ibm:" + backend_name
    return None
