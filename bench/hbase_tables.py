"""The benchmarks' HBase tables: dropping those under a unique prefix, and the archive's baseline (c).

(c) `c_hbase_put_same_rows`: every row the archive stage wrote (all its tables, the same rowkeys and cells,
cutouts included) is scanned back and put again, under another prefix, by one bare Python client on one
core: `fink_common.hbase.HBaseClient.put_rows` (happybase `mutateRows` over Thrift, 500 rows per call,
what the stage's executors call). Only the puts are timed; the scan that feeds them is not. That is the
physical limit of the archive on this HBase: its ratio to the stage tells the cost of Spark and of turning
science rows into cells, where a ratio to the decode baseline (a) would compare unrelated work.
"""

from __future__ import annotations

import time
from typing import Any

from benchlib import pinned_to_one_core, rates

from fink_common.config import HBaseConfig, parse_host_port
from fink_common.hbase import HBaseClient, Row

__all__ = ["BASELINE_C", "client", "copy_rows", "drop_tables"]

BASELINE_C = "c_hbase_put_same_rows"
_PUT_BATCH_ROWS = 500  # fink_archive.store.PUT_BATCH_ROWS


def client(thrift: str, prefix: str) -> HBaseClient:
    """A client that sees (and names) only the tables `<prefix>_*`."""
    host, port = parse_host_port(thrift)
    return HBaseClient(HBaseConfig(host, port, prefix))


def drop_tables(thrift: str, prefix: str) -> list[str]:
    """Delete every table under `<prefix>_` (a prefix of our own: no one else's table)."""
    if not prefix:
        raise ValueError("refusing to drop tables without a prefix")
    hbase = client(thrift, prefix)
    tables = hbase.tables()
    for table in tables:
        hbase.delete_table(table)
    return tables


def copy_rows(thrift: str, source_prefix: str, target_prefix: str, *, alerts: int) -> dict[str, Any]:
    """Baseline (c): put every row of the tables under `source_prefix` into the same tables under
    `target_prefix`, timing the puts only, pinned to one core. `alerts` is what the rows came from."""
    source, target = client(thrift, source_prefix), client(thrift, target_prefix)
    rows = nbytes = 0
    put_s = 0.0
    per_table: dict[str, int] = {}
    with pinned_to_one_core() as core:
        for table in source.tables():
            with source.connection() as conn:
                families = [f.decode() if isinstance(f, bytes) else str(f) for f in conn.table(table).families()]
                target.ensure_table(table, families)
                chunk: list[Row] = []
                for key, cells in conn.table(table).scan(batch_size=_PUT_BATCH_ROWS):
                    chunk.append((key, cells))
                    nbytes += len(key) + sum(len(q) + len(v) for q, v in cells.items())
                    if len(chunk) == _PUT_BATCH_ROWS:
                        put_s += _timed_put(target, table, chunk)
                        chunk = []
                if chunk:
                    put_s += _timed_put(target, table, chunk)
            per_table[table] = target.count(table)
            rows += per_table[table]
    return {
        "name": BASELINE_C,
        "what": "the rows the archive wrote, put again by one happybase client (Thrift mutateRows, 500 rows/call), one core",
        "pinned_core": core,
        "alerts": alerts,
        "rows": rows,
        "rows_per_table": per_table,
        "bytes": nbytes,
        **rates(alerts, nbytes, put_s),
        "rows_per_s": round(rows / put_s, 1) if put_s > 0 else None,
    }


def _timed_put(target: HBaseClient, table: str, chunk: list[Row]) -> float:
    started = time.perf_counter()
    target.put_rows(table, chunk, batch_size=_PUT_BATCH_ROWS)
    return time.perf_counter() - started
