"""Real enriched alerts for the distribution tests: the 300 ZTF 4.02 sample alerts decoded as stream2raw
does, enriched by raw2science's science modules, and written as a science lake with `write_batch`.

`science_lake` is a session fixture (built once, about a minute on 2 cores): a lake root whose
`science/night=20231017/` holds `SCIENCE_FILES` parquet files of 100 alerts each, as raw2science would
have written them in three micro-batches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fink_common.datasets import sample_files
from fink_common.lake import write_batch
from fink_common.night import SITE_LONGITUDES
from fink_raw2science.science import resolve_modules
from fink_raw2science.science.adapter import apply_modules
from fink_stream2raw.transform import decode_messages, raw_rows, stamp

__all__ = ["SCIENCE_FILES", "read_science", "science_frame", "science_lake"]

SCIENCE_FILES = 3
_TS = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)


def science_frame(spark: SparkSession, limit: int | None = None) -> DataFrame:
    """The science rows of the first `limit` (default all 300) real alerts, `night` last."""
    values = [p.read_bytes() for p in sample_files("ztf_4.02")[:limit]]
    kafka_rows = spark.createDataFrame(
        [(v, "ztf_sample", 0, i, _TS) for i, v in enumerate(values)],
        "value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    stamped = stamp(decode_messages(kafka_rows, "ztf_4.02"), longitude_deg=SITE_LONGITUDES["ztf"], version="0.1.0")
    science = apply_modules(raw_rows(stamped), resolve_modules()).withColumns(
        {"raw2science_version": F.lit("0.1.0"), "science_timestamp": F.current_timestamp()}
    )
    return science.select(*[c for c in science.columns if c != "night"], "night")


def read_science(root: Path) -> pa.Table:
    """Every science row of a lake, as Arrow: the `night` partition as a string column, and timestamps
    (Spark writes them as INT96, which reads back as naive nanoseconds) as microseconds in UTC."""
    tables = []
    for path in sorted((root / "science").glob("night=*/*.parquet")):
        table = pq.read_table(path)
        for i, item in enumerate(table.schema):
            if pa.types.is_timestamp(item.type):
                column = table.column(i).cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
                table = table.set_column(i, item.name, column)
        night = path.parent.name.partition("=")[2]
        tables.append(table.append_column("night", pa.array([night] * table.num_rows, pa.string())))
    return pa.concat_tables(tables)


@pytest.fixture(scope="session")
def science_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("distribution_lake")
    science = science_frame(spark).persist()
    try:
        for batch_id in range(SCIENCE_FILES):
            part = science.where(F.col("kafka_offset") % SCIENCE_FILES == batch_id)
            assert write_batch(part.coalesce(1), root / "science", batch_id) == {"20231017": 100}  # one file each
    finally:
        science.unpersist()
    return root
