"""Runs the service's jobs one at a time, in the order they were created, on a thread."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from ._state import Job, ServiceState, now, run_pubs


class JobRunner:
    """Takes queued jobs in order: ``Queued``, then ``Running``, then final.

    Args:
        state: The service's state; the runner takes its lock to change a job.
        run_time: Seconds each job stays ``Running``.
    """

    def __init__(self, state: ServiceState, run_time: float = 0.0) -> None:
        self.state = state
        self.run_time = run_time
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._held = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._work, name="loopback-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._queue.put(None)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def put(self, job: Job) -> None:
        self._queue.put(job)

    def hold(self) -> None:
        """Keep new and queued jobs ``Queued`` until :meth:`release`."""
        self._held.set()

    def release(self) -> None:
        self._held.clear()

    def _work(self) -> None:
        while not self._stopped.is_set():
            job = self._queue.get()
            if job is None:
                return
            while self._held.is_set() and not self._stopped.is_set():
                time.sleep(0.005)
            with self.state.lock:
                if job.status != "Queued":  # cancelled meanwhile
                    continue
                job.status, job.running = "Running", now()
            if self.run_time:
                time.sleep(self.run_time)
            outcome = self._outcome(job)
            with self.state.lock:
                if job.status == "Running":  # not cancelled meanwhile
                    for name, value in outcome.items():
                        setattr(job, name, value)
                    job.finished = now()

    def _outcome(self, job: Job) -> dict[str, Any]:
        if job.failure is None:
            return run_pubs(self.state.devices[job.backend], job)
        code, reason, status = job.failure
        return {
            "status": status,
            "result_text": f"Error code {code}; {reason}",
            "reason": reason,
            "reason_code": code,
            "quantum_seconds": 1.0,
        }
