"""One ``ingest run --embedded`` per database: the embedded mode's claim, held for its life.

Two embedded processes on one database stay correct (the fence) but fence each other's bursts
out in turn, so the second refuses at start instead. ``ingest tick`` takes the claim shared: it
refuses while an embedded run holds the database, and a run refuses to start during a tick.
SQLite: an ``flock`` on a lock file next to the database file (released by the kernel when the
process dies, however it dies).
PostgreSQL: a session-level advisory lock on a dedicated connection (released with the session).
"""

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from catalog_ingest.contracts.errors import UserError

ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"catalog-ingest:embedded").digest()[:8], signed=True)
"""The PostgreSQL advisory lock's key (advisory locks are per database)."""


class DatabaseInUseError(UserError):
    """Another embedded run holds the database."""


def _refuse(name: str, holder: str = "", *, shared: bool = False) -> DatabaseInUseError:
    if shared:
        return DatabaseInUseError(
            f"database {name} is in use by `ingest run --embedded`{holder}, which runs its "
            "providers' steps itself; stop it first to run one by hand"
        )
    also = "" if holder else " or `ingest tick`"
    return DatabaseInUseError(
        f"database {name} is in use by another `ingest run --embedded`{holder}{also}; "
        "stop it first (one embedded run per database)"
    )


def lock_file(database_file: Path) -> Path:
    """The lock file next to a SQLite file (SQLite's own locks stay untouched)."""
    resolved = database_file.resolve()
    return resolved.with_name(resolved.name + ".embedded-lock")


@contextmanager
def _file_claim(database_file: Path, shared: bool) -> Iterator[None]:
    path = lock_file(database_file)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip()
            holder = f" (pid {pid})" if pid else ""
            raise _refuse(str(database_file.resolve()), holder, shared=shared) from None
        if not shared:  # the embedded run names itself for whoever it refuses
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        try:
            yield
        finally:
            if not shared:
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_claim(database: Engine, shared: bool) -> Iterator[None]:
    suffix = "_shared" if shared else ""
    with database.connect() as connection:
        query = text(f"SELECT pg_try_advisory_lock{suffix}(:key)")
        if not connection.execute(query, {"key": ADVISORY_KEY}).scalar():
            raise _refuse(database.url.render_as_string(hide_password=True), shared=shared)
        try:
            yield
        finally:
            unlock = text(f"SELECT pg_advisory_unlock{suffix}(:key)")
            connection.execute(unlock, {"key": ADVISORY_KEY})


@contextmanager
def embedded_claim(database: Engine, *, shared: bool = False) -> Iterator[None]:
    """Hold the database for this process, or raise :class:`DatabaseInUseError` (exit 2).

    ``shared``: a step run by hand (``ingest tick``). Any number of those hold the claim
    together, but none while an embedded run holds it (whose in-process lock a tick cannot
    see: the step would fence the run's burst out), and an embedded run cannot start meanwhile.
    """
    if database.dialect.name != "sqlite":
        with _advisory_claim(database, shared):
            yield
        return
    name = database.url.database
    if not name or name == ":memory:":
        yield  # private to this process
        return
    with _file_claim(Path(name), shared):
        yield
