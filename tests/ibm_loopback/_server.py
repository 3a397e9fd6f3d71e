"""The loopback IBM Quantum Platform service: an HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import collections
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from qiskit.providers import BackendV2

from ._faults import (
    PENDING_LIMIT_CODE,
    QUOTA_CODE,
    SESSION_CLOSED_CODE,
    Answer,
    Faults,
    error_body,
)
from ._state import FINAL, Device, Job, RuntimeSession, new_id, now, run_pubs, stamp

API_ROOT = "/api/v1"
IAM_ROOT = "/iam"
SEARCH_ROOT = "/global-search"
CATALOG_ROOT = "/global-catalog"
PLAN_ID = "loopback-open-plan"

Reply = tuple[int, Any, dict[str, str]]

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route) + "$"), route)
    for method, route in [
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
]


def _route_of(method: str, path: str) -> tuple[str, dict[str, str]]:
    """Return the route template a request matches, and its parameters."""
    for route_method, pattern, template in _ROUTES:
        matched = pattern.match(path)
        if matched is not None and route_method == method:
            return template, matched.groupdict()
    for _, pattern, template in _ROUTES:
        matched = pattern.match(path)
        if matched is not None:
            return template, matched.groupdict()
    return path, {}


def _jwt(lifetime: int) -> str:
    """Return an unsigned access token shaped as IAM's (the client only reads its times)."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    issued = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iat": issued, "exp": issued + lifetime, "sub": "loopback-user"}
    return f"{part(header)}.{part(claims)}.bG9vcGJhY2s"


