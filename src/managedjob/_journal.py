"""The journal: a durable record of job sets, in one SQLite file.

A job set that runs for hours outlives laptops going to sleep and kernels
dying only if something writes it down as it goes. The journal does, in this
order:

1. before anything is submitted, the set (id, name, tags, a description of
   the target, the run options) and each slice (its index, its experiments'
   range and names, its circuits as QPY);
2. each job's id as soon as the target hands it out (or the submission's
   error);
3. each job's final state and result as soon as the job finishes, by a
   background watcher, not only when someone calls ``results()``.

A new process can then rebuild the set (``JobManager.retrieve_job_set``),
read what is finished without asking the target, re-attach what the target
still knows, and ``retry_failed()`` the rest from the journaled circuits.

Where it lives:
    ``JobManager(journal=PATH)``; else the file named by the
    ``MANAGEDJOB_JOURNAL`` environment variable; else ``journal.sqlite3`` in
    the user data directory (``platformdirs.user_data_path("managedjob")``).
    ``JobManager(journal=False)`` keeps no journal.

Format:
    SQLite (the standard library's :mod:`sqlite3`) in WAL mode with
    ``synchronous=NORMAL``: a committed write survives the process being
    killed; only a power cut may lose the last writes. ``PRAGMA user_version``
    is the schema version; a ``meta`` table holds the application marker
    ``managedjob-journal``, so another application's SQLite file, or a file
    that is not SQLite at all, is refused with an error naming the path and
    is never written to. An older schema is migrated in place, in one
    transaction; a newer one is refused. Tables: ``job_sets``, ``slices``
    (one per job of the set) and ``attempts`` (one per submission of a slice:
    a retry is a new attempt). Circuits are ``zlib``-compressed QPY;
    results are ``zlib``-compressed JSON of ``Result.to_dict()``, with numpy
    arrays, complex numbers and Qiskit state objects (``Statevector``,
    ``DensityMatrix``, ``Operator``) tagged so that they come back as they
    were; anything else that is not JSON is kept as its ``repr`` string. Run
    options are JSON; ``parameter_binds`` keys are stored by parameter name
    and matched to the circuits' parameters when read back. An option that
    is not JSON (a noise model, a callable) is left out with a
    :class:`JournalWarning`, and a retry from another process asks for it.
    Nothing is ever unpickled: only QPY and JSON are read.

Security:
    The file is created with mode ``0600`` (its directory ``0700``) before
    SQLite opens it; SQLite gives its ``-wal`` and ``-shm`` files the same
    mode. The target is described by its name and class names only; no
    attribute of the backend, service or session (tokens, credentials, URLs)
    is written.

Threads and processes:
    All writes of one :class:`Journal` go through one writer thread and a
    queue: the code that submits jobs never waits for the disk, except that
    a slice's submission waits until that slice is committed (so nothing is
    submitted that the journal does not know). The writer commits what is
    queued in one transaction (each write in a savepoint, so a bad write
    fails alone), and stops when idle, closing its connection. Reads open a
    short-lived connection of their own. Several processes can share one
    journal: WAL lets readers run beside the writer, and writers wait for
    each other (``BEGIN IMMEDIATE``, a 30 s busy timeout). Not for network
    file systems, where SQLite's locks are unreliable.

    Results are journaled by a watcher: jobs with a
    :class:`~concurrent.futures.Future` (Aer, local primitives) through a
    done-callback; other jobs are polled by one shared daemon thread with
    adaptive intervals (the set's :class:`~managedjob.PollPolicy`), in real
    time. Only with the system clock: with another clock (such as
    :class:`~managedjob.testing.FakeClock`) nothing polls in the background,
    and results are journaled when they are read. Pending writes are flushed
    at interpreter exit (for at most 10 s).

Rebuilding a set (:func:`restore_job_set`), per slice, from its latest attempt:
    a journaled result, or a journaled ``ERROR``/``CANCELLED`` state, becomes
    a :class:`JournaledJob` that never contacts the target; a journaled
    submit error becomes ``submit_error`` again; a job id without a final
    state is re-attached through the provider (the target's
    ``retrieve_job``, else a registered job finder's, else the provider's
    own ``retrieve_job``/``job``); if that fails the job is *lost*, and with
    no provider it is *not attached*. Both report status ``None`` and say why
    in ``error_message()``. ``retry_failed()`` reruns lost jobs, first
    looking jobs that are not attached up on the backend it is given. A slice
    with no job id was never submitted, and is lost too.
"""

from __future__ import annotations

import atexit
import io
import json
import logging
import os
import sqlite3
import threading
import time
import warnings
import weakref
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import platformdirs
from qiskit import qpy
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result
from qiskit.result.models import ExperimentResult

from managedjob._managed_job import (
    QOBJ_ONLY_OPTIONS,
    CompletedJob,
    ManagedJob,
    _describe_failure,
)
from managedjob._wait import FINAL_STATES, SystemClock, job_future
from managedjob.exceptions import JournalError, SubmitError, UnknownJobSetError
from managedjob.targets import Target, resolve_job_finder, resolve_target

if TYPE_CHECKING:
    from managedjob._job_set import ManagedJobSet

__all__ = [
    "ENV_VAR",
    "AttemptRecord",
    "SCHEMA_VERSION",
    "JobSetRecord",
    "Journal",
    "JournalError",
    "JournalWarning",
    "JournaledJob",
    "default_journal_path",
]

logger = logging.getLogger(__name__)

ENV_VAR = "MANAGEDJOB_JOURNAL"
"""The environment variable that names the journal file."""
SCHEMA_VERSION = 2
"""The journal schema this version of managedjob writes."""

_APPLICATION = "managedjob-journal"
_SQLITE_HEADER = b"SQLite format 3\x00"
_BUSY_TIMEOUT = 30.0
_WRITER_IDLE_SECONDS = 1.0
_WATCHER_IDLE_SECONDS = 2.0
_MAX_BATCH = 256
# A batch stops taking writes once preparing them (QPY, JSON) has taken this
# long: small writes share a commit, a large one is committed on its own.
_BATCH_PREPARE_SECONDS = 0.005
_EXIT_FLUSH_SECONDS = 10.0
# How long a submission waits for the previous slice's to be on its way, so
# that journaling does not reorder them; with an executor that runs tasks in
# order, the wait ends at once.
_ORDER_WAIT_SECONDS = 2.0
_HINT = (
    "Pass journal=False to run without a journal, journal=PATH (or set "
    f"{ENV_VAR}) to use another file, or journal_required=False to run on "
    "without one when it fails."
)


class JournalWarning(UserWarning):
    """Something could not be journaled; the run goes on without it."""


def _journal_warning(message: str) -> None:
    """Warn, even from a worker thread where a filter turns warnings into errors."""
    try:
        warnings.warn(message, JournalWarning, stacklevel=3)
    except Warning:
        logger.warning(message)


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


# ---------------------------------------------------------------------- encoding

_TAG = "$mj"
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotJournalable(TypeError):
    """A value has no JSON form."""


