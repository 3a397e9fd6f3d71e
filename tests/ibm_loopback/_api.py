"""The runtime API (``/api/v1``) as ``qiskit-ibm-runtime``'s REST layer uses it."""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable
from typing import Any

from ._faults import Faults
from ._replies import (
    PENDING_LIMIT_CODE,
    QUOTA_CODE,
    SESSION_CLOSED_CODE,
    Reply,
    error,
)
from ._runner import JobRunner
from ._state import FINAL, Device, Job, RuntimeSession, ServiceState, new_id, now

Query = dict[str, list[str]]
Endpoint = Callable[[dict[str, str], Query, bytes], "Reply | None"]

#: Every route, as a template; a request is counted under its route.
ROUTES = [
    ("GET", "/backends"),
    ("GET", "/backends/{name}/configuration"),
    ("GET", "/backends/{name}/properties"),
    ("GET", "/backends/{name}/status"),
    ("POST", "/jobs"),
    ("GET", "/jobs"),
    ("GET", "/jobs/{id}"),
    ("DELETE", "/jobs/{id}"),
    ("GET", "/jobs/{id}/results"),
    ("POST", "/jobs/{id}/cancel"),
    ("PUT", "/jobs/{id}/tags"),
    ("GET", "/jobs/{id}/metrics"),
    ("GET", "/jobs/{id}/logs"),
    ("POST", "/sessions"),
    ("GET", "/sessions/{id}"),
    ("PATCH", "/sessions/{id}"),
    ("DELETE", "/sessions/{id}/close"),
    ("GET", "/instances/usage"),
]

_PATTERNS = [
    (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route) + "$"), route)
    for method, route in ROUTES
]


def route_of(method: str, path: str) -> tuple[str, dict[str, str]]:
    """Return the route template ``path`` matches (``path`` if none), and its parameters."""
    fallback: tuple[str, dict[str, str]] | None = None
    for route_method, pattern, template in _PATTERNS:
        matched = pattern.match(path)
        if matched is None:
            continue
        if route_method == method:
            return template, matched.groupdict()
        fallback = fallback or (template, matched.groupdict())
    return fallback or (path, {})


def _no_backend(name: object) -> Reply:
    return error(1007, f"Backend {name} not found.", 404)


def _no_job(job_id: str) -> Reply:
    return error(1291, f"Job not found: {job_id}", 404)


def _no_session(session_id: str) -> Reply:
    return error(1404, f"Session not found: {session_id}", 404)


