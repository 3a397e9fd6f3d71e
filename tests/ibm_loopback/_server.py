"""The loopback IBM Quantum Platform service: an HTTP server on 127.0.0.1."""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from qiskit.providers import BackendV2

from ._api import RuntimeAPI, route_of
from ._cloud import IBMCloud
from ._faults import Faults
from ._replies import SESSION_CLOSED_CODE, Reply, error
from ._runner import JobRunner
from ._state import Device, Job, RuntimeSession, ServiceState

API_ROOT = "/api/v1"
IAM_ROOT = "/iam"
SEARCH_ROOT = "/global-search"
CATALOG_ROOT = "/global-catalog"


class LoopbackService:
    """An IBM Quantum Platform service on ``127.0.0.1``, for the real runtime client.

    It answers IAM token requests, the Global Search and Global Catalog calls
    the client makes to check the instance, and the runtime API under
    ``/api/v1``. Jobs run on the fake devices given, locally, one at a time.
    Every request is counted by method and route (:meth:`count`), and
    :attr:`faults` changes the answers of the next requests.

    The server stops by itself after ``lifetime`` seconds or
    ``max_requests`` requests, whichever comes first, and on :meth:`stop`.

    Args:
        backends: Fake devices of ``qiskit_ibm_runtime.fake_provider`` to offer.
        noise: Sample with the devices' noise; noiseless Aer by default.
        seed: Seed of the simulator.
        run_time: Seconds each job stays ``Running``.
        lifetime: Seconds after which the server stops by itself.
        max_requests: Requests after which the server answers 503 and stops.
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
        devices = (Device.from_fake(backend, noise=noise, seed=seed) for backend in backends)
        self.state = ServiceState(
            {device.name: device for device in devices},
            crn="crn:v1:bluemix:public:quantum-computing:us-east:a/loopback:instance-1::",
        )
        self.cloud = IBMCloud(
            api_key="loopback-api-key",
            crn=self.state.crn,
            instance_name="loopback-instance",
            backends=self.state.devices,
        )
        self.faults = Faults()
        self.runner = JobRunner(self.state, run_time)
        self.api = RuntimeAPI(self.state, self.runner, self.faults)
        #: Every request: method, route, path, the status answered (``None``: hung up).
        self.requests: list[tuple[str, str, str, int | None]] = []
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lock = threading.Lock()
        self._max_requests = max_requests
        self._stopped = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._serving = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="loopback-http", daemon=True
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The root URL, ``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackService:
        self.runner.start()
        self._serving.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving and running jobs; safe to call more than once, from any thread."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._timer.cancel()
        self.runner.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._serving is not threading.current_thread():
            self._serving.join(timeout=10)

    def stopped(self) -> bool:
        """Return whether the server has stopped."""
        return self._stopped.is_set()

    def __enter__(self) -> LoopbackService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ the client's side

    @property
    def api_key(self) -> str:
        return self.cloud.api_key

    @property
    def crn(self) -> str:
        return self.state.crn

    def environment(self) -> dict[str, str]:
        """Environment variables that point the client's IBM Cloud calls at this server.

        ``IAM_URL`` is read by ``qiskit-ibm-runtime`` for its token manager;
        ``GLOBAL_SEARCH_URL`` and ``GLOBAL_CATALOG_URL`` by the IBM Cloud SDK
        the client lists instances with.
        """
        return {
            "IAM_URL": self.url + IAM_ROOT,
            "GLOBAL_SEARCH_URL": self.url + SEARCH_ROOT,
            "GLOBAL_CATALOG_URL": self.url + CATALOG_ROOT,
        }

    @staticmethod
    def url_resolver(url: str, instance: str, private: bool | None, channel: str) -> str:
        """The runtime API's base URL, for the client's ``url_resolver`` parameter."""
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

    # ------------------------------------------------------------ knobs and records

    @property
    def jobs(self) -> list[Job]:
        """Every job created, oldest first."""
        with self.state.lock:
            return list(self.state.jobs)

    @property
    def sessions(self) -> dict[str, RuntimeSession]:
        """Every session and batch created, by id."""
        with self.state.lock:
            return dict(self.state.sessions)

    @property
    def refusals(self) -> list[int]:
        """The error code of every job refused (3458, 4317, 4001), in order."""
        with self.state.lock:
            return list(self.state.refusals)

    @property
    def max_pending_jobs(self) -> int | None:
        """Most jobs queued or running on the instance (error 3458 beyond); ``None``: no limit."""
        return self.state.max_pending_jobs

    @max_pending_jobs.setter
    def max_pending_jobs(self, value: int | None) -> None:
        self.state.max_pending_jobs = value

    @property
    def quota_jobs(self) -> int | None:
        """Jobs the instance's quota allows (error 4317 beyond); ``None``: no limit."""
        return self.state.quota_jobs

    @quota_jobs.setter
    def quota_jobs(self, value: int | None) -> None:
        self.state.quota_jobs = value

    @property
    def run_time(self) -> float:
        """Seconds each job stays ``Running``."""
        return self.runner.run_time

    @run_time.setter
    def run_time(self, value: float) -> None:
        self.runner.run_time = value

    def hold(self) -> None:
        """Keep new and queued jobs ``Queued`` until :meth:`release`."""
        self.runner.hold()

    def release(self) -> None:
        self.runner.release()

    def job(self, job_id: str) -> Job:
        found = self.state.find(job_id)
        if found is None:
            raise KeyError(job_id)
        return found

    def jobs_tagged(self, tag: str) -> list[Job]:
        return [job for job in self.jobs if tag in job.tags]

    def usage(self) -> dict[str, Any]:
        """The instance's usage, as ``GET /instances/usage`` gives it."""
        return self.state.usage()

    def expire_session(
        self,
        session_id: str | None = None,
        *,
        reason: str = "Job is part of a session that's been closed.",
        code: int = SESSION_CLOSED_CODE,
    ) -> list[Job]:
        """End a session or batch (every open one for ``None``) as its max time does.

        It no longer accepts jobs; its queued jobs are cancelled with
        ``reason`` and ``code``; a running job finishes.

        Returns:
            The jobs cancelled.
        """
        return self.state.close_session(session_id, reason, code)

    def count(self, method: str, route: str = "*") -> int:
        """Return how many requests of ``method`` on ``route`` were made (``"*"``: any).

        ``route`` is a template of the runtime API (``"/jobs/{id}"``) or, for
        the IBM Cloud calls, the path (``"/iam/identity/token"``).
        """
        with self._lock:
            return sum(
                n
                for (m, r), n in self._counts.items()
                if method.upper() in ("*", m) and route in ("*", r)
            )

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
        path = split.path
        if path.startswith(API_ROOT):
            route, args = route_of(method, path[len(API_ROOT) :] or "/")
        else:
            route, args = path, {}
        with self._lock:
            self._counts[(method, route)] += 1
            over_budget = len(self.requests) >= self._max_requests
        if over_budget:
            threading.Thread(target=self.stop, daemon=True).start()
            reply: Reply | None = error(1000, "The service's request budget is used.", 503)
        else:
            reply = self._reply(handler, method, path, route, args, parse_qs(split.query), body)
        with self._lock:
            self.requests.append((method, route, path, None if reply is None else reply[0]))
        if reply is None:
            handler.close_connection = True
            return
        status, payload, headers = reply
        if payload is None:
            data = b""
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload).encode()
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
        headers = handler.headers
        if path == IAM_ROOT + "/identity/token" and method == "POST":
            return self.cloud.token(body)
        if path.startswith(SEARCH_ROOT) and method == "POST":
            return self.cloud.refusal(headers, instance=False) or self.cloud.search()
        if path.startswith(CATALOG_ROOT) and method == "GET":
            return self.cloud.refusal(headers, instance=False) or self.cloud.catalog()
        if not path.startswith(API_ROOT):
            return error("not_found", f"No route {method} {path}", 404)
        refusal = self.cloud.refusal(headers, instance=True)
        if refusal is not None:
            return refusal
        fault = self.faults.take(method, route)
        if fault is not None:
            return (
                None if fault.status is None else (fault.status, fault.body, dict(fault.headers))
            )
        return self.api.answer(method, route, args, query, body)
