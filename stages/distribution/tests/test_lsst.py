"""distribution for Rubin/LSST: the seven LSST filters, rule by rule, then end to end on the real Kafka with real
and datasim alerts: each `fink_<filter>_lsst` topic holds exactly the alerts its rule selects (worked out here in
plain Python from the published definitions, not with the filter code), once each, decoded with the published
schema only, ids exact above 2^53, keyed by the object (or the solar-system object)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from delivery import lake_config, read_topic, run
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_common.errors import ConfigError
from fink_distribution import lsst_filters as rules
from fink_distribution.config import DistributionConfig, load_config
from fink_distribution.publisher import partition_for
from fink_distribution.registry import LSST_BUILTINS, FilterError, resolve_filters
from fink_distribution.wire import FINGERPRINT_HEADER, decode_value

LSST_FILTERS = (
    "uniform_sample", "solar_system", "first_detections", "fast_risers", "fast_faders", "long_trails",
    "bright_new_candidates",
)  # fmt: skip


def _mag(flux: float | None) -> float:
    return -2.5 * math.log10(flux) + 31.4 if flux is not None and flux > 0 else math.nan


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def expected_selection(row: dict[str, Any]) -> set[str]:
    """The filters that select one science row, from the rules as documented (plain Python, one alert)."""
    source, static = row["diaSource"], row["ssSource"] is None
    rate, significance = _num(row["mag_rate"]), _num(row["rate_significance"])
    good, mag = row["good_quality"] is True, _mag(source["psfFlux"])
    age = source["midpointMjdTai"] - _num(row["firstDiaSourceMjdTaiFink"])
    fade = 0.5 if source["band"] in ("u", "g") else 0.2
    rules_hold = {
        "uniform_sample": row["diaSourceId"] % 113 == 0,
        "solar_system": not static,
        "first_detections": row["diaObject"] is not None and row["diaObject"]["nDiaSources"] == 1,
        "fast_risers": static and rate <= -0.3 and significance >= 3,
        "fast_faders": static and source["band"] in ("u", "g", "r", "i", "z", "y") and rate >= fade and significance >= 3,
        "long_trails": good and _num(source["trailLength"]) > 2 and 18 < mag < 21,
        "bright_new_candidates": good and static and 0 <= age < 5 and mag < 20,
    }
    return {name for name, holds in rules_hold.items() if holds}


def test_lsst_filters_are_their_own_set() -> None:
    assert tuple(LSST_BUILTINS) == LSST_FILTERS
    assert [f.name for f in resolve_filters(survey="lsst")] == list(LSST_FILTERS)
    with pytest.raises(FilterError, match="unknown filter.*'sso_candidates'"):
        resolve_filters(["sso_candidates"], survey="lsst")  # a ZTF filter is not an LSST one
    config = load_config({"FINK_SURVEY": "lsst"})
    assert config.topics["solar_system"] == "fink_solar_system_lsst"
    assert config.transactional_id == "fink_distribution_lsst"
    with pytest.raises(ConfigError, match="FINK_FILTERS"):
        load_config({"FINK_SURVEY": "lsst", "FINK_FILTERS": "anomalies"})


def test_each_rule_at_its_edges() -> None:
    s = pd.Series
    ids = s([113 * (2**53), 113 * (2**53) + 1, None], dtype=object)  # above 2^53: exact, never through float
    assert rules.uniform_sample(ids).tolist() == [True, False, False]
    assert rules.solar_system(s([True, False, None], dtype=object)).tolist() == [True, False, False]
    assert rules.first_detections(s([None, True, False], dtype=object)).tolist() == [False, True, False]
    sso = s([False, False, True, None, False], dtype=object)
    rising = rules.fast_risers(s([-0.3, -0.29, -1.0, -1.0, math.nan]), s([3.0, 10.0, 10.0, 10.0, 10.0]), sso)
    assert rising.tolist() == [True, False, False, False, False]  # sso and unknown sso are not static
    assert not rules.fast_risers(s([-1.0]), s([2.99]), s([False], dtype=object))[0]
    fading = rules.fast_faders(
        s([0.5, 0.49, 0.2, 0.19, 0.5]), s([3.0] * 5), s(["g", "u", "r", "y", None], dtype=object),
        s([False] * 5, dtype=object),
    )  # fmt: skip
    assert fading.tolist() == [True, False, True, False, False]
    flux_19, flux_22 = 10 ** ((31.4 - 19) / 2.5), 10 ** ((31.4 - 22) / 2.5)
    good = s([True, True, True, False, None], dtype=object)
    trails = rules.long_trails(s([2.5, 2.0, 2.5, 2.5, 2.5]), s([flux_19, flux_19, flux_22, flux_19, flux_19]), good)
    assert trails.tolist() == [True, False, False, False, False]
    flux_20 = 10 ** ((31.4 - 20.01) / 2.5)
    new = rules.bright_new_candidates(
        s([60000.0, 60000.0, 60000.0, 60000.0]), s([59996.0, 59995.0, 59999.0, 59999.0]),
        s([flux_19, flux_19, flux_20, -5.0]), s([True] * 4, dtype=object), s([False] * 4, dtype=object),
    )  # fmt: skip
    assert new.tolist() == [True, False, False, False]  # 4 days old; 5 days old; fainter than 20; no flux


@pytest.fixture
def config(kafka_bootstrap: str, lsst_science_lake: Path, tmp_path: Path) -> DistributionConfig:  # noqa: F811
    return lake_config(kafka_bootstrap, lsst_science_lake / "science", tmp_path, "fink_lsst", FINK_SURVEY="lsst", FINK_TOPIC_PARTITIONS="2")


def test_lsst_topics_on_real_kafka(spark: SparkSession, config: DistributionConfig) -> None:
    totals = run(spark, config)
    rows = {r["diaSourceId"]: r for r in pq.read_table(config.lake.science).to_pylist()}
    files = list(config.lake.science.glob("night=*/*.parquet"))  # one per night of each of the two batches
    assert totals["batches"] == len(files) >= 2 and totals["alerts_in"] == len(rows)
    assert max(rows) > 2**53  # the real ids
    expected: dict[str, set[int]] = {name: set() for name in LSST_FILTERS}
    for ident, row in rows.items():
        for name in expected_selection(row):
            expected[name].add(ident)
    published = read_topic(config.kafka.bootstrap, config.schema_topic)
    schemas = {m.key().decode(): m.value().decode() for m in published}
    assert len(schemas) == 1 and next(iter(schemas.values())).find('"namespace":"fink.lsst"') > 0
    for name, topic in config.topics.items():
        got: Counter[int] = Counter()
        for message in read_topic(config.kafka.bootstrap, topic):
            header = dict(message.headers() or [])[FINGERPRINT_HEADER].decode()
            record = decode_value(message.value(), schemas[header])
            row = rows[record["diaSourceId"]]
            got[record["diaSourceId"]] += 1
            owner = row["diaObjectId"] if row["diaObjectId"] is not None else row["ssObjectId"]
            assert message.key() == schemas[header].encode()  # the writer schema's JSON (Fink's convention)
            assert message.partition() == partition_for(str(owner).encode(), 2)  # by the decimal id, exact
            assert (record["diaObjectId"], record["ssObjectId"]) == (row["diaObjectId"], row["ssObjectId"])
            assert record["diaSource"]["diaObjectId"] == row["diaSource"]["diaObjectId"]  # Rubin's 0 kept
            assert record["cutoutDifference"] == row["cutoutDifference"]
        assert set(got) == expected[name], name
        assert all(n == 1 for n in got.values()), f"{name}: an alert sent twice"
        assert totals["sent"][name] == len(expected[name])
    selected = {name: len(ids) for name, ids in expected.items()}
    assert sum(1 for n in selected.values() if n > 0) >= 6, selected
    assert expected["solar_system"] and all(rows[i]["diaObjectId"] is None for i in expected["solar_system"])
    assert any(i > 2**53 for ids in expected.values() for i in ids)
    assert np.isfinite([rows[i]["mag_rate"] for i in expected["fast_risers"]]).all()