class RuntimeAPI:
    """Answers the runtime API's routes from the service's state."""

    def __init__(self, state: ServiceState, runner: JobRunner, faults: Faults) -> None:
        self.state = state
        self.runner = runner
        self.faults = faults
        self._endpoints: dict[tuple[str, str], Endpoint] = {
            ("GET", "/backends"): self._backends,
            ("GET", "/backends/{name}/configuration"): self._configuration,
            ("GET", "/backends/{name}/properties"): self._properties,
            ("GET", "/backends/{name}/status"): self._backend_status,
            ("POST", "/jobs"): self._create_job,
            ("GET", "/jobs"): self._list_jobs,
            ("GET", "/jobs/{id}"): self._get_job,
            ("DELETE", "/jobs/{id}"): self._delete_job,
            ("GET", "/jobs/{id}/results"): self._results,
            ("POST", "/jobs/{id}/cancel"): self._cancel,
            ("PUT", "/jobs/{id}/tags"): self._tags,
            ("GET", "/jobs/{id}/metrics"): self._metrics,
            ("GET", "/jobs/{id}/logs"): self._logs,
            ("POST", "/sessions"): self._create_session,
            ("GET", "/sessions/{id}"): self._get_session,
            ("PATCH", "/sessions/{id}"): self._update_session,
            ("DELETE", "/sessions/{id}/close"): self._cancel_session,
            ("GET", "/instances/usage"): lambda *_: (200, self.state.usage(), {}),
        }

    def answer(
        self, method: str, route: str, args: dict[str, str], query: Query, body: bytes
    ) -> Reply | None:
        """Answer one request; ``None`` hangs up without an answer."""
        endpoint = self._endpoints.get((method, route))
        if endpoint is None:
            return error("not_found", f"No route {method} {route}", 404)
        return endpoint(args, query, body)

    def _refusal(self, code: int, message: str, status: int) -> Reply:
        with self.state.lock:
            self.state.refusals.append(code)
        return error(code, message, status)

    # ------------------------------------------------------------ backends

    def _device(self, name: object) -> Device | None:
        return self.state.devices.get(name) if isinstance(name, str) else None

    def _backends(self, *_: Any) -> Reply:
        with self.state.lock:
            queued = collections.Counter(job.backend for job in self.state.jobs if job.pending)
        devices = [
            {
                "name": name,
                "status": {"name": "online", "reason": "available"},
                "qubits": device.configuration["n_qubits"],
                "queue_length": queued[name],
                "processor_type": device.configuration.get("processor_type", {}),
            }
            for name, device in self.state.devices.items()
        ]
        return 200, {"devices": devices}, {}

    def _configuration(self, args: dict[str, str], *_: Any) -> Reply:
        device = self._device(args["name"])
        return _no_backend(args["name"]) if device is None else (200, device.configuration, {})

    def _properties(self, args: dict[str, str], *_: Any) -> Reply:
        device = self._device(args["name"])
        return _no_backend(args["name"]) if device is None else (200, device.properties, {})

    def _backend_status(self, args: dict[str, str], *_: Any) -> Reply:
        device = self._device(args["name"])
        if device is None:
            return _no_backend(args["name"])
        answer = {
            "state": True,
            "status": "active",
            "message": "available",
            "length_queue": self.state.pending_count(device.name),
            "backend_version": device.configuration.get("backend_version", "1.0.0"),
        }
        return 200, answer, {}

    # ------------------------------------------------------------ jobs

    def _refuse_job(self, session_id: str | None) -> Reply | None:
        state = self.state
        session = state.sessions.get(session_id) if session_id else None
        if session_id and (session is None or not session.accepting_jobs):
            return self._refusal(
                SESSION_CLOSED_CODE, "Job is part of a session that's been closed.", 400
            )
        if state.quota_used():
            return self._refusal(
                QUOTA_CODE,
                "You have exceeded the monthly quota of your instance. "
                "Workloads will not run until time is made available.",
                403,
            )
        limit = state.max_pending_jobs
        if limit is not None and state.pending_count() >= limit:
            return self._refusal(
                PENDING_LIMIT_CODE,
                f"You have reached the limit of {limit} pending jobs. Please wait for a job "
                "to complete or cancel one before submitting anything new.",
                400,
            )
        return None

    def _create_job(self, _args: Any, _query: Any, body: bytes) -> Reply | None:
        payload = json.loads(body)
        backend = payload.get("backend")
        if self._device(backend) is None:
            return _no_backend(backend)
        session_id = payload.get("session_id")
        with self.state.lock:
            refusal = self._refuse_job(session_id)
            if refusal is not None:
                return refusal
            tags = list(payload.get("tags") or [])
            job = Job(
                id=new_id(),
                backend=backend,
                program_id=payload.get("program_id", ""),
                params=payload.get("params") or {},
                tags=tags,
                session_id=session_id,
                cost=payload.get("cost"),
                private=bool(payload.get("private", False)),
                failure=self.faults.take_failure(tags),
            )
            self.state.add(job)
        self.runner.put(job)
        dropped, status = self.faults.take_drop()
        if dropped:
            return None if status is None else error("bad_gateway", "Bad gateway.", status)
        return 200, {"id": job.id, "backend": backend, "session_id": session_id}, {}

    def _list_jobs(self, _args: Any, query: Query, _body: bytes) -> Reply:
        def one(name: str) -> str | None:
            return query.get(name, [None])[0]

        tags = query.get("tags", [])
        pending = one("pending")
        limit = int(one("limit") or 10)
        offset = int(one("offset") or 0)
        with self.state.lock:
            found = [
                job
                for job in self.state.jobs
                if all(tag in job.tags for tag in tags)
                and (pending is None or job.pending == (pending == "true"))
                and one("backend") in (None, job.backend)
                and one("session_id") in (None, job.session_id)
                and one("program") in (None, job.program_id)
            ]
            if (one("sort") or "").upper() != "ASC":
                found.reverse()  # newest first
            page = [job.to_json(with_params=False) for job in found[offset : offset + limit]]
        return 200, {"jobs": page, "count": len(found), "limit": limit, "offset": offset}, {}

    def _get_job(self, args: dict[str, str], query: Query, _body: bytes) -> Reply:
        job = self.state.find(args["id"])
        if job is None:
            return _no_job(args["id"])
        with_params = query.get("exclude_params", ["false"])[0] != "true"
        with self.state.lock:
            return 200, job.to_json(with_params=with_params), {}

    def _delete_job(self, args: dict[str, str], *_: Any) -> Reply:
        with self.state.lock:
            job = self.state.find(args["id"])
            if job is None:
                return _no_job(args["id"])
            self.state.remove(job)
            if job.pending:
                job.status = "Cancelled"
        return 204, None, {}

    def _results(self, args: dict[str, str], *_: Any) -> Reply:
        job = self.state.find(args["id"])
        if job is None:
            return _no_job(args["id"])
        with self.state.lock:
            text, status, reason = job.result_text, job.status, job.reason
        if text is not None:
            return 200, text, {}
        if status == "Cancelled":
            return 200, reason or "Job was cancelled.", {}
        return error(1291, "The job has no results yet.", 404)

    def _cancel(self, args: dict[str, str], *_: Any) -> Reply:
        job = self.state.find(args["id"])
        if job is None:
            return _no_job(args["id"])
        with self.state.lock:
            if job.status in FINAL:
                return error(1320, f"Job {job.id} cannot be cancelled: it is {job.status}.", 409)
            job.status, job.reason, job.finished = "Cancelled", "Cancelled by the user", now()
        return 204, None, {}

    def _tags(self, args: dict[str, str], _query: Any, body: bytes) -> Reply:
        job = self.state.find(args["id"])
        if job is None:
            return _no_job(args["id"])
        with self.state.lock:
            job.tags = list(json.loads(body)["tags"])
        return 204, None, {}

    def _metrics(self, args: dict[str, str], *_: Any) -> Reply:
        job = self.state.find(args["id"])
        if job is None:
            return _no_job(args["id"])
        with self.state.lock:
            return 200, job.metrics(), {}

    def _logs(self, args: dict[str, str], *_: Any) -> Reply:
        return _no_job(args["id"]) if self.state.find(args["id"]) is None else (200, "", {})

    # ------------------------------------------------------------ sessions

    def _session_reply(self, session: RuntimeSession) -> Reply:
        elapsed = self.state.session_elapsed(session.id)
        with self.state.lock:
            return 200, session.to_json(elapsed), {}

    def _create_session(self, _args: Any, _query: Any, body: bytes) -> Reply:
        payload = json.loads(body or b"{}")
        backend = payload.get("backend")
        if self._device(backend) is None:
            return _no_backend(backend)
        session = RuntimeSession(
            id=new_id(),
            backend=backend,
            mode=payload.get("mode", "dedicated"),
            max_ttl=int(payload.get("max_ttl") or 28800),
        )
        with self.state.lock:
            self.state.sessions[session.id] = session
        return self._session_reply(session)

    def _get_session(self, args: dict[str, str], *_: Any) -> Reply:
        session = self.state.sessions.get(args["id"])
        return _no_session(args["id"]) if session is None else self._session_reply(session)

    def _update_session(self, args: dict[str, str], _query: Any, body: bytes) -> Reply:
        session = self.state.sessions.get(args["id"])
        if session is None:
            return _no_session(args["id"])
        payload = json.loads(body or b"{}")
        with self.state.lock:
            if payload.get("accepting_jobs") is False:
                session.accepting_jobs = False
                if session.state != "closed":
                    session.state = "pending_closed"
        return 204, None, {}

    def _cancel_session(self, args: dict[str, str], *_: Any) -> Reply:
        if args["id"] not in self.state.sessions:
            return _no_session(args["id"])
        self.state.close_session(args["id"], "Session was cancelled.", 4002)
        return 204, None, {}
