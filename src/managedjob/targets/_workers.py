"""Jobs of in-process simulators run in worker processes, so this process stays responsive.

Qiskit Aer (and the fake devices built on it) holds the interpreter lock for
most of a job: while one runs in a thread, nothing else in the process runs,
not even the handler of a Ctrl-C. A :class:`WorkerPool` runs such jobs in a
few worker processes instead. Each worker is a fresh interpreter started
with ``python -m managedjob.targets._worker_main`` (not through
:mod:`multiprocessing`, which would import the user's main script again);
circuits go to it as QPY, the backend pickled (once per worker), and results
come back as dictionaries, made into :class:`~qiskit.result.Result` again
here. The worker runs ``backend.run(circuits, **run_config)`` exactly as it
would run here, so seeded runs give the same counts.

Workers are started when the first job needs one, in their own process
group (a Ctrl-C at the terminal reaches this process only), and stopped by
:meth:`WorkerPool.shutdown`: a job still queued or running then ends
``ERROR``, saying why. Cancelling a running job stops its worker (another
one is started for the next job).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import IO, Any, cast

from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.providers.exceptions import JobError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError
from qiskit.result import Result

from managedjob.targets._frames import read_frame, write_frame
from managedjob.targets.backend import BackendTarget

__all__ = ["WorkerJob", "WorkerPool", "WorkerTarget"]

#: How long :meth:`WorkerPool.shutdown` waits for each worker to end.
_REAP_SECONDS = 10.0
#: Why the jobs still queued or running end when the pool is shut down without a reason.
_SHUT_DOWN = "stopped before it finished: the worker processes were shut down"


def default_workers() -> int:
    """How many workers a pool has by default: one per core, at most four.

    A simulator parallelises one job over the cores by itself; a few jobs at
    once keep the cores busy between one job's end and the next one's start.
    """
    return max(1, min(4, os.cpu_count() or 1))


class WorkerJob(JobV1):
    """A job that a :class:`WorkerPool` runs in one of its worker processes.

    Its status is ``QUEUED`` until a worker takes it, ``RUNNING`` while it
    runs, then ``DONE`` (whatever the result says: a simulator's failed
    result is still a result, as with Aer's own jobs), ``ERROR`` (the run
    raised, the worker died or the pool was shut down) or ``CANCELLED``.

    Args:
        backend: The backend the job runs on (as the user passed it).
        pool: The pool that runs it.
        task: What the worker is sent, less the backend.
        backend_blob: The pickled backend and its key.
    """

    #: Its result is in this process once it is final: reading it costs nothing.
    result_is_local = True

    def __init__(
        self,
        backend: Any,
        pool: WorkerPool,
        task: tuple[bytes, Mapping[str, Any]],
        backend_blob: tuple[bytes, bytes],
    ) -> None:
        super().__init__(backend, str(uuid.uuid4()))
        self._pool = pool
        self._task = task
        self._backend_blob = backend_blob
        self._status = JobStatus.QUEUED
        self._error: str | None = None
        self._result: Result | None = None
        self._cancel_requested = False
        self._finishing = threading.Lock()
        # Running from the start: its end is always set_result (a Future
        # cancelled while pending wakes no one waiting in futures.wait()).
        self._future: Future[None] = Future()
        self._future.set_running_or_notify_cancel()

    def submit(self) -> None:
        """Not supported: the pool submitted the job when it was made.

        Raises:
            JobError: Always.
        """
        raise JobError(f"job {self.job_id()} was submitted when it was made")

    def status(self) -> JobStatus:
        """Return the job's status."""
        return self._status

    def done(self) -> bool:
        """Whether the job is final."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the job and return its result.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            JobTimeoutError: (Qiskit's) if the job is not final within ``timeout``.
            JobError: If the job failed or was cancelled: there is no result.
        """
        try:
            self._future.result(timeout)
        except TimeoutError as err:
            raise QiskitJobTimeoutError(
                f"job {self.job_id()} did not finish within {timeout} s"
            ) from err
        if self._result is None:
            raise JobError(f"job {self.job_id()} has no result: {self.error_message()}")
        return self._result

    def error_message(self) -> str | None:
        """Why the job has no result; ``None`` for a job that has one or is not final."""
        if self._status is JobStatus.CANCELLED:
            return "Cancelled."
        return self._error

    def cancel(self) -> bool:
        """Cancel the job: drop it from the queue, or stop the worker running it.

        Returns:
            Whether the job ends cancelled (``False`` if it was final already).
        """
        return self._pool._cancel(self)

    def _finish(self, status: JobStatus, result: Result | None, error: str | None) -> None:
        """Make the job final (once): the status first, then the future for waiters."""
        with self._finishing:
            if self._future.done():
                return
            self._result = result
            self._error = error
            self._status = status
            self._future.set_result(None)


