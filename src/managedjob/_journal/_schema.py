"""The journal's schema: its tables, its version, and the migrations between versions.

``PRAGMA user_version`` is the schema version; a ``meta`` table holds the
application marker, so that another application's SQLite file is never
taken for a journal. Each migration upgrades the schema by one version, in
the transaction that opens the file; a new journal runs them all.
"""

from __future__ import annotations

import sqlite3

__all__ = ["APPLICATION", "SCHEMA_VERSION", "apply_migrations"]

SCHEMA_VERSION = 4
"""The journal schema this version of managedjob writes."""
APPLICATION = "managedjob-journal"
"""The application marker in the ``meta`` table of every journal."""

# Each item upgrades the schema by one version; a new journal runs them all.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: one job per slice, kept on the slice.
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE job_sets (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            tags TEXT NOT NULL,
            created_at REAL NOT NULL,
            target TEXT NOT NULL,
            run_config TEXT NOT NULL,
            experiments INTEGER NOT NULL)""",
        """CREATE TABLE slices (
            set_id TEXT NOT NULL REFERENCES job_sets (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start_index INTEGER NOT NULL,
            end_index INTEGER NOT NULL,
            circuits BLOB,
            job_name TEXT,
            job_id TEXT,
            status TEXT,
            result BLOB,
            PRIMARY KEY (set_id, idx))""",
    ),
    # 1 -> 2: every submission of a slice is an attempt of its own (retries),
    # with its submit error, failure text and times; slices keep their
    # experiments' names and why their circuits could not be stored.
    (
        "ALTER TABLE job_sets ADD COLUMN unsaved_options TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE job_sets ADD COLUMN max_resubmits INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE slices_v2 (
            set_id TEXT NOT NULL REFERENCES job_sets (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            start_index INTEGER NOT NULL,
            end_index INTEGER NOT NULL,
            names TEXT NOT NULL DEFAULT '[]',
            circuits BLOB,
            circuits_error TEXT,
            PRIMARY KEY (set_id, idx))""",
        """INSERT INTO slices_v2 (set_id, idx, start_index, end_index, circuits)
            SELECT set_id, idx, start_index, end_index, circuits FROM slices""",
        """CREATE TABLE attempts (
            set_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            job_name TEXT,
            job_id TEXT,
            submitted_at REAL,
            submit_error TEXT,
            status TEXT,
            error TEXT,
            result BLOB,
            finished_at REAL,
            PRIMARY KEY (set_id, idx, attempt),
            FOREIGN KEY (set_id, idx) REFERENCES slices (set_id, idx) ON DELETE CASCADE)""",
        """INSERT INTO attempts (set_id, idx, attempt, job_name, job_id, status, result)
            SELECT set_id, idx, 0, job_name, job_id, status, result FROM slices
            WHERE job_name IS NOT NULL OR job_id IS NOT NULL OR result IS NOT NULL""",
        "DROP TABLE slices",
        "ALTER TABLE slices_v2 RENAME TO slices",
        "CREATE INDEX job_sets_created_at ON job_sets (created_at)",
    ),
    # 2 -> 3: what a set's slices hold (the codec its slices and results use);
    # every set written before is one of circuits.
    ("ALTER TABLE job_sets ADD COLUMN workload TEXT NOT NULL DEFAULT 'circuits'",),
    # 3 -> 4: the process an in-process simulator's job computes in
    # (``host:pid:start``), so that a job whose process ended is known lost.
    ("ALTER TABLE attempts ADD COLUMN runner TEXT",),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def apply_migrations(conn: sqlite3.Connection, start: int, stop: int) -> None:
    """Run the migrations from schema ``start`` to ``stop`` in the open transaction."""
    for version in range(start, stop):
        for statement in _MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {int(stop)}")
