"""Recording job sets in the journal: the write side that job sets use.

:class:`JournalRecorder` (from :meth:`Journal.recording`) journals a set
before its submission and hands back a :class:`SetRecorder`; each
submission of a slice gets an :class:`AttemptRecorder`, and each managed
job a :class:`SliceObserver` that links it to its set: journal records,
background watching, resubmission on failure. What a failure to journal
does is decided by the set's :class:`~managedjob._journal._policy.JournalPolicy`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from managedjob._checks import secret_options
from managedjob._journal._codec import (
    CIRCUITS,
    WorkloadCodec,
    describe_target,
    encode_run_config,
    workload_codec,
)
from managedjob._journal._policy import JournalPolicy, journal_warning
from managedjob._journal._records import StoredSet
from managedjob._journal._runner import this_runner
from managedjob._journal._writer import Apply, Prepare
from managedjob._managed_job import QOBJ_ONLY_OPTIONS, ManagedJob, _describe_failure
from managedjob._managed_job._core import result_is_local
from managedjob._wait import FINAL_STATES
from managedjob._watch import watch_job
from managedjob.exceptions import JournalError

if TYPE_CHECKING:
    from managedjob._job_set import ManagedJobSet
    from managedjob._journal._store import JournalStore
    from managedjob._journal._writer import Writer
    from managedjob.targets import Target

__all__ = [
    "AttemptRecorder",
    "JournalRecorder",
    "SetRecorder",
    "SliceObserver",
    "final_status",
]

logger = logging.getLogger(__name__)

# How long a submission waits for the previous slice's to be on its way, so
# that journaling does not reorder them; with an executor that runs tasks in
# order, the wait ends at once.
_ORDER_WAIT_SECONDS = 2.0


class JournalRecorder:
    """The write side of one journal, for the job sets recorded in it.

    Not part of the API: :meth:`Journal.recording` hands it to managedjob's
    job sets. Every write goes through the journal's one writer thread.

    Args:
        store: The journal file.
        writer: Its writer thread.
    """

    def __init__(self, store: JournalStore, writer: Writer) -> None:
        self._store = store
        self._writer = writer

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._store.path

    def load_circuits(self, job_set_id: str, index: int) -> list[QuantumCircuit]:
        """Return the circuits of job ``index`` of a set.

        Raises:
            JournalError: If they are not in the journal or cannot be read.
        """
        return self._store.load_circuits(job_set_id, index)

    def job_ids(self, job_set_id: str) -> set[str]:
        """Return every job id journaled for a set, earlier attempts included.

        Raises:
            JournalError: If the journal cannot be read.
        """
        rows = self._store.rows_of_set(
            "SELECT job_id FROM attempts WHERE set_id = ? AND job_id IS NOT NULL", job_set_id
        )
        return {str(row[0]) for row in rows}

    def write(
        self, prepare: Prepare, *, urgent: bool = False, first: bool = False
    ) -> Future[None]:
        """Queue a write; ``urgent`` and ``first`` only for one nothing queued depends on.

        ``first`` writes go ahead of the urgent ones (job ids).
        """
        return self._writer.submit(prepare, urgent=urgent, first=first)

    def write_soon(self, prepare: Prepare, what: str) -> None:
        """Queue a write nobody waits for; a failure is logged."""

        def report(future: Future[None]) -> None:
            error = future.exception()
            if error is not None:
                logger.warning("Could not journal %s: %s", what, error)

        self.write(prepare).add_done_callback(report)

    def flush(self, timeout: float | None) -> bool:
        """Wait until every queued write is committed or failed; whether that happened in time."""
        return self._writer.flush(timeout)

    def write_now(self, apply: Apply, *, urgent: bool = False) -> None:
        """Write and wait for the commit.

        Raises:
            JournalError: If the write failed.
        """
        future = self.write(lambda: apply, urgent=urgent)
        error = future.exception()
        if error is not None:
            raise self._store.write_error(error)

    def record_job_set(
        self,
        *,
        job_set_id: str,
        name: str,
        tags: Sequence[str],
        created_at: datetime,
        target: Target,
        run_config: Mapping[str, Any],
        slices: Sequence[tuple[int, int, Sequence[QuantumCircuit], str]],
        max_resubmits: int,
        policy: JournalPolicy,
        workload: str = CIRCUITS,
    ) -> SetRecorder:
        """Journal a set before its submission; return the handle for its later records.

        The set's row, with a row for each slice and its first attempt, is
        committed before this returns; the circuits of each slice are queued,
        and its attempt recorder's :meth:`AttemptRecorder.wait_ready` waits
        for them.

        ``workload`` is what the slices hold: it chooses the codec of their
        experiments and results (see :func:`workload_codec`).

        Raises:
            JournalError: If the set cannot be written.
        """
        codec = workload_codec(workload)
        secrets = secret_options(run_config)
        if secrets:
            journal_warning(
                f"Run option(s) {', '.join(map(repr, secrets))} of job set {job_set_id} look "
                "like credentials and are not journaled; a retry from another process will "
                "need them passed to retry_failed() again."
            )
        config_json, unsaved = encode_run_config(
            {key: value for key, value in run_config.items() if key not in secrets}
        )
        if unsaved:
            journal_warning(
                f"Run option(s) {', '.join(map(repr, unsaved))} of job set {job_set_id} cannot "
                "be journaled (they have no JSON form); a retry from another process will need "
                "them passed to retry_failed() again."
            )
        description = json.dumps(describe_target(target))
        row = (
            job_set_id,
            name,
            json.dumps(list(tags)),
            created_at.timestamp(),
            description,
            config_json,
            json.dumps([*unsaved, *secrets]),
            sum(len(circuits) for _, _, circuits, _ in slices),
            max_resubmits,
            codec.kind,
        )

        # The set's shape goes in with its row, so that a reader never sees
        # half a set; each slice's circuits follow (see _slice_writer).
        slice_rows = [
            (job_set_id, index, start, end) for index, (start, end, _, _) in enumerate(slices)
        ]
        attempt_rows = [
            (job_set_id, index, job_name) for index, (_, _, _, job_name) in enumerate(slices)
        ]

        def insert_set(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO job_sets (id, name, tags, created_at, target, run_config, "
                "unsaved_options, experiments, max_resubmits, workload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            conn.executemany(
                "INSERT INTO slices (set_id, idx, start_index, end_index) VALUES (?, ?, ?, ?)",
                slice_rows,
            )
            conn.executemany(
                "INSERT INTO attempts (set_id, idx, attempt, job_name) VALUES (?, ?, 0, ?)",
                attempt_rows,
            )

        self.write_now(insert_set, urgent=True)
        recorder = SetRecorder(self, job_set_id, policy, [*unsaved, *secrets], config_json, codec)
        previous: threading.Event | None = None
        for index, (start, end, circuits, _) in enumerate(slices):
            ready = self.write(
                _slice_writer(self.path, codec, job_set_id, index, start, end, list(circuits)),
                urgent=True,
            )
            previous = recorder.add_first_attempt(index, ready, after=previous).passed
        return recorder

    def reopen(self, stored: StoredSet, policy: JournalPolicy) -> SetRecorder:
        """Return the recorder of a set rebuilt from the journal, for its later records.

        Raises:
            JournalError: If no codec knows the set's workload.
        """
        try:
            codec = workload_codec(stored.workload)
        except ValueError as err:
            raise JournalError(
                f"job set {stored.record.job_set_id} in the journal {self.path} cannot be "
                f"rebuilt: {err}",
                self.path,
            ) from err
        return SetRecorder(
            self,
            stored.record.job_set_id,
            policy,
            stored.unsaved_options,
            stored.run_config,
            codec,
        )


def _slice_writer(
    path: Path,
    codec: WorkloadCodec,
    job_set_id: str,
    index: int,
    start: int,
    end: int,
    circuits: list[QuantumCircuit],
) -> Prepare:
    """Write the names and circuits of a slice whose row is already there."""

    def prepare() -> Apply:
        names = json.dumps(codec.names(circuits))
        blob: bytes | None
        try:
            blob, problem = codec.encode_slice(circuits), None
        except Exception as err:
            blob, problem = None, f"{type(err).__name__}: {err}"
            # This runs in the writer thread: log, where a warning could be lost.
            logger.warning(
                "The circuits of experiments %d-%d of job set %s cannot be stored as QPY in "
                "the journal %s (%s); they cannot be retried from another process.",
                start,
                end,
                job_set_id,
                path,
                problem,
            )

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE slices SET names = ?, circuits = ?, circuits_error = ? "
                "WHERE set_id = ? AND idx = ?",
                (names, blob, problem, job_set_id, index),
            )

        return apply

    return prepare


class SetRecorder:
    """Writes the later records of one journaled job set."""

    def __init__(
        self,
        journal: JournalRecorder,
        job_set_id: str,
        policy: JournalPolicy,
        unsaved_options: Sequence[str],
        run_config: str,
        codec: WorkloadCodec,
    ) -> None:
        self.journal = journal
        self.codec = codec
        self.job_set_id = job_set_id
        # A set that runs on without its journal says so once.
        self.policy = policy.once()
        self.unsaved_options = list(unsaved_options)
        self._run_config = run_config
        self._first_attempts: dict[int, AttemptRecorder] = {}
        # The first write of this set that failed, until it is reported.
        self._write_failure: JournalError | None = None
        self._failure_lock = threading.Lock()

    def write_soon(self, prepare: Prepare, what: str) -> None:
        """Queue a write nobody waits for; a failure goes by the set's policy.

        Without ``journal_required`` it warns (once, :class:`JournalWarning`);
        with it, it is kept for :meth:`raise_write_failure`.
        """

        def report(future: Future[None]) -> None:
            error = future.exception()
            if error is not None:
                self.write_failed(error, what)

        self.journal.write(prepare).add_done_callback(report)

    def write_failed(self, error: BaseException, what: str) -> None:
        """Deal with a write of ``what`` that failed (see :meth:`write_soon`)."""
        logger.warning("Could not journal %s: %s", what, error)
        failure = JournalError(
            f"{what} of job set {self.job_set_id} could not be journaled: {error}",
            self.journal.path,
        )
        if not self.policy.required:
            self.policy.failed(failure, f"Job set {self.job_set_id} runs on without its journal")
            return
        with self._failure_lock:
            if self._write_failure is None:
                self._write_failure = failure

    def raise_write_failure(self, timeout: float | None = 30.0) -> None:
        """With ``journal_required``: raise, once, a write of the set that failed.

        Waits (at most ``timeout``) for the queued writes first.

        Raises:
            JournalError: The first write that failed since the last call.
        """
        if not self.policy.required:
            return
        self.journal.flush(timeout)
        with self._failure_lock:
            failure, self._write_failure = self._write_failure, None
        if failure is not None:
            raise failure

    def add_first_attempt(
        self, index: int, ready: Future[None], *, after: threading.Event | None
    ) -> AttemptRecorder:
        """Make the recorder of a slice's first submission, which waits for ``ready``."""
        attempt = AttemptRecorder(self, index, 0, ready, after=after)
        self._first_attempts[index] = attempt
        return attempt

    def first_attempt(self, index: int) -> AttemptRecorder:
        """Hand over the recorder of a slice's first submission (once)."""
        return self._first_attempts.pop(index)

    def new_attempt(self, index: int, attempt: int, job_name: str) -> AttemptRecorder:
        """Journal a new submission of a slice; its recorder waits for the row."""
        job_set_id = self.job_set_id

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO attempts (set_id, idx, attempt, job_name) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (set_id, idx, attempt) DO NOTHING",
                (job_set_id, index, attempt, job_name),
            )

        ready = self.journal.write(lambda: apply, urgent=True)
        return AttemptRecorder(self, index, attempt, ready)

    def existing_attempt(self, index: int, attempt: int, *, final: bool) -> AttemptRecorder:
        """Return the recorder of a journaled submission; ``final`` if its end is journaled."""
        ready: Future[None] = Future()
        ready.set_result(None)
        return AttemptRecorder(self, index, attempt, ready, final=final)

    def update(self, *, name: str | None = None, tags: Sequence[str] | None = None) -> None:
        """Journal a new name or new tags of the set."""
        job_set_id = self.job_set_id
        tags_json = None if tags is None else json.dumps(list(tags))

        def apply(conn: sqlite3.Connection) -> None:
            if name is not None:
                conn.execute("UPDATE job_sets SET name = ? WHERE id = ?", (name, job_set_id))
            if tags_json is not None:
                conn.execute("UPDATE job_sets SET tags = ? WHERE id = ?", (tags_json, job_set_id))

        self.write_soon(lambda: apply, "the name or tags")

    def store_circuits(
        self, index: int, start: int, end: int, circuits: Sequence[QuantumCircuit]
    ) -> None:
        """Journal the circuits of a slice that the journal lacked (passed again by the user)."""
        self.journal.write(
            _slice_writer(
                self.journal.path, self.codec, self.job_set_id, index, start, end, list(circuits)
            ),
            urgent=True,  # fills in its slice's row; nothing queued depends on it
        )

    def load_submission(
        self, index: int, circuits: list[QuantumCircuit] | None = None
    ) -> tuple[list[QuantumCircuit], dict[str, Any], dict[str, Any]]:
        """Return a slice's circuits, run options and Qobj options, from the journal.

        ``circuits``, when given, are used instead of the journaled ones
        (which are then not read).
        """
        if circuits is None:
            circuits = self.journal.load_circuits(self.job_set_id, index)
        run_config = self.codec.decode_run_config(self._run_config, circuits)
        qobj_options = {key: run_config.pop(key) for key in QOBJ_ONLY_OPTIONS & run_config.keys()}
        return circuits, run_config, qobj_options


