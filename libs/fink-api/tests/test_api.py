"""The API on a real HBase filled by the archive stage from the 300 real ZTF 4.02 alerts (enriched as
raw2science does): every answer is checked against the alerts themselves, read back from the parquet."""

from __future__ import annotations

import gzip
import io
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from archive_env import private_archive
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from enriched_alerts import read_science, science_lake  # noqa: F401  (session fixture)
from fastapi.testclient import TestClient
from pyspark.sql import SparkSession

from fink_api import __version__
from fink_api.__main__ import main
from fink_api.app import create_app
from fink_api.archive import Archive
from fink_archive.job import start
from fink_archive.tables import ArchiveTables, jd_key
from fink_common.hbase import HBaseClient
from fink_common.testing import unique_name

PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Filled:
    client: TestClient
    archive: Archive
    alerts: list[dict[str, Any]]  # the distinct science alerts, as the parquet holds them
    prefix: str


@pytest.fixture(scope="module")
def filled(spark: SparkSession, science_lake: Path, hbase_client: HBaseClient) -> Iterator[Filled]:  # noqa: F811
    with private_archive(hbase_client, science_lake, "it_api") as (config, store):
        query, _ = start(config, spark)
        query.awaitTermination(timeout=600)
        assert query.exception() is None
        rows = {r["candid"]: r for r in read_science(science_lake).to_pylist()}  # 300 rows, 297 distinct
        archive = Archive(store.client, config.tables)
        app = TestClient(create_app(archive, version=__version__))
        yield Filled(app, archive, list(rows.values()), store.client.config.table_prefix)


def _ok(filled: Filled, url: str, **params: Any) -> Any:
    response = filled.client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _expected_lightcurve(alerts: list[dict[str, Any]], object_id: str) -> dict[tuple[str, int, int], tuple[Any, ...]]:
    """(jd key, pid, candid or 0) -> (kind, fid, magpsf, diffmaglim) from the object's alerts and their histories."""
    mine = [a for a in alerts if a["objectId"] == object_id]
    out: dict[tuple[str, int, int], tuple[Any, ...]] = {}
    for alert in mine:
        for point in alert["prv_candidates"] or []:
            kind = "upper" if point["magpsf"] is None else "detection"
            out.setdefault((jd_key(point["jd"]), point["pid"], point["candid"] or 0), (kind, point["fid"], point["magpsf"], point["diffmaglim"]))
    for alert in mine:  # an archived alert wins over the same measurement seen in a history
        c = alert["candidate"]
        out[(jd_key(c["jd"]), c["pid"], c["candid"])] = ("alert", c["fid"], c["magpsf"], c["diffmaglim"])
    return out


def _f32(value: Any) -> Any:
    return None if value is None else float(np.float32(value))


def test_every_light_curve_equals_the_alerts_and_their_history(filled: Filled) -> None:
    objects = sorted({a["objectId"] for a in filled.alerts})
    assert len(objects) > 200
    kinds: set[str] = set()
    for object_id in objects:
        got = _ok(filled, f"/objects/{object_id}/lightcurve")["lightcurve"]
        expected = _expected_lightcurve(filled.alerts, object_id)
        alerts = [p for p in got if p["kind"] == "alert"]
        assert len(alerts) == len({a["candid"] for a in filled.alerts if a["objectId"] == object_id})
        identities = [(jd_key(p["jd"]), p["pid"], p["candid"] or 0) for p in got]
        assert len(set(identities)) == len(got)
        as_dict = {i: (p["kind"], p["fid"], _f32(p["magpsf"]), _f32(p["diffmaglim"])) for i, p in zip(identities, got, strict=True)}
        assert as_dict == {k: (kind, fid, _f32(m), _f32(lim)) for k, (kind, fid, m, lim) in expected.items()}, object_id
        assert [p["jd"] for p in got] == sorted(p["jd"] for p in got)
        kinds |= {p["kind"] for p in got}
    assert kinds == {"alert", "detection", "upper"}


