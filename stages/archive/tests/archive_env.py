"""An archive stage over a test lake, writing to HBase tables of its own (a unique table prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fink_archive.config import ArchiveConfig, load_config
from fink_archive.store import ArchiveStore
from fink_common.datasets import sample_files
from fink_common.hbase import HBaseClient
from fink_common.lake import write_batch
from fink_common.night import SITE_LONGITUDES
from fink_common.testing import unique_name
from fink_raw2science.science import resolve_modules
from fink_raw2science.science.adapter import apply_modules
from fink_stream2raw.transform import decode_messages, raw_rows, stamp

__all__ = ["private_archive", "ztf_science", "ztf_science_lake"]

_TS = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)
_KAFKA_DDL = "value binary, topic string, partition int, offset long, timestamp timestamp"


def ztf_science(spark: SparkSession) -> DataFrame:
    """The real 4.02 alerts as raw2science writes them: decoded, deduplicated by candid, enriched."""
    values = [p.read_bytes() for p in sample_files("ztf_4.02")]
    kafka = spark.createDataFrame([(v, "ztf_test", 0, i, _TS) for i, v in enumerate(values)], _KAFKA_DDL)
    stamped = stamp(decode_messages(kafka, "ztf_4.02"), longitude_deg=SITE_LONGITUDES["ztf"], version="0.1.0")
    raw = raw_rows(stamped).dropDuplicates(["candid"])
    science = apply_modules(raw, resolve_modules())
    return science.withColumns({"raw2science_version": F.lit("0.1.0"), "science_timestamp": F.current_timestamp()})


def ztf_science_lake(spark: SparkSession, root: Path, files: int) -> Path:
    """A lake at `root` whose science dataset holds the 297 distinct real 4.02 alerts in `files` batch files."""
    science = ztf_science(spark).cache()
    assert science.count() == 297
    for batch in range(files):
        write_batch(science.where(F.col("candid") % files == batch), root / "science", batch)
    science.unpersist()
    return root


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
