"""What the loopback service holds: backends, jobs, sessions, usage; and the job runner.

Jobs run one at a time, in the order they were created, on a worker thread:
their PUBs are decoded with the runtime client's own ``RuntimeDecoder``,
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
