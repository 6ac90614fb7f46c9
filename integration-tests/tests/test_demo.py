"""The demo path end to end on the real services: the 300 real ZTF 4.02 alerts, then ZTF (generated alerts) and
Rubin (its 39 real wire messages, what the compose stack replays) side by side (`--survey all`), each with an
exact reconciliation of every sink."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from fink_cli.api import ApiProcess
from fink_cli.demo import DemoOptions, run_demo
from fink_common.datasets import datasim_dir, sample_dir
from fink_common.hbase import HBaseClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_demo_reconciles_the_real_alerts_exactly(kafka_bootstrap: str, hbase_client: HBaseClient, tmp_path: Path) -> None:
    ns = uuid.uuid4().hex[:8]
    report_path = tmp_path / "report.json"
    opts = DemoOptions(
        repo=Path(os.environ["FINK_REPO_ROOT"]),
        state=tmp_path / "state",
        alerts={"ztf": sample_dir("ztf_4.02")},
        n=0,
        seed=0,
        rate=0.0,
        timeout_s=900.0,
        report_json=report_path,
        bootstrap=kafka_bootstrap,
        input_topic=f"ztf_it{ns}_programid1",
        topic_prefix=f"fink_it{ns}_",
        table_prefix=f"it{ns}",
        api_port=_free_port(),
    )
    api = ApiProcess(opts.home, opts.thrift, opts.table_prefix, opts.api_port or 0)
    try:
        code = run_demo(opts)
        # the demo left the archive API serving what it archived
        status, nights = _get(f"{api.url}/statistics")
        assert status == 200 and [(n["night"], n["alerts"]) for n in nights] == [("20231017", 297)]
        status, found = _get(f"{api.url}/objects/ZTF18adljlvp")
        assert status == 200 and found["alerts"] and found["lightcurve"]
        assert _get(f"{api.url}/objects/ZTF00aaaaaaa")[0] == 404
    finally:
        stopped = api.stop()
    assert stopped and not api.answers()  # it was running; now it is not
    report = json.loads(report_path.read_text())
    failed = [c for c in report["checks"] if not c["ok"]]
    assert code == 0 and report["ok"] and not failed, failed

    # 300 messages, 297 distinct candids (3 exact duplicates), all pass the cuts, one Palomar night.
    assert report["totals"] == {
        "received": 300, "raw": 300, "quarantined": 0, "duplicates": 3, "science": 297, "rejected": 0,
    }  # fmt: skip
    assert set(report["nights"]) == {"20231017"} and report["nights"]["20231017"]["hbase_main"] == 297
    assert report["hbase_tables"]["ztf"] == 297 and report["hbase_tables"]["ztf.cutouts"] == 297
    assert sum(1 for f in report["filters"].values() if f["messages"] > 0) >= 3
    assert all(f["messages"] == f["expected"] for f in report["filters"].values())
    assert all(q["p50"] is not None for q in report["latency_s"].values())
    assert Path(report["locations"]["raw"]).is_dir()

    for table in hbase_client.tables():  # the run's own tables
        if table.startswith(f"it{ns}_"):
            hbase_client.delete_table(table)


def test_demo_runs_both_surveys_at_once_exactly(kafka_bootstrap: str, hbase_client: HBaseClient, tmp_path: Path) -> None:
    """`./fink demo --survey all --alerts lsst=.../lsst_wire`: a ZTF pipeline on generated alerts beside a Rubin one
    on every message of `lsst_wire` (9.0, 10.0, 11.0 and one synthetic test alert per schema 7.0 ... 11.1), as
    `docker compose up` replays them; every sink exact for both.

    The test alert is associated with no object (diaObjectId and ssObjectId both 0) and comes under 9.0, 10.0,
    11.0 and 11.1 with one diaSourceId: one science alert, three duplicates, which the archive cannot key: the
    report says so, and the statistics hold no row for its night."""
    ns = uuid.uuid4().hex[:8]
    report_path = tmp_path / "report.json"
    opts = DemoOptions(
        repo=Path(os.environ["FINK_REPO_ROOT"]), state=tmp_path / "state", alerts={"lsst": datasim_dir() / "lsst_wire"},
        n=150, seed=5, rate=0.0, timeout_s=900.0, report_json=report_path, bootstrap=kafka_bootstrap,
        input_topic=f"ztf_it{ns}_programid1", lsst_input_topic=f"lsst_it{ns}_alerts_v11", topic_prefix=f"fink_it{ns}_",
        table_prefix=f"it{ns}", api_port=None, surveys=("ztf", "lsst"),
    )  # fmt: skip
    try:
        code = run_demo(opts)
        data = json.loads(report_path.read_text())
        failed = {s: [c for c in r["checks"] if not c["ok"]] for s, r in data["reports"].items()}
        assert code == 0 and data["ok"] and not any(failed.values()), failed
        assert set(data["reports"]) == {"ztf", "lsst"}
        ztf = data["reports"]["ztf"]
        assert ztf["totals"]["received"] == 150 and ztf["hbase_tables"]["ztf.history"] > 0

        lsst = data["reports"]["lsst"]
        # 39 messages: 6 of schemas 7.x/8.0 quarantined; 33 decoded, 14 distinct real alerts twice (10.0, 11.0)
        # and the 9.0 one; the test alert four times. No hard cut for LSST.
        assert lsst["totals"] == {
            "received": 39, "raw": 33, "quarantined": 6, "duplicates": 17, "science": 16, "rejected": 0,
        }  # fmt: skip
        unkeyed = [c for c in lsst["checks"] if "without an object id" in c["detail"]]
        assert len(unkeyed) == 1 and "1 without an object id, not archived: [1231321321]" in unkeyed[0]["detail"]
        night = unkeyed[0]["name"].split(":")[0]
        assert lsst["nights"][night] | {"received": 0} == {
            "received": 0, "raw": 4, "quarantined": 0, "duplicates": 3, "science": 1, "rejected": 0, "hbase_main": 0,
        }  # fmt: skip
        tables = lsst["hbase_tables"]
        assert tables["lsst"] == tables["lsst.cutouts"] == tables["lsst.jd"] == 15
        assert tables["lsst.statistics"] == len([n for n, v in lsst["nights"].items() if v["hbase_main"] > 0])
        assert tables["lsst.sources"] > 15 and tables["lsst.forced"] > 0 and 0 < tables["lsst.objects"] <= 15
        assert 0 < tables["lsst.sso"] == tables["lsst.ssnamenr"] < 15
        names = {c["name"] for c in lsst["checks"]}
        assert {f"HBase lsst.{t} = its rule on science" for t in ("sources", "forced", "objects", "sso")} <= names
        assert sum(1 for f in lsst["filters"].values() if f["messages"] > 0) >= 3  # solar_system, long_trails, first_detections
        assert all(f["topic"].endswith("_lsst") for f in lsst["filters"].values())
        runs = json.loads((opts.home / "run.json").read_text())["runs"]
        assert [r["survey"] for r in runs] == ["ztf", "lsst"]
    finally:
        for table in hbase_client.tables():
            if table.startswith(f"it{ns}_"):
                hbase_client.delete_table(table)
