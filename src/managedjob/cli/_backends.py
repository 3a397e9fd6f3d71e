"""Backend specs: the built-in ones, and those that other packages plug in.

A ``--backend`` spec is ``PREFIX`` or ``PREFIX:ARGUMENT``. The prefixes
``aer``, ``basic``, ``fake`` and ``ibm`` are built in. Any other prefix is
looked up in the ``managedjob.backends`` entry-point group, where a package
maps it to a :class:`BackendFactory`: a callable that takes the text after
the colon and returns a backend. That is how the scripted backends of
:mod:`managedjob.testing` reach the command (``scripted:<seconds>``), and how
a provider's own package can add its backends without the command knowing it.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

from managedjob.cli._errors import CliError, one_line

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendFactory",
    "backend_choices",
    "backend_spec_for",
    "make_backend",
]

logger = logging.getLogger(__name__)

#: The entry-point group where packages register backend specs by prefix.
ENTRY_POINT_GROUP = "managedjob.backends"

_BUILT_IN = ("aer", "basic", "fake", "ibm")
_BUILT_IN_CHOICES = "aer, basic, fake:<name> (e.g. fake:manila), ibm:<name>"


class BackendFactory(Protocol):
    """What a ``managedjob.backends`` entry point names: it makes the backend of a spec.

    It is called with the text after the prefix's colon (``""`` when the
    spec has none) and returns the backend, anything ``JobManager.run``
    accepts. For an argument it does not accept, it raises :class:`ValueError`
    whose message the command shows as a usage error (exit code 2).

    It may also have a method ``argument_for(backend_name: str) -> str |
    None``: the argument that makes a backend of that name again, or
    ``None``. ``retry`` and ``cancel`` use it to reach the backend a journaled
    set ran on when no ``--backend`` is given.
    """

    def __call__(self, argument: str, /) -> Any:
        """Return the backend that ``PREFIX:argument`` names."""


def _plugins() -> dict[str, EntryPoint]:
    """The registered prefixes that are not built in, and their entry points."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _BUILT_IN:
            logger.debug("Backend plug-in %s (%s) ignored: built in", entry.name, entry.value)
            continue
        # The first registration of a prefix wins, as in importlib.metadata.
        found.setdefault(entry.name, entry)
    return found


def backend_choices() -> str:
    """Return the backend specs the command knows, for help texts and errors."""
    return ", ".join([_BUILT_IN_CHOICES, *(f"{name}:<...>" for name in sorted(_plugins()))])


def _load(entry: EntryPoint) -> BackendFactory:
    try:
        factory: BackendFactory = entry.load()
    except Exception as err:
        raise CliError(
            f"the backend plug-in {entry.name!r} ({entry.value}) cannot be loaded: {one_line(err)}"
        ) from err
    if not callable(factory):
        raise CliError(f"the backend plug-in {entry.name!r} ({entry.value}) is not callable")
    return factory


def _plugged_in(spec: str, prefix: str, argument: str) -> Any:
    entry = _plugins().get(prefix)
    if entry is None:
        raise CliError(f"unknown backend {spec!r}; choose from: {backend_choices()}")
    factory = _load(entry)
    try:
        return factory(argument)
    except CliError:
        raise
    except ValueError as err:
        raise CliError(one_line(err)) from err
    except Exception as err:
        raise CliError(f"cannot make backend {spec!r}: {one_line(err)}") from err


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


def fake_devices(fake_provider: Any) -> dict[str, type]:
    """Return the fake devices qiskit-ibm-runtime ships, by device name (``sherbrooke``).

    Every ``FakeBackendV2`` of ``fake_provider``: retired devices
    (``FakeManilaV2`` is ``manila``) and current ones (``FakeSherbrooke``,
    ``FakeTorino``) alike.
    """
    from qiskit.providers import BackendV2

    devices: dict[str, type] = {}
    for attr in sorted(dir(fake_provider)):
        cls = getattr(fake_provider, attr)
        if not (attr.startswith("Fake") and isinstance(cls, type) and issubclass(cls, BackendV2)):
            continue
        if attr in ("FakeBackendV2", "FakeBackend"):
            continue
        devices.setdefault(attr[4:].removesuffix("V2").lower(), cls)
    return devices


def _fake(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import fake_provider
    except ImportError as err:
        raise CliError(
            "fake backends need qiskit-ibm-runtime (pip install qiskit-ibm-runtime)"
        ) from err
    classes = fake_devices(fake_provider)
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


def make_backend(spec: str | None) -> Any:
    """Return the backend named by ``--backend``.

    ``aer`` (the default when qiskit-aer is installed), ``basic``
    (Qiskit's ``BasicSimulator``, the default otherwise), ``fake:<name>`` (a
    fake backend of qiskit-ibm-runtime), ``ibm:<name>`` (through the saved
    IBM Quantum account), or ``PREFIX:ARGUMENT`` for a prefix registered in
    the ``managedjob.backends`` entry-point group (``scripted:<seconds>``,
    from :mod:`managedjob.testing`, among them).

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
    if kind in _BUILT_IN:
        raise CliError(f"unknown backend {spec!r}; choose from: {backend_choices()}")
    return _plugged_in(spec, kind, rest)


def _plugged_in_spec_for(backend_name: str) -> str | None:
    for prefix, entry in _plugins().items():
        try:
            factory = _load(entry)
        except CliError as err:
            logger.debug("%s", err)
            continue
        # Optional in the protocol: only factories that can remake a backend say how.
        argument_for = getattr(factory, "argument_for", None)
        if argument_for is None:
            continue
        try:
            argument = argument_for(backend_name)
        except Exception as err:
            logger.debug("Backend plug-in %s cannot place %r: %s", prefix, backend_name, err)
            continue
        if argument is not None:
            return f"{prefix}:{argument}"
    return None


def backend_spec_for(backend_name: str) -> str | None:
    """Return the ``--backend`` spec that makes a backend of this name, if there is one."""
    if backend_name == "aer_simulator":
        return "aer"
    if backend_name == "basic_simulator":
        return "basic"
    if backend_name.startswith("fake_"):
        return "fake:" + backend_name.removeprefix("fake_")
    if backend_name.startswith("ibm"):
        return "ibm:" + backend_name
    return _plugged_in_spec_for(backend_name)