class LoopbackService:
    """An IBM Quantum Platform service on ``127.0.0.1``, for the real runtime client.

    It answers IAM token requests, the Global Search and Global Catalog calls
    the client makes to check the instance, and the runtime API under
    ``/api/v1``. Jobs run on the fake devices given, locally. Every request
    is counted by method and route (:meth:`count`), and :attr:`faults`
    changes the answers of the next requests.

    The server stops by itself after ``lifetime`` seconds or
    ``max_requests`` requests, whichever comes first, and on :meth:`stop`.

    Args:
        backends: Fake devices of ``qiskit_ibm_runtime.fake_provider`` to offer.
        noise: Sample with the devices' noise; noiseless Aer by default.
        seed: Seed of the simulator.
        run_time: Seconds each job stays ``Running``.
        lifetime: Seconds after which the server stops by itself.
        max_requests: Requests after which the server stops by itself.
    """

    def __init__(
        self,
        backends: Iterable[BackendV2],
        *,
        noise: bool = False,
        seed: int | None = 1234,
        run_time: float = 0.0,
        lifetime: float = 120.0,
        max_requests: int = 5000,
    ) -> None:
        self.api_key = "loopback-api-key"
        self.crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/loopback:instance-1::"
        self.instance_name = "loopback-instance"
        self.devices = {
            device.name: device
            for device in (Device.from_fake(b, noise=noise, seed=seed) for b in backends)
        }
        self.faults = Faults()
        self.run_time = run_time
        #: Most jobs the instance may have queued or running (error 3458); ``None``: no limit.
        self.max_pending_jobs: int | None = None
        #: Jobs the instance's quota allows (error 4317 after that); ``None``: no limit.
        self.quota_jobs: int | None = None
        self.usage_limit_seconds = 600.0
        self.jobs: list[Job] = []
        self.sessions: dict[str, RuntimeSession] = {}
        #: Every request: method, route, path, the status answered (``None``: dropped).
        self.requests: list[tuple[str, str, str, int | None]] = []
        #: The error code of every job the service refused (3458, 4317, 4001).
        self.refusals: list[int] = []
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._by_id: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._held = threading.Event()
        self._max_requests = max_requests
        self._tokens: set[str] = set()
        self._stopped = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._threads = [
            threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="loopback-http", daemon=True
            ),
            threading.Thread(target=self._work, name="loopback-runner", daemon=True),
        ]
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The root URL, ``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackService:
        for thread in self._threads:
            thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving and running jobs; safe to call more than once."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._timer.cancel()
        self._held.clear()
        self._queue.put(None)
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    def stopped(self) -> bool:
        """Return whether the server has stopped."""
        return self._stopped.is_set()

    def __enter__(self) -> LoopbackService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ client side

    def environment(self) -> dict[str, str]:
        """Environment variables that point the client's IBM Cloud calls at this server.

        ``IAM_URL`` is read by ``qiskit-ibm-runtime`` for its token manager;
        ``GLOBAL_SEARCH_URL`` and ``GLOBAL_CATALOG_URL`` by the IBM Cloud SDK
        the client uses to list instances.
        """
        return {
            "IAM_URL": self.url + IAM_ROOT,
            "GLOBAL_SEARCH_URL": self.url + SEARCH_ROOT,
            "GLOBAL_CATALOG_URL": self.url + CATALOG_ROOT,
        }

    def url_resolver(self, url: str, instance: str, private: bool | None, channel: str) -> str:
        """Runtime API base URL for the client's ``url_resolver`` parameter."""
        return url.rstrip("/") + API_ROOT

    def client_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``QiskitRuntimeService`` that connect it here."""
        return {
            "channel": "ibm_quantum_platform",
            "token": self.api_key,
            "url": self.url,
            "instance": self.crn,
            "url_resolver": self.url_resolver,
        }

    # ------------------------------------------------------------ knobs and counts

    def count(self, method: str, route: str = "*") -> int:
        """Return how many requests of ``method`` on ``route`` (a template) were made."""
        with self._lock:
            return sum(
                n
                for (m, r), n in self._counts.items()
                if method.upper() in ("*", m) and route in ("*", r)
            )

    def hold(self) -> None:
        """Keep new and queued jobs ``Queued`` until :meth:`release`."""
        self._held.set()

    def release(self) -> None:
        self._held.clear()

    def job(self, job_id: str) -> Job:
        with self._lock:
            return self._by_id[job_id]

    def jobs_tagged(self, tag: str) -> list[Job]:
        with self._lock:
            return [job for job in self.jobs if tag in job.tags]

    def expire_session(
        self,
        session_id: str | None = None,
        *,
        reason: str = "Job is part of a session that's been closed.",
        code: int = SESSION_CLOSED_CODE,
    ) -> list[Job]:
        """End a session or batch (all open ones for ``None``) as its max time does.

        Its queued jobs are cancelled with ``reason`` and ``code``; a running
        job finishes. Returns the cancelled jobs.
        """
        cancelled = []
        with self._lock:
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

    def usage(self) -> dict[str, Any]:
        """The instance's usage, as ``GET /instances/usage`` gives it."""
        with self._lock:
            consumed = round(sum(job.quantum_seconds for job in self.jobs), 3)
            quota_hit = self.quota_jobs is not None and len(self.jobs) >= self.quota_jobs
            limit = self.usage_limit_seconds
        return {
            "instance_id": self.crn,
            "plan_id": PLAN_ID,
            "usage_consumed_seconds": consumed,
            "usage_limit_seconds": limit,
            "usage_limit_reached": quota_hit or consumed >= limit,
            "usage_period": {
                "start_time": stamp(
                    now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                ),
                "end_time": None,
            },
        }

    # ------------------------------------------------------------ the runner

    def _work(self) -> None:
        while not self._stopped.is_set():
            job = self._queue.get()
            if job is None:
                return
            while self._held.is_set() and not self._stopped.is_set():
                time.sleep(0.005)
            with self._lock:
                if job.status != "Queued":
                    continue
                job.status, job.running = "Running", now()
            if self.run_time:
                time.sleep(self.run_time)
            if job.failure is not None:
                code, reason, status = job.failure
                outcome: dict[str, Any] = {
                    "status": status,
                    "result_text": f"Error code {code}; {reason}",
                    "reason": reason,
                    "reason_code": code,
                    "quantum_seconds": 1.0,
                }
            else:
                outcome = run_pubs(self.devices[job.backend], job)
            with self._lock:
                if job.status == "Running":  # not cancelled meanwhile
                    for name, value in outcome.items():
                        setattr(job, name, value)
                    job.finished = now()

    # ------------------------------------------------------------ HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                service._serve(self, "GET")

            def do_POST(self) -> None:
                service._serve(self, "POST")

            def do_PUT(self) -> None:
                service._serve(self, "PUT")

            def do_PATCH(self) -> None:
                service._serve(self, "PATCH")

            def do_DELETE(self) -> None:
                service._serve(self, "DELETE")

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        query = parse_qs(split.query)
        path = split.path
        if path.startswith(API_ROOT):
            route, args = _route_of(method, path[len(API_ROOT) :] or "/")
        else:
            route, args = path, {}
        with self._lock:
            self._counts[(method, route)] += 1
            over_budget = len(self.requests) >= self._max_requests
        if over_budget:
            threading.Thread(target=self.stop, daemon=True).start()
            reply: Reply | None = (503, error_body(1000, "Request budget used.", 503), {})
        else:
            reply = self._reply(handler, method, path, route, args, query, body)
        status = None if reply is None else reply[0]
        with self._lock:
            self.requests.append((method, route, path, status))
        if reply is None:
            handler.close_connection = True
            return
        status, payload, headers = reply
        data = (
            b""
            if payload is None
            else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        )
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        route: str,
        args: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> Reply | None:
        if path == IAM_ROOT + "/identity/token" and method == "POST":
            return self._token(body)
        if not path.startswith(API_ROOT):
            if path.startswith(SEARCH_ROOT) and method == "POST":
                return self._authorized(handler, check_crn=False) or self._search()
            if path.startswith(CATALOG_ROOT) and method == "GET":
                return self._authorized(handler, check_crn=False) or self._catalog()
            return 404, error_body("not_found", f"No route {method} {path}", 404), {}
        denied = self._authorized(handler, check_crn=True)
        if denied is not None:
            return denied
        answer = self.faults.take(method, route)
        if answer is not None:
            return self._faulty(answer)
        endpoint = self._endpoints().get((method, route))
        if endpoint is None:
            return 404, error_body("not_found", f"No route {method} {path}", 404), {}
        return endpoint(args, query, body)

    @staticmethod
    def _faulty(answer: Answer) -> Reply | None:
        if answer.status is None:
            return None
        return answer.status, answer.body, dict(answer.headers)

    def _endpoints(self) -> dict[tuple[str, str], Callable[..., Reply | None]]:
        return {
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
            ("GET", "/instances/usage"): lambda *_: (200, self.usage(), {}),
        }

    # ------------------------------------------------------------ IBM Cloud

    def _token(self, body: bytes) -> Reply:
        form = parse_qs(body.decode())
        if form.get("apikey") != [self.api_key]:
            error = {
                "errorCode": "BXNIM0415E",
                "errorMessage": "Provided API key could not be found.",
            }
            return 400, error, {}
        token = _jwt(3600)
        with self._lock:
            self._tokens.add(token)
        answer = {
            "access_token": token,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": 3600,
            "expiration": int(time.time()) + 3600,
            "scope": "ibm openid",
        }
        return 200, answer, {}

    def _authorized(self, handler: BaseHTTPRequestHandler, *, check_crn: bool) -> Reply | None:
        auth = handler.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        with self._lock:
            known = token in self._tokens
        if not known:
            return 401, error_body("unauthorized", "Invalid or missing bearer token.", 401), {}
        if check_crn and handler.headers.get("Service-CRN") != self.crn:
            return 403, error_body("forbidden", "Unknown Service-CRN.", 403), {}
        return None

    def _search(self) -> Reply:
        item = {
            "crn": self.crn,
            "name": self.instance_name,
            "service_plan_unique_id": PLAN_ID,
            "doc": {"extensions": {"allocations": [{"backends": list(self.devices)}]}},
            "tags": [],
        }
        return 200, {"items": [item], "limit": 100, "search_cursor": None}, {}

    def _catalog(self) -> Reply:
        entry = {
            "id": PLAN_ID,
            "overview_ui": {"en": {"display_name": "Open"}},
            "metadata": {"pricing": {"type": "free"}},
        }
        return 200, entry, {}

    # ------------------------------------------------------------ backends

    def _device(self, name: str) -> Device | None:
        return self.devices.get(name)

    def _backends(self, *_: Any) -> Reply:
        with self._lock:
            queued = collections.Counter(job.backend for job in self.jobs if job.pending)
        devices = [
            {
                "name": name,
                "status": {"name": "online", "reason": "available"},
                "qubits": device.configuration["n_qubits"],
                "queue_length": queued[name],
                "processor_type": device.configuration.get("processor_type", {}),
            }
            for name, device in self.devices.items()
        ]
        return 200, {"devices": devices}, {}

    def _no_backend(self, name: str) -> Reply:
        return 404, error_body(1007, f"Backend {name} not found.", 404), {}

    def _configuration(self, args: dict[str, str], *_: Any) -> Reply:
        device = self._device(args["name"])
        if device is None:
            return self._no_backend(args["name"])
        return 200, device.configuration, {}

    def _properties(self, args: dict[str, str], *_: Any) -> Reply:
        device = self._device(args["name"])
        if device is None:
            return self._no_backend(args["name"])
        return 200, device.properties, {}

    def _backend_status(self, args: dict[str, str], *_: Any) -> Reply:
        device = self._device(args["name"])
        if device is None:
            return self._no_backend(args["name"])
        with self._lock:
            queued = sum(1 for job in self.jobs if job.pending and job.backend == device.name)
        answer = {
            "state": True,
            "status": "active",
            "message": "available",
            "length_queue": queued,
            "backend_version": device.configuration.get("backend_version", "1.0.0"),
        }
        return 200, answer, {}

    # ------------------------------------------------------------ jobs

    def _refusal(self, code: int, message: str, status: int) -> Reply:
        with self._lock:
            self.refusals.append(code)
        return status, error_body(code, message, status), {}

    def _create_job(self, _args: Any, _query: Any, body: bytes) -> Reply | None:
        payload = json.loads(body)
        backend = payload.get("backend")
        if self._device(backend) is None:
            return self._no_backend(str(backend))
        session_id = payload.get("session_id")
        with self._lock:
            session = self.sessions.get(session_id) if session_id else None
            if session_id and (session is None or not session.accepting_jobs):
                return self._refusal(
                    SESSION_CLOSED_CODE, "Job is part of a session that's been closed.", 400
                )
            if self.quota_jobs is not None and len(self.jobs) >= self.quota_jobs:
                return self._refusal(
                    QUOTA_CODE,
                    "You have exceeded the monthly quota of your instance. "
                    "Workloads will not run until time is made available.",
                    403,
                )
            pending = sum(1 for job in self.jobs if job.pending)
            if self.max_pending_jobs is not None and pending >= self.max_pending_jobs:
                return self._refusal(
                    PENDING_LIMIT_CODE,
                    f"You have reached the limit of {self.max_pending_jobs} pending jobs. "
                    "Please wait for a job to complete or cancel one before submitting "
                    "anything new.",
                    400,
                )
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
            self.jobs.append(job)
            self._by_id[job.id] = job
        self._queue.put(job)
        dropped, status = self.faults.take_drop()
        if dropped:
            if status is None:
                return None
            return status, error_body("bad_gateway", "Bad gateway.", status), {}
        return 200, {"id": job.id, "backend": backend, "session_id": session_id}, {}

    def _list_jobs(self, _args: Any, query: dict[str, list[str]], _body: bytes) -> Reply:
        tags = query.get("tags", [])
        pending = query.get("pending", [None])[0]
        backend = query.get("backend", [None])[0]
        session_id = query.get("session_id", [None])[0]
        program = query.get("program", [None])[0]
        limit = int(query.get("limit", ["10"])[0])
        offset = int(query.get("offset", ["0"])[0])
        ascending = query.get("sort", [""])[0].upper() == "ASC"
        with self._lock:
            found = [
                job
                for job in self.jobs
                if all(tag in job.tags for tag in tags)
                and (pending is None or job.pending == (pending == "true"))
                and backend in (None, job.backend)
                and session_id in (None, job.session_id)
                and program in (None, job.program_id)
            ]
            if not ascending:
                found.reverse()
            page = [job.to_json(with_params=False) for job in found[offset : offset + limit]]
        return 200, {"jobs": page, "count": len(found), "limit": limit, "offset": offset}, {}

    def _find(self, job_id: str) -> Job | None:
        with self._lock:
            return self._by_id.get(job_id)

    def _no_job(self, job_id: str) -> Reply:
        return 404, error_body(1291, f"Job not found: {job_id}", 404), {}

    def _get_job(self, args: dict[str, str], query: dict[str, list[str]], _body: bytes) -> Reply:
        job = self._find(args["id"])
        if job is None:
            return self._no_job(args["id"])
        with_params = query.get("exclude_params", ["false"])[0] != "true"
        with self._lock:
            return 200, job.to_json(with_params=with_params), {}

    def _delete_job(self, args: dict[str, str], *_: Any) -> Reply:
        with self._lock:
            job = self._by_id.pop(args["id"], None)
            if job is None:
                return self._no_job(args["id"])
            self.jobs.remove(job)
            if job.pending:
                job.status = "Cancelled"
        return 204, None, {}

    def _results(self, args: dict[str, str], *_: Any) -> Reply:
        job = self._find(args["id"])
        if job is None:
            return self._no_job(args["id"])
        with self._lock:
            text = job.result_text
        if text is None:
            if job.status == "Cancelled":
                return 200, job.reason or "Job was cancelled.", {}
            return 404, error_body(1291, "The job has no results yet.", 404), {}
        return 200, text, {}

    def _cancel(self, args: dict[str, str], *_: Any) -> Reply:
        job = self._find(args["id"])
        if job is None:
            return self._no_job(args["id"])
        with self._lock:
            if job.status in FINAL:
                return self._refusal(
                    1320, f"Job {job.id} cannot be cancelled: it is {job.status}.", 409
                )
            job.status, job.reason, job.finished = "Cancelled", "Cancelled by the user", now()
        return 204, None, {}

    def _tags(self, args: dict[str, str], _query: Any, body: bytes) -> Reply:
        job = self._find(args["id"])
        if job is None:
            return self._no_job(args["id"])
        with self._lock:
            job.tags = list(json.loads(body)["tags"])
        return 204, None, {}

    def _metrics(self, args: dict[str, str], *_: Any) -> Reply:
        job = self._find(args["id"])
        if job is None:
            return self._no_job(args["id"])
        with self._lock:
            return 200, job.metrics(), {}

    def _logs(self, args: dict[str, str], *_: Any) -> Reply:
        job = self._find(args["id"])
        if job is None:
            return self._no_job(args["id"])
        return 200, "", {}

    # ------------------------------------------------------------ sessions

    def _session_reply(self, session: RuntimeSession) -> Reply:
        with self._lock:
            elapsed = sum(job.quantum_seconds for job in self.jobs if job.session_id == session.id)
            return 200, session.to_json(round(elapsed, 3)), {}

    def _create_session(self, _args: Any, _query: Any, body: bytes) -> Reply:
        payload = json.loads(body or b"{}")
        backend = payload.get("backend")
        if self._device(backend) is None:
            return self._no_backend(str(backend))
        session = RuntimeSession(
            id=new_id(),
            backend=backend,
            mode=payload.get("mode", "dedicated"),
            max_ttl=int(payload.get("max_ttl") or 28800),
        )
        with self._lock:
            self.sessions[session.id] = session
        return self._session_reply(session)

    def _get_session(self, args: dict[str, str], *_: Any) -> Reply:
        session = self.sessions.get(args["id"])
        if session is None:
            return 404, error_body(1404, f"Session not found: {args['id']}", 404), {}
        return self._session_reply(session)

    def _update_session(self, args: dict[str, str], _query: Any, body: bytes) -> Reply:
        session = self.sessions.get(args["id"])
        if session is None:
            return 404, error_body(1404, f"Session not found: {args['id']}", 404), {}
        payload = json.loads(body or b"{}")
        with self._lock:
            if payload.get("accepting_jobs") is False:
                session.accepting_jobs = False
                if session.state != "closed":
                    session.state = "pending_closed"
        return 204, None, {}

    def _cancel_session(self, args: dict[str, str], *_: Any) -> Reply:
        session = self.sessions.get(args["id"])
        if session is None:
            return 404, error_body(1404, f"Session not found: {args['id']}", 404), {}
        self.expire_session(session.id, reason="Session was cancelled.", code=4002)
        return 204, None, {}
