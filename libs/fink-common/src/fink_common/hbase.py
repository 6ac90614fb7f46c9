"""HBase over Thrift with happybase: a connection pool, idempotent batched puts, table creation.

Every call here is an I/O edge, so it is wrapped in the tenacity policy of `fink_common.retry`.
Puts are upserts keyed by rowkey: a replayed micro-batch rewrites the same cells and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import happybase
from thriftpy2.transport import TTransportException

from fink_common.config import HBaseConfig
from fink_common.errors import ServiceUnavailableError
from fink_common.retry import io_retry

__all__ = ["HBaseClient", "Row"]

#: rowkey -> {b"family:qualifier": value}
Row = tuple[bytes, Mapping[bytes, bytes]]

_IO_ERRORS = (TTransportException, ConnectionError, OSError, TimeoutError, BrokenPipeError)


class HBaseClient:
    """A small facade over a happybase pool, with retries at each call."""

    def __init__(self, config: HBaseConfig, *, pool_size: int = 2, timeout_ms: int = 60_000) -> None:
        self.config = config
        self._pool_size = pool_size
        self._timeout_ms = timeout_ms
        self._pool: happybase.ConnectionPool | None = None
        self._pool_lock = threading.Lock()

    def _connection_pool(self) -> happybase.ConnectionPool:
        """The pool, made on first use: happybase opens its first connection in the pool's constructor, so
        making it here (inside `connection`, under each call's retries) lets a client be created, e.g. by a
        Spark task, while HBase is down, and wait for it like any other call instead of failing at once."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = happybase.ConnectionPool(
                    size=self._pool_size,
                    host=self.config.host,
                    port=self.config.port,
                    timeout=self._timeout_ms,
                    table_prefix=self.config.table_prefix or None,
                    table_prefix_separator=b"_",
                )
            return self._pool

    @contextmanager
    def connection(self) -> Iterator[happybase.Connection]:
        try:
            with self._connection_pool().connection() as conn:
                yield conn
        except _IO_ERRORS as exc:
            raise ServiceUnavailableError(
                f"HBase Thrift server at {self.config.host}:{self.config.port} failed: {exc!r}"
            ) from exc

    @io_retry()
    def tables(self) -> list[str]:
        with self.connection() as conn:
            return sorted(t.decode() for t in conn.tables())

    @io_retry()
    def ensure_table(self, name: str, families: Iterable[str], *, max_versions: int = 1) -> bool:
        """Create the table when missing; returns True if it was created. Idempotent."""
        with self.connection() as conn:
            existing = {t.decode() for t in conn.tables()}
            if name in existing:
                return False
            conn.create_table(name, {family: {"max_versions": max_versions} for family in families})
            return True

    @io_retry()
    def delete_table(self, name: str) -> None:
        with self.connection() as conn:
            if name.encode() in conn.tables():
                conn.delete_table(name, disable=True)

    @io_retry()
    def put_rows(self, table: str, rows: Iterable[Row], *, batch_size: int = 500) -> int:
        """Upsert rows in batches; the whole call is retried on I/O failure (puts are idempotent)."""
        materialised = list(rows)
        with self.connection() as conn:
            with conn.table(table).batch(batch_size=batch_size) as batch:
                for key, cells in materialised:
                    batch.put(key, dict(cells))
        return len(materialised)

    @io_retry()
    def get_row(self, table: str, key: bytes) -> dict[bytes, bytes]:
        with self.connection() as conn:
            return dict(conn.table(table).row(key))

    @io_retry()
    def get_rows(self, table: str, keys: list[bytes], *, columns: list[bytes] | None = None) -> dict[bytes, dict[bytes, bytes]]:
        """The stored rows among `keys` (one multi-get; absent rows are left out)."""
        if not keys:
            return {}
        with self.connection() as conn:
            return {key: dict(cells) for key, cells in conn.table(table).rows(keys, columns=columns)}

    @io_retry()
    def scan(
        self,
        table: str,
        *,
        row_prefix: bytes | None = None,
        limit: int | None = None,
        columns: list[bytes] | None = None,
        row_start: bytes | None = None,
        row_stop: bytes | None = None,
        reverse: bool = False,
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Rows by key prefix or key range [row_start, row_stop); `reverse` walks from row_start down to
        row_stop (exclusive), so a reversed range has row_start > row_stop. Never a server-side filter."""
        kwargs = {"row_start": row_start, "row_stop": row_stop} if row_prefix is None else {"row_prefix": row_prefix}
        with self.connection() as conn:
            scanner = conn.table(table).scan(limit=limit, columns=columns, reverse=reverse, **kwargs)
            return [(k, dict(v)) for k, v in scanner]

    @io_retry()
    def count(self, table: str, *, row_prefix: bytes | None = None) -> int:
        """Number of rows (scans keys only, with a first-key-only filter)."""
        with self.connection() as conn:
            scanner = conn.table(table).scan(row_prefix=row_prefix, filter=b"FirstKeyOnlyFilter()", batch_size=1000)
            return sum(1 for _ in scanner)