def final_status(job: JobV1 | None) -> JobStatus | None:
    """Return the job's status if it is final, else (or if it cannot be read) ``None``."""
    if job is None:
        return None
    try:
        status = job.status()
    except Exception:
        return None
    return status if status in FINAL_STATES else None


class AttemptRecorder:
    """Writes the records of one submission of one slice."""

    def __init__(
        self,
        owner: SetRecorder,
        index: int,
        attempt: int,
        ready: Future[None],
        *,
        after: threading.Event | None = None,
        final: bool = False,
    ) -> None:
        self.owner = owner
        self.index = index
        self.attempt = attempt
        self._ready = ready
        # The slices of a run are journaled together, which would release
        # their submissions all at once; each waits for the one before it to
        # be on its way, so that jobs still reach the target in order.
        self._after = after
        self.passed = threading.Event()
        # "error" or "result" once a final state is written.
        self._recorded: str | None = "result" if final else None
        self._lock = threading.Lock()

    def _key(self) -> tuple[str, int, int]:
        return self.owner.job_set_id, self.index, self.attempt

    def wait_ready(self, mjob: ManagedJob) -> None:
        """Wait until the slice is journaled.

        Raises:
            JournalError: If it could not be, and the journal is required.
        """
        try:
            error = self._ready.exception()
            if self._after is not None:
                self._after.wait(_ORDER_WAIT_SECONDS)
        finally:
            self.passed.set()
        if error is None:
            return
        self.owner.policy.failed(
            error,
            f"Job set {self.owner.job_set_id} runs on, but it is not fully journaled",
            raise_as=JournalError(
                f"experiments {mjob.start_index}-{mjob.end_index} were not submitted because "
                f"they could not be journaled first: {error}",
                self.owner.journal.path,
            ),
        )

    def record_submission(self, mjob: ManagedJob) -> None:
        """Journal the job id, or the submission's error, or that it was cancelled.

        The write is urgent (nothing queued goes ahead of it) and waited for,
        in the thread that submitted: an id the target gave is in the journal
        before that thread submits anything else, so that a crash leaves at
        most one accepted but unrecorded job per submitting thread, which a
        rebuilt set looks up by its tags (see ``retrieve_job_set``).
        """
        self.passed.set()  # also when the submission never ran (cancelled)
        job = mjob.job
        job_id = None
        if job is not None:
            try:
                job_id = str(job.job_id())
            except Exception:
                job_id = None
        error = None if mjob.submit_error is None else str(mjob.submit_error)
        status = "CANCELLED" if mjob._cancelled_before_submit else None
        # A job that computes in this process ends with it: say which process.
        runner = this_runner() if job is not None and result_is_local(job) else None
        row = (*self._key(), mjob.job_name, job_id, time.time(), error, status, runner)

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO attempts (set_id, idx, attempt, job_name, job_id, submitted_at, "
                "submit_error, status, runner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (set_id, idx, attempt) DO UPDATE SET "
                "job_name = excluded.job_name, job_id = excluded.job_id, "
                "submitted_at = excluded.submitted_at, submit_error = excluded.submit_error, "
                "status = COALESCE(attempts.status, excluded.status), runner = excluded.runner",
                row,
            )

        # Ahead of every queued write, circuits included: the attempt's row is
        # committed before its submission starts (wait_ready), and this write
        # only fills in its submission.
        written = self.owner.journal.write(lambda: apply, first=True)
        failure = written.exception()
        if failure is not None:
            self.owner.write_failed(
                failure, f"the job of experiments {mjob.start_index}-{mjob.end_index}"
            )

    def record_final(
        self, mjob: ManagedJob, result: Result | None, error: BaseException | None
    ) -> JobStatus | None:
        """Journal the final state once; return it (``None`` if the job is not final)."""
        if result is not None:
            status: JobStatus | None = JobStatus.DONE if result.success else JobStatus.ERROR
            text = None if result.success else _describe_failure(result)
        else:
            status = final_status(mjob.job)
            text = None if error is None else f"{type(error).__name__}: {error}"
        if status is None:
            return None
        kind = "result" if result is not None else "error"
        with self._lock:
            if self._recorded == "result" or self._recorded == kind:
                return status
            self._recorded = kind
        key = self._key()
        finished_at = time.time()
        codec = self.owner.codec

        def prepare() -> Apply:
            blob = None if result is None else codec.encode_result(result)
            row = (*key, status.name, text, blob, finished_at)

            def apply(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "INSERT INTO attempts (set_id, idx, attempt, status, error, result, "
                    "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (set_id, idx, attempt) DO UPDATE SET "
                    "status = excluded.status, error = excluded.error, "
                    "result = COALESCE(excluded.result, attempts.result), "
                    "finished_at = excluded.finished_at",
                    row,
                )

            return apply

        self.owner.write_soon(
            prepare, f"the result of experiments {mjob.start_index}-{mjob.end_index}"
        )
        return status