def _encode(value: Any, strict: bool) -> Any:
    """Return ``value`` as plain JSON data, tagging what JSON cannot say.

    With ``strict``, a value of an unknown type raises
    :class:`_NotJournalable`; otherwise it is kept as its ``repr``.
    """
    # Fast paths for what results are mostly made of: plain dicts and lists of
    # scalars. They keep leaves out of the recursion (results hold ~50 values
    # per experiment); everything else takes the general path below.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict and _TAG not in value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                break
            out[key] = item if type(item) in _SCALARS else _encode(item, strict)
        else:
            return out
    if kind is list:
        return [item if type(item) in _SCALARS else _encode(item, strict) for item in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, complex):
        return {_TAG: "complex", "v": [value.real, value.imag]}
    if isinstance(value, np.ndarray):
        return _encode_array(value, strict)
    if isinstance(value, np.generic):
        return _encode(value.item(), strict)
    if isinstance(value, Parameter):
        return {_TAG: "parameter", "v": value.name}
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, Mapping):
        if _TAG not in value and all(isinstance(key, str) for key in value):
            return {key: _encode(item, strict) for key, item in value.items()}
        pairs = [[_encode(key, strict), _encode(item, strict)] for key, item in value.items()]
        return {_TAG: "dict", "v": pairs}
    if isinstance(value, list):
        return [_encode(item, strict) for item in value]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [_encode(item, strict) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {_TAG: "set", "v": [_encode(item, strict) for item in value]}
    if isinstance(value, Enum):
        return _encode(value.value, strict)
    state = _encode_quantum_info(value, strict)
    if state is not None:
        return state
    if strict:
        raise _NotJournalable(type(value).__qualname__)
    return {_TAG: "repr", "v": repr(value)}


def _encode_array(array: np.ndarray[Any, Any], strict: bool) -> dict[str, Any]:
    kind = array.dtype.kind
    encoded: dict[str, Any] = {
        _TAG: "ndarray",
        "dtype": array.dtype.str,
        "shape": list(array.shape),
    }
    if kind in "biuf":
        encoded["v"] = array.ravel().tolist()
    elif kind == "c":
        encoded["re"] = array.real.ravel().tolist()
        encoded["im"] = array.imag.ravel().tolist()
    else:
        encoded["dtype"] = "|O"
        encoded["v"] = [_encode(item, strict) for item in array.ravel().tolist()]
    return encoded


def _encode_quantum_info(value: object, strict: bool) -> dict[str, Any] | None:
    from qiskit.quantum_info import DensityMatrix, Operator, Statevector

    if isinstance(value, (Statevector, DensityMatrix)):
        kind = "Statevector" if isinstance(value, Statevector) else "DensityMatrix"
        return {_TAG: kind, "v": _encode(value.data, strict), "dims": list(value.dims())}
    if isinstance(value, Operator):
        return {
            _TAG: "Operator",
            "v": _encode(value.data, strict),
            "input_dims": list(value.input_dims()),
            "output_dims": list(value.output_dims()),
        }
    return None


def _decode(value: Any, parameters: Mapping[str, Parameter]) -> Any:
    """Undo :func:`_encode`; parameters are looked up by name in ``parameters``."""
    if isinstance(value, list):
        return [_decode(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {key: _decode(item, parameters) for key, item in value.items()}
    data: Any = value.get("v")
    if tag == "complex":
        return complex(data[0], data[1])
    if tag == "ndarray":
        return _decode_array(value, parameters)
    if tag == "parameter":
        return parameters.get(data) or Parameter(data)
    if tag == "datetime":
        return datetime.fromisoformat(data)
    if tag == "dict":
        return {_decode(key, parameters): _decode(item, parameters) for key, item in data}
    if tag == "tuple":
        return tuple(_decode(item, parameters) for item in data)
    if tag == "set":
        return {_decode(item, parameters) for item in data}
    if tag == "repr":
        return data
    if tag in ("Statevector", "DensityMatrix", "Operator"):
        return _decode_quantum_info(tag, value, parameters)
    raise ValueError(f"unknown tag {tag!r} in journaled data")


def _decode_array(value: dict[str, Any], parameters: Mapping[str, Parameter]) -> Any:
    dtype = np.dtype(value["dtype"])
    shape = tuple(value["shape"])
    if dtype.kind == "c":
        array = np.asarray(value["re"], dtype=float) + 1j * np.asarray(value["im"], dtype=float)
        return array.astype(dtype).reshape(shape)
    if dtype.kind == "O":
        items = [_decode(item, parameters) for item in value["v"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    return np.asarray(value["v"], dtype=dtype).reshape(shape)


def _decode_quantum_info(tag: str, value: dict[str, Any], parameters: Mapping[str, Any]) -> Any:
    from qiskit.quantum_info import DensityMatrix, Operator, Statevector

    data = _decode(value["v"], parameters)
    if tag == "Statevector":
        return Statevector(data, dims=tuple(value["dims"]))
    if tag == "DensityMatrix":
        return DensityMatrix(data, dims=tuple(value["dims"]))
    return Operator(
        data,
        input_dims=tuple(value["input_dims"]),
        output_dims=tuple(value["output_dims"]),
    )


# Journal blobs are compressed for speed, not size: level 1 takes a quarter of
# the default level's time; QPY and counts shrink about as much, per-shot
# memory takes about a quarter more room.
_ZLIB_LEVEL = 1


def _pack_json(data: Any) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), _ZLIB_LEVEL)


def _unpack_json(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


# What ExperimentResult.to_dict() writes when the instance has it, in its order.
_OPTIONAL_EXPERIMENT_FIELDS = ("header", "status", "seed", "meas_return")


def _experiment_dict(experiment: ExperimentResult) -> dict[str, Any]:
    """Return what ``experiment.to_dict()`` returns, without its cost.

    ``ExperimentResult.to_dict`` probes its optional fields with ``hasattr``,
    and each absent one raises an exception inside ``__getattr__``: that was
    half the cost of journaling a result. The fields are read from the
    instance's dictionary instead; a subclass, or an instance laid out in a
    way this does not know, is asked for ``to_dict()``.
    """
    fields = getattr(experiment, "__dict__", None)
    if type(experiment) is not ExperimentResult or fields is None:
        return dict(experiment.to_dict())
    try:
        out = {
            "shots": fields["shots"],
            "success": fields["success"],
            "data": fields["data"].to_dict(),
            "meas_level": fields["meas_level"],
        }
        metadata = fields["_metadata"]
    except (KeyError, AttributeError):
        return dict(experiment.to_dict())
    for key in _OPTIONAL_EXPERIMENT_FIELDS:
        if key in fields:
            out[key] = fields[key]
    out.update(metadata)
    return out


def _result_dict(result: Result) -> dict[str, Any]:
    """Return what ``result.to_dict()`` returns (see :func:`_experiment_dict`)."""
    if type(result) is not Result:
        return dict(result.to_dict())
    out = {
        "backend_name": result.backend_name,
        "backend_version": result.backend_version,
        "date": result.date,
        "header": result.header,
        "job_id": result.job_id,
        "status": result.status,
        "success": result.success,
        "results": [_experiment_dict(experiment) for experiment in result.results],
    }
    out.update(result._metadata)
    return out


def encode_result(result: Result) -> bytes:
    """Return ``result`` as compressed JSON.

    Results are large and mostly plain JSON, so the JSON encoder walks them
    itself and only asks :func:`_encode` about what it cannot write (numpy
    values, complex numbers, ...); tuples in a result come back as lists.
    """
    text = json.dumps(
        _result_dict(result),
        separators=(",", ":"),
        default=lambda value: _encode(value, strict=False),
    )
    return zlib.compress(text.encode("utf-8"), _ZLIB_LEVEL)


def decode_result(blob: bytes) -> Result:
    """Rebuild a result written by :func:`encode_result`."""
    return Result.from_dict(_decode(_unpack_json(blob), {}))


def encode_circuits(circuits: Sequence[QuantumCircuit]) -> bytes:
    """Return ``circuits`` as compressed QPY."""
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer)
    return zlib.compress(buffer.getvalue(), _ZLIB_LEVEL)


def decode_circuits(blob: bytes) -> list[QuantumCircuit]:
    """Rebuild circuits written by :func:`encode_circuits`."""
    return list(qpy.load(io.BytesIO(zlib.decompress(blob))))


def encode_run_config(run_config: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Return the JSON of the run options that have one, and the names of those that don't."""
    stored: dict[str, Any] = {}
    unsaved: list[str] = []
    for key, value in run_config.items():
        try:
            stored[key] = _encode(value, strict=True)
        except _NotJournalable:
            unsaved.append(key)
    return json.dumps(stored, separators=(",", ":")), unsaved


def decode_run_config(text: str, circuits: Sequence[QuantumCircuit]) -> dict[str, Any]:
    """Rebuild run options; parameter names become the circuits' parameters."""
    parameters: dict[str, Parameter] = {}
    for circuit in circuits:
        for parameter in circuit.parameters:
            parameters.setdefault(parameter.name, parameter)
    decoded = _decode(json.loads(text), parameters)
    if not isinstance(decoded, dict):
        raise ValueError("journaled run options are not a mapping")
    return decoded


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def describe_target(target: Target) -> dict[str, str]:
    """Describe a target by names only: nothing that could hold a credential."""
    return {
        "name": target.name,
        "adapter": _qualname(type(target)),
        "class": _qualname(type(target.wrapped)),
    }


# ---------------------------------------------------------------------- schema

# Each item upgrades the schema by one version; a new journal runs them all.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: one job per slice, kept on the slice.
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE job_sets (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            tags TEXT NOT NULL,
            created_at REAL NOT NULL,
            target TEXT NOT NULL,
            run_config TEXT NOT NULL,
            experiments INTEGER NOT NULL)""",
        """CREATE TABLE slices (
            set_id TEXT NOT NULL REFERENCES job_sets (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start_index INTEGER NOT NULL,
            end_index INTEGER NOT NULL,
            circuits BLOB,
            job_name TEXT,
            job_id TEXT,
            status TEXT,
            result BLOB,
            PRIMARY KEY (set_id, idx))""",
    ),
    # 1 -> 2: every submission of a slice is an attempt of its own (retries),
    # with its submit error, failure text and times; slices keep their
    # experiments' names and why their circuits could not be stored.
    (
        "ALTER TABLE job_sets ADD COLUMN unsaved_options TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE job_sets ADD COLUMN max_resubmits INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE slices_v2 (
            set_id TEXT NOT NULL REFERENCES job_sets (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start_index INTEGER NOT NULL,
            end_index INTEGER NOT NULL,
            names TEXT NOT NULL DEFAULT '[]',
            circuits BLOB,
            circuits_error TEXT,
            PRIMARY KEY (set_id, idx))""",
        """INSERT INTO slices_v2 (set_id, idx, start_index, end_index, circuits)
            SELECT set_id, idx, start_index, end_index, circuits FROM slices""",
        """CREATE TABLE attempts (
            set_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            job_name TEXT,
            job_id TEXT,
            submitted_at REAL,
            submit_error TEXT,
            status TEXT,
            error TEXT,
            result BLOB,
            finished_at REAL,
            PRIMARY KEY (set_id, idx, attempt),
            FOREIGN KEY (set_id, idx) REFERENCES slices (set_id, idx) ON DELETE CASCADE)""",
        """INSERT INTO attempts (set_id, idx, attempt, job_name, job_id, status, result)
            SELECT set_id, idx, 0, job_name, job_id, status, result FROM slices
            WHERE job_name IS NOT NULL OR job_id IS NOT NULL OR result IS NOT NULL""",
        "DROP TABLE slices",
        "ALTER TABLE slices_v2 RENAME TO slices",
        "CREATE INDEX job_sets_created_at ON job_sets (created_at)",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def _apply_migrations(conn: sqlite3.Connection, start: int, stop: int) -> None:
    """Run the migrations from schema ``start`` to ``stop`` in the open transaction."""
    for version in range(start, stop):
        for statement in _MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {int(stop)}")


# ---------------------------------------------------------------------- records


@dataclass(frozen=True)
class JobSetRecord:
    """What the journal holds about one job set, for listing.

    Attributes:
        job_set_id: The set's id (:meth:`ManagedJobSet.job_set_id`).
        name: The set's name.
        tags: The set's tags.
        created_at: When the set was run (UTC).
        backend_name: The name of the target it ran on.
        experiments: How many experiments it has.
        jobs: How many jobs (slices) it has.
        submitted_jobs: How many of them have a job id (in their latest
            submission).
        finished_jobs: How many of them reached a final state: done,
            failed, cancelled, or failed to submit.
    """

    job_set_id: str
    name: str
    tags: tuple[str, ...]
    created_at: datetime
    backend_name: str
    experiments: int
    jobs: int
    submitted_jobs: int
    finished_jobs: int


@dataclass(frozen=True)
class AttemptRecord:
    """What the journal holds about one submission of one job of a set.

    A job that was resubmitted (:meth:`ManagedJobSet.retry_failed`,
    ``max_resubmits``) has one record per submission, the first with
    ``attempt`` 0.

    Attributes:
        index: The job's place in its set.
        attempt: Which submission of the job this is (0 for the first).
        start_index: The job's first experiment.
        end_index: The job's last experiment.
        job_name: The name it was submitted with, if it was.
        job_id: The id the target gave the job, if any.
        submitted_at: When it was submitted, or its submission failed.
        finished_at: When its final state was journaled.
        status: Its journaled final status (``DONE``, ``ERROR`` or
            ``CANCELLED``), ``None`` while it has none.
        submit_error: Why the submission failed, if it did.
        error: Why the job failed, if it did.
    """

    index: int
    attempt: int
    start_index: int
    end_index: int
    job_name: str | None
    job_id: str | None
    submitted_at: datetime | None
    finished_at: datetime | None
    status: JobStatus | None
    submit_error: str | None
    error: str | None


@dataclass(frozen=True)
class _StoredAttempt:
    attempt: int
    job_name: str | None
    job_id: str | None
    submit_error: str | None
    status: str | None
    error: str | None
    has_result: bool


@dataclass(frozen=True)
class _StoredSlice:
    index: int
    start_index: int
    end_index: int
    names: list[str | None]
    has_circuits: bool
    attempt: _StoredAttempt | None


@dataclass(frozen=True)
class _StoredSet:
    record: JobSetRecord
    run_config: str
    unsaved_options: list[str]
    max_resubmits: int
    slices: list[_StoredSlice]


# Only a slice's latest attempt counts.
_LATEST = (
    "a.attempt = (SELECT max(b.attempt) FROM attempts b "
    "WHERE b.set_id = a.set_id AND b.idx = a.idx)"
)
_RECORD_QUERY = f"""
SELECT s.id, s.name, s.tags, s.created_at, s.target, s.experiments,
    (SELECT count(*) FROM slices c WHERE c.set_id = s.id),
    (SELECT count(*) FROM attempts a
        WHERE a.set_id = s.id AND a.job_id IS NOT NULL AND {_LATEST}),
    (SELECT count(*) FROM attempts a
        WHERE a.set_id = s.id AND (a.status IS NOT NULL OR a.submit_error IS NOT NULL)
        AND {_LATEST})
FROM job_sets s
"""


def _record_from_row(row: Sequence[Any]) -> JobSetRecord:
    target = json.loads(row[4])
    return JobSetRecord(
        job_set_id=row[0],
        name=row[1],
        tags=tuple(json.loads(row[2])),
        created_at=datetime.fromtimestamp(row[3], tz=timezone.utc),
        backend_name=str(target.get("name", "unknown")),
        experiments=int(row[5]),
        jobs=int(row[6]),
        submitted_jobs=int(row[7]),
        finished_jobs=int(row[8]),
    )


def _moment(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _timestamp(moment: datetime | None, what: str) -> float | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, not {moment!r}")
    return moment.timestamp()


# ---------------------------------------------------------------------- writer

_Apply = Callable[[sqlite3.Connection], None]
_Prepare = Callable[[], _Apply]


class _Writer:
    """One thread that commits a journal's writes, in order, in batches.

    ``prepare`` runs first, outside any transaction (that is where circuits
    and results are serialised); the ``apply`` it returns then runs inside
    the batch's transaction, in a savepoint of its own. The thread stops
    when it has had nothing to do for a while, and closes its connection.

    Writes a submission waits for are *urgent*: they go ahead of the queued
    others (results, mostly). A batch is committed once preparing it has
    taken a few milliseconds, so that the first slice of a large set is not
    held back while the circuits of later ones are serialised. Only writes
    nothing before them depends on may be urgent: the circuits of a new
    slice or attempt, and the row of a new job set. Among themselves, and
    among the others, writes keep their order.
    """

    def __init__(self, journal: Journal) -> None:
        self._connect = journal._connect
        self._path = journal.path
        self._cond = threading.Condition()
        self._queue: deque[tuple[_Prepare, Future[None]]] = deque()
        self._urgent: deque[tuple[_Prepare, Future[None]]] = deque()
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None

    def submit(self, prepare: _Prepare, *, urgent: bool = False) -> Future[None]:
        future: Future[None] = Future()
        queue = self._urgent if urgent else self._queue
        with self._cond:
            queue.append((prepare, future))
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="managedjob-journal", daemon=True)
                try:
                    thread.start()
                except RuntimeError as err:  # interpreter shutting down
                    queue.pop()
                    future.set_exception(self._error(err))
                    return future
                self._thread = thread
            self._cond.notify_all()
        return future

    def flush(self, timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        return not self._queue and not self._urgent and not self._busy

    def stop(self, timeout: float | None) -> None:
        with self._cond:
            thread = self._thread
            self._stop = True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _error(self, err: BaseException) -> JournalError:
        if isinstance(err, JournalError):
            return err
        return JournalError(
            f"cannot write to the journal at {self._path}: {err}. {_HINT}", self._path
        )

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                with self._cond:
                    if not self._pending() and not self._stop:
                        self._cond.wait_for(
                            lambda: self._pending() or self._stop, _WRITER_IDLE_SECONDS
                        )
                    if not self._pending():
                        self._thread = None
                        self._stop = False
                        self._cond.notify_all()
                        return
                    self._busy = True
                try:
                    conn = self._commit(conn, self._prepare_batch())
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        finally:
            if conn is not None:
                conn.close()

    def _pending(self) -> bool:
        return bool(self._queue or self._urgent)

    def _prepare_batch(self) -> list[tuple[_Apply, Future[None]]]:
        """Take and prepare the next writes, urgent ones first (see the class docstring)."""
        ready: list[tuple[_Apply, Future[None]]] = []
        deadline = time.perf_counter() + _BATCH_PREPARE_SECONDS
        for _ in range(_MAX_BATCH):
            with self._cond:
                queue = self._urgent or self._queue
                if not queue:
                    break
                prepare, future = queue.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    ready.append((prepare(), future))
                except Exception as err:
                    future.set_exception(err)
            if time.perf_counter() >= deadline:
                break
        return ready

    def _commit(
        self, conn: sqlite3.Connection | None, ready: list[tuple[_Apply, Future[None]]]
    ) -> sqlite3.Connection | None:
        if not ready:
            return conn
        committed: list[Future[None]] = []
        try:
            if conn is None:
                conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for apply, future in ready:
                    conn.execute("SAVEPOINT journal_write")
                    try:
                        apply(conn)
                    except Exception as err:
                        conn.execute("ROLLBACK TO journal_write")
                        conn.execute("RELEASE journal_write")
                        future.set_exception(self._error(err))
                    else:
                        conn.execute("RELEASE journal_write")
                        committed.append(future)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except Exception as err:
            error = self._error(err)
            for _, future in ready:
                if not future.done():
                    future.set_exception(error)
            if conn is not None:
                conn.close()
            return None
        for future in committed:
            future.set_result(None)
        return conn


# ---------------------------------------------------------------------- journal

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

    Args:
        path: The journal file; :func:`default_journal_path` if not given.

    Raises:
        JournalError: If the file cannot be created or read, is not a
            managedjob journal, or was written by a newer version. The file
            is left as it was.

    Threading:
        A journal may be used from several threads and by several processes
        at once. Writes are queued to one writer thread; :meth:`flush` waits
        for them.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = default_journal_path() if path is None else Path(path).expanduser()
        self._create_file()
        self._open_and_migrate()
        self._writer = _Writer(self)
        _LIVE_JOURNALS.add(self)

    @property
    def path(self) -> Path:
        """The journal file."""
        return self._path

    def __repr__(self) -> str:
        return f"<Journal {str(self._path)!r}>"

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ opening

    def _create_file(self) -> None:
        path = self._path
        try:
            if path.is_dir():
                raise JournalError(f"the journal path {path} is a directory. {_HINT}", path)
            if path.exists():
                with path.open("rb") as handle:
                    head = handle.read(len(_SQLITE_HEADER))
                if head and head != _SQLITE_HEADER:
                    raise JournalError(
                        f"{path} is not a managedjob journal (it is not an SQLite database); "
                        f"it was left untouched. {_HINT}",
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
                f"cannot create the journal at {path}: {err}. {_HINT}", path
            ) from err

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as err:
            raise JournalError(
                f"cannot open the journal at {self._path}: {err}. {_HINT}", self._path
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
                f"cannot open the journal at {self._path}: {err}. {_HINT}", self._path
            ) from err
        return conn

    def _unreadable(self, err: BaseException) -> JournalError:
        return JournalError(
            f"{self._path} cannot be read as a managedjob journal ({err}); it was left "
            f"untouched: move it away, or use another file. {_HINT}",
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
            except sqlite3.DatabaseError:
                row = None
            marker = row[0] if row else None
        if marker != _APPLICATION:
            raise JournalError(
                f"{self._path} is an SQLite database of another application, not a managedjob "
                f"journal; it was left untouched. {_HINT}",
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
        conn = self._connect()
        try:
            version = self._check(conn)
            if version == SCHEMA_VERSION:
                return
            _ensure_wal(conn)
            # Foreign keys stay off while tables are rebuilt.
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._check(conn)  # another process may have been first
                if version < SCHEMA_VERSION:
                    _apply_migrations(conn, version, SCHEMA_VERSION)
                    if version == 0:
                        conn.executemany(
                            "INSERT INTO meta (key, value) VALUES (?, ?)",
                            [("application", _APPLICATION), ("created_by", _library_version())],
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
        except sqlite3.DatabaseError as err:
            raise JournalError(
                f"cannot prepare the journal at {self._path}: {err}. {_HINT}", self._path
            ) from err
        finally:
            conn.close()

    # ------------------------------------------------------------------ reading

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect(read_only=True)
        try:
            yield conn
        except sqlite3.Error as err:
            raise JournalError(
                f"cannot read the journal at {self._path}: {err}", self._path
            ) from err
        finally:
            conn.close()

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
        start, stop = _timestamp(since, "since"), _timestamp(until, "until")
        query = _RECORD_QUERY + (
            " WHERE (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR s.created_at >= ?2)"
            " AND (?3 IS NULL OR s.created_at <= ?3) ORDER BY s.created_at, s.id"
        )
        with self._reading() as conn:
            rows = conn.execute(query, (name, start, stop)).fetchall()
        records = [_record_from_row(row) for row in rows]
        if tags:
            wanted = set(tags)
            records = [record for record in records if wanted.issubset(record.tags)]
        return records

    def job_set(self, job_set_id: str) -> JobSetRecord | None:
        """Return the record of one job set, or ``None`` if it is not journaled.

        Raises:
            JournalError: If the journal cannot be read.
        """
        with self._reading() as conn:
            row = conn.execute(_RECORD_QUERY + " WHERE s.id = ?", (job_set_id,)).fetchone()
        return None if row is None else _record_from_row(row)

    def attempts(self, job_set_id: str) -> list[AttemptRecord]:
        """Return every submission of every job of a set, by job, then attempt.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set is not journaled.
            JournalError: If the journal cannot be read.
        """
        rows = self._rows_of_set(
            "SELECT s.idx, a.attempt, s.start_index, s.end_index, a.job_name, a.job_id, "
            "a.submitted_at, a.finished_at, a.status, a.submit_error, a.error "
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
                submitted_at=_moment(row[6]),
                finished_at=_moment(row[7]),
                status=JobStatus[row[8]] if row[8] in JobStatus.__members__ else None,
                submit_error=row[9],
                error=row[10],
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
        rows = self._rows_of_set(
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
                    found = [circuit.name for circuit in self._load_circuits(job_set_id, index)]
                except JournalError as err:
                    logger.debug("No names for job %d of job set %s: %s", index, job_set_id, err)
            names.extend(found if len(found) == count else [None] * count)
        return names

    def _rows_of_set(self, query: str, job_set_id: str) -> list[Any]:
        """Run ``query`` (one parameter: the set's id) and return its rows.

        Raises:
            IBMQJobManagerUnknownJobSet: If there are none and the set is not
                journaled (a journaled set may have no jobs written yet).
        """
        with self._reading() as conn:
            rows = conn.execute(query, (job_set_id,)).fetchall()
            known = bool(rows) or bool(
                conn.execute("SELECT 1 FROM job_sets WHERE id = ?", (job_set_id,)).fetchone()
            )
        if not known:
            raise UnknownJobSetError(f"{job_set_id} is not a job set of the journal {self._path}.")
        return rows

    def circuits(self, job_set_id: str) -> list[QuantumCircuit]:
        """Return every circuit of a journaled job set, in experiment order.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set is not journaled.
            JournalError: If the journal cannot be read or lacks some circuits.
        """
        rows = self._rows_of_set(
            "SELECT idx, circuits, circuits_error FROM slices WHERE set_id = ? ORDER BY idx",
            job_set_id,
        )
        circuits: list[QuantumCircuit] = []
        for index, blob, error in rows:
            circuits.extend(self._decode_circuits(job_set_id, index, blob, error))
        return circuits

    def _decode_circuits(
        self, job_set_id: str, index: int, blob: bytes | None, error: str | None
    ) -> list[QuantumCircuit]:
        if blob is None:
            raise JournalError(
                f"the circuits of job {index} of job set {job_set_id} are not in the journal "
                f"{self._path}: "
                f"{error or 'the set is still being submitted, or its process stopped first'}",
                self._path,
            )
        try:
            return decode_circuits(blob)
        except Exception as err:
            raise JournalError(
                f"the circuits of job {index} of job set {job_set_id} in the journal "
                f"{self._path} cannot be read: {err}",
                self._path,
            ) from err

    def _load_circuits(self, job_set_id: str, index: int) -> list[QuantumCircuit]:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT circuits, circuits_error FROM slices WHERE set_id = ? AND idx = ?",
                (job_set_id, index),
            ).fetchone()
        if row is None:
            raise JournalError(
                f"job {index} of job set {job_set_id} is not in the journal {self._path}",
                self._path,
            )
        return self._decode_circuits(job_set_id, index, row[0], row[1])

    def _load_result(self, job_set_id: str, index: int, attempt: int) -> Result:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT result FROM attempts WHERE set_id = ? AND idx = ? AND attempt = ?",
                (job_set_id, index, attempt),
            ).fetchone()
        if row is None or row[0] is None:
            raise JournalError(
                f"the result of job {index} of job set {job_set_id} is not in the journal "
                f"{self._path}",
                self._path,
            )
        try:
            return decode_result(row[0])
        except Exception as err:
            raise JournalError(
                f"the result of job {index} of job set {job_set_id} in the journal "
                f"{self._path} cannot be read: {err}",
                self._path,
            ) from err

    def _load_job_set(self, job_set_id: str) -> _StoredSet:
        with self._reading() as conn:
            row = conn.execute(_RECORD_QUERY + " WHERE s.id = ?", (job_set_id,)).fetchone()
            if row is None:
                raise UnknownJobSetError(
                    f"{job_set_id} is not a known job set: it is not in the journal {self._path}."
                )
            extra = conn.execute(
                "SELECT run_config, unsaved_options, max_resubmits FROM job_sets WHERE id = ?",
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
        attempts = {
            int(r[0]): _StoredAttempt(int(r[1]), r[2], r[3], r[4], r[5], r[6], bool(r[7]))
            for r in attempt_rows
        }
        slices = [
            _StoredSlice(
                index=int(r[0]),
                start_index=int(r[1]),
                end_index=int(r[2]),
                names=list(json.loads(r[3])),
                has_circuits=bool(r[4]),
                attempt=attempts.get(int(r[0])),
            )
            for r in slice_rows
        ]
        return _StoredSet(
            record=_record_from_row(row),
            run_config=extra[0],
            unsaved_options=list(json.loads(extra[1])),
            max_resubmits=int(extra[2]),
            slices=slices,
        )

    # ------------------------------------------------------------------ writing

    def _write(self, prepare: _Prepare, *, urgent: bool = False) -> Future[None]:
        """Queue a write; ``urgent`` only for one nothing queued before depends on."""
        return self._writer.submit(prepare, urgent=urgent)

    def _write_soon(self, prepare: _Prepare, what: str) -> None:
        """Queue a write nobody waits for; a failure is logged."""

        def report(future: Future[None]) -> None:
            error = future.exception()
            if error is not None:
                logger.warning("Could not journal %s: %s", what, error)

        self._write(prepare).add_done_callback(report)

    def _write_now(self, apply: _Apply, *, urgent: bool = False) -> None:
        """Write and wait for the commit.

        Raises:
            JournalError: If the write failed.
        """
        future = self._write(lambda: apply, urgent=urgent)
        error = future.exception()
        if error is not None:
            raise error if isinstance(error, JournalError) else self._writer._error(error)

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

        self._write_now(apply)
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

    def _record_job_set(
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
        required: bool,
    ) -> _SetRecorder:
        """Journal a set before its submission; return the handle for its later records.

        The set's row, with a row for each slice and its first attempt, is
        committed before this returns; the circuits of each slice are queued,
        and its attempt recorder's :meth:`_AttemptRecorder.wait_ready` waits
        for them.

        Raises:
            JournalError: If the set cannot be written.
        """
        config_json, unsaved = encode_run_config(run_config)
        if unsaved:
            _journal_warning(
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
            json.dumps(unsaved),
            sum(len(circuits) for _, _, circuits, _ in slices),
            max_resubmits,
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
                "unsaved_options, experiments, max_resubmits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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

        self._write_now(insert_set, urgent=True)
        recorder = _SetRecorder(self, job_set_id, required, unsaved, config_json)
        previous: threading.Event | None = None
        for index, (start, end, circuits, _) in enumerate(slices):
            ready = self._write(
                _slice_writer(self, job_set_id, index, start, end, list(circuits)), urgent=True
            )
            attempt = _AttemptRecorder(recorder, index, 0, ready, after=previous)
            recorder._first_attempts[index] = attempt
            previous = attempt.passed
        return recorder

    def _open_recorder(self, stored: _StoredSet, required: bool) -> _SetRecorder:
        return _SetRecorder(
            self,
            stored.record.job_set_id,
            required,
            stored.unsaved_options,
            stored.run_config,
        )


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode.

    Switching needs the database to itself for a moment, and SQLite answers
    "locked" at once (without its busy handler) while another process is
    opening the same new journal; so try again, for as long as the busy
    timeout, until the mode is WAL (often because the other process set it).
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT
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


def _slice_writer(
    journal: Journal,
    job_set_id: str,
    index: int,
    start: int,
    end: int,
    circuits: list[QuantumCircuit],
) -> _Prepare:
    """Write the names and circuits of a slice whose row is already there."""

    def prepare() -> _Apply:
        names = json.dumps([circuit.name for circuit in circuits])
        blob: bytes | None
        try:
            blob, problem = encode_circuits(circuits), None
        except Exception as err:
            blob, problem = None, f"{type(err).__name__}: {err}"
            # This runs in the writer thread: log, where a warning could be lost.
            logger.warning(
                "The circuits of experiments %d-%d of job set %s cannot be stored as QPY in "
                "the journal %s (%s); they cannot be retried from another process.",
                start,
                end,
                job_set_id,
                journal.path,
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


# ---------------------------------------------------------------------- recorders


class _SetRecorder:
    """Writes the later records of one journaled job set."""

    def __init__(
        self,
        journal: Journal,
        job_set_id: str,
        required: bool,
        unsaved_options: Sequence[str],
        run_config: str,
    ) -> None:
        self.journal = journal
        self.job_set_id = job_set_id
        self.required = required
        self.unsaved_options = list(unsaved_options)
        self._run_config = run_config
        self._first_attempts: dict[int, _AttemptRecorder] = {}
        self._warned = False
        self._lock = threading.Lock()

    def first_attempt(self, index: int) -> _AttemptRecorder:
        return self._first_attempts.pop(index)

    def new_attempt(self, index: int, attempt: int, job_name: str) -> _AttemptRecorder:
        """Journal a new submission of a slice; its recorder waits for the row."""
        job_set_id = self.job_set_id

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO attempts (set_id, idx, attempt, job_name) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (set_id, idx, attempt) DO NOTHING",
                (job_set_id, index, attempt, job_name),
            )

        ready = self.journal._write(lambda: apply, urgent=True)
        return _AttemptRecorder(self, index, attempt, ready)

    def existing_attempt(self, index: int, attempt: int, *, final: bool) -> _AttemptRecorder:
        ready: Future[None] = Future()
        ready.set_result(None)
        recorder = _AttemptRecorder(self, index, attempt, ready)
        if final:
            recorder._recorded = "result"
        return recorder

    def update(self, *, name: str | None = None, tags: Sequence[str] | None = None) -> None:
        job_set_id = self.job_set_id
        tags_json = None if tags is None else json.dumps(list(tags))

        def apply(conn: sqlite3.Connection) -> None:
            if name is not None:
                conn.execute("UPDATE job_sets SET name = ? WHERE id = ?", (name, job_set_id))
            if tags_json is not None:
                conn.execute("UPDATE job_sets SET tags = ? WHERE id = ?", (tags_json, job_set_id))

        self.journal._write_soon(lambda: apply, f"the name or tags of job set {job_set_id}")

    def failed(self, error: BaseException) -> None:
        """Say once that the set runs on without its journal."""
        with self._lock:
            if self._warned:
                return
            self._warned = True
        _journal_warning(
            f"Job set {self.job_set_id} runs on, but it is not fully journaled: {error}"
        )

    def load_submission(
        self, index: int
    ) -> tuple[list[QuantumCircuit], dict[str, Any], dict[str, Any]]:
        """Return a slice's circuits, run options and Qobj options, from the journal."""
        circuits = self.journal._load_circuits(self.job_set_id, index)
        run_config = decode_run_config(self._run_config, circuits)
        qobj_options = {key: run_config.pop(key) for key in QOBJ_ONLY_OPTIONS & run_config.keys()}
        return circuits, run_config, qobj_options


def _final_status(job: JobV1 | None) -> JobStatus | None:
    if job is None:
        return None
    try:
        status = job.status()
    except Exception:
        return None
    return status if status in FINAL_STATES else None


class _AttemptRecorder:
    """Writes the records of one submission of one slice."""

    def __init__(
        self,
        owner: _SetRecorder,
        index: int,
        attempt: int,
        ready: Future[None],
        *,
        after: threading.Event | None = None,
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
        self._recorded: str | None = None  # "error" or "result" once a final state is written
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
        if self.owner.required:
            raise JournalError(
                f"experiments {mjob.start_index}-{mjob.end_index} were not submitted because "
                f"they could not be journaled first: {error}",
                self.owner.journal.path,
            ) from error
        self.owner.failed(error)

    def record_submission(self, mjob: ManagedJob) -> None:
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
        row = (*self._key(), mjob.job_name, job_id, time.time(), error, status)

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO attempts (set_id, idx, attempt, job_name, job_id, submitted_at, "
                "submit_error, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (set_id, idx, attempt) DO UPDATE SET "
                "job_name = excluded.job_name, job_id = excluded.job_id, "
                "submitted_at = excluded.submitted_at, submit_error = excluded.submit_error, "
                "status = COALESCE(attempts.status, excluded.status)",
                row,
            )

        self.owner.journal._write_soon(
            lambda: apply, f"the job of experiments {mjob.start_index}-{mjob.end_index}"
        )

    def record_final(
        self, mjob: ManagedJob, result: Result | None, error: BaseException | None
    ) -> JobStatus | None:
        """Journal the final state once; return it (``None`` if the job is not final)."""
        if result is not None:
            status: JobStatus | None = JobStatus.DONE if result.success else JobStatus.ERROR
            text = None if result.success else _describe_failure(result)
        else:
            status = _final_status(mjob.job)
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

        def prepare() -> _Apply:
            blob = None if result is None else encode_result(result)
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

        self.owner.journal._write_soon(
            prepare, f"the result of experiments {mjob.start_index}-{mjob.end_index}"
        )
        return status


# ---------------------------------------------------------------------- observer


class SliceObserver:
    """Links one managed job to its set: journal records, watching, resubmission.

    Args:
        job_set: The set the job belongs to.
        index: The job's place in the set.
        recorder: Where its records go; ``None`` when the set has no journal.
        detached_job_id: For a set rebuilt without a provider: the id of the
            job that was not re-attached.
    """

    def __init__(
        self,
        job_set: ManagedJobSet,
        index: int,
        recorder: _AttemptRecorder | None,
        detached_job_id: str | None = None,
    ) -> None:
        self.job_set = job_set
        self.index = index
        self.recorder = recorder
        self.detached_job_id = detached_job_id

    def before_submit(self, mjob: ManagedJob) -> None:
        """Wait until the slice is journaled (see :meth:`_AttemptRecorder.wait_ready`)."""
        if self.recorder is not None:
            self.recorder.wait_ready(mjob)

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
            _WATCHER.watch(mjob)

    def finished(
        self, mjob: ManagedJob, result: Result | None, error: BaseException | None
    ) -> None:
        """Journal the final state; resubmit a job that failed if the set allows it."""
        if self.recorder is not None:
            status = self.recorder.record_final(mjob, result, error)
        elif result is not None:
            status = JobStatus.DONE if result.success else JobStatus.ERROR
        else:
            status = _final_status(mjob.job)
        if status is JobStatus.ERROR:
            self.job_set._slice_failed(mjob)

    def submission(
        self, mjob: ManagedJob
    ) -> tuple[list[QuantumCircuit], dict[str, Any], dict[str, Any]] | None:
        """Load the slice's circuits and run options from the journal."""
        if self.recorder is None:
            return None
        return self.recorder.owner.load_submission(self.index)


# ---------------------------------------------------------------------- watcher


@dataclass
class _Polled:
    mjob: ManagedJob
    job: JobV1
    due: float
    interval: float
    errors: int = 0


class _Watcher:
    """Fetches the result of each watched job as soon as it is final.

    Jobs with a future are watched through a done-callback; the others are
    polled in real time by this one daemon thread, each on its own
    adaptive interval. The thread stops when it has nothing to watch.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ready: deque[ManagedJob] = deque()
        self._polled: list[_Polled] = []
        self._thread: threading.Thread | None = None

    def watch(self, mjob: ManagedJob) -> None:
        job = mjob.job
        if job is None:
            return
        future = job_future(job)
        if future is not None:
            future.add_done_callback(lambda _: self._push(mjob))
            return
        if not isinstance(mjob.clock, SystemClock):
            return  # a fake clock: no background polling (see the module docs)
        poll = mjob.poll_policy
        with self._cond:
            self._polled.append(_Polled(mjob, job, time.monotonic() + poll.initial, poll.initial))
            self._wake()

    def _push(self, mjob: ManagedJob) -> None:
        with self._cond:
            self._ready.append(mjob)
            self._wake()

    def _wake(self) -> None:
        # Callers hold self._cond.
        if self._thread is None:
            thread = threading.Thread(target=self._run, name="managedjob-watcher", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down
                return
            self._thread = thread
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._polled_due():
                    wait = self._next_due()
                    if wait is None:
                        if not self._cond.wait(_WATCHER_IDLE_SECONDS) and not (
                            self._ready or self._polled
                        ):
                            self._thread = None
                            return
                    else:
                        self._cond.wait(wait)
                ready = list(self._ready)
                self._ready.clear()
                now = time.monotonic()
                due = [entry for entry in self._polled if entry.due <= now]
                self._polled = [entry for entry in self._polled if entry.due > now]
            for mjob in ready:
                self._fetch(mjob)
            for entry in due:
                self._poll(entry)

    def _polled_due(self) -> bool:
        now = time.monotonic()
        return any(entry.due <= now for entry in self._polled)

    def _next_due(self) -> float | None:
        if not self._polled:
            return None
        return max(0.0, min(entry.due for entry in self._polled) - time.monotonic())

    def _poll(self, entry: _Polled) -> None:
        try:
            status = entry.job.status()
        except Exception as err:
            entry.errors += 1
            if entry.errors >= entry.mjob.poll_policy.max_status_errors:
                logger.debug("Stopped watching job %s: %s", entry.job.job_id(), err)
                return
        else:
            entry.errors = 0
            if status in FINAL_STATES:
                self._fetch(entry.mjob)
                return
        poll = entry.mjob.poll_policy
        entry.interval = poll.next_interval(entry.interval)
        entry.due = time.monotonic() + entry.interval
        with self._cond:
            self._polled.append(entry)

    @staticmethod
    def _fetch(mjob: ManagedJob) -> None:
        try:
            mjob._prefetch()
        except Exception:
            logger.debug(
                "Background fetch of experiments %d-%d failed.",
                mjob.start_index,
                mjob.end_index,
                exc_info=True,
            )


_WATCHER = _Watcher()


def watch_job(mjob: ManagedJob) -> None:
    """Fetch (and so journal) the result of ``mjob`` in the background once it is final."""
    _WATCHER.watch(mjob)


# ---------------------------------------------------------------------- rebuilding


class JournaledJob(CompletedJob):
    """A finished job as the journal recorded it; it never contacts a target.

    A job set rebuilt from the journal holds one for each job whose final
    state was journaled: its :meth:`status` is that state, and its
    :meth:`result` is read from the journal (once, then cached).

    Do not build these yourself; :meth:`JobManager.retrieve_job_set` does.
    """

    def __init__(
        self,
        journal: Journal,
        job_set_id: str,
        index: int,
        attempt: int,
        *,
        job_id: str,
        job_name: str | None,
        status: JobStatus,
        error: str | None,
        has_result: bool,
    ) -> None:
        super().__init__(job_id, status, None, error)
        self._journal = journal
        self._key = (job_set_id, index, attempt)
        self._job_name = job_name
        self._has_result = has_result
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<JournaledJob {self.job_id()!r} {self._status.name}>"

    def result(self, timeout: float | None = None) -> Result:
        """Return the journaled result.

        Args:
            timeout: Ignored: the job is finished.

        Raises:
            JobError: If no result was journaled (the job was cancelled, or
                fetching its result failed).
            JournalError: If the journal cannot be read.
        """
        with self._lock:
            if self._result is None and self._has_result:
                self._result = self._journal._load_result(*self._key)
        return super().result(timeout)

    def name(self) -> str | None:
        """Return the job's name."""
        return self._job_name


def runnable_target(provider: Any) -> Target | None:
    """Return the target for ``provider`` if circuits can run on it, else ``None``."""
    if provider is None:
        return None
    try:
        return resolve_target(provider)
    except Exception:
        return None


def _provider_name(provider: Any) -> str:
    name = getattr(provider, "name", None)
    if callable(name):
        try:
            name = name()
        except Exception:
            name = None
    return name if isinstance(name, str) else type(provider).__name__


def reattach(provider: Any, job_id: str) -> tuple[JobV1 | None, str]:
    """Find a job again by its id on ``provider``.

    Asked in turn, the first that applies: the target ``provider`` is (its
    ``retrieve_job``), the job finder registered for it (such as an IBM
    Quantum runtime service's), then its own ``retrieve_job`` or ``job``.

    Returns:
        The job and ``""``, or ``None`` and why it cannot be found.
    """
    target = runnable_target(provider)
    lookup: Any = None
    if target is not None:
        where, lookup = target.name, target.retrieve_job
    else:
        where = _provider_name(provider)
        try:
            finder: Any = resolve_job_finder(provider)
        except Exception:
            finder = None
        candidates = [getattr(finder, "retrieve_job", None)] if finder is not None else []
        candidates += [getattr(provider, "retrieve_job", None), getattr(provider, "job", None)]
        lookup = next((found for found in candidates if callable(found)), None)
    if lookup is None:
        return None, f"cannot be found: {where} cannot look jobs up by id"
    try:
        job = lookup(job_id)
    except Exception as err:
        return None, f"cannot be found on {where}: {err}"
    if job is None:
        return None, f"cannot be found on {where}: it does not know the job (any more)"
    if not isinstance(job, JobV1):
        return None, f"cannot be followed: {where} gave a {type(job).__name__}, not a JobV1"
    return job, ""


def restore_job_set(job_set: ManagedJobSet, journal: Journal, provider: Any) -> None:
    """Rebuild ``job_set`` (a new, empty set with the right id) from the journal.

    Journaled final states and results are served from the journal; jobs
    without one are re-attached through ``provider`` when it can find them;
    the others are lost (or, with no provider, not attached) and report
    status ``None`` with an error message saying why.

    Raises:
        IBMQJobManagerUnknownJobSet: If the set is not journaled.
        JournalError: If the journal cannot be read.
    """
    job_set_id = job_set.job_set_id()
    stored = journal._load_job_set(job_set_id)
    recorder = journal._open_recorder(stored, job_set._journal_required)
    target = runnable_target(provider)
    jobs: list[ManagedJob] = []
    names: list[str | None] = []
    to_watch: list[ManagedJob] = []
    for item in stored.slices:
        count = item.end_index - item.start_index + 1
        span = f"{item.start_index}-{item.end_index}"
        mjob = job_set._new_managed_job(item.start_index, count)
        stored_attempt = item.attempt
        attempt = stored_attempt.attempt if stored_attempt is not None else 0
        mjob._attempt = attempt
        mjob.job_name = (
            stored_attempt.job_name
            if stored_attempt is not None and stored_attempt.job_name
            else f"{stored.record.name}_{item.index}_"
        )
        final = True
        detached: str | None = None
        if stored_attempt is None or (
            stored_attempt.job_id is None
            and stored_attempt.submit_error is None
            and stored_attempt.status is None
        ):
            final = False
            mjob._lost_reason = (
                f"Experiments {span} were never submitted: the process running job set "
                f"{job_set_id} stopped first, or is still submitting them. "
                + (
                    "Once it has stopped, use retry_failed() to run them."
                    if item.has_circuits
                    else "Their circuits are not in the journal either: run them again "
                    "from your own circuits."
                )
            )
        elif stored_attempt.submit_error is not None:
            mjob.submit_error = SubmitError(
                stored_attempt.submit_error, item.start_index, item.end_index
            )
        elif stored_attempt.job_id is None:
            mjob._cancelled_before_submit = True
        elif stored_attempt.has_result or stored_attempt.status in ("ERROR", "CANCELLED"):
            mjob.job = JournaledJob(
                journal,
                job_set_id,
                item.index,
                attempt,
                job_id=stored_attempt.job_id,
                job_name=stored_attempt.job_name,
                status=JobStatus[stored_attempt.status or "DONE"],
                error=stored_attempt.error,
                has_result=stored_attempt.has_result,
            )
        elif provider is None:
            final = False
            detached = stored_attempt.job_id
            mjob._lost_reason = (
                f"Job {detached} for experiments {span} is not attached to its target: pass "
                "the provider or backend to retrieve_job_set() to follow it, or call "
                "retry_failed(backend=...) to re-attach or rerun it."
            )
        else:
            final = False
            job, why = reattach(provider, stored_attempt.job_id)
            if job is None:
                mjob._lost_reason = (
                    f"Job {stored_attempt.job_id} for experiments {span} {why}. "
                    "Use retry_failed() to run these experiments again."
                )
            else:
                mjob.job = job
                to_watch.append(mjob)
        mjob._observer = SliceObserver(
            job_set,
            item.index,
            recorder.existing_attempt(item.index, attempt, final=final),
            detached_job_id=detached,
        )
        jobs.append(mjob)
        slice_names = item.names
        if len(slice_names) != count and item.has_circuits:
            try:
                slice_names = [c.name for c in journal._load_circuits(job_set_id, item.index)]
            except JournalError:
                slice_names = []
        names.extend(slice_names if len(slice_names) == count else [None] * count)
    job_set._adopt_restored(
        name=stored.record.name,
        tags=list(stored.record.tags),
        created_at=stored.record.created_at,
        jobs=jobs,
        names=names,
        backend=provider if target is not None else None,
        target=target,
        backend_name=stored.record.backend_name,
        max_resubmits=stored.max_resubmits,
        recorder=recorder,
    )
    for mjob in to_watch:
        watch_job(mjob)
