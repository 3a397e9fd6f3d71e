"""The journal's writer: one thread that commits a journal's writes, in order, in batches."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from managedjob._journal._store import JournalStore

__all__ = ["Apply", "Prepare", "Writer"]

_WRITER_IDLE_SECONDS = 1.0
_MAX_BATCH = 256
# A batch stops taking writes once preparing them (QPY, JSON) has taken this
# long: small writes share a commit, a large one is committed on its own.
_BATCH_PREPARE_SECONDS = 0.005

Apply = Callable[[sqlite3.Connection], None]
"""A write: runs inside the writer's transaction, in a savepoint of its own."""
Prepare = Callable[[], Apply]
"""Prepares a write outside any transaction (serialising), and returns it."""


class Writer:
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
    slice or attempt, and the row of a new job set. Writes of job ids are
    *first*: ahead of the urgent ones too, so that a thread that waits for
    its job's id to be committed does not wait for the circuits of every
    slice queued before it. Among themselves, and among the others, writes
    keep their order.
    """

    def __init__(self, store: JournalStore) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._queue: deque[tuple[Prepare, Future[None]]] = deque()
        self._urgent: deque[tuple[Prepare, Future[None]]] = deque()
        self._first: deque[tuple[Prepare, Future[None]]] = deque()
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None

    def submit(
        self, prepare: Prepare, *, urgent: bool = False, first: bool = False
    ) -> Future[None]:
        """Queue a write; the future is done once it is committed, or failed.

        ``first`` goes ahead of the urgent writes (see the class docstring).
        """
        future: Future[None] = Future()
        queue = self._first if first else self._urgent if urgent else self._queue
        with self._cond:
            queue.append((prepare, future))
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="managedjob-journal", daemon=True)
                try:
                    thread.start()
                except RuntimeError as err:  # interpreter shutting down
                    queue.pop()
                    future.set_exception(self._store.write_error(err))
                    return future
                self._thread = thread
            self._cond.notify_all()
        return future

    def flush(self, timeout: float | None) -> bool:
        """Wait until nothing is queued or being written; return whether that happened in time."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        return not self._queue and not self._urgent and not self._first and not self._busy

    def stop(self, timeout: float | None) -> None:
        """Stop the thread once the queue is empty; a later write starts it again."""
        with self._cond:
            thread = self._thread
            self._stop = True
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

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
        return bool(self._queue or self._urgent or self._first)

    def _prepare_batch(self) -> list[tuple[Apply, Future[None]]]:
        """Take and prepare the next writes, urgent ones first (see the class docstring)."""
        ready: list[tuple[Apply, Future[None]]] = []
        deadline = time.perf_counter() + _BATCH_PREPARE_SECONDS
        for _ in range(_MAX_BATCH):
            with self._cond:
                queue = self._first or self._urgent or self._queue
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
        self, conn: sqlite3.Connection | None, ready: list[tuple[Apply, Future[None]]]
    ) -> sqlite3.Connection | None:
        if not ready:
            return conn
        committed: list[Future[None]] = []
        try:
            if conn is None:
                conn = self._store.connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for apply, future in ready:
                    conn.execute("SAVEPOINT journal_write")
                    try:
                        apply(conn)
                    except Exception as err:
                        conn.execute("ROLLBACK TO journal_write")
                        conn.execute("RELEASE journal_write")
                        future.set_exception(self._store.write_error(err))
                    else:
                        conn.execute("RELEASE journal_write")
                        committed.append(future)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except Exception as err:
            error = self._store.write_error(err)
            for _, future in ready:
                if not future.done():
                    future.set_exception(error)
            if conn is not None:
                conn.close()
            return None
        for future in committed:
            future.set_result(None)
        return conn
