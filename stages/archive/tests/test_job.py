"""archive end to end on the real HBase: the 297 distinct real 4.02 alerts, three micro-batches, replays."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from archive_env import private_archive, ztf_science_lake
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fink_archive import __version__
from fink_archive.cells import decode_cells, schema_types
from fink_archive.config import ArchiveConfig
from fink_archive.expected import expected_rowkeys, expected_statistics, source_columns
from fink_archive.job import BatchSink, archive_plan, narrow, start
from fink_archive.statistics import NightStatistics
from fink_archive.store import ArchiveStore
from fink_archive.tables import jd_key, main_rowkey, object_prefix, parse_main_rowkey, schema_rowkey
from fink_common.hbase import HBaseClient

TS = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)
N_BATCHES = 3


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tmp lake holding the science dataset as three batch files (so three micro-batches)."""
    return ztf_science_lake(spark, tmp_path_factory.mktemp("archive") / "lake", N_BATCHES)


@pytest.fixture(scope="module")
def expected(spark: SparkSession, lake: Path) -> pd.DataFrame:
    """What the archive must hold, read back from the parquet files (no archive code involved)."""
    df = spark.read.parquet(str(lake / "science"))
    frame = df.select(
        "objectId", "candid", "night", "roid", "classification",
        F.col("candidate.jd").alias("jd"), F.col("candidate.fid").alias("fid"),
        F.col("candidate.ra").alias("ra"), F.col("candidate.dec").alias("dec"),
        F.col("candidate.ssnamenr").alias("ssnamenr"),
    ).toPandas()  # fmt: skip
    # the history table: one row per alert whose history has points
    frame.attrs["with_history"] = df.where(F.size("prv_candidates") > 0).select("candid").distinct().count()
    return frame


@pytest.fixture()
def archive(hbase_client: HBaseClient, lake: Path) -> Iterator[tuple[ArchiveConfig, ArchiveStore]]:
    with private_archive(hbase_client, lake, "it_archive", FINK_MAX_FILES_PER_TRIGGER="1") as (config, store):
        yield config, store
    assert not store.client.tables()