def test_object_returns_its_alerts_with_added_values(filled: Filled) -> None:
    by_object: dict[str, list[dict[str, Any]]] = {}
    for alert in filled.alerts:
        by_object.setdefault(alert["objectId"], []).append(alert)
    object_id, mine = max(by_object.items(), key=lambda item: len(item[1]))
    got = _ok(filled, f"/objects/{object_id}")
    assert got["objectId"] == object_id
    mine = sorted(mine, key=lambda a: (a["candidate"]["jd"], str(a["candid"])))  # the rowkey order
    assert [a["candid"] for a in got["alerts"]] == [a["candid"] for a in mine] and len(mine) >= 3
    for stored, alert in zip(got["alerts"], mine, strict=True):
        assert stored["classification"] == alert["classification"] and stored["roid"] == alert["roid"]
        assert stored["ra"] == alert["candidate"]["ra"] and stored["jd"] == alert["candidate"]["jd"]
        assert _f32(stored["magpsf"]) == _f32(alert["candidate"]["magpsf"])


def test_cone_search_equals_brute_force_angular_distance(filled: Filled) -> None:
    ra = np.array([a["candidate"]["ra"] for a in filled.alerts])
    dec = np.array([a["candidate"]["dec"] for a in filled.alerts])
    sky = SkyCoord(ra * u.deg, dec * u.deg)
    rng = np.random.default_rng(7)
    centers = [(ra[i], dec[i]) for i in rng.choice(len(ra), 12, replace=False)]
    centers += [(ra[i] + 0.3, dec[i] - 0.2) for i in rng.choice(len(ra), 4, replace=False)]  # off any alert
    centers += [(0.001, 89.9), (359.999, -10.0), (float(rng.uniform(0, 360)), float(rng.uniform(-30, 60)))]
    found_any = 0
    for c_ra, c_dec in centers:
        c_ra = c_ra % 360.0
        separation = sky.separation(SkyCoord(c_ra * u.deg, c_dec * u.deg)).arcsec
        for radius in (1.0, 120.0, 1800.0, 3600.0):
            got = _ok(filled, "/conesearch", ra=c_ra, dec=c_dec, radius=radius)
            expected = {a["candid"] for a, s in zip(filled.alerts, separation, strict=True) if s <= radius}
            assert {a["candid"] for a in got["alerts"]} == expected, (c_ra, c_dec, radius)
            by_candid = {a["candid"]: s for a, s in zip(filled.alerts, separation, strict=True)}
            for alert in got["alerts"]:
                assert alert["distance_arcsec"] == pytest.approx(by_candid[alert["candid"]], abs=1e-6)
            distances = [a["distance_arcsec"] for a in got["alerts"]]
            assert distances == sorted(distances)
            found_any += len(expected)
    assert found_any > 40  # the test found alerts, not only empty cones


def test_latest_alerts_of_a_class_between_two_dates(filled: Filled) -> None:
    counts = _ok(filled, "/classes")
    for label, n in counts.items():
        assert n == len({a["candid"] for a in filled.alerts if a["classification"] == label})
    # the class with the most distinct exposure times; the range leaves out its first and its last ones
    jds = {label: sorted({a["candidate"]["jd"] for a in filled.alerts if a["classification"] == label}) for label in counts}
    name = max(jds, key=lambda label: len(jds[label]))
    start, stop = jds[name][1], jds[name][-1]
    expected = [
        (jd, candid) for jd, _, _, candid in sorted(
            ((a["candidate"]["jd"], a["objectId"], str(a["candid"]), a["candid"]) for a in filled.alerts
             if a["classification"] == name and jd_key(start) <= jd_key(a["candidate"]["jd"]) < jd_key(stop)),
            reverse=True,
        )
    ]  # fmt: skip  (latest first; one exposure's alerts in reversed key order: objectId, then candid)
    got = _ok(filled, "/latests", **{"class": name, "start": str(start), "stop": str(stop), "n": 5})
    assert [(a["jd"], a["candid"]) for a in got["alerts"]] == expected[:5] and len(expected) > 5
    everything = _ok(filled, "/latests", **{"class": name, "start": "2023-10-01", "stop": "2023-11-01", "n": 1000})
    assert everything["count"] == counts[name]
    empty = _ok(filled, "/latests", **{"class": name, "start": "2020-01-01", "stop": "2020-01-02"})
    assert empty["alerts"] == []


