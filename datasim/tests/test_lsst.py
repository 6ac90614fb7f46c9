"""Generated Rubin alerts: Confluent framing, the official schema, the broker's own decoder, Rubin's sentinels,
ids, the solar-system share, history lengths, cutouts, visits, determinism and the command line."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pytest
from astropy.io import fits
from fastavro.validation import validate

from fink_common.alert_packet import official_schema, schema_id_of
from fink_common.errors import DecodeError
from fink_common.surveys import DecodeSettings, get_survey
from fink_common.surveys.lsst import split_confluent
from fink_datasim.cli import EXIT_ERROR, EXIT_OK, main
from fink_datasim.generate import MANIFEST, GenerateResult, generate
from fink_datasim.lsst.alert import LsstAlertFactory
from fink_datasim.lsst.cutout import StampPool
from fink_datasim.lsst.plan import build_lsst_plan

LSST_N, LSST_VISIT = 1500, 500  # the `lsst_night` fixture (conftest)
TWO_53 = 2**53


@pytest.fixture(scope="module")
def messages(lsst_night: GenerateResult) -> list[bytes]:
    return [(Path(lsst_night.out) / name).read_bytes() for name in lsst_night.files]


@pytest.fixture(scope="module")
def records(messages: list[bytes]) -> list[dict[str, Any]]:
    schema = fastavro.parse_schema(official_schema("11.0"))
    out = []
    for value in messages:
        schema_id, body = split_confluent(value)
        assert schema_id == 1100
        stream = io.BytesIO(body)
        out.append(fastavro.schemaless_reader(stream, schema))
        assert stream.tell() == len(body)  # one record, no trailing bytes
    return out


def _decoder(version: str = "11.0") -> Any:
    return get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name=f"lsst_{version}"))


def test_files_are_one_confluent_message_each_named_by_diasourceid(lsst_night: GenerateResult,
                                                                   messages: list[bytes],
                                                                   records: list[dict[str, Any]]) -> None:  # fmt: skip
    assert lsst_night.alerts == LSST_N == len(messages)
    names = sorted(p.name for p in Path(lsst_night.out).glob("*.avro"))
    assert names == sorted(lsst_night.files)
    for name, value, record in zip(lsst_night.files, messages, records, strict=True):
        assert value[:5] == b"\x00" + (1100).to_bytes(4, "big")
        assert name == f"{record['diaSourceId']}.confluent.avro"


def test_every_record_validates_against_the_official_schema(records: list[dict[str, Any]]) -> None:
    schema = fastavro.parse_schema(official_schema("11.0"))
    for record in records:
        assert validate(record, schema, raise_errors=True)


def test_the_broker_decoder_reads_every_alert(messages: list[bytes], records: list[dict[str, Any]]) -> None:
    decode = _decoder()
    for value, record in zip(messages, records, strict=True):
        row = decode(value)
        assert (row["schema_id"], row["schema_version"]) == (1100, "11.0")
        assert row["diaSourceId"] == record["diaSourceId"]
        sso = record["ssSource"] is not None
        assert row["diaObjectId"] == (None if sso else record["diaSource"]["diaObjectId"])
        assert row["ssObjectId"] == (record["diaSource"]["ssObjectId"] if sso else None)
    with pytest.raises(DecodeError):
        decode(messages[0][:-40])  # a truncated message is refused, not half-read


def test_sentinels_and_ids(records: list[dict[str, Any]]) -> None:
    ids = [r["diaSourceId"] for r in records]
    assert len(set(ids)) == len(ids) and min(ids) > TWO_53
    history_ids = [p["diaSourceId"] for r in records for p in r["prvDiaSources"] or []]
    forced_ids = [p["diaForcedSourceId"] for r in records for p in r["prvDiaForcedSources"] or []]
    assert len(set(history_ids + forced_ids + ids)) == len(history_ids) + len(forced_ids) + len(ids)
    for r in records:
        src = r["diaSource"]
        assert src["diaSourceId"] == r["diaSourceId"]
        if r["ssSource"] is not None:  # solar system
            assert src["diaObjectId"] == 0 and r["diaObject"] is None and r["mpc_orbits"] is not None
            assert r["prvDiaSources"] is None and r["prvDiaForcedSources"] is None
            assert src["ssObjectId"] == r["ssSource"]["ssObjectId"] > TWO_53
            assert r["ssSource"]["diaSourceId"] == r["diaSourceId"]
            packed = r["mpc_orbits"]["packed_primary_provisional_designation"]
            assert int.from_bytes(packed.encode(), "big") == src["ssObjectId"]  # Rubin's ssObjectId
            assert r["ssSource"]["designation"] == r["mpc_orbits"]["unpacked_primary_provisional_designation"]
            assert 0 < r["ssSource"]["helioRange"] < 60 and 0 <= r["ssSource"]["phaseAngle"] < 90
        else:
            assert src["ssObjectId"] == 0 and r["ssSource"] is None and r["mpc_orbits"] is None
            obj = r["diaObject"]
            assert obj["diaObjectId"] == src["diaObjectId"] > TWO_53
            assert obj["nDiaSources"] == len(r["prvDiaSources"]) + 1
            assert sum(obj[f"{b}_psfFluxNdata"] for b in "ugrizy") == obj["nDiaSources"]
            band = src["band"]
            assert obj[f"{band}_psfFluxMean"] is not None and obj[f"{band}_psfFluxNdata"] >= 1
            for point in r["prvDiaSources"]:
                assert point["diaObjectId"] == obj["diaObjectId"]
                assert point["midpointMjdTai"] < src["midpointMjdTai"] - 0.5  # earlier nights
            if r["prvDiaSources"]:  # the object's id is the id of its first detection
                assert obj["diaObjectId"] == r["prvDiaSources"][0]["diaSourceId"]
    ss_ids = [r["ssSource"]["ssObjectId"] for r in records if r["ssSource"]]
    assert len(set(ss_ids)) == len(ss_ids)


def test_solar_system_share(records: list[dict[str, Any]]) -> None:
    share = sum(r["ssSource"] is not None for r in records) / len(records)
    assert 0.10 <= share <= 0.15


def test_history_lengths_are_mostly_short_with_a_heavy_tail() -> None:
    plan = build_lsst_plan(200_000, 3, visit_size=10_000)
    static = ~plan.sso
    prv, forced = plan.n_prv[static], plan.n_forced[static]
    assert prv.min() == 0 and prv.max() == 1000 and 0.10 < (prv == 0).mean() < 0.15
    assert 8 <= np.median(prv) <= 30 and np.percentile(prv, 99) > 200
    assert forced.max() == 800 and np.median(forced) > np.median(prv) * 0.8
    assert (plan.n_prv[plan.sso] == 0).all()


def test_history_points_cover_several_bands_and_fluxes_look_like_rubin(records: list[dict[str, Any]]) -> None:
    points = [p for r in records for p in r["prvDiaSources"] or []]
    assert set(Counter(p["band"] for p in points)) == set("ugrizy")
    sources = [r["diaSource"] for r in records] + points
    snr = np.array([s["psfFlux"] / s["psfFluxErr"] for s in sources])
    assert (np.abs(snr) >= 5).all() and (np.abs(snr) < 6).mean() > 0.05
    assert 0.01 < (snr < 0).mean() < 0.3
    assert all(s["isNegative"] == (s["psfFlux"] < 0) for s in sources)
    forced = np.array([p["psfFlux"] for r in records for p in r["prvDiaForcedSources"] or []])
    assert (forced < 0).any() and (forced > 0).any()
    alerts = [r["diaSource"] for r in records]
    assert np.mean([s["pixelFlags"] for s in alerts]) < 0.2
    trails = np.array([s["trailLength"] for s in alerts])
    assert np.median(trails) < 3 and 0 < (trails > 8).sum() < 0.05 * len(trails)


def test_visits_share_one_visit_time_and_band(records: list[dict[str, Any]], lsst_night: GenerateResult) -> None:
    by_visit: dict[int, list[dict[str, Any]]] = {}
    for r in records:  # file order
        by_visit.setdefault(r["diaSource"]["visit"], []).append(r["diaSource"])
    assert [len(v) for v in by_visit.values()] == [LSST_VISIT] * (LSST_N // LSST_VISIT)
    assert list(by_visit) == sorted(by_visit)  # the files sort by visit
    mids = [{s["midpointMjdTai"] for s in v} for v in by_visit.values()]
    assert all(len(m) == 1 for m in mids) and all(len({s["band"] for s in v}) == 1 for v in by_visit.values())
    gaps = np.diff([m.pop() for m in mids]) * 86400.0
    assert ((gaps > 37) & (gaps < 41)).all()
    assert all(0 <= s["detector"] <= 188 for v in by_visit.values() for s in v)
    first = min(records[0]["diaSource"]["midpointMjdTai"], records[-1]["diaSource"]["midpointMjdTai"])
    hours_utc = (first - 37 / 86400.0 - 61105.0) * 24  # night of dayObs 20260305: 23:45 to 10:00 UTC
    assert -0.25 <= hours_utc <= 10
    manifest = json.loads((Path(lsst_night.out) / MANIFEST).read_text())
    assert [v["visit"] for v in manifest["visits"]] == list(by_visit)
    assert manifest["schema_id"] == 1100 and manifest["alerts"] == LSST_N


def test_cutouts_are_uncompressed_rubin_fits(records: list[dict[str, Any]]) -> None:
    for r in records[::50]:
        for kind in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
            data = r[kind]
            assert len(data) == 34_560 and data[:6] == b"SIMPLE"
            with fits.open(io.BytesIO(data)) as hdus:
                assert [h.name for h in hdus] == ["PRIMARY", "UNCERT", "PSFIMAGE"]
                assert hdus[0].data.shape == (30, 30) and hdus[0].data.dtype.name == "float32"
                assert hdus[2].data.shape == (41, 41) and hdus[2].data.dtype.name == "float64"
                assert hdus[0].header["CRVAL1"] == pytest.approx(r["diaSource"]["ra"], abs=1e-9)
                assert hdus[0].header["CRVAL2"] == pytest.approx(r["diaSource"]["dec"], abs=1e-9)


def test_packet_sizes_are_like_the_real_ones(messages: list[bytes]) -> None:
    sizes = np.array([len(m) for m in messages])
    assert 104_000 < np.median(sizes) < 118_000 and sizes.max() < 1_000_000


def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    one = generate(tmp_path / "a", n=700, seed=7, survey="lsst", visit_size=300, workers=1)
    two = generate(tmp_path / "b", n=700, seed=7, survey="lsst", visit_size=300, workers=2)  # chunks of 500, 200
    assert one.files == two.files and len(set(one.files)) == 700
    for name in one.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / MANIFEST).read_bytes() == (tmp_path / "b" / MANIFEST).read_bytes()
    other = generate(tmp_path / "c", n=300, seed=8, survey="lsst", visit_size=300)
    assert not set(other.files) & set(one.files)


@pytest.mark.parametrize("version", ["11.0", "11.1"])
def test_compiled_encoder_writes_the_fastavro_bytes(version: str) -> None:
    plan = build_lsst_plan(400, 2, visit_size=100)
    pool = StampPool.build(2, variants=2)
    fast = LsstAlertFactory(plan, pool, version, encoder="fastavro")
    compiled = LsstAlertFactory(plan, pool, version, encoder="compiled")
    decode = _decoder(version)
    for i in range(0, 400, 7):
        value = fast.message(i)
        assert compiled.message(i) == value
        assert value[1:5] == schema_id_of(version).to_bytes(4, "big")
        assert decode(value)["schema_version"] == version
    if version == "11.1":
        assert fast.alert(0)["diaSource"]["exposureTime"] == 30.0


def test_cli_generate_lsst(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lsst"
    argv = ["generate", "--survey", "lsst", "--n", "25", "--out", str(out), "--seed", "2", "--schema", "11.1",
            "--visit-size", "10", "--quiet"]  # fmt: skip
    assert main(argv) == EXIT_OK
    assert "generate: 25 alerts" in capsys.readouterr().out
    files = sorted(out.glob("*.confluent.avro"))
    assert len(files) == 25 and all(f.read_bytes()[:5] == b"\x00\x00\x00\x04\x4d" for f in files)  # id 1101
    manifest = json.loads((out / MANIFEST).read_text())
    assert (manifest["schema"], len(manifest["visits"])) == ("lsst_11.1", 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--survey", "ztf", "--n", "5", "--out", "{tmp}", "--schema", "11.0"], "--survey lsst only"),
        (["generate", "--survey", "lsst", "--n", "200000", "--visit-size", "100", "--out", "{tmp}"], "one night"),
        (["replay", "{tmp}", "--topic", "t"], "choose the pacing"),
        (["replay", "{tmp}", "--topic", "t", "--rate", "5", "--visit-size", "3"], "not both"),
        (["replay", "{tmp}", "--alerts", "{tmp}", "--topic", "t", "--rate", "0"], "give the alert folder once"),
    ],
)
def test_lsst_user_mistakes_print_one_line(argv: list[str], message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
