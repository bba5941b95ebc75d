"""The metadata database: engine set-up for SQLite and PostgreSQL, and migrations.

SQLite runs in WAL mode so the CLI can write while the server reads; write
transactions start with BEGIN IMMEDIATE so two writers queue on the lock instead of
failing on upgrade; reads run in autocommit, each statement its own snapshot.

On PostgreSQL the database is a server that may be down or restarting: every way in
(`first`, `read`, `write`, `transact`) turns "cannot reach it" (connection refused or
lost, the server shutting down, no pooled connection within the pool timeout) into
`errors.Unavailable`, which front ends answer with 503, and logs it on one
rate-limited line. The pool pings a connection before handing it out, so after a
restart stale connections are replaced, not handed to requests.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cumulo import errors
from cumulo.metadata.group_commit import GroupCommitter
from cumulo.metadata.hot import DriverRows, Rows
from cumulo.metadata.locks import FileLock

MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock (a bigint of our choosing) held for start-up work.
SETUP_LOCK_ID = 0x63756D756C6F  # "cumulo"
# While the database is down every request fails: one log line per this many seconds.
OUTAGE_LOG_SECONDS = 5.0
T = TypeVar("T")
log = logging.getLogger("cumulo.metadata")


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        pool_timeout: float = 10.0,
        connect_timeout: int = 5,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._local = threading.local()
        self._statements: dict[Executable, tuple[str, list[str], Any]] = {}
        if self.is_sqlite:
            self.engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=16,
                pool_use_lifo=True,
                connect_args={"timeout": 30},
            )
            _configure_sqlite(self.engine)
            self._file_lock = FileLock(Path(url.removeprefix("sqlite:///") + ".lock"))
            self._group = GroupCommitter(self._locked_begin)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            # Bounded waits, so a request meets an outage as an error, not a hang: for
            # a pooled connection (all busy), and for a new one (a host that drops
            # packets instead of refusing).
            self.engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=16,
                pool_pre_ping=True,
                pool_timeout=pool_timeout,
                connect_args={"connect_timeout": connect_timeout},
            )
        self._outage = _OutageLog()

    @property
    def reads_inline(self) -> bool:
        """Point reads are cheap enough to run on the caller's thread (SQLite: local,
        never waits for writers in WAL mode); elsewhere they are network round trips."""
        return self.is_sqlite

    def first(self, statement: Executable, params: dict[str, Any]) -> Any:
        """The first row of a fixed statement with bound parameters, or None.

        On SQLite this skips SQLAlchemy's per-call machinery (connection checkout,
        cache-key generation, result wrapping: ~80 µs) for the plain driver on a
        per-thread connection (~5 µs): it is the object data path's hot query."""
        if not self.is_sqlite:
            with self.read() as conn:
                return conn.execute(statement, params).first()
        sql, names, row_type = self.compiled(statement)
        cursor = self._thread_connection().execute(sql, [params[name] for name in names])
        row = cursor.fetchone()
        return None if row is None else row_type._make(row)

    def execute(self, conn: Connection, statement: Executable, params: dict[str, Any]) -> Rows:
        """Runs a fixed statement inside `conn`'s transaction. On SQLite it goes to the
        plain driver (the write path's statements: SQLAlchemy's per-call work was most
        of a group commit's CPU); elsewhere through SQLAlchemy."""
        if not self.is_sqlite:
            return conn.execute(statement, params)
        sql, names, row_type = self.compiled(statement)
        raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        return DriverRows(raw.execute(sql, [params[name] for name in names]), row_type)

    def compiled(self, statement: Executable) -> tuple[str, list[str], Any]:
        found = self._statements.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self.engine.dialect)  # type: ignore[attr-defined]
            names = list(compiled.positiontup or [])
            selected = getattr(statement, "selected_columns", None) or []
            columns = [str(c.key) for c in selected]
            found = (str(compiled), names, collections.namedtuple("Row", columns))
            self._statements[statement] = found
        return found

    def _thread_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
            conn.isolation_level = None  # autocommit: each read its own snapshot
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        if self.is_sqlite:
            with self.engine.connect() as conn:
                # The driver is in autocommit already; "begin" below skips BEGIN.
                yield conn.execution_options(cumulo_read=True)
            return
        with self.reachable(), self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        if self.is_sqlite:
            with self._locked_begin() as conn:
                yield conn
        else:
            with self.reachable(), self.engine.begin() as conn:
                yield conn

    @contextlib.contextmanager
    def reachable(self) -> Iterator[None]:
        """Turns the driver's "cannot reach the server" errors raised inside into
        `errors.Unavailable` (PostgreSQL; nested uses translate once)."""
        try:
            yield
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            # psycopg's OperationalError is the server's state, not the statement's:
            # connection failures (class 08), the server shutting down or restarting
            # (57P01-57P03), too many connections (53300), a statement timeout or an
            # exhausted serialization retry. SQLAlchemy has dropped a lost connection
            # from the pool already. All are worth a retry, none is the client's fault.
            self._outage.note(exc)
            raise errors.Unavailable() from None

    @contextlib.contextmanager
    def _locked_begin(self) -> Iterator[Connection]:
        # Writers of every process queue on the lock file (a kernel wait) rather
        # than in SQLite's busy handler (sleep-and-poll).
        with self._file_lock.held(), self.engine.begin() as conn:
            yield conn

    def transact(self, work: Callable[[Connection], T], *, attempts: int = 5) -> T:
        """Runs `work` in a write transaction, retrying on serialization conflicts.
        On SQLite, concurrent callers share one transaction and one commit (group
        commit); each still sees only its own work undone if it fails."""
        if self.is_sqlite:
            result: T = self._group.run(work)
            return result
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except IntegrityError:
                raise
            except (OperationalError, DBAPIError) as exc:
                if attempt < attempts - 1 and _is_retryable(exc):
                    time.sleep(0.01 * (attempt + 1))
                    continue
                with self.reachable():
                    raise
            except PoolTimeout:
                with self.reachable():
                    raise
        raise AssertionError("unreachable")

    async def transact_async(self, work: Callable[[Connection], T]) -> T:
        """`transact` for a coroutine. On SQLite the work joins the group commit
        without a thread of its own; elsewhere it runs in a thread."""
        if self.is_sqlite:
            result: T = await self._group.run_async(work)
            return result
        return await asyncio.to_thread(self.transact, work)

    @contextlib.contextmanager
    def setup_lock(self) -> Iterator[None]:
        """Held across one node's start-up work (migrations, cluster keys, first
        admin), so nodes started together on an empty database do it once: on
        PostgreSQL a session advisory lock (`pg_advisory_lock`), held by a connection
        of its own; on SQLite a file lock beside the database."""
        if self.is_sqlite:
            with FileLock(Path(self.url.removeprefix("sqlite:///") + ".setup.lock")).held():
                yield
            return
        with self.reachable(), self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": SETUP_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": SETUP_LOCK_ID})

    def migrate(self) -> None:
        """Brings the schema to the newest revision (a no-op when it is there)."""
        # Imported here: alembic (with mako and pygments) costs a worker ~12 MiB, and
        # workers never migrate.
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.engine.begin() as conn:
            head = ScriptDirectory.from_config(_alembic_config(conn)).get_current_head()
            current = MigrationContext.configure(conn).get_current_revision()
            if current == head:
                return
            command.upgrade(_alembic_config(conn), "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _is_retryable(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in ("database is locked", "deadlock", "could not serialize", "busy")
    )


class _OutageLog:
    """One warning line per `OUTAGE_LOG_SECONDS` while the database is unreachable,
    counting the failures in between, instead of one traceback per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -OUTAGE_LOG_SECONDS
        self._quiet = 0

    def note(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < OUTAGE_LOG_SECONDS:
                self._quiet += 1
                return
            quiet, self._quiet, self._last = self._quiet, 0, now
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        more = f" ({quiet} more failures since the last line)" if quiet else ""
        log.warning("the metadata database is unreachable: %s%s", first, more)


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver; "begin" below issues it.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("cumulo_read"):
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE")