def test_solar_system_objects_by_name(filled: Filled) -> None:
    named: dict[str, set[int]] = {}
    for a in filled.alerts:
        name = a["candidate"]["ssnamenr"]
        if name and name.strip().lower() not in ("null", "none", "nan"):
            named.setdefault(name.strip(), set()).add(a["candid"])
    assert named
    for name, candids in list(named.items())[:10]:
        got = _ok(filled, f"/sso/{name}")
        assert {a["candid"] for a in got["alerts"]} == candids and all(a["ssnamenr"] == name for a in got["alerts"])


def test_cutouts_as_fits_and_png(filled: Filled) -> None:
    alert = filled.alerts[0]
    object_id, jd = alert["objectId"], alert["candidate"]["jd"]
    for kind in ("science", "template", "difference"):
        response = filled.client.get(f"/objects/{object_id}/cutout", params={"jd": jd, "kind": kind})
        assert response.status_code == 200 and response.headers["content-type"] == "application/fits"
        stamp = alert[f"cutout{kind.capitalize()}"]["stampData"]
        assert response.content == gzip.decompress(stamp)
        with fits.open(io.BytesIO(response.content)) as hdus:
            assert hdus[0].data.shape[0] > 10
    png = filled.client.get(f"/objects/{object_id}/cutout", params={"jd": jd, "kind": "difference", "format": "png"})
    assert png.status_code == 200 and png.content.startswith(PNG)
    side_by_side = filled.client.get(f"/objects/{object_id}/cutouts.png")
    assert side_by_side.status_code == 200 and side_by_side.content.startswith(PNG)
    plot = filled.client.get(f"/objects/{object_id}/lightcurve.png")
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png" and plot.content.startswith(PNG)


def test_statistics_per_night(filled: Filled) -> None:
    nights = _ok(filled, "/statistics")
    assert [n["night"] for n in nights] == ["20231017"]
    one = _ok(filled, "/statistics", night="20231017")[0]
    assert one["alerts"] == len(filled.alerts) == 297
    assert one["objects"] == len({a["objectId"] for a in filled.alerts})
    assert sum(one["per_class"].values()) == sum(1 for a in filled.alerts if a["classification"] is not None)


@pytest.mark.parametrize(
    ("url", "params", "status", "message"),
    [
        ("/objects/ZTF99zzzzzzz", {}, 404, "no alert of object ZTF99zzzzzzz"),
        ("/objects/ZTF99zzzzzzz/lightcurve.png", {}, 404, "no alert of object"),
        ("/objects/ZTF_23abc", {}, 422, "String should match pattern"),
        ("/conesearch", {"ra": 400, "dec": 0, "radius": 10}, 422, "less than 360"),
        ("/conesearch", {"ra": 10, "dec": 0, "radius": 0}, 422, "greater than 0"),
        ("/conesearch", {"ra": 10, "dec": 0, "radius": 7200}, 422, "less than or equal to 3600"),
        ("/conesearch", {"ra": "ten", "dec": 0, "radius": 1}, 422, "valid number"),
        ("/conesearch", {"dec": 0, "radius": 1}, 422, "Field required"),
        ("/latests", {"class": "Unknown", "start": "2023-10-19", "stop": "2023-10-17"}, 422, "must be before"),
        ("/latests", {"class": "Unknown", "start": "yesterday", "stop": "2023-10-17"}, 422, "neither a Julian date"),
        ("/latests", {"class": "a_b\x01", "start": "2023-10-16", "stop": "2023-10-17"}, 422, "is not valid"),
        ("/statistics", {"night": "2023-10-17"}, 422, "String should match pattern"),
        ("/statistics", {"night": "20200101"}, 404, "no alert of night 20200101"),
        ("/sso/99999999", {}, 404, "no alert of solar-system object"),
        ("/objects/ZTF99zzzzzzz/cutout", {"jd": 2460235.5}, 404, "no cutout of object"),
        ("/objects/ZTF99zzzzzzz/cutout", {"jd": 2460235.5, "format": "gif"}, 422, "'fits' or 'png'"),
    ],
)
def test_bad_parameters_get_422_and_unknown_things_404(
    filled: Filled, url: str, params: dict[str, Any], status: int, message: str
) -> None:
    response = filled.client.get(url, params=params)
    assert response.status_code == status, response.text
    assert message in response.text


