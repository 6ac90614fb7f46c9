"""archive transforms on small DataFrames: rowkeys, cells of every table, structs as JSON, nulls."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from pyspark.sql import DataFrame, SparkSession

from fink_archive.cells import decode_cells, schema_types
from fink_archive.tables import ArchiveTables, index_rowkey, main_rowkey, pixel_key, sky_pixels, time_rowkey
from fink_archive.transform import (
    archive_cells,
    class_index_cells,
    cutout_cells,
    history_cells,
    main_cells,
    pixel_index_cells,
    schema_cells,
    sso_index_cells,
    time_index_cells,
    with_keys,
)

SCHEMA = (
    "objectId string, candid long, "
    "candidate struct<jd:double, fid:int, ra:double, dec:double, magpsf:float, sigmapsf:float, "
    "ssnamenr:string, ndethist:int, candid:long>, "
    "prv_candidates array<struct<jd:double, pid:long, magpsf:float>>, "
    "cutoutScience struct<fileName:string, stampData:binary>, "
    "schemavsn string, publisher string, stream2raw_version string, roid int, "
    "lc_features_g struct<n_points:double, mean:double>, anomaly_score double, from_upper boolean, "
    "classification string, raw2science_version string, science_timestamp timestamp, night string"
)
TS = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)
JD = 2460236.1042900463


def _alert(object_id: str | None, candid: int | None, jd: float | None, **changes: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "objectId": object_id,
        "candid": candid,
        "candidate": {
            "jd": jd, "fid": 1, "ra": 276.3167239, "dec": -11.4936657, "magpsf": 18.5, "sigmapsf": 0.1,
            "ssnamenr": "null", "ndethist": 3, "candid": candid,
        },
        "prv_candidates": [{"jd": 2460230.5, "pid": 7, "magpsf": 19.0}],
        "cutoutScience": {"fileName": "sci.fits.gz", "stampData": b"\x1f\x8b" + bytes([candid or 0]) * 3},
        "schemavsn": "4.02", "publisher": "ZTF (www.ztf.caltech.edu)", "stream2raw_version": "0.1.0",
        "roid": 0, "lc_features_g": {"n_points": 2.0, "mean": None}, "anomaly_score": 0.5, "from_upper": False,
        "classification": "Mira", "raw2science_version": "0.2.0", "science_timestamp": TS, "night": "20231017",
    }  # fmt: skip
    for key, value in changes.items():
        if key in alert["candidate"]:
            alert["candidate"][key] = value
        else:
            alert[key] = value
    return alert


def _frame(spark: SparkSession, alerts: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame(alerts, SCHEMA)


def _cells(df: DataFrame) -> dict[str, dict[str, bytes]]:
    return {r["rowkey"]: dict(r["cells"]) for r in df.collect()}


@pytest.fixture(scope="module")
def keyed(spark: SparkSession) -> DataFrame:
    alerts = [
        _alert("ZTF18acurdfi", 11, JD),
        _alert("ZTF18acurdfi", 12, JD),  # same object and jd, another candid: must stay apart
        _alert("ZTF18acurdfi", 13, 2460235.6150116, magpsf=None, classification=None, ra=None),
        _alert(
            "ZTF18acurdfi", 14, 2460236.145956713, lc_features_g={"n_points": 0.0, "mean": math.nan},
            prv_candidates=[
                {"jd": 2460230.5, "pid": 7, "magpsf": 19.0}, {"jd": 2460231.5, "pid": 8, "magpsf": None},
                {"jd": 2460231.5, "pid": 9, "magpsf": 20.5}, {"jd": None, "pid": 10, "magpsf": 20.0},
            ],
        ),  # fmt: skip
        _alert("ZTF23abihzbq", 15, 999999.5, roid=3, ssnamenr="null"),  # roid 3 without a name
        _alert("ZTF23abihzbq", 16, 2460236.2, ssnamenr="15938"),  # a name without roid 3
        _alert(None, 17, JD),  # no objectId: no key, no row anywhere
        _alert("ZTF23abihzbq", 18, None),  # no jd: idem
    ]
    return with_keys(_frame(spark, alerts), "9.9.9").cache()


def test_main_keys_are_ordered_by_jd_and_keep_collisions_apart(keyed: DataFrame) -> None:
    cells = _cells(main_cells(keyed))
    assert len(cells) == 6
    ztf18 = [k for k in sorted(cells) if k.startswith("ZTF18acurdfi_")]
    jds = [float(cells[k]["i:jd"]) for k in ztf18]
    assert jds == sorted(jds) and len(ztf18) == 4
    assert ztf18[1:3] == [main_rowkey("ZTF18acurdfi", JD, 11), main_rowkey("ZTF18acurdfi", JD, 12)]
    assert main_rowkey("ZTF23abihzbq", 999999.5, 15) in cells  # the key built by Spark is the reader's key
    assert "ZTF23abihzbq_0999999.5000000_15" in cells


def test_main_cells_families_structs_and_nulls(keyed: DataFrame) -> None:
    cells = _cells(main_cells(keyed))
    row = cells[main_rowkey("ZTF18acurdfi", JD, 11)]
    assert row["i:objectId"] == b"ZTF18acurdfi" and row["i:candid"] == b"11" and row["i:magpsf"] == b"18.5"
    assert row["i:schemavsn"] == b"4.02" and row["i:archive_version"] == b"9.9.9"
    assert row["i:stream2raw_version"] == b"0.1.0" and row["i:raw2science_version"] == b"0.2.0"
    assert row["d:classification"] == b"Mira" and row["d:roid"] == b"0" and row["d:from_upper"] == b"false"
    assert json.loads(row["d:lc_features_g"]) == {"n_points": 2.0, "mean": None}  # null fields kept
    assert row["d:science_timestamp"] == b"2023-10-19T06:00:00.000000Z"
    assert not any(k.startswith(("i:prv", "d:prv", "d:cutout", "d:__", "i:__")) for k in row)
    assert "d:candidate" not in row and "d:night" in row
    nulls = cells[main_rowkey("ZTF18acurdfi", 2460235.6150116, 13)]
    assert "i:magpsf" not in nulls and "d:classification" not in nulls and "i:ra" not in nulls  # null: no cell
    nan_row = cells[main_rowkey("ZTF18acurdfi", 2460236.145956713, 14)]
    assert json.loads(nan_row["d:lc_features_g"]) == {"n_points": 0.0, "mean": "NaN"}


def test_cells_decode_back_with_the_schema_row(keyed: DataFrame) -> None:
    tables = ArchiveTables("ztf")
    schema = keyed.drop("__jd_key", "__pixel_key", "__main_key", "archive_version").schema
    types = schema_types(schema_cells(schema, tables)[tables.main])
    assert types[b"i:magpsf"] == "float" and types[b"d:lc_features_g"].startswith("struct<")
    assert types[b"i:archive_version"] == "string"
    cells = {k: {q.encode(): v for q, v in c.items()} for k, c in _cells(main_cells(keyed)).items()}
    assert all(q in types for row in cells.values() for q in row)  # every cell has a recorded type
    values = decode_cells(cells[main_rowkey("ZTF18acurdfi", 2460236.145956713, 14)], types)
    assert values["candid"] == 14 and values["jd"] == 2460236.145956713 and values["fid"] == 1
    assert np.float32(values["magpsf"]) == np.float32(18.5) and values["from_upper"] is False
    assert values["lc_features_g"]["n_points"] == 0.0 and math.isnan(values["lc_features_g"]["mean"])
    assert values["science_timestamp"] == TS and values["night"] == "20231017"
    for table, row in schema_cells(schema, tables).items():
        assert row, table


def test_cutout_cells_hold_the_bytes(keyed: DataFrame) -> None:
    cells = _cells(cutout_cells(keyed))
    row = cells[main_rowkey("ZTF18acurdfi", JD, 12)]
    assert row["b:cutoutScience"] == b"\x1f\x8b" + bytes([12]) * 3
    assert row["i:objectId"] == b"ZTF18acurdfi" and row["i:candid"] == b"12"
    assert set(cells) == set(_cells(main_cells(keyed)))


def test_index_keys_and_filters(keyed: DataFrame) -> None:
    by_class = _cells(class_index_cells(keyed))
    assert set(by_class) == {
        index_rowkey("Mira", JD, "ZTF18acurdfi", 11),
        index_rowkey("Mira", JD, "ZTF18acurdfi", 12),
        index_rowkey("Mira", 2460236.145956713, "ZTF18acurdfi", 14),
        index_rowkey("Mira", 999999.5, "ZTF23abihzbq", 15),
        index_rowkey("Mira", 2460236.2, "ZTF23abihzbq", 16),
    }  # candid 13 has no classification
    row = by_class[index_rowkey("Mira", JD, "ZTF18acurdfi", 11)]
    assert row["i:main_rowkey"] == main_rowkey("ZTF18acurdfi", JD, 11).encode()
    assert {"i:objectId", "i:candid", "i:jd", "i:ra", "i:dec", "i:magpsf", "i:fid", "i:classification"} <= set(row)
    pixel = pixel_key(int(sky_pixels(np.array([276.3167239]), np.array([-11.4936657]))[0]))
    by_pixel = _cells(pixel_index_cells(keyed))
    assert len(by_pixel) == 5 and index_rowkey(pixel, JD, "ZTF18acurdfi", 12) in by_pixel  # 13 has no ra
    by_time = _cells(time_index_cells(keyed))
    assert sorted(by_time)[0] == time_rowkey(999999.5, "ZTF23abihzbq", 15) and len(by_time) == 6
    by_sso = _cells(sso_index_cells(keyed))
    assert set(by_sso) == {
        index_rowkey("unnamed", 999999.5, "ZTF23abihzbq", 15),
        index_rowkey("15938", 2460236.2, "ZTF23abihzbq", 16),
    }


def test_archive_cells_is_the_union_of_the_tables(keyed: DataFrame) -> None:
    tables = ArchiveTables("ztf")
    counts = {r["table"]: r["count"] for r in archive_cells(keyed, tables).groupBy("table").count().collect()}
    assert counts == {
        "ztf": 6, "ztf.cutouts": 6, "ztf.class": 5, "ztf.pixel128": 5, "ztf.jd": 6, "ztf.ssnamenr": 2,
        "ztf.history": 6,  # one row per keyed alert that has a history
    }  # fmt: skip


def test_history_cells_hold_each_alert_s_history_in_one_cell(keyed: DataFrame) -> None:
    tables = ArchiveTables("ztf")
    cells = {k: {q.encode(): v for q, v in c.items()} for k, c in _cells(history_cells(keyed)).items()}
    assert set(cells) == set(_cells(main_cells(keyed)))  # one row per keyed alert with a history, its main key
    schema = keyed.drop("__jd_key", "__pixel_key", "__main_key", "archive_version").schema
    types = schema_types(schema_cells(schema, tables)[tables.history])
    assert types[b"i:points"] == "array<struct<jd:double,pid:bigint,magpsf:float>>"
    row = decode_cells(cells[main_rowkey("ZTF18acurdfi", 2460236.145956713, 14)], types)
    assert row["objectId"] == "ZTF18acurdfi" and row["candid"] == 14 and row["jd"] == 2460236.145956713
    assert row["points"] == [
        {"jd": 2460230.5, "pid": 7, "magpsf": 19.0},
        {"jd": 2460231.5, "pid": 8, "magpsf": None},  # an upper limit: no magnitude
        {"jd": 2460231.5, "pid": 9, "magpsf": 20.5},  # same jd, another image
        {"jd": None, "pid": 10, "magpsf": 20.0},  # kept as the alert has it; the reader skips it
    ]
    other = decode_cells(cells[main_rowkey("ZTF23abihzbq", 2460236.2, 16)], types)
    assert other["points"] == [{"jd": 2460230.5, "pid": 7, "magpsf": 19.0}]
