"""Shared fixtures for the test suite."""

from __future__ import annotations

from pathlib import Path

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
