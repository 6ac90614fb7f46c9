"""Observing nights at the site's longitude: the boundary is local (mean solar) noon."""

from datetime import UTC, datetime

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fink_common.night import SITE_LONGITUDES, jd_to_unix, night_column, night_of_jd, night_of_unix

PALOMAR = SITE_LONGITUDES["ztf"]


def _unix(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


# Local noon at Palomar is 12:00 + 116.865/15 h = 19:47:27.6 UTC.
@pytest.mark.parametrize(
    ("utc", "night"),
    [
        ((2023, 10, 19, 4, 0, 0), "20231018"),  # 21:13 local, evening of the 18th
        ((2023, 10, 19, 12, 0, 0), "20231018"),  # 04:13 local, still the night that began on the 18th
        ((2023, 10, 19, 19, 47, 0), "20231018"),  # 11:59:32 local: last half-minute of that night
        ((2023, 10, 19, 19, 48, 0), "20231019"),  # 12:00:32 local: the next night has begun
        ((2023, 12, 31, 23, 0, 0), "20231231"),  # year boundary in UTC, same local evening
        ((2024, 1, 1, 13, 0, 0), "20231231"),
    ],
)
def test_palomar_nights(utc: tuple[int, ...], night: str) -> None:
    assert night_of_unix(_unix(*utc), PALOMAR) == night


def test_jd_conversion() -> None:
    assert jd_to_unix(2440587.5) == 0.0
    assert night_of_jd(2460236.0, PALOMAR) == "20231017"  # 2023-10-18 12:00 UTC = 04:13 local time


def test_spark_expression_matches_python_on_both_sides_of_noon(spark: SparkSession) -> None:
    noon = _unix(2023, 10, 19, 19, 47, 27)
    times = [noon + d for d in (-3600.0, -1.0, 1.0, 3600.0, -86400.0 * 3, 86400.0 * 40)]
    df = spark.createDataFrame([(t,) for t in times], "t double")
    got = [r[0] for r in df.select(night_column(F.col("t"), PALOMAR)).collect()]
    assert got == [night_of_unix(t, PALOMAR) for t in times]
    assert got[1] == "20231018" and got[2] == "20231019"
