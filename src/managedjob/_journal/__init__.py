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
    a retry is a new attempt). Each set records its *workload*, what its
    slices hold, which chooses the codec of its slices and results (schema
    3; every set so far holds ``circuits``). Circuits are ``zlib``-compressed QPY;
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

    Results are journaled by the watcher of ``managedjob._watch``: jobs with a
    :class:`~concurrent.futures.Future` (Aer, local primitives) through a
    done-callback; other jobs are polled by one shared daemon thread with
    adaptive intervals (the set's :class:`~managedjob.PollPolicy`), in real
    time. Only with the system clock: with another clock (such as
    :class:`~managedjob.testing.FakeClock`) nothing polls in the background,
    and results are journaled when they are read. Pending writes are flushed
    at interpreter exit (for at most 10 s).

Failures:
    Whether a failure to journal stops the run or warns
    (:class:`JournalWarning`) and lets it go on is decided in one place,
    :class:`~managedjob._journal._policy.JournalPolicy`, from
    ``journal_required``.

Rebuilding a set (``managedjob._restore``), per slice, from its latest attempt:
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

Parts (each module one concern; none reaches into another's private names):
    ``_codec`` (circuits, results and run options to bytes and back),
    ``_schema`` (tables, version, migrations), ``_records`` (what rows say),
    ``_store`` (the file, its checks, connections and row readers),
    ``_writer`` (the writer thread), ``_recorder`` (the write side job sets
    use, and the slice observer), ``_jobs`` (:class:`JournaledJob`),
    ``_policy`` (required: raise, else warn) and ``_front``
    (:class:`Journal`). The journal imports nothing above the managed job.
"""

from managedjob._journal._codec import (
    CIRCUITS,
    WorkloadCodec,
    decode_circuits,
    decode_result,
    decode_run_config,
    describe_target,
    encode_circuits,
    encode_result,
    encode_run_config,
    register_workload,
    workload_codec,
)
from managedjob._journal._front import Journal
from managedjob._journal._jobs import JournaledJob
from managedjob._journal._policy import JournalPolicy, JournalWarning, journal_warning
from managedjob._journal._recorder import (
    AttemptRecorder,
    JournalRecorder,
    SetRecorder,
    SliceObserver,
)
from managedjob._journal._records import AttemptRecord, JobSetRecord, StoredSet
from managedjob._journal._schema import SCHEMA_VERSION
from managedjob._journal._store import ENV_VAR, default_journal_path
from managedjob.exceptions import JournalError

__all__ = [
    "CIRCUITS",
    "ENV_VAR",
    "SCHEMA_VERSION",
    "AttemptRecord",
    "AttemptRecorder",
    "JobSetRecord",
    "Journal",
    "JournalError",
    "JournalPolicy",
    "JournalRecorder",
    "JournalWarning",
    "JournaledJob",
    "SetRecorder",
    "SliceObserver",
    "StoredSet",
    "WorkloadCodec",
    "decode_circuits",
    "decode_result",
    "decode_run_config",
    "default_journal_path",
    "describe_target",
    "encode_circuits",
    "encode_result",
    "encode_run_config",
    "journal_warning",
    "register_workload",
    "workload_codec",
]
