"""The LSST archive on the real HBase: Rubin's real Confluent alerts (9.0, 11.0) and datasim ones, as stream2raw
and raw2science make them, in two micro-batches, then replayed.

What each table must hold is worked out here in plain Python from the science parquet (no archive code: the
keys are formatted by hand from their documented form, `salt` = id mod 16 on two digits, times with 7 decimals
on 15 characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from archive_env import private_archive
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_archive import __version__
from fink_archive.cells import decode_cells, schema_types
from fink_archive.config import ArchiveConfig
from fink_archive.expected import expected_rowkeys, expected_statistics
from fink_archive.job import BatchSink, archive_plan, narrow, start
from fink_archive.store import ArchiveStore, newer_rows
from fink_archive.tables import schema_rowkey
from fink_common.hbase import HBaseClient
from fink_common.testing import unique_name

_BIG = 2**53


def _salt(value: int) -> str:
    return f"{value % 16:02d}"


def _t(mjd: float) -> str:
    return f"{mjd:015.7f}"


@pytest.fixture(scope="module")
def lake(lsst_science_lake: Path) -> Path:  # noqa: F811
    """The lake of the real and datasim Rubin alerts, as stream2raw and raw2science make them (two batch files)."""
    return lsst_science_lake


@pytest.fixture(scope="module")
def alerts(lake: Path) -> list[dict[str, Any]]:
    """The science alerts as plain Python dicts, read with pyarrow (the night partition as text)."""
    return [a | {"night": str(a["night"])} for a in pq.read_table(lake / "science").to_pylist()]


def _object(alert: dict[str, Any]) -> str:
    return str(alert["diaObjectId"] if alert["diaObjectId"] is not None else alert["ssObjectId"])


def _expected(alerts: list[dict[str, Any]]) -> dict[str, set[str]]:
    main, sources, forced, sso, names, by_time = set(), set(), set(), set(), set(), set()
    for a in alerts:
        obj, src, alert_id = _object(a), a["diaSource"], a["diaSourceId"]
        main.add(f"{_salt(int(obj))}_{obj}_{_t(src['midpointMjdTai'])}_{alert_id}")
        by_time.add(f"{_salt(alert_id)}_{_t(src['midpointMjdTai'])}_{obj}_{alert_id}")
        for s in [src, *(a["prvDiaSources"] or [])]:
            sources.add(f"{_salt(int(obj))}_{obj}_{_t(s['midpointMjdTai'])}_{s['diaSourceId']}")
        for f in a["prvDiaForcedSources"] or []:
            fobj = f["diaObjectId"] if f["diaObjectId"] is not None else int(obj)
            forced.add(f"{_salt(fobj)}_{fobj}_{_t(f['midpointMjdTai'])}_{f['diaForcedSourceId']}")
        if a["ssSource"] is not None:
            sso_id = a["ssSource"]["ssObjectId"]
            sso.add(f"{_salt(sso_id)}_{sso_id}_{_t(src['midpointMjdTai'])}_{alert_id}")
            orbit = a.get("mpc_orbits") or a.get("MPCORB") or {}
            name = a["ssSource"].get("designation") or orbit.get("designation") or orbit.get("mpcDesignation")
            names.add(f"{name or sso_id}_{_t(src['midpointMjdTai'])}_{obj}_{alert_id}")
    objects = {f"{_salt(a['diaObjectId'])}_{a['diaObjectId']}" for a in alerts if a["diaObject"] is not None}
    return {
        "lsst": main, "lsst.cutouts": main, "lsst.jd": by_time, "lsst.sources": sources, "lsst.forced": forced,
        "lsst.objects": objects, "lsst.sso": sso, "lsst.ssnamenr": names,
    }  # fmt: skip


@pytest.fixture()
def archive(hbase_client: HBaseClient, lake: Path) -> Iterator[tuple[ArchiveConfig, ArchiveStore]]:
    with private_archive(hbase_client, lake, "it_lsst_archive", FINK_SURVEY="lsst", FINK_MAX_FILES_PER_TRIGGER="1") as made:
        yield made


def _keys(store: ArchiveStore, table: str) -> set[str]:
    return {k.decode() for k, _ in store.client.scan(table) if not k.startswith(b"schema_")}


def _types(store: ArchiveStore, table: str) -> dict[bytes, str]:
    return schema_types(store.client.get_row(table, schema_rowkey(__version__).encode()))


def test_lsst_archive_on_real_hbase(
    spark: SparkSession, lake: Path, alerts: list[dict[str, Any]], archive: tuple[ArchiveConfig, ArchiveStore]
) -> None:
    config, store = archive
    query, sink = start(config, spark)
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    assert sink.totals["alerts"] == len(alerts) > 400

    expected = _expected(alerts)
    for table, keys in expected.items():
        assert _keys(store, table) == keys, table
    classified = [a for a in alerts if a.get("classification") is not None]
    assert classified and len(_keys(store, "lsst.class")) == len(classified)
    assert len(_keys(store, "lsst.pixel128")) == len(alerts)
    assert expected["lsst.sso"] and expected["lsst.forced"] and len(expected["lsst.sources"]) > len(alerts)

    # The reconciliation's rules (fink_archive.expected) say the same, for every table and the statistics.
    rules = expected_rowkeys(store.tables, alerts)
    assert set(rules) == set(store.tables.families()) - {"lsst.statistics"}
    for table, keys in rules.items():
        assert {k.decode() for k in keys} == _keys(store, table), table
    for key, cells in expected_statistics(store.tables, alerts).items():
        assert store.client.get_row("lsst.statistics", key) == cells

    # Ids above 2^53 are exact, Rubin's sentinels become clear nulls, values decode back with the schema row.
    types = _types(store, "lsst")
    by_id = {a["diaSourceId"]: a for a in alerts}
    big = [a for a in alerts if a["diaSourceId"] > _BIG]
    assert big
    for key in expected["lsst"]:
        row = decode_cells(store.client.get_row("lsst", key.encode()), types)
        alert = by_id[row["diaSourceId"]]
        assert key.endswith(f"_{row['diaSourceId']}")
        assert row.get("diaObjectId") == alert["diaObjectId"] and row.get("ssObjectId") == alert["ssObjectId"]
        assert row["midpointMjdTai"] == alert["diaSource"]["midpointMjdTai"]
        assert row["schema_version"] == alert["schema_version"] and row["night"] == alert["night"]
        if alert["ssSource"] is not None:
            assert "diaObjectId" not in row and row["ssSource"]["ssObjectId"] == alert["ssObjectId"]
        else:
            assert "ssObjectId" not in row and row["diaObject"]["diaObjectId"] == alert["diaObjectId"]
        cutouts = store.client.get_row("lsst.cutouts", key.encode())
        assert cutouts[b"b:cutoutDifference"] == alert["cutoutDifference"]
        assert cutouts[b"b:cutoutScience"] == alert["cutoutScience"]

    # The objects table holds each object's latest diaObject, whatever batch carried it.
    latest: dict[int, dict[str, Any]] = {}
    for a in alerts:
        if a["diaObject"] is not None:
            order = (a["diaSource"]["midpointMjdTai"], a["diaSourceId"])
            held = latest.get(a["diaObjectId"])
            if held is None or order > (held["diaSource"]["midpointMjdTai"], held["diaSourceId"]):
                latest[a["diaObjectId"]] = a
    object_types = _types(store, "lsst.objects")
    for object_id, a in latest.items():
        row = decode_cells(store.client.get_row("lsst.objects", f"{_salt(object_id)}_{object_id}".encode()), object_types)
        assert row["diaSourceId"] == a["diaSourceId"] and row["diaObjectId"] == object_id
        assert row["nDiaSources"] == a["diaObject"]["nDiaSources"] and row["ra"] == a["diaObject"]["ra"]

    # The solar-system table by ssObjectId, and the light curve of an object as one prefix scan of its sources.
    sso_types = _types(store, "lsst.sso")
    for key in expected["lsst.sso"]:
        row = decode_cells(store.client.get_row("lsst.sso", key.encode()), sso_types)
        assert row["ssObjectId"] == by_id[row["diaSourceId"]]["ssSource"]["ssObjectId"]
    longest = max((a for a in alerts if a["diaObject"] is not None), key=lambda a: len(a["prvDiaSources"] or []))
    obj = longest["diaObjectId"]
    scanned = [decode_cells(c, _types(store, "lsst.sources")) for _, c in store.client.scan("lsst.sources", row_prefix=f"{_salt(obj)}_{obj}_".encode())]
    times = [r["midpointMjdTai"] for r in scanned]
    assert times == sorted(times) and len(scanned) >= len(longest["prvDiaSources"]) + 1
    assert {r["diaSourceId"] for r in scanned} >= {s["diaSourceId"] for s in longest["prvDiaSources"]}

    # Statistics per night, from the salted time index: every alert of the night, per band.
    for night in {a["night"] for a in alerts}:
        mine = [a for a in alerts if a["night"] == night]
        stats = store.read_statistics(night)
        assert stats is not None and stats.alerts == len(mine)
        assert stats.objects == len({_object(a) for a in mine})
        assert stats.per_band == {b: sum(a["diaSource"]["band"] == b for a in mine) for b in "ugrizy"}

    # Replays change nothing: a restart on the checkpoint, and the sink called twice on the whole lake.
    before = {t: _keys(store, t) for t in store.tables.families()}
    science = spark.read.parquet(str(lake / "science"))
    sink2 = BatchSink(config, store, archive_plan(config, science))
    batch = narrow(science)
    sink2(batch, 9)
    sink2(batch, 9)
    assert {t: _keys(store, t) for t in store.tables.families()} == before
    for object_id, a in latest.items():
        row = store.client.get_row("lsst.objects", f"{_salt(object_id)}_{object_id}".encode())
        assert int(row[b"i:diaSourceId"]) == a["diaSourceId"]


def test_an_older_object_row_does_not_replace_a_newer_one(hbase_client: HBaseClient) -> None:
    table = unique_name("it_latest")
    assert hbase_client.ensure_table(table, ("i",))
    try:
        hbase_client.put_rows(table, [(b"k", {b"i:latest": b"0061000.5000000_07", b"i:v": b"new"})])
        rows = [(b"k", {b"i:latest": b"0060999.5000000_09", b"i:v": b"old"}), (b"n", {b"i:latest": b"0", b"i:v": b"first"})]
        kept = newer_rows(hbase_client, table, rows, b"i:latest")
        assert [k for k, _ in kept] == [b"n"]
        same = newer_rows(hbase_client, table, [(b"k", {b"i:latest": b"0061000.5000000_07"})], b"i:latest")
        assert len(same) == 1  # a replay of the same alert rewrites the same cells
    finally:
        hbase_client.delete_table(table)
