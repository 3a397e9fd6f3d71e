"""A remote-like backend for crash tests: its jobs live in an SQLite file, not in a process.

Every accepted job is committed to the file before ``run()`` returns, with
its name, tags, shots and circuits (QPY), as a remote service records a job
it accepted; a process killed right after still leaves the job there, and
another process finds it by id or by tag (``jobs(job_tags=...)``). Jobs are
done at once; their results are simulated with Qiskit's BasicSimulator when
asked for. ``runs()`` says how many jobs each job name got: a slice run
twice shows as a name with two jobs.
"""

from __future__ import annotations

import io
import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit, qpy
from qiskit.providers import BackendV2, JobError, JobStatus, JobV1, Options
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result
from qiskit.transpiler import Target

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, "
    "name TEXT, tags TEXT, shots INTEGER, circuits BLOB)"
)


class SharedBackend(BackendV2):
    """A five-qubit backend whose jobs are rows of the SQLite file ``path``."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(name="shared_backend")
        self._path = str(path)
        self._target = Target.from_configuration(
            basis_gates=["x", "h", "cx", "measure"], num_qubits=5
        )
        with self._connect() as conn:
            conn.execute(_SCHEMA)
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30)

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024)

    @property
    def target(self) -> Target:
        """Five qubits."""
        return self._target

    @property
    def max_circuits(self) -> int | None:
        """No limit."""
        return None

    def run(
        self,
        run_input: QuantumCircuit | Sequence[QuantumCircuit],
        job_name: str | None = None,
        job_tags: Sequence[str] | None = None,
        **options: Any,
    ) -> SharedJob:
        """Record the job in the file (committed), then return it."""
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        buffer = io.BytesIO()
        qpy.dump(circuits, buffer)
        job_id = uuid.uuid4().hex
        shots = int(options.get("shots", self.options.shots))
        tags = list(job_tags or ())
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO jobs (id, name, tags, shots, circuits) VALUES (?, ?, ?, ?, ?)",
                (job_id, job_name, json.dumps(tags), shots, buffer.getvalue()),
            )
        conn.close()
        return SharedJob(self, job_id, job_name, tags)

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        *,
        job_tags: Sequence[str] | None = None,
        descending: bool = True,
    ) -> list[SharedJob]:
        """List the jobs with any of ``job_tags``, newest first unless ``descending=False``."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT id, name, tags FROM jobs ORDER BY seq {'DESC' if descending else 'ASC'}"
            ).fetchall()
        conn.close()
        wanted = set(job_tags) if job_tags is not None else None
        found = [
            SharedJob(self, job_id, name, json.loads(tags))
            for job_id, name, tags in rows
            if wanted is None or wanted.intersection(json.loads(tags))
        ]
        found = found[skip:]
        return found if limit is None else found[:limit]

    def retrieve_job(self, job_id: str) -> SharedJob:
        """Return the job with id ``job_id``.

        Raises:
            JobError: If the file has no such job.
        """
        with self._connect() as conn:
            row = conn.execute("SELECT name, tags FROM jobs WHERE id = ?", (job_id,)).fetchone()
        conn.close()
        if row is None:
            raise JobError(f"no job {job_id}")
        return SharedJob(self, job_id, row[0], json.loads(row[1]))

    def load(self, job_id: str) -> tuple[list[QuantumCircuit], int]:
        """Return a job's circuits and shots."""
        with self._connect() as conn:
            shots, blob = conn.execute(
                "SELECT shots, circuits FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        conn.close()
        return list(qpy.load(io.BytesIO(blob))), int(shots)

    def runs(self) -> Counter[str]:
        """How many jobs each job name got."""
        with self._connect() as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM jobs")]
        conn.close()
        return Counter(names)


class SharedJob(JobV1):
    """A job of a :class:`SharedBackend`: done at once, simulated when its result is asked for."""

    def __init__(
        self, backend: SharedBackend, job_id: str, name: str | None, tags: list[str]
    ) -> None:
        super().__init__(backend, job_id)
        self._shared = backend
        self._name = name
        self._tags = tags

    def submit(self) -> None:
        """Jobs are submitted by ``run()``."""

    def status(self) -> JobStatus:
        """Always done."""
        return JobStatus.DONE

    def name(self) -> str | None:
        """The job's name."""
        return self._name

    def tags(self) -> list[str]:
        """The job's tags."""
        return list(self._tags)

    def cancel(self) -> bool:
        """Too late: the job is done."""
        return False

    def result(self, timeout: float | None = None) -> Result:
        """Simulate the job's circuits."""
        circuits, shots = self._shared.load(self.job_id())
        return BasicSimulator().run(circuits, shots=shots).result()
