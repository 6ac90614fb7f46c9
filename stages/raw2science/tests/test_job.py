"""raw2science as a stream over a raw lake built from real alerts: dedup, cuts, science, idempotence."""

from __future__ import annotations

from pathlib import Path

from lake_fixture import write_raw_lake
from pyspark.sql import SparkSession

from fink_common.datasets import sample_files
from fink_raw2science.config import load_config
from fink_raw2science.job import duplicates_dropped, start


def _run(spark: SparkSession, lake: Path) -> tuple[dict[str, int], int]:
    env = {"FINK_DATA_DIR": str(lake), "FINK_MAX_FILES_PER_TRIGGER": "1", "FINK_AVAILABLE_NOW": "true"}
    query, sink = start(load_config(env), spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    return sink.totals, duplicates_dropped(query)


def test_real_alerts_through_raw2science(spark: SparkSession, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    files = sample_files("ztf_4.02") + sample_files("ztf_3.3")
    write_raw_lake(spark, files, lake / "raw", per_batch=100)  # 4 raw files over 2 nights

    totals, dups = _run(spark, lake)
    # 300 real 4.02 messages hold 297 distinct candids (3 exact duplicates); 9 of the 50 3.3 alerts pass.
    assert dups == 3
    assert totals == {"alerts": 347, "science": 297 + 9, "rejected": 41, "module_failures": 0}

    science = spark.read.parquet(str(lake / "science"))
    candids = [r.candid for r in science.select("candid").collect()]
    assert len(candids) == len(set(candids)) == 306
    by_night = {r.night: r["count"] for r in science.groupBy("night").count().collect()}
    assert by_night == {"20231017": 297, "20191231": 9}
    rejected = spark.read.parquet(str(lake / "rejected"))
    assert rejected.count() == 41 and rejected.where("cut_reason is null").count() == 0

    # Restart on the same checkpoint: nothing new, nothing written twice.
    assert _run(spark, lake) == ({"alerts": 0, "science": 0, "rejected": 0, "module_failures": 0}, 0)
    assert spark.read.parquet(str(lake / "science")).count() == 306
