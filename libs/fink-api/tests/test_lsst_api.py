"""The API and `fink query` on a real HBase filled by the archive stage with Rubin alerts: the real Confluent
samples (9.0, 11.0; ids above 2^53, solar-system and static) and 400 datasim alerts, enriched as raw2science
does. Every answer is checked against the alerts themselves, read back from the parquet with pyarrow."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from archive_env import private_archive
from fastapi.testclient import TestClient
from lsst_alerts import lsst_science_lake  # noqa: F401  (session fixture)
from pyspark.sql import SparkSession

from fink_api import __version__
from fink_api.__main__ import main
from fink_api.app import create_app
from fink_api.archives import open_archive
from fink_api.lsst import LsstArchive
from fink_archive.job import start
from fink_common.hbase import HBaseClient

PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Filled:
    client: TestClient
    archive: LsstArchive
    alerts: list[dict[str, Any]]
    prefix: str


@pytest.fixture(scope="module")
def filled(spark: SparkSession, lsst_science_lake: Path, hbase_client: HBaseClient) -> Iterator[Filled]:  # noqa: F811
    with private_archive(hbase_client, lsst_science_lake, "it_lsst_api", FINK_SURVEY="lsst") as (config, store):
        query, _ = start(config, spark)
        query.awaitTermination(timeout=600)
        assert query.exception() is None
        alerts = [a | {"night": str(a["night"])} for a in pq.read_table(lsst_science_lake / "science").to_pylist()]
        archive = open_archive(store.client, config.tables)
        assert isinstance(archive, LsstArchive)
        app = TestClient(create_app(archive, version=__version__))
        yield Filled(app, archive, alerts, store.client.config.table_prefix)


def _ok(filled: Filled, url: str, **params: Any) -> Any:
    response = filled.client.get(url, params=params)
    assert response.status_code == 200, response.text
    return json.loads(response.text)  # Python's json keeps integers exact


def _object_id(alert: dict[str, Any]) -> int:
    return alert["diaObjectId"] if alert["diaObjectId"] is not None else alert["ssObjectId"]


def test_object_with_its_light_curve_and_forced_photometry(filled: Filled) -> None:
    static = [a for a in filled.alerts if a["diaObject"] is not None]
    richest = max(static, key=lambda a: (len(a["prvDiaForcedSources"] or []), len(a["prvDiaSources"] or [])))
    oid = richest["diaObjectId"]
    mine = [a for a in filled.alerts if a["diaObjectId"] == oid]
    found = _ok(filled, f"/objects/{oid}")
    assert found["objectId"] == oid
    assert sorted(a["diaSourceId"] for a in found["alerts"]) == sorted(a["diaSourceId"] for a in mine)
    latest = max(mine, key=lambda a: (a["diaSource"]["midpointMjdTai"], a["diaSourceId"]))
    assert found["diaObject"]["diaSourceId"] == latest["diaSourceId"]
    assert found["diaObject"]["nDiaSources"] == latest["diaObject"]["nDiaSources"]

    points = found["lightcurve"]
    detections = {s["diaSourceId"]: s for a in mine for s in [a["diaSource"], *(a["prvDiaSources"] or [])]}
    forced = {f["diaForcedSourceId"]: f for a in mine for f in a["prvDiaForcedSources"] or []}
    assert forced, "the richest object has forced photometry"
    got_det = {p["diaSourceId"]: p for p in points if p["kind"] in ("alert", "detection")}
    got_forced = {p["diaForcedSourceId"]: p for p in points if p["kind"] == "forced"}
    assert got_det.keys() == detections.keys() and got_forced.keys() == forced.keys()
    assert {k for k, p in got_det.items() if p["kind"] == "alert"} == {a["diaSourceId"] for a in mine}
    for key, p in got_forced.items():
        f = forced[key]
        assert p["midpointMjdTai"] == f["midpointMjdTai"] and p["band"] == f["band"]
        assert p["psfFlux"] == pytest.approx(f["psfFlux"], rel=1e-6)
        if f["psfFlux"] > 0:  # AB magnitude of a flux in nJy, by hand
            assert p["magpsf"] == pytest.approx(-2.5 * math.log10(f["psfFlux"]) + 31.4, abs=1e-6)
        else:
            assert p["magpsf"] is None
    times = [p["midpointMjdTai"] for p in points]
    assert times == sorted(times)

    png = filled.client.get(f"/objects/{oid}/lightcurve.png")
    assert png.status_code == 200 and png.content.startswith(PNG)


def test_ids_above_2_53_are_exact_in_json(filled: Filled) -> None:
    big = [a for a in filled.alerts if a["diaSourceId"] > 2**53]
    assert big
    for alert in big[:5]:
        oid = _object_id(alert)
        found = _ok(filled, f"/objects/{oid}")
        assert alert["diaSourceId"] in {a["diaSourceId"] for a in found["alerts"]}
        assert found["objectId"] == oid and isinstance(found["objectId"], int)
    assert filled.client.get("/objects/170587115523932320").status_code in (404,)  # a float-rounded id is unknown
    assert filled.client.get("/objects/ZTF23abc").status_code == 422  # not an LSST id


def test_cutouts_as_fits_and_png(filled: Filled) -> None:
    alert = next(a for a in filled.alerts if a["cutoutScience"])
    oid = _object_id(alert)
    fits_bytes = filled.client.get(f"/objects/{oid}/cutout", params={"candid": alert["diaSourceId"], "kind": "science"})
    assert fits_bytes.status_code == 200 and fits_bytes.content == alert["cutoutScience"]
    jd = alert["diaSource"]["midpointMjdTai"] + 2400000.5
    diff = filled.client.get(f"/objects/{oid}/cutout", params={"jd": jd, "kind": "difference"})
    assert diff.status_code == 200 and diff.content == alert["cutoutDifference"]
    png = filled.client.get(f"/objects/{oid}/cutout", params={"candid": alert["diaSourceId"], "format": "png"})
    assert png.status_code == 200 and png.content.startswith(PNG)


def test_cone_search_finds_the_alert(filled: Filled) -> None:
    alert = filled.alerts[0]
    ra, dec = alert["diaSource"]["ra"], alert["diaSource"]["dec"]
    found = _ok(filled, "/conesearch", ra=ra, dec=dec, radius=1.0)
    assert alert["diaSourceId"] in {a["diaSourceId"] for a in found["alerts"]}
    assert all(a["distance_arcsec"] <= 1.0 for a in found["alerts"])


def test_solar_system_by_id_and_by_designation(filled: Filled) -> None:
    sso = [a for a in filled.alerts if a["ssSource"] is not None]
    assert sso
    alert = sso[0]
    sso_id = alert["ssSource"]["ssObjectId"]
    by_id = _ok(filled, f"/sso/{sso_id}")
    expected = {a["diaSourceId"] for a in sso if a["ssSource"]["ssObjectId"] == sso_id}
    assert {a["diaSourceId"] for a in by_id["alerts"]} == expected
    named = [a for a in sso if a["ssSource"].get("designation")]
    if named:
        name = named[0]["ssSource"]["designation"]
        by_name = _ok(filled, f"/sso/{name}")
        assert named[0]["diaSourceId"] in {a["diaSourceId"] for a in by_name["alerts"]}
    # the solar-system alert is also an object of its own (keyed by ssObjectId)
    assert _ok(filled, f"/objects/{sso_id}")["diaObject"] is None


def test_statistics_per_night(filled: Filled) -> None:
    nights = {n["night"]: n for n in _ok(filled, "/statistics")}
    for night in {a["night"] for a in filled.alerts}:
        mine = [a for a in filled.alerts if a["night"] == night]
        assert nights[night]["alerts"] == len(mine)
        assert sum(nights[night]["per_band"].values()) == len(mine)


def test_fink_query_reads_the_lsst_archive(
    filled: Filled, hbase_client: HBaseClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FINK_HBASE_TABLE_PREFIX", filled.prefix)
    monkeypatch.setenv("FINK_HBASE_THRIFT", f"{hbase_client.config.host}:{hbase_client.config.port}")
    big = next(a for a in filled.alerts if a["diaSourceId"] > 2**53)
    oid = _object_id(big)
    assert main(["query", "--survey", "lsst", "object", str(oid), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert big["diaSourceId"] in {a["diaSourceId"] for a in printed["alerts"]}
    monkeypatch.setenv("FINK_SURVEY", "lsst")
    assert main(["query", "object", str(oid)]) == 0
    text = capsys.readouterr().out
    assert str(oid) in text and "light curve" in text
    assert main(["query", "stats"]) == 0
    assert "night" in capsys.readouterr().out