def _run(spark: SparkSession, config: ArchiveConfig) -> dict[str, int]:
    query, sink = start(config, spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    return sink.totals


def _counts(store: ArchiveStore) -> dict[str, int]:
    return {name: store.count_rows(name) for name in store.tables.families()}


def _sso_named(name: Any) -> bool:
    return isinstance(name, str) and name.strip().lower() not in ("", "null", "none", "nan")


def _expected_counts(expected: pd.DataFrame) -> dict[str, int]:
    sso = (expected["roid"] == 3) | expected["ssnamenr"].map(_sso_named)
    return {
        "ztf": len(expected),
        "ztf.cutouts": len(expected),
        "ztf.class": int(expected["classification"].notna().sum()),
        "ztf.pixel128": int((expected["ra"].notna() & expected["dec"].notna()).sum()),
        "ztf.jd": len(expected),
        "ztf.ssnamenr": int(sso.sum()),
        "ztf.history": expected.attrs["with_history"],
        "ztf.statistics": expected["night"].nunique(),
    }


def _expected_statistics(expected: pd.DataFrame, night: str) -> NightStatistics:
    rows = expected[expected["night"] == night]
    bands = {"g": 0, "r": 0, "i": 0} | {
        {1: "g", 2: "r", 3: "i"}[fid]: int(n) for fid, n in rows["fid"].value_counts().items()
    }
    return NightStatistics(
        survey="ztf",
        night=night,
        alerts=len(rows),
        objects=rows["objectId"].nunique(),
        exposures=rows["jd"].nunique(),
        per_band=bands,
        per_class={str(k): int(v) for k, v in rows["classification"].value_counts().items()},
    )


def _check_archive(store: ArchiveStore, expected: pd.DataFrame) -> None:
    assert _counts(store) == _expected_counts(expected)
    for night in expected["night"].unique():
        assert store.read_statistics(night) == _expected_statistics(expected, night)


def _same(stored: Any, parquet: Any) -> bool:
    if parquet is None or (isinstance(parquet, float) and math.isnan(parquet)):
        return stored is None or (isinstance(stored, float) and math.isnan(stored))
    if isinstance(parquet, np.float32 | float):
        return np.float32(stored) == np.float32(parquet) or stored == parquet
    return bool(stored == parquet)


def test_archive_on_real_hbase(
    spark: SparkSession, lake: Path, expected: pd.DataFrame, archive: tuple[ArchiveConfig, ArchiveStore]
) -> None:
    config, store = archive
    totals = _run(spark, config)
    assert totals["alerts"] == 297
    assert len(expected) == expected["candid"].nunique() == 297

    # Counts of every table, and the statistics, equal what the parquet files say.
    _check_archive(store, expected)
    assert _counts(store)["ztf"] == 297
    for name in store.tables.families():  # plus one schema row per table, with the column types
        assert store.client.count(name) == _counts(store)[name] + 1
        assert store.client.get_row(name, schema_rowkey(__version__).encode())

    # The reconciliation's rules (fink_archive.expected) hold for every table and the statistics.
    alerts = pq.read_table(lake / "science", columns=source_columns(store.tables.layout)).to_pylist()
    for table, keys in expected_rowkeys(store.tables, alerts).items():
        assert {k for k, _ in store.client.scan(table) if not k.startswith(b"schema_")} == keys, table
    for key, cells in expected_statistics(store.tables, alerts).items():
        assert store.client.get_row(store.tables.statistics, key) == cells

    # Alerts sharing an object and a jd (15 pairs among the 297) are kept apart.
    pairs = expected.groupby(["objectId", "jd"]).filter(lambda g: len(g) > 1)
    assert len(pairs) == 30
    for (object_id, jd), group in pairs.groupby(["objectId", "jd"]):
        prefix = f"{object_id}_{jd_key(jd)}_".encode()
        keys = [k for k, _ in store.client.scan(store.tables.main, row_prefix=prefix)]
        assert sorted(parse_main_rowkey(k)[2] for k in keys) == sorted(group["candid"])

    # A prefix scan by object returns its alerts in jd order, decoded back to the parquet values.
    object_id = expected["objectId"].value_counts().index[0]
    mine = expected[expected["objectId"] == object_id].sort_values(["jd", "candid"])
    assert len(mine) >= 3
    types = schema_types(store.client.get_row(store.tables.main, schema_rowkey(__version__).encode()))
    scanned = store.client.scan(store.tables.main, row_prefix=object_prefix(object_id))
    decoded = [decode_cells(cells, types) for _, cells in scanned]
    assert [d["candid"] for d in decoded] == list(mine["candid"])
    assert [d["jd"] for d in decoded] == list(mine["jd"])

    full = spark.read.parquet(str(lake / "science")).where(F.col("objectId") == object_id).collect()
    for row in full:
        stored = decode_cells(
            store.client.get_row(store.tables.main, main_rowkey(object_id, row.candidate.jd, row.candid).encode()),
            types,
        )
        for name, value in row.candidate.asDict().items():
            assert _same(stored.get(name), value), name
        for name in ("classification", "roid", "nalerthist", "xmatch_name", "anomaly_score", "night", "schemavsn"):
            assert _same(stored.get(name), row[name]), name
        assert stored["lc_features_r"].keys() == row.lc_features_r.asDict().keys()
        assert all(_same(stored["lc_features_r"][k], v) for k, v in row.lc_features_r.asDict().items())
        assert stored["science_timestamp"] == row.science_timestamp.astimezone(UTC)
        cutouts = store.client.get_row(
            store.tables.cutouts, main_rowkey(object_id, row.candidate.jd, row.candid).encode()
        )
        assert cutouts[b"b:cutoutScience"] == bytes(row.cutoutScience.stampData)
        assert cutouts[b"b:cutoutDifference"] == bytes(row.cutoutDifference.stampData)

    # A restart on the same checkpoint reads nothing new and changes nothing.
    before = _counts(store)
    assert _run(spark, config)["alerts"] == 0
    assert _counts(store) == before

    # Spark replays a batch after a crash: the sink called twice with the same rows changes no count.
    science = spark.read.parquet(str(lake / "science"))
    sink = BatchSink(config, store, archive_plan(config, science))
    batch = narrow(science)
    sink(batch, 7)
    sink(batch, 7)
    assert sink.totals["alerts"] == 2 * 297
    _check_archive(store, expected)
    assert _counts(store) == before
