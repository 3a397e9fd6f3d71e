"""What the loopback service holds: backends, jobs, sessions, usage.

A job's PUBs are decoded with the runtime client's own ``RuntimeDecoder``,
sampled with ``BackendSamplerV2`` (noiseless Aer by default, or the fake
device with its noise), and the ``PrimitiveResult`` is stored encoded with
``RuntimeEncoder``, as the client expects to read it back.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qiskit.primitives import BackendSamplerV2
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import BackendV2
from qiskit_ibm_runtime import RuntimeDecoder, RuntimeEncoder

PENDING = ("Queued", "Running")
FINAL = ("Completed", "Failed", "Cancelled")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stamp(moment: dt.datetime | None) -> str | None:
    """Return ``moment`` as the service writes times (ISO 8601, UTC, ``Z``)."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Device:
    """One backend the service offers: its JSON documents and its simulator."""

    name: str
    configuration: dict[str, Any]
    properties: dict[str, Any]
    sampler: BackendSamplerV2
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_fake(cls, backend: BackendV2, *, noise: bool, seed: int | None) -> Device:
        """Describe a ``qiskit_ibm_runtime.fake_provider`` backend as the service does."""
        folder = Path(backend.dirname)
        configuration = json.loads((folder / backend.conf_filename).read_text())
        properties = json.loads((folder / backend.props_filename).read_text())
        configuration["backend_name"] = properties["backend_name"] = backend.name
        if noise:
            simulator: BackendV2 = backend
        else:
            from qiskit_aer import AerSimulator

            simulator = AerSimulator()
        options: dict[str, Any] = {} if seed is None else {"seed_simulator": seed}
        return cls(
            name=backend.name,
            configuration=configuration,
            properties=properties,
            sampler=BackendSamplerV2(backend=simulator, options=options),
        )


@dataclass
class Job:
    """A runtime job as the service keeps it."""

    id: str
    backend: str
    program_id: str
    params: dict[str, Any]
    tags: list[str]
    session_id: str | None
    cost: int | None
    private: bool
    created: dt.datetime = field(default_factory=now)
    status: str = "Queued"
    reason: str | None = None
    reason_code: int | None = None
    running: dt.datetime | None = None
    finished: dt.datetime | None = None
    result_text: str | None = None
    failure: tuple[int, str, str] | None = None
    quantum_seconds: float = 0.0

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def to_json(self, *, with_params: bool) -> dict[str, Any]:
        """Return the job as ``GET /jobs/{id}`` and ``GET /jobs`` give it."""
        state: dict[str, Any] = {"status": self.status}
        if self.reason is not None:
            state["reason"] = self.reason
        if self.reason_code is not None:
            state["reason_code"] = self.reason_code
        answer: dict[str, Any] = {
            "id": self.id,
            "backend": self.backend,
            "state": state,
            "status": self.status,
            "program": {"id": self.program_id},
            "created": stamp(self.created),
            "runtime": "",
            "session_id": self.session_id,
            "tags": list(self.tags),
            "private": self.private,
            "cost": self.cost,
            "user_id": "loopback-user",
            "estimated_running_time_seconds": 1.0,
        }
        if with_params:
            answer["params"] = self.params
        return answer

    def metrics(self) -> dict[str, Any]:
        final = self.status in FINAL
        return {
            "timestamps": {
                "created": stamp(self.created),
                "running": stamp(self.running),
                "finished": stamp(self.finished),
            },
            "usage": {
                "quantum_seconds": self.quantum_seconds,
                "seconds": self.quantum_seconds,
                "qpu_charge_time_seconds": self.quantum_seconds,
                "status": "final" if final else "pending",
            },
            "bss": {"seconds": self.quantum_seconds},
        }


@dataclass
class RuntimeSession:
    """A session or batch as the service keeps it."""

    id: str
    backend: str
    mode: str
    max_ttl: int
    created: dt.datetime = field(default_factory=now)
    state: str = "open"
    accepting_jobs: bool = True
    closed_at: dt.datetime | None = None
    reason: str | None = None

    def to_json(self, elapsed: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "backend_name": self.backend,
            "mode": self.mode,
            "interactive_ttl": 1,
            "max_ttl": self.max_ttl,
            "active_ttl": self.max_ttl,
            "state": self.state,
            "accepting_jobs": self.accepting_jobs,
            "last_job_started": None,
            "last_job_completed": None,
            "started_at": stamp(self.created),
            "activated_at": stamp(self.created),
            "closed_at": stamp(self.closed_at),
            "elapsed_time": elapsed,
            "timestamps": [],
            "reason": self.reason,
        }


