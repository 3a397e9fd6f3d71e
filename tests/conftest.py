"""Shared fixtures for the test suite."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------- journal


@pytest.fixture(autouse=True)
def journal_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test a journal file of its own, never the user's data directory.

    ``MANAGEDJOB_JOURNAL`` names it, so a ``JobManager()`` that is not told
    otherwise journals there. Request the fixture to know where that is.
    """
    path = tmp_path / "journal" / "journal.sqlite3"
    monkeypatch.setenv("MANAGEDJOB_JOURNAL", str(path))
    return path


# ---------------------------------------------------------------- IBM Quantum over HTTP


@pytest.fixture
def ibm_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A loopback IBM Quantum Platform service offering ``fake_manila``, noiseless.

    The client's IBM Cloud calls (IAM, Global Search, Global Catalog) are
    pointed at it through the environment variables the client reads; build
    the client with ``QiskitRuntimeService(**ibm_loopback.client_arguments())``
    or use ``runtime_service``. The server stops at the end of the test.
    """
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from ibm_loopback import LoopbackService

    with LoopbackService([FakeManilaV2()], lifetime=120.0) as server:
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        yield server
        # Objects that close their batch when collected (managedjob's runtime
        # target does) do it now, while the service still answers, not in a
        # later test against a server that is gone.
        gc.collect()


@pytest.fixture
def runtime_service(ibm_loopback: Any) -> Any:
    """A real ``QiskitRuntimeService`` connected to ``ibm_loopback``."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    return QiskitRuntimeService(**ibm_loopback.client_arguments())