class SliceObserver:
    """Links one managed job to its set: journal records, watching, resubmission.

    Args:
        job_set: The set the job belongs to.
        index: The job's place in the set.
        recorder: Where its records go; ``None`` when the set has no journal.
        detached_job_id: For a set rebuilt without a provider: the id of the
            job that was not re-attached.

    Attributes:
        unrecorded: For a set rebuilt from the journal: the slice's latest
            submission has no journaled job id, and its target was not (or
            could not be) asked whether it has the job; ``retry_failed()``
            asks before it resubmits.
    """

    def __init__(
        self,
        job_set: ManagedJobSet,
        index: int,
        recorder: AttemptRecorder | None,
        detached_job_id: str | None = None,
    ) -> None:
        self.job_set = job_set
        self.index = index
        self.recorder = recorder
        self.detached_job_id = detached_job_id
        self.unrecorded = False

    def before_submit(self, mjob: ManagedJob) -> None:
        """Wait until the slice is journaled (see :meth:`AttemptRecorder.wait_ready`).

        Then the set's usage budget, if it has one, admits the slice or
        refuses it (a ``UsageBudgetError``, which stops the submission).
        """
        if self.recorder is not None:
            self.recorder.wait_ready(mjob)
        self.job_set._admit(self.index)

    def submitted(self, mjob: ManagedJob) -> None:
        """Journal the job id (or the error), then watch the job or resubmit."""
        if self.recorder is not None:
            self.recorder.record_submission(mjob)
        if mjob.job is not None:
            self.watch(mjob)
        elif mjob.submit_error is not None:
            self.job_set._slice_failed(mjob)

    def watch(self, mjob: ManagedJob) -> None:
        """Watch the job in the background if anyone needs its result early."""
        if self.recorder is not None or self.job_set._max_resubmits > mjob._attempt:
            watch_job(mjob)

    def finished(
        self, mjob: ManagedJob, result: Result | None, error: BaseException | None
    ) -> None:
        """Journal the final state; resubmit a job that failed if the set allows it."""
        if self.recorder is not None:
            status = self.recorder.record_final(mjob, result, error)
        elif result is not None:
            status = JobStatus.DONE if result.success else JobStatus.ERROR
        else:
            status = final_status(mjob.job)
        if status is JobStatus.ERROR:
            self.job_set._slice_failed(mjob)

    def submission(
        self, mjob: ManagedJob
    ) -> tuple[list[QuantumCircuit], dict[str, Any], dict[str, Any]] | None:
        """Load the slice's circuits and run options from the journal."""
        if self.recorder is None:
            return None
        return self.recorder.owner.load_submission(self.index)