def test_openapi_lists_every_route(filled: Filled) -> None:
    paths = set(_ok(filled, "/openapi.json")["paths"])
    assert {
        "/objects/{object_id}", "/objects/{object_id}/lightcurve", "/objects/{object_id}/lightcurve.png",
        "/objects/{object_id}/cutouts.png", "/objects/{object_id}/cutout", "/conesearch", "/classes", "/latests",
        "/sso/{name}", "/statistics",
    } <= paths  # fmt: skip


def test_command_line_queries_call_the_same_code(
    filled: Filled, hbase_client: HBaseClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("FINK_HBASE_THRIFT", f"{hbase_client.config.host}:{hbase_client.config.port}")
    monkeypatch.setenv("FINK_HBASE_TABLE_PREFIX", filled.prefix)
    alert = filled.alerts[0]
    plot, cutouts = tmp_path / "lc.png", tmp_path / "cutouts.png"
    assert main(["query", "object", alert["objectId"], "--plot", str(plot), "--cutouts", str(cutouts)]) == 0
    out = capsys.readouterr().out
    assert alert["objectId"] in out and str(alert["candid"]) in out and f"wrote {plot}" in out
    assert plot.read_bytes().startswith(PNG) and cutouts.read_bytes().startswith(PNG)
    c = alert["candidate"]
    assert main(["query", "cone", "--ra", str(c["ra"]), "--dec", str(c["dec"]), "--radius", "2", "--json"]) == 0
    api = _ok(filled, "/conesearch", ra=c["ra"], dec=c["dec"], radius=2, n=100)["alerts"]
    assert json.loads(capsys.readouterr().out) == api
    assert main(["query", "object", "ZTF99zzzzzzz"]) == 1
    assert "no alert of object ZTF99zzzzzzz" in capsys.readouterr().err
    assert main(["query", "cone", "--ra", "500", "--dec", "0", "--radius", "2"]) == 2
    assert main(["query", "stats"]) == 0 and "20231017" in capsys.readouterr().out


def test_an_archive_not_created_yet_is_404_and_hbase_down_is_503(hbase_client: HBaseClient) -> None:
    empty = HBaseClient(replace(hbase_client.config, table_prefix=unique_name("it_api_none")))
    app = TestClient(create_app(Archive(empty, ArchiveTables("ztf")), version=__version__))
    for url in ("/statistics", "/objects/ZTF18adljlvp", "/classes"):
        response = app.get(url)
        assert response.status_code == 404 and "has no table" in response.json()["detail"], url
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = HBaseClient(replace(hbase_client.config, host="127.0.0.1", port=closed))
    app = TestClient(create_app(Archive(down, ArchiveTables("ztf")), version=__version__))
    for url in ("/health", "/objects/ZTF18adljlvp"):
        response = app.get(url)  # answered at once, not after the HBase client's minutes of retries
        assert response.status_code == 503 and "does not answer" in response.json()["detail"], url