class _Worker:
    """One worker process and the thread that feeds it jobs, one at a time."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        self._pool = pool
        self.process: subprocess.Popen[bytes] | None = None
        self.job: WorkerJob | None = None
        self._known: set[bytes] = set()
        self.thread = threading.Thread(
            target=self._serve, name=f"managedjob-worker-{number}", daemon=True
        )

    def _start(self) -> subprocess.Popen[bytes]:
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True  # the terminal's Ctrl-C is not for it
        self._known = set()
        return subprocess.Popen(
            [sys.executable, "-m", "managedjob.targets._worker_main", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            **kwargs,
        )

    def stop(self) -> None:
        """Kill the worker process, if there is one (its job's thread sees it end)."""
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()

    def _reap(self) -> None:
        """Wait for a stopped worker process and close its pipes (in this worker's thread)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # the other end is gone: nothing to flush
                    pipe.close()

    def _serve(self) -> None:
        try:
            while True:
                job = self._pool._next_job(self)
                if job is None:
                    return
                self._run(job)
        finally:
            self._reap()

    def _run(self, job: WorkerJob) -> None:
        try:
            # Under the pool's lock: a cancel either comes first (and is seen
            # here) or finds the process to stop.
            with self._pool._lock:
                if job._cancel_requested:  # cancelled as a worker took it
                    process = None
                else:
                    process = self.process
                    if process is None or process.poll() is not None:
                        process = self.process = self._start()
            if process is None:
                self._pool._ended(self, job, None, None)
                return
            key, blob = job._backend_blob
            circuits, run_config = job._task
            sent = None if key in self._known else blob
            task = pickle.dumps((key, sent, circuits, dict(run_config)))
            write_frame(cast(IO[bytes], process.stdin), task)
            self._known.add(key)
            frame = read_frame(cast(IO[bytes], process.stdout))
        except Exception as err:  # the worker would not start, or died while sent to
            self._reap()
            self._pool._ended(self, job, None, f"{type(err).__name__}: {err}")
            return
        if frame is None:  # the worker died: killed (cancel, shutdown) or crashed
            process.wait()
            code = process.returncode
            self._reap()
            self._pool._ended(self, job, None, None, code)
            return
        self._pool._ended(self, job, pickle.loads(frame), None)


class WorkerPool:
    """Worker processes that run the jobs of in-process simulators.

    Use it as a context manager, or call :meth:`shutdown` when done: the
    workers are stopped then, and jobs not final yet end ``ERROR``.

    Args:
        workers: How many jobs run at once at most, each in its own process;
            by default one per core, at most four.

    Raises:
        ValueError: If ``workers`` is not a positive integer.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:
            workers = default_workers()
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, not {workers!r}")
        self._size = workers
        self._lock = threading.Condition()
        self._queue: deque[WorkerJob] = deque()
        self._workers: list[_Worker] = []
        self._idle = 0
        self._closed: str | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    @property
    def workers(self) -> int:
        """How many jobs run at once at most."""
        return self._size

    def submit(
        self,
        backend: Any,
        circuits: Sequence[QuantumCircuit],
        run_config: Mapping[str, Any],
        backend_blob: tuple[bytes, bytes] | None = None,
    ) -> WorkerJob:
        """Queue ``backend.run(circuits, **run_config)`` for a worker.

        Args:
            backend: A picklable backend.
            circuits: The circuits; they must be QPY-serialisable.
            run_config: The run options, picklable.
            backend_blob: ``backend`` pickled, and a key for it, as
                :func:`pickle_backend` makes them (made here if not given).

        Returns:
            The job, queued.

        Raises:
            RuntimeError: If the pool was shut down.
        """
        buffer = io.BytesIO()
        qpy.dump(list(circuits), buffer)
        blob = backend_blob if backend_blob is not None else pickle_backend(backend)
        job = WorkerJob(backend, self, (buffer.getvalue(), dict(run_config)), blob)
        with self._lock:
            if self._closed is not None:
                raise RuntimeError("the worker pool was shut down: it takes no more jobs")
            self._queue.append(job)
            if self._idle:
                self._lock.notify()
            elif len(self._workers) < self._size:
                worker = _Worker(self, len(self._workers))
                self._workers.append(worker)
                worker.thread.start()
        return job

    def shutdown(self, reason: str | None = None) -> None:
        """Stop the workers; queued and running jobs end ``ERROR`` with ``reason``.

        Args:
            reason: Why those jobs did not finish, as their error message says.
        """
        with self._lock:
            if self._closed is None:
                self._closed = reason or _SHUT_DOWN
            queued = list(self._queue)
            self._queue.clear()
            workers = list(self._workers)
            self._lock.notify_all()
        for worker in workers:
            running = worker.job
            worker.stop()
            if running is not None:
                running._finish(JobStatus.ERROR, None, self._closed)
        for job in queued:
            job._finish(JobStatus.ERROR, None, self._closed)
        for worker in workers:  # they reap their processes on the way out
            if worker.thread is not threading.current_thread():
                worker.thread.join(_REAP_SECONDS)

    def _next_job(self, worker: _Worker) -> WorkerJob | None:
        with self._lock:
            while not self._queue and self._closed is None:
                self._idle += 1
                try:
                    self._lock.wait()
                finally:
                    self._idle -= 1
            if self._closed is not None:
                return None
            job = worker.job = self._queue.popleft()
            job._status = JobStatus.RUNNING
            return job

    def _cancel(self, job: WorkerJob) -> bool:
        with self._lock:
            if job.done():
                return False
            job._cancel_requested = True
            if job in self._queue:
                self._queue.remove(job)
                job._finish(JobStatus.CANCELLED, None, None)
                return True
            running = [w for w in self._workers if w.job is job]
        for worker in running:
            worker.stop()
        job._finish(JobStatus.CANCELLED, None, None)  # stopped: final now, not when seen
        return True

    def _ended(
        self,
        worker: _Worker,
        job: WorkerJob,
        reply: tuple[str, Any] | None,
        error: str | None,
        exit_code: int | None = None,
    ) -> None:
        with self._lock:
            worker.job = None
            closed = self._closed
        if job._cancel_requested:
            job._finish(JobStatus.CANCELLED, None, None)
        elif reply is not None and reply[0] == "ok":
            data = dict(reply[1])
            data["job_id"] = job.job_id()
            job._finish(JobStatus.DONE, Result.from_dict(data), None)
        elif reply is not None:
            job._finish(JobStatus.ERROR, None, str(reply[1]))
        elif closed is not None:
            job._finish(JobStatus.ERROR, None, closed)
        else:
            job._finish(
                JobStatus.ERROR,
                None,
                error or f"the worker process running the job ended (exit code {exit_code})",
            )


def pickle_backend(backend: Any) -> tuple[bytes, bytes]:
    """Return ``backend`` pickled, and a key that names those bytes.

    Raises:
        TypeError: If the backend cannot be pickled.
    """
    try:
        blob = pickle.dumps(backend, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:
        raise TypeError(f"backend {backend!r} cannot be sent to a worker process: {err}") from err
    return hashlib.sha256(blob).digest(), blob


class WorkerTarget(BackendTarget):
    """A :class:`BackendTarget` whose jobs run in the worker processes of a :class:`WorkerPool`.

    Options are checked and limits read on the backend here, as for
    :class:`BackendTarget`; ``backend.run`` is called in a worker.

    Args:
        backend: A picklable backend whose jobs compute in-process (Aer,
            ``BasicSimulator``, a fake device).
        pool: The pool that runs the jobs.
        max_experiments: A limit on circuits per job below the backend's own.

    Raises:
        InvalidInputError: If ``backend`` has no ``run`` method.
        TypeError: If ``backend`` cannot be pickled.
    """

    def __init__(
        self, backend: object, pool: WorkerPool, *, max_experiments: int | None = None
    ) -> None:
        super().__init__(backend, max_experiments=max_experiments)
        self._pool = pool
        self._blob = pickle_backend(backend)

    @property
    def pool(self) -> WorkerPool:
        """The pool that runs the jobs."""
        return self._pool

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        """Queue the circuits for a worker; the job is returned at once."""
        kwargs = self._run_kwargs(run_config, job_name, job_tags)
        return self._pool.submit(self._backend, circuits, kwargs, self._blob)
