"""The journal file: where it is, creating and checking it, connections, and row readers.

The file is created with mode ``0600`` (its directory ``0700``) before
SQLite opens it. A file that is not SQLite, an SQLite file of another
application, a damaged one, or one of a newer schema is refused with a
:class:`~managedjob.JournalError` naming the path, and never written to.
Reads open a short-lived connection of their own; writes go through the
journal's writer thread (``_writer``).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from qiskit.circuit import QuantumCircuit
from qiskit.result import Result

from managedjob._journal._codec import CIRCUITS, workload_codec
from managedjob._journal._records import (
    RECORD_QUERY,
    JobSetRecord,
    StoredAttempt,
    StoredSet,
    StoredSlice,
    record_from_row,
)
from managedjob._journal._schema import APPLICATION, SCHEMA_VERSION, apply_migrations
from managedjob.exceptions import JournalError, UnknownJobSetError

__all__ = [
    "BUSY_TIMEOUT",
    "ENV_VAR",
    "HINT",
    "JournalStore",
    "OlderJournalError",
    "default_journal_path",
]

logger = logging.getLogger(__name__)

ENV_VAR = "MANAGEDJOB_JOURNAL"
"""The environment variable that names the journal file."""
BUSY_TIMEOUT = 30.0
"""Seconds a connection waits for another writer (SQLite's busy timeout)."""
HINT = (
    "Pass journal=False to run without a journal, journal=PATH (or set "
    f"{ENV_VAR}) to use another file, or journal_required=False to run on "
    "without one when it fails."
)
"""What a user can do about a journal that fails, for error messages."""

_SQLITE_HEADER = b"SQLite format 3\x00"


def default_journal_path() -> Path:
    """Return the journal file used when none is given.

    Returns:
        The path in the ``MANAGEDJOB_JOURNAL`` environment variable if it is
        set and not empty, else ``journal.sqlite3`` in the user data
        directory (for example ``~/.local/share/managedjob/`` on Linux).
    """
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("managedjob", appauthor=False) / "journal.sqlite3"


class OlderJournalError(JournalError):
    """A journal of an older schema, opened read-only: it must be migrated (opened for writing)."""


class JournalStore:
    """One journal file: opened, checked and migrated on creation; read on demand.

    Args:
        path: The journal file.
        read_only: Open an existing file for reading only: nothing is
            created, migrated or written, so a journal on a read-only mount
            or in a directory the user cannot write can still be read.

    Raises:
        JournalError: If the file cannot be created or read, is not a
            managedjob journal, or was written by a newer version; opened
            read-only, also if it is missing or of an older schema.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._path = path
        self._read_only = read_only
        self._immutable = False
        if read_only:
            self._open_for_reading()
        else:
            self._create_file()
            self._open_and_migrate()

    @property
    def read_only(self) -> bool:
        """Whether the file was opened for reading only."""
        return self._read_only

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._path

    def write_error(self, err: BaseException) -> JournalError:
        """Return ``err``, a failure to write, as a :class:`JournalError`."""
        if isinstance(err, JournalError):
            return err
        if self._read_only:
            return JournalError(
                f"the journal at {self._path} was opened read-only; nothing can be written "
                f"to it. {HINT}",
                self._path,
            )
        return JournalError(
            f"cannot write to the journal at {self._path}: {err}. {HINT}", self._path
        )

    def _create_file(self) -> None:
        path = self._path
        try:
            if path.is_dir():
                raise JournalError(f"the journal path {path} is a directory. {HINT}", path)
            if path.is_symlink() and not path.exists():
                # SQLite would create the file it points to, readable by all.
                raise JournalError(
                    f"the journal path {path} is a symbolic link to a missing file "
                    f"({os.readlink(path)}); it was left untouched. {HINT}",
                    path,
                )
            if path.exists() and not stat.S_ISREG(path.stat().st_mode):
                # A FIFO would block the first read forever; a device is no journal.
                raise JournalError(
                    f"the journal path {path} is not a regular file; it was left untouched. "
                    f"{HINT}",
                    path,
                )
            if path.exists():
                with path.open("rb") as handle:
                    head = handle.read(len(_SQLITE_HEADER))
                if head and head != _SQLITE_HEADER:
                    raise JournalError(
                        f"{path} is not a managedjob journal (it is not an SQLite database); "
                        f"it was left untouched. {HINT}",
                        path,
                    )
                return
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return
            os.close(descriptor)
        except OSError as err:
            raise JournalError(
                f"cannot create the journal at {path}: {err}. {HINT}", path
            ) from err

    def _open_for_reading(self) -> None:
        path = self._path
        if not path.exists():
            raise JournalError(f"there is no journal at {path}. {HINT}", path)
        if not path.is_file():
            raise JournalError(
                f"the journal path {path} is not a regular file; it was left untouched. {HINT}",
                path,
            )
        try:
            conn = self.connect(read_only=True)
        except JournalError as err:
            if "unable to open" not in str(err) and "readonly" not in str(err):
                raise
            # A journal in WAL mode needs its shared-memory file, which SQLite
            # cannot make where the user may not write (a read-only mount):
            # no one writes there either, so read the file as it stands.
            self._immutable = True
            conn = self.connect(read_only=True)
        try:
            version = self._check(conn)
        finally:
            conn.close()
        if version != SCHEMA_VERSION:
            raise OlderJournalError(
                f"{path} was written by an older managedjob (journal schema {version}); "
                "it must be migrated before it can be read: open it once for writing "
                "(Journal(path) or any managedjob command that runs jobs).",
                path,
            )

    def connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        """Open a connection (in autocommit mode: callers begin their transactions).

        A store opened read-only hands out read-only connections only.

        Raises:
            JournalError: If the file cannot be opened as a journal.
        """
        read_only = read_only or self._read_only
        try:
            if self._read_only:
                flags = "immutable=1" if self._immutable else "mode=ro"
                uri = f"{self._path.absolute().as_uri()}?{flags}"
                conn = sqlite3.connect(uri, timeout=BUSY_TIMEOUT, isolation_level=None, uri=True)
                if not self._immutable:
                    try:  # SQLite opens lazily: read once to know it can
                        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    except sqlite3.Error:
                        conn.close()
                        raise
            else:
                conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as err:
            raise JournalError(
                f"cannot open the journal at {self._path}: {err}. {HINT}", self._path
            ) from err
        try:
            if read_only:
                conn.execute("PRAGMA query_only = ON")
            else:
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as err:
            conn.close()
            if not isinstance(err, sqlite3.OperationalError):  # malformed, not a database
                raise self._unreadable(err) from err
            raise JournalError(
                f"cannot open the journal at {self._path}: {err}. {HINT}", self._path
            ) from err
        return conn

    def _unreadable(self, err: BaseException) -> JournalError:
        return JournalError(
            f"{self._path} cannot be read as a managedjob journal ({err}); it was left "
            f"untouched: move it away, or use another file. {HINT}",
            self._path,
        )

    def _check(self, conn: sqlite3.Connection) -> int:
        """Return the file's schema version (0 for an empty file) or raise if it is not ours."""
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as err:
            raise self._unreadable(err) from err
        if version == 0 and not tables:
            return 0
        marker = None
        if "meta" in tables:
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'application'").fetchone()
            except sqlite3.DatabaseError as err:
                # Damaged pages: whatever the file is, it cannot be read.
                raise self._unreadable(err) from err
            marker = row[0] if row else None
        if marker != APPLICATION:
            raise JournalError(
                f"{self._path} is an SQLite database of another application, not a managedjob "
                f"journal; it was left untouched. {HINT}",
                self._path,
            )
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self._path} was written by a newer managedjob (journal schema {version}; "
                f"this version reads up to {SCHEMA_VERSION}); it was left untouched. Upgrade "
                "managedjob to use it.",
                self._path,
            )
        return version

    def _open_and_migrate(self) -> None:
        conn = self.connect()
        try:
            version = self._check(conn)
            if version == SCHEMA_VERSION:
                return
            _ensure_wal(conn)
            # Foreign keys stay off while tables are rebuilt.
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("BEGIN IMMEDIATE")
            migrated = False
            try:
                version = self._check(conn)  # another process may have been first
                if version < SCHEMA_VERSION:
                    migrated = version > 0
                    apply_migrations(conn, version, SCHEMA_VERSION)
                    if version == 0:
                        conn.executemany(
                            "INSERT INTO meta (key, value) VALUES (?, ?)",
                            [("application", APPLICATION), ("created_by", _library_version())],
                        )
                    else:
                        logger.info(
                            "Migrated journal %s from schema %d to %d.",
                            self._path,
                            version,
                            SCHEMA_VERSION,
                        )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            if migrated:
                _compact(conn, self._path)
        except sqlite3.DatabaseError as err:
            raise JournalError(
                f"cannot prepare the journal at {self._path}: {err}. {HINT}", self._path
            ) from err
        finally:
            conn.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Lend a read-only connection; an SQLite error becomes a :class:`JournalError`."""
        conn = self.connect(read_only=True)
        try:
            yield conn
        except sqlite3.Error as err:
            raise JournalError(
                f"cannot read the journal at {self._path}: {err}", self._path
            ) from err
        finally:
            conn.close()

    def rows_of_set(self, query: str, job_set_id: str) -> list[Any]:
        """Run ``query`` (one parameter: the set's id) and return its rows.

        Raises:
            IBMQJobManagerUnknownJobSet: If there are none and the set is not
                journaled (a journaled set may have no jobs written yet).
        """
        with self.reading() as conn:
            rows = conn.execute(query, (job_set_id,)).fetchall()
            known = bool(rows) or bool(
                conn.execute("SELECT 1 FROM job_sets WHERE id = ?", (job_set_id,)).fetchone()
            )
        if not known:
            raise UnknownJobSetError(f"{job_set_id} is not a job set of the journal {self._path}.")
        return rows

    def slice_circuits(
        self,
        job_set_id: str,
        index: int,
        blob: bytes | None,
        error: str | None,
        workload: str = CIRCUITS,
    ) -> list[QuantumCircuit]:
        """Decode the circuits of job ``index`` of a set, read with their error column.

        The set's ``workload`` chooses the codec.

        Raises:
            JournalError: If there are none (``error`` says why) or they cannot be read.
        """
        if blob is None:
            raise JournalError(
                f"the circuits of job {index} of job set {job_set_id} are not in the journal "
                f"{self._path}: "
                f"{error or 'the set is still being submitted, or its process stopped first'}",
                self._path,
            )
        try:
            items: list[QuantumCircuit] = workload_codec(workload).decode_slice(blob)
            return items
        except Exception as err:
            raise JournalError(
                f"the circuits of job {index} of job set {job_set_id} in the journal "
                f"{self._path} cannot be read: {err}",
                self._path,
            ) from err

    def load_circuits(self, job_set_id: str, index: int) -> list[QuantumCircuit]:
        """Return the circuits of job ``index`` of a set.

        Raises:
            JournalError: If they are not in the journal or cannot be read.
        """
        with self.reading() as conn:
            row = conn.execute(
                "SELECT s.circuits, s.circuits_error, j.workload FROM slices s "
                "JOIN job_sets j ON j.id = s.set_id WHERE s.set_id = ? AND s.idx = ?",
                (job_set_id, index),
            ).fetchone()
        if row is None:
            raise JournalError(
                f"job {index} of job set {job_set_id} is not in the journal {self._path}",
                self._path,
            )
        return self.slice_circuits(job_set_id, index, row[0], row[1], row[2])

    def load_result(self, job_set_id: str, index: int, attempt: int) -> Result:
        """Return the result of one attempt of job ``index`` of a set.

        Raises:
            JournalError: If it is not in the journal or cannot be read.
        """
        with self.reading() as conn:
            row = conn.execute(
                "SELECT a.result, j.workload FROM attempts a JOIN job_sets j ON j.id = a.set_id "
                "WHERE a.set_id = ? AND a.idx = ? AND a.attempt = ?",
                (job_set_id, index, attempt),
            ).fetchone()
        if row is None or row[0] is None:
            raise JournalError(
                f"the result of job {index} of job set {job_set_id} is not in the journal "
                f"{self._path}",
                self._path,
            )
        try:
            result: Result = workload_codec(row[1]).decode_result(row[0])
            return result
        except Exception as err:
            raise JournalError(
                f"the result of job {index} of job set {job_set_id} in the journal "
                f"{self._path} cannot be read: {err}",
                self._path,
            ) from err

    def damaged_row(self, job_set_id: object, err: BaseException) -> JournalError:
        """Return the error for a row of a set that cannot be decoded."""
        return JournalError(
            f"job set {job_set_id} in the journal {self._path} is damaged and cannot be read "
            f"({type(err).__name__}: {err}); Journal.delete_job_set() removes it.",
            self._path,
        )

    def records(self, rows: Sequence[Any]) -> list[JobSetRecord]:
        """Decode rows of ``RECORD_QUERY``.

        Raises:
            JournalError: If a row is damaged, naming its set.
        """
        records: list[JobSetRecord] = []
        for row in rows:
            try:
                records.append(record_from_row(row))
            except ROW_ERRORS as err:
                raise self.damaged_row(row[0], err) from err
        return records

    def load_job_set(self, job_set_id: str) -> StoredSet:
        """Return what rebuilding a set needs: its record, options and latest attempts.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set is not journaled.
            JournalError: If the journal cannot be read.
        """
        with self.reading() as conn:
            row = conn.execute(RECORD_QUERY + " WHERE s.id = ?", (job_set_id,)).fetchone()
            if row is None:
                raise UnknownJobSetError(
                    f"{job_set_id} is not a known job set: it is not in the journal {self._path}."
                )
            extra = conn.execute(
                "SELECT run_config, unsaved_options, max_resubmits, workload FROM job_sets "
                "WHERE id = ?",
                (job_set_id,),
            ).fetchone()
            slice_rows = conn.execute(
                "SELECT idx, start_index, end_index, names, circuits IS NOT NULL FROM slices "
                "WHERE set_id = ? ORDER BY idx",
                (job_set_id,),
            ).fetchall()
            attempt_rows = conn.execute(
                "SELECT idx, attempt, job_name, job_id, submit_error, status, error, "
                "result IS NOT NULL FROM attempts a WHERE set_id = ? AND attempt = "
                "(SELECT max(attempt) FROM attempts b "
                "WHERE b.set_id = a.set_id AND b.idx = a.idx)",
                (job_set_id,),
            ).fetchall()
        try:
            return self._stored_set(row, extra, slice_rows, attempt_rows)
        except ROW_ERRORS as err:
            raise self.damaged_row(job_set_id, err) from err

    @staticmethod
    def _stored_set(
        row: Sequence[Any],
        extra: Sequence[Any],
        slice_rows: Sequence[Sequence[Any]],
        attempt_rows: Sequence[Sequence[Any]],
    ) -> StoredSet:
        attempts = {
            int(r[0]): StoredAttempt(int(r[1]), r[2], r[3], r[4], r[5], r[6], bool(r[7]))
            for r in attempt_rows
        }
        slices = [
            StoredSlice(
                index=int(r[0]),
                start_index=int(r[1]),
                end_index=int(r[2]),
                names=list(json.loads(r[3])),
                has_circuits=bool(r[4]),
                attempt=attempts.get(int(r[0])),
            )
            for r in slice_rows
        ]
        return StoredSet(
            record=record_from_row(row),
            run_config=extra[0],
            unsaved_options=list(json.loads(extra[1])),
            max_resubmits=int(extra[2]),
            workload=str(extra[3]),
            slices=slices,
        )


# What decoding a damaged row raises (bad JSON, wrong types, missing keys).
ROW_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)


def _compact(conn: sqlite3.Connection, path: Path) -> None:
    """Give back the space a migration freed (rebuilt tables leave the old pages free).

    A journal another process holds open stays as it is: compacting is only
    a saving, never needed.
    """
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as err:
        logger.info("Did not compact the migrated journal %s: %s", path, err)


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode.

    Switching needs the database to itself for a moment, and SQLite answers
    "locked" at once (without its busy handler) while another process is
    opening the same new journal; so try again, for as long as the busy
    timeout, until the mode is WAL (often because the other process set it).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            busy = "locked" in str(err) or "busy" in str(err)
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _library_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"managedjob {version('managedjob')}"
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "managedjob"
