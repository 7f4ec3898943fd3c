"""``SQLiteSink``: the embedded ledger, a real SQLite database that every report reads.

WAL mode, one committed transaction per record (a process killed with SIGKILL loses nothing it
committed), a busy timeout so several processes can share one file, and a schema versioned with
``PRAGMA user_version`` and upgraded in place by :data:`MIGRATIONS`. Money is stored as exact
decimal text (never a float); the token counts reports group by have columns of their own, and
the whole record is kept so nothing is lost to the schema.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from costwrap._errors import CostwrapError
from costwrap._record import CostRecord, Usage, decimal_text
from costwrap._time import from_us, to_us

SCHEMA_VERSION = 1
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            timestamp_us INTEGER NOT NULL,  -- when the request started: microseconds since 1970, UTC
            provider TEXT NOT NULL,
            operation TEXT NOT NULL,
            model TEXT,
            request_model TEXT,
            priced_as TEXT,
            cost TEXT,                      -- exact decimal USD; NULL when unpriced (never 0)
            input_tokens INTEGER,
            output_tokens INTEGER,
            cache_read_tokens INTEGER,
            cache_write_tokens INTEGER,
            reasoning_tokens INTEGER,
            usage TEXT,                     -- the whole Usage as JSON; NULL when unknown
            breakdown TEXT NOT NULL,        -- JSON object of decimal strings
            stream INTEGER NOT NULL,
            estimated INTEGER NOT NULL,
            batch INTEGER NOT NULL,
            latency_s REAL NOT NULL,
            service_tier TEXT,
            request_id TEXT,
            price_source TEXT,
            tags TEXT NOT NULL,             -- JSON object
            notes TEXT NOT NULL             -- JSON array
        )""",
        "CREATE INDEX records_by_time ON records (timestamp_us)",
        "CREATE INDEX records_by_model ON records (model, timestamp_us)",
        """CREATE TABLE record_tags (
            record_id INTEGER NOT NULL REFERENCES records (id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (record_id, key)
        ) WITHOUT ROWID""",
        "CREATE INDEX record_tags_by_tag ON record_tags (key, value)",
    ),
}

_INSERT = """INSERT INTO records (
    timestamp_us, provider, operation, model, request_model, priced_as, cost, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, usage, breakdown, stream, estimated, batch, latency_s,
    service_tier, request_id, price_source, tags, notes
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


class LedgerError(CostwrapError):
    """A ledger file that costwrap cannot use (a newer schema, or not a costwrap ledger)."""


def connect(path: str | os.PathLike[str], *, synchronous: str = "NORMAL", create: bool = True) -> sqlite3.Connection:
    """Open a ledger, creating or upgrading its schema; WAL mode, autocommit, busy timeout."""
    path = Path(path)
    if not create and not path.exists():
        raise LedgerError(f"{path}: no such ledger")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not create and not path.is_file():
        raise LedgerError(f"{path}: not a file")
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: cannot open the ledger ({exc})") from None
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise LedgerError(f"{path}: not a costwrap ledger ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"{path}: ledger schema {version} is newer than this costwrap's ({SCHEMA_VERSION}); upgrade costwrap"
        )
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise LedgerError(f"{path}: a SQLite database, but not a costwrap ledger")
    conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see the new version
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[step]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _row(record: CostRecord) -> tuple[Any, ...]:
    usage = record.usage
    return (
        to_us(record.timestamp),
        record.provider,
        record.operation,
        record.model,
        record.request_model,
        record.priced_as,
        None if record.cost is None else decimal_text(record.cost),
        None if usage is None else usage.input_tokens,
        None if usage is None else usage.output_tokens,
        None if usage is None else usage.cache_read_tokens,
        None if usage is None else usage.cache_write_tokens,
        None if usage is None else usage.reasoning_tokens,
        None if usage is None else json.dumps(usage.to_dict(), separators=(",", ":")),
        json.dumps({k: decimal_text(v) for k, v in record.breakdown.items()}, separators=(",", ":")),
        int(record.stream),
        int(record.estimated),
        int(record.batch),
        record.latency_s,
        record.service_tier,
        record.request_id,
        record.price_source,
        json.dumps(dict(record.tags), ensure_ascii=False, separators=(",", ":")),
        json.dumps(list(record.notes), ensure_ascii=False, separators=(",", ":")),
    )


class SQLiteSink:
    """Write every record to a SQLite ledger file (created, or upgraded, on first use).

    Safe from many threads (one connection, serialised) and many processes (WAL, busy timeout).
    Each record is its own committed transaction: what was committed survives the process being
    killed. ``synchronous="FULL"`` also survives power loss, at the cost of an fsync per record.

    >>> import costwrap, tempfile, os
    >>> ledger = costwrap.sinks.SQLiteSink(os.path.join(tempfile.mkdtemp(), "costs.db"))
    >>> costwrap.add_sink(ledger)
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "NORMAL") -> None:
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("synchronous must be OFF, NORMAL, FULL or EXTRA")
        self.path = Path(path)
        self.synchronous = synchronous.upper()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # never reuse a connection across fork()
            self._conn = connect(self.path, synchronous=self.synchronous)
            self._pid = os.getpid()
        return self._conn

    def __call__(self, record: CostRecord) -> None:
        """Append ``record`` (and its tags) in one committed transaction."""
        row = _row(record)
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                record_id = conn.execute(_INSERT, row).lastrowid
                if record.tags:
                    conn.executemany(
                        "INSERT INTO record_tags (record_id, key, value) VALUES (?, ?, ?)",
                        [(record_id, k, v) for k, v in record.tags.items()],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection (it is reopened on the next record)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"SQLiteSink({str(self.path)!r})"


def usage_from_json(text: str | None) -> Usage | None:
    """A ledger's ``usage`` column back as a :class:`~costwrap.Usage` (``None`` when unknown)."""
    if text is None:
        return None
    data = json.loads(text)
    by_ttl = data.pop("cache_write_by_ttl", None) or {}
    known = {k: v for k, v in data.items() if k in Usage.__dataclass_fields__}
    return Usage(**known, cache_write_by_ttl=MappingProxyType(by_ttl))


def read_records(
    path: str | os.PathLike[str], *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[CostRecord]:
    """The records of a ledger in time order, rebuilt as :class:`CostRecord` (exact Decimals)."""
    conn = connect(path, create=False)
    try:
        query = "SELECT * FROM records"
        clauses, params = [], []
        if since is not None:
            clauses.append("timestamp_us >= ?")
            params.append(to_us(since))
        if until is not None:
            clauses.append("timestamp_us < ?")
            params.append(to_us(until))
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        cursor = conn.execute(query + " ORDER BY timestamp_us, id", params)
        names = [d[0] for d in cursor.description]
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            yield CostRecord(
                provider=row["provider"],
                model=row["model"],
                request_model=row["request_model"],
                operation=row["operation"],
                usage=usage_from_json(row["usage"]),
                cost=None if row["cost"] is None else Decimal(row["cost"]),
                breakdown=MappingProxyType({k: Decimal(v) for k, v in json.loads(row["breakdown"]).items()}),
                stream=bool(row["stream"]),
                estimated=bool(row["estimated"]),
                latency_s=row["latency_s"],
                timestamp=from_us(row["timestamp_us"]),
                tags=MappingProxyType(json.loads(row["tags"])),
                request_id=row["request_id"],
                price_source=row["price_source"],
                priced_as=row["priced_as"],
                service_tier=row["service_tier"],
                batch=bool(row["batch"]),
                notes=tuple(json.loads(row["notes"])),
            )
    finally:
        conn.close()
