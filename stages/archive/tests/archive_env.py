"""An archive stage over a test lake, writing to HBase tables of its own (a unique table prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from fink_archive.config import ArchiveConfig, load_config
from fink_archive.store import ArchiveStore
from fink_common.hbase import HBaseClient
from fink_common.testing import unique_name

__all__ = ["private_archive"]


@contextmanager
def private_archive(hbase_client: HBaseClient, lake: Path, stem: str, **extra: str) -> Iterator[tuple[ArchiveConfig, ArchiveStore]]:
    """The config of an archive run to the end over `lake` (`FINK_AVAILABLE_NOW`; `extra` adds or overrides
    variables, e.g. `FINK_SURVEY="lsst"`), and a store over its tables, which are deleted on the way out."""
    prefix = unique_name(stem)
    env = {
        "FINK_HBASE_THRIFT": f"{hbase_client.config.host}:{hbase_client.config.port}",
        "FINK_HBASE_TABLE_PREFIX": prefix,
        "FINK_DATA_DIR": str(lake),
        "FINK_AVAILABLE_NOW": "true",
        **extra,
    }
    config = load_config(env)
    store = ArchiveStore(HBaseClient(replace(hbase_client.config, table_prefix=prefix)), config.tables)
    try:
        yield config, store
    finally:
        store.delete_tables()
