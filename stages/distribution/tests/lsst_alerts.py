"""Rubin/LSST science rows for the distribution tests: the real Confluent-framed alerts of `../shared/datasim`
(schemas 9.0 and 11.0, solar-system and static, ids above 2^53) and a few hundred datasim alerts (schema 11.0,
so that every filter has alerts to select), decoded as stream2raw does and enriched as raw2science does.

`lsst_science_lake` is a session fixture: a lake root whose `science/` holds two parquet files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from fink_common.datasets import sample_files
from fink_common.lake import write_batch
from fink_common.surveys import DecodeSettings, get_survey
from fink_datasim.generate import generate
from fink_raw2science.science import resolve_modules
from fink_raw2science.surveys import survey_science
from fink_raw2science.transform import enrich, passing
from fink_stream2raw.transform import decode_messages, raw_rows, stamp

__all__ = ["GENERATED", "lsst_science_frame", "lsst_science_lake", "lsst_values"]

#: datasim alerts added to the real ones
GENERATED = 400
_TS = datetime(2026, 3, 6, 6, 0, tzinfo=UTC)


def lsst_values(generated_dir: Path) -> list[bytes]:
    """The real 11.0 and 9.0 messages, then the generated ones (each a Kafka message value)."""
    real = [p.read_bytes() for name in ("lsst_wire_11.0", "lsst_wire_9.0") for p in sample_files(name)]
    generate(generated_dir, n=GENERATED, seed=11, survey="lsst", visit_size=100, workers=1, overwrite=True)
    return real + [p.read_bytes() for p in sorted(generated_dir.glob("*.confluent.avro"))]


def lsst_science_frame(spark: SparkSession, values: list[bytes]) -> DataFrame:
    """The LSST science rows of these message values, as stream2raw then raw2science (no cut) make them."""
    kafka = spark.createDataFrame(
        [(v, "lsst_fixture", 0, i, _TS) for i, v in enumerate(values)],
        "value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    decoded = decode_messages(kafka, DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
    survey = get_survey("lsst")
    raw = raw_rows(stamp(decoded, longitude_deg=survey.site_longitude_deg, version="fixture", survey="lsst"))
    science = survey_science("lsst")
    flagged = science.flag(raw, "none")
    return enrich(
        passing(flagged), resolve_modules(survey="lsst"), version="fixture", sections=(science.history, science.current)
    )


@pytest.fixture(scope="session")
def lsst_science_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsst_distribution_lake")
    values = lsst_values(tmp_path_factory.mktemp("lsst_generated"))
    half = len(values) // 2
    for batch_id, part in enumerate((values[:half], values[half:])):
        written = write_batch(lsst_science_frame(spark, part).coalesce(1), root / "science", batch_id)
        assert sum(written.values()) == len(part)
    return root
