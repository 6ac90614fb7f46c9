"""HBase down for 60 s under the real archive stage: `python -m fink_archive` runs as a service (no
FINK_AVAILABLE_NOW) against the fink/hbase image; HBase is stopped (`docker stop`) while new science data
arrives, and started again 60 s later. The stage must neither exit nor restart, must log its retries, and must
catch up: afterwards HBase holds every science alert, once, and the night's statistics count them all.

The science input is the 297 distinct real ZTF 4.02 alerts as raw2science writes them (decoded by stream2raw's
transform, enriched by the science modules), in two micro-batch files: the first is archived while HBase is up,
the second lands in the lake while HBase is down.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from containers import free_port, hbase_image, start_labelled, wait_healthy
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from testcontainers.core.container import DockerContainer

from fink_archive.tables import ArchiveTables, is_schema_row
from fink_cli.processes import StageProcess, wait_until
from fink_cli.readback import scan_cells
from fink_common.config import HBaseConfig
from fink_common.datasets import sample_files
from fink_common.errors import ServiceUnavailableError
from fink_common.hbase import HBaseClient
from fink_common.lake import write_batch
from fink_common.night import SITE_LONGITUDES
from fink_raw2science.science import resolve_modules
from fink_raw2science.science.adapter import apply_modules
from fink_stream2raw.transform import decode_messages, raw_rows, stamp

OUTAGE_S = 60.0
PREFIX = "archiveoutage"
NIGHT = "20231017"
KAFKA_DDL = "value binary, topic string, partition int, offset long, timestamp timestamp"
TABLES = ArchiveTables("ztf")


@pytest.fixture()
def hbase() -> Iterator[tuple[DockerContainer, int]]:
    port = free_port()
    container = hbase_image(port)
    start_labelled(container)
    try:
        wait_healthy(container)
        yield container, port
    finally:
        container.stop()


def _write_science(spark: SparkSession, out: Path) -> set[int]:
    """The real alerts as raw2science's output, as two science batches (0 and 1) under `out`; returns the candids."""
    ts = datetime(2023, 10, 19, 6, 0, tzinfo=UTC)
    values = [p.read_bytes() for p in sample_files("ztf_4.02")]
    kafka = spark.createDataFrame([(v, "ztf_outage", 0, i, ts) for i, v in enumerate(values)], KAFKA_DDL)
    stamped = stamp(decode_messages(kafka, "ztf_4.02"), longitude_deg=SITE_LONGITUDES["ztf"], version="test")
    science = apply_modules(raw_rows(stamped).dropDuplicates(["candid"]), resolve_modules())
    science = science.withColumns({"raw2science_version": F.lit("test"), "science_timestamp": F.current_timestamp()})
    science = science.cache()
    for batch_id in (0, 1):
        write_batch(science.where(F.col("candid") % 2 == batch_id), out, batch_id)
    candids = {int(r.candid) for r in science.select("candid").collect()}
    science.unpersist()
    return candids


def _deliver(source: Path, lake_science: Path, batch_id: int) -> int:
    """Move one science batch's files into the watched lake, each atomically (hidden name, then rename)."""
    moved = 0
    for path in sorted(source.glob(f"night=*/batch-{batch_id:09d}*.parquet")):
        target_dir = lake_science / path.parent.name
        target_dir.mkdir(parents=True, exist_ok=True)
        hidden = target_dir / f".{path.name}"
        shutil.copyfile(path, hidden)
        os.replace(hidden, target_dir / path.name)
        moved += 1
    return moved


def _json_lines(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def _logged_alerts(log: Path) -> int:
    """Alerts the stage's finished micro-batches took in, from their JSON log lines."""
    return sum(int(e["alerts_in"]) for e in _json_lines(log) if e.get("event") == "micro-batch")


def _archived(client: HBaseClient) -> list[int] | None:
    """The candids of the main table's rows; None while HBase does not answer (it may still be booting)."""
    try:
        rows = scan_cells(client, TABLES.main, [b"i:candid"], keep=lambda k: not is_schema_row(k))
    except ServiceUnavailableError:
        return None
    return [int(cells[b"i:candid"][0]) for _, cells in rows]


def test_archive_stage_rides_out_a_60_s_hbase_outage(
    spark: SparkSession, hbase: tuple[DockerContainer, int], tmp_path: Path
) -> None:
    container, port = hbase
    lake = tmp_path / "lake"
    candids = _write_science(spark, tmp_path / "science-source")
    assert len(candids) == 297
    first = {c for c in candids if c % 2 == 0}
    assert _deliver(tmp_path / "science-source", lake / "science", 0) >= 1

    env = {
        "FINK_HBASE_THRIFT": f"127.0.0.1:{port}",
        "FINK_HBASE_TABLE_PREFIX": PREFIX,
        "FINK_DATA_DIR": str(lake),
        "FINK_TRIGGER_SECONDS": "2",
        "FINK_SPARK_DRIVER_MEMORY": "1g",
    }  # no FINK_AVAILABLE_NOW: a service, it runs until stopped
    stage = StageProcess("archive", "fink_archive", env, tmp_path / "archive.log")
    client = HBaseClient(HBaseConfig("127.0.0.1", port, PREFIX))
    stage.start()
    try:
        # the first batch is archived while HBase is up
        assert wait_until(
            lambda: TABLES.main in client.tables() and set(_archived(client) or []) == first,
            timeout_s=600, poll_s=3.0, on_tick=stage.check_alive,
        ), stage.tail(40)  # fmt: skip

        wrapped = container.get_wrapped_container()
        wrapped.stop(timeout=60)  # a clean stop: what was written is on the container's disk
        restarted = threading.Timer(OUTAGE_S, wrapped.start)
        restarted.start()
        assert _deliver(tmp_path / "science-source", lake / "science", 1) >= 1  # new data while HBase is down
        restarted.join()
        wait_healthy(container)

        # the stage catches up on its own: every alert archived, once, and its micro-batch finished (the cells
        # are written before the night statistics and the batch's log line: stopping in between would cut it)
        assert wait_until(
            lambda: sorted(_archived(client) or []) == sorted(candids) and _logged_alerts(tmp_path / "archive.log") >= len(candids),
            timeout_s=600, poll_s=5.0, on_tick=stage.check_alive,
        ), stage.tail(40)  # fmt: skip
        assert stage.returncode is None  # it never exited
    finally:
        code = stage.stop()
    assert code == 0, stage.tail(40)

    events = _json_lines(tmp_path / "archive.log")
    assert [e["event"] for e in events].count("starting") == 1  # never restarted
    retries = [e for e in events if e["event"] == "retrying"]
    assert len(retries) >= 3, "no retry logged as a JSON line while HBase was down:\n" + stage.tail(60)
    assert all(e["wait_s"] and e["error"] for e in retries)
    assert {e["stage"] for e in retries} == {"archive"}
    batches = [e for e in events if e["event"] == "micro-batch"]
    assert sum(int(e["alerts_in"]) for e in batches) == len(candids)  # each batch once: no failed attempt replayed
    stats = client.get_row(TABLES.statistics, f"ztf_{NIGHT}".encode())
    assert int(stats[b"basic:alerts"]) == len(candids)
    assert client.count(TABLES.cutouts) - 1 == len(candids)  # minus the schema row