def new_id() -> str:
    return uuid.uuid4().hex[:20]


def run_pubs(device: Device, job: Job) -> dict[str, Any]:
    """Sample the job's PUBs on the device's simulator.

    Returns:
        The job's fields once it has run: status, encoded result (or the
        traceback), reason and usage.
    """
    try:
        params = json.loads(json.dumps(job.params), cls=RuntimeDecoder)
        options = params.get("options") or {}
        default_shots = options.get("default_shots") or 4096
        pubs = [SamplerPub.coerce(tuple(pub), default_shots) for pub in params["pubs"]]
        with device.lock:
            result = device.sampler.run(pubs).result()
    except Exception as err:
        return {
            "status": "Failed",
            "result_text": "".join(traceback.format_exception(err)),
            "reason": f"Error running the job: {type(err).__name__}: {err}",
            "reason_code": 1517,
        }
    return {
        "status": "Completed",
        "result_text": json.dumps(result, cls=RuntimeEncoder),
        "quantum_seconds": round(0.5 + 1e-4 * sum(pub.shots or 0 for pub in pubs), 3),
    }


class ServiceState:
    """Everything the service holds, under one lock; the instance's limits are knobs.

    Attributes:
        max_pending_jobs: Most jobs the instance may have queued or running
            (error 3458 beyond); ``None``: no limit.
        quota_jobs: Jobs the instance's quota allows (error 4317 beyond, and
            the usage shows the limit reached); ``None``: no limit.
        usage_limit_seconds: The instance's usage limit.
        refusals: The error code of every job the service refused.
    """

    def __init__(self, devices: dict[str, Device], crn: str) -> None:
        self.lock = threading.RLock()
        self.devices = devices
        self.crn = crn
        self.jobs: list[Job] = []
        self.sessions: dict[str, RuntimeSession] = {}
        self.refusals: list[int] = []
        self.max_pending_jobs: int | None = None
        self.quota_jobs: int | None = None
        self.usage_limit_seconds = 600.0
        self._by_id: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        with self.lock:
            self.jobs.append(job)
            self._by_id[job.id] = job

    def remove(self, job: Job) -> None:
        with self.lock:
            self.jobs.remove(job)
            del self._by_id[job.id]

    def find(self, job_id: str) -> Job | None:
        with self.lock:
            return self._by_id.get(job_id)

    def pending_count(self, backend: str | None = None) -> int:
        with self.lock:
            return sum(1 for job in self.jobs if job.pending and backend in (None, job.backend))

    def quota_used(self) -> bool:
        with self.lock:
            return self.quota_jobs is not None and len(self.jobs) >= self.quota_jobs

    def usage(self) -> dict[str, Any]:
        """The instance's usage, as ``GET /instances/usage`` gives it."""
        with self.lock:
            consumed = round(sum(job.quantum_seconds for job in self.jobs), 3)
            limit = self.usage_limit_seconds
            reached = self.quota_used() or consumed >= limit
        month = now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return {
            "instance_id": self.crn,
            "plan_id": "loopback-open-plan",
            "usage_consumed_seconds": consumed,
            "usage_limit_seconds": limit,
            "usage_limit_reached": reached,
            "usage_period": {"start_time": stamp(month), "end_time": None},
        }

    def session_elapsed(self, session_id: str) -> float:
        with self.lock:
            used = sum(job.quantum_seconds for job in self.jobs if job.session_id == session_id)
        return round(used, 3)

    def close_session(self, session_id: str | None, reason: str, code: int) -> list[Job]:
        """Close a session (every open one for ``None``); cancel its queued jobs."""
        cancelled = []
        with self.lock:
            for session in self.sessions.values():
                if session_id not in (None, session.id) or session.state == "closed":
                    continue
                session.state = "closed"
                session.accepting_jobs = False
                session.closed_at = now()
                session.reason = reason
                for job in self.jobs:
                    if job.session_id == session.id and job.status == "Queued":
                        job.status, job.reason, job.reason_code = "Cancelled", reason, code
                        job.finished = now()
                        cancelled.append(job)
        return cancelled
