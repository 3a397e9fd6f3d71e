"""The journal's front: :class:`Journal`, its readers, and flushing at exit."""

from __future__ import annotations

import atexit
import json
import logging
import os
import sqlite3
import time
import weakref
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit.result import Result

from managedjob._journal._recorder import JournalRecorder
from managedjob._journal._records import (
    RECORD_QUERY,
    AttemptRecord,
    JobSetRecord,
    StoredSet,
    moment,
    timestamp,
)
from managedjob._journal._store import JournalStore, default_journal_path
from managedjob._journal._writer import Writer
from managedjob.exceptions import JournalError

__all__ = ["Journal"]

logger = logging.getLogger(__name__)

_EXIT_FLUSH_SECONDS = 10.0

_LIVE_JOURNALS: weakref.WeakSet[Journal] = weakref.WeakSet()


def _flush_at_exit() -> None:
    for journal in list(_LIVE_JOURNALS):
        try:
            journal.flush(_EXIT_FLUSH_SECONDS)
        except Exception:  # pragma: no cover - nothing to do at exit
            logger.debug("Could not flush journal %s at exit.", journal.path, exc_info=True)


atexit.register(_flush_at_exit)


class Journal:
    """A durable record of job sets: one SQLite file, shared by processes.

    A :class:`JobManager` opens one by itself (see ``journal=`` there); open
    one yourself to list or inspect job sets without a manager::

        from managedjob import Journal

        with Journal() as journal:
            for record in journal.job_sets(tags=["nightly"]):
                print(record.job_set_id, record.name, record.finished_jobs, "/", record.jobs)

    Opening creates the file (mode ``0600``) if it is missing and migrates
    one written by an older version. The module documentation of
    ``managedjob._journal`` describes the format.

    Open it with ``read_only=True`` to read a journal where you cannot
    write (a read-only mount, another user's directory): nothing is created,
    migrated or written, and a manager given such a journal cannot run jobs
    with it.

    Args:
        path: The journal file; :func:`default_journal_path` if not given.
        read_only: Only read an existing file.

    Raises:
        JournalError: If the file cannot be created or read, is not a
            managedjob journal, or was written by a newer version; with
            ``read_only``, also if it is missing or must first be migrated
            by a newer managedjob. The file is left as it was.

    Threading:
        A journal may be used from several threads and by several processes
        at once. Writes are queued to one writer thread; :meth:`flush` waits
        for them.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False
    ) -> None:
        self._path = default_journal_path() if path is None else Path(path).expanduser()
        self._store = JournalStore(self._path, read_only=read_only)
        self._writer = Writer(self._store)
        self._recording = JournalRecorder(self._store, self._writer)
        _LIVE_JOURNALS.add(self)

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._path

    @property
    def read_only(self) -> bool:
        """Whether the journal was opened for reading only."""
        return self._store.read_only

    def __repr__(self) -> str:
        suffix = " (read-only)" if self.read_only else ""
        return f"<Journal {str(self._path)!r}{suffix}>"

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def job_sets(
        self,
        name: str | None = None,
        *,
        tags: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[JobSetRecord]:
        """List the journaled job sets, oldest first.

        Args:
            name: Only the sets of this name.
            tags: Only the sets that have every one of these tags.
            since: Only the sets run at or after this time.
            until: Only the sets run at or before this time. Naive datetimes
                are local time, as for :meth:`datetime.timestamp`.

        Returns:
            One record per set.

        Raises:
            JournalError: If the journal cannot be read.
        """
        start, stop = timestamp(since, "since"), timestamp(until, "until")
        query = RECORD_QUERY + (
            " WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR s.created_at >= ?2)"
            " AND (?3 IS NULL OR s.created_at <= ?3) ORDER BY s.created_at, s.id"
        )
        with self._store.reading() as conn:
            rows = conn.execute(query, (name, start, stop)).fetchall()
        records = self._store.records(rows)
        if tags:
            wanted = set(tags)
            records = [record for record in records if wanted.issubset(record.tags)]
        return records

    def job_set(self, job_set_id: str) -> JobSetRecord | None:
        """Return the record of one job set, or ``None`` if it is not journaled.

        Raises:
            JournalError: If the journal cannot be read.
        """
        with self._store.reading() as conn:
            row = conn.execute(RECORD_QUERY + " WHERE s.id = ?", (job_set_id,)).fetchone()
        return None if row is None else self._store.records([row])[0]

    def attempts(self, job_set_id: str) -> list[AttemptRecord]:
        """Return every submission of every job of a set, by job, then attempt.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set is not journaled.
            JournalError: If the journal cannot be read.
        """
        rows = self._store.rows_of_set(
            "SELECT s.idx, a.attempt, s.start_index, s.end_index, a.job_name, a.job_id, "
            "a.submitted_at, a.finished_at, a.status, a.submit_error, a.error, a.runner "
            "FROM slices s LEFT JOIN attempts a ON a.set_id = s.set_id AND a.idx = s.idx "
            "WHERE s.set_id = ? ORDER BY s.idx, a.attempt",
            job_set_id,
        )
        return [
            AttemptRecord(
                index=int(row[0]),
                attempt=int(row[1] or 0),
                start_index=int(row[2]),
                end_index=int(row[3]),
                job_name=row[4],
                job_id=row[5],
                submitted_at=moment(row[6]),
                finished_at=moment(row[7]),
                status=JobStatus[row[8]] if row[8] in JobStatus.__members__ else None,
                submit_error=row[9],
                error=row[10],
                runner=row[11],
            )
            for row in rows
        ]

    def experiment_names(self, job_set_id: str) -> list[str | None]:
        """Return the names of a set's experiments, in experiment order.

        A name the journal does not have (its job's circuits were never
        written) is ``None``.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set is not journaled.
            JournalError: If the journal cannot be read.
        """
        rows = self._store.rows_of_set(
            "SELECT idx, start_index, end_index, names, circuits IS NOT NULL FROM slices "
            "WHERE set_id = ? ORDER BY idx",
            job_set_id,
        )
        names: list[str | None] = []
        for index, start, end, stored, has_circuits in rows:
            count = int(end) - int(start) + 1
            found: list[str | None] = list(json.loads(stored))
            if len(found) != count and has_circuits:  # a journal of schema 1 kept no names
                try:
                    found = [
                        circuit.name for circuit in self._store.load_circuits(job_set_id, index)
                    ]
                except JournalError as err:
                    logger.debug("No names for job %d of job set %s: %s", index, job_set_id, err)
            names.extend(found if len(found) == count else [None] * count)
        return names

    def circuits(self, job_set_id: str) -> list[QuantumCircuit]:
        """Return every circuit of a journaled job set, in experiment order.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set is not journaled.
            JournalError: If the journal cannot be read or lacks some circuits.
        """
        rows = self._store.rows_of_set(
            "SELECT s.idx, s.circuits, s.circuits_error, j.workload FROM slices s "
            "JOIN job_sets j ON j.id = s.set_id WHERE s.set_id = ? ORDER BY s.idx",
            job_set_id,
        )
        circuits: list[QuantumCircuit] = []
        for index, blob, error, workload in rows:
            circuits.extend(self._store.slice_circuits(job_set_id, index, blob, error, workload))
        return circuits

    def mark_lost(self, job_set_id: str, attempts: Sequence[AttemptRecord], why: str) -> int:
        """Journal jobs that can never finish as failed: ``ERROR``, with ``why``.

        Only submissions without a final state are marked; the others keep
        theirs. A rebuilt set then shows them failed, and ``retry_failed()``
        reruns them.

        Args:
            job_set_id: The set's id.
            attempts: The submissions to mark (see :meth:`attempts`).
            why: Their error message.

        Returns:
            How many were marked.

        Raises:
            JournalError: If the journal cannot be written.
        """
        now = time.time()
        rows = [(why, now, job_set_id, a.index, a.attempt) for a in attempts]
        marked: list[int] = []

        def apply(conn: sqlite3.Connection) -> None:
            total = 0
            for row in rows:
                total += conn.execute(
                    "UPDATE attempts SET status = 'ERROR', error = ?, finished_at = ? "
                    "WHERE set_id = ? AND idx = ? AND attempt = ? AND status IS NULL",
                    row,
                ).rowcount
            marked.append(total)

        self._recording.write_now(apply)
        return marked[0] if marked else 0

    def delete_job_set(self, job_set_id: str) -> bool:
        """Remove a job set, its circuits and results from the journal.

        The file does not shrink until SQLite reuses the space or is
        ``VACUUM``-ed.

        Args:
            job_set_id: The set's id.

        Returns:
            Whether the set was in the journal.

        Raises:
            JournalError: If the journal cannot be written.
        """
        deleted: list[int] = []

        def apply(conn: sqlite3.Connection) -> None:
            deleted.append(
                conn.execute("DELETE FROM job_sets WHERE id = ?", (job_set_id,)).rowcount
            )

        self._recording.write_now(apply)
        return bool(deleted and deleted[0])

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued write is committed.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Returns:
            Whether everything was written in time.
        """
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued and let go of the writer thread and its connection.

        The journal stays usable: a later write starts the writer again.
        """
        self._writer.flush(None)
        self._writer.stop(None)

    # ------------------------------------------------------------------ for managedjob

    def recording(self) -> JournalRecorder:
        """Return the write side of this journal, which job sets record themselves with.

        :meta private:
        """
        return self._recording

    def load_circuits(self, job_set_id: str, index: int) -> list[QuantumCircuit]:
        """Return the circuits of job ``index`` of a set.

        :meta private:
        """
        return self._store.load_circuits(job_set_id, index)

    def load_result(self, job_set_id: str, index: int, attempt: int) -> Result:
        """Return the result of one submission of job ``index`` of a set.

        :meta private:
        """
        return self._store.load_result(job_set_id, index, attempt)

    def stored_job_set(self, job_set_id: str) -> StoredSet:
        """Return what rebuilding a set needs: its record, options and latest attempts.

        :meta private:
        """
        return self._store.load_job_set(job_set_id)
