"""Shared fixtures for the test suite."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
import pytest

# A test that leaves a submission blocked must not hold the run's exit for
# the default five minutes (see managedjob._manager_exit).
os.environ.setdefault("MANAGEDJOB_EXIT_TIMEOUT", "20")

# ---------------------------------------------------------------- journal


def _user_journal() -> Path:
    """Where a ``JobManager()`` told nothing would journal for this user."""
    configured = os.environ.get("MANAGEDJOB_JOURNAL")
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("managedjob", appauthor=False) / "journal.sqlite3"


def _footprint(path: Path) -> list[tuple[str, int, int]]:
    """The journal file and its SQLite companions as they are now."""
    found = []
    for candidate in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
    ):
        try:
            stat = candidate.stat()
        except OSError:
            continue
        found.append((candidate.name, stat.st_size, stat.st_mtime_ns))
    return found


@pytest.fixture(scope="session", autouse=True)
def users_files_untouched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the whole session, module-scoped fixtures included, out of the user's files.

    The user's journal (``$MANAGEDJOB_JOURNAL`` or the user data directory)
    is noted before the first test and checked after the last: a test that
    wrote there fails the run. Meanwhile the journal and the data directory
    point into a temporary directory.
    """
    users = _user_journal()
    before = _footprint(users)
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MANAGEDJOB_JOURNAL", str(home / "session-journal.sqlite3"))
        patch.setenv("XDG_DATA_HOME", str(home / "data"))
        yield
    after = _footprint(users)
    assert after == before, f"the test suite wrote to the user's journal {users}"


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
