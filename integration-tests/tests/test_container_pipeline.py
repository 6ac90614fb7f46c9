"""The containerised pipeline, end to end: the images Pants built (fink/kafka, fink/hbase, the four stage
images and fink/datasim) run under testcontainers on one Docker network, on the 300 real ZTF 4.02 alerts,
and the reconciliation report must be exact. Then the archive query API image (fink/api) serves what the
archive stage wrote.

The stages share a lake folder of the host (bind-mounted at /data/lake), so the report is built here, from
the host, against the published Kafka and HBase ports. The expected numbers are the data's own: 300
alerts, 3 of them the same candid twice (dropped by Spark's deduplication), 297 science alerts that all
pass the quality cuts, 297 rows in the HBase main table; the API's per-night statistics count those 297.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from containers import HBASE_INTERNAL, KAFKA_INTERNAL, free_port, read_version, start_labelled, wait_healthy
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from fink_archive.tables import KEY_SEP, ArchiveTables
from fink_cli.reconcile import RunContext, build_report
from fink_common.config import HBaseConfig
from fink_common.datasets import datasim_dir
from fink_common.hbase import HBaseClient
from fink_common.kafka import ensure_topics

STAGES = ("stream2raw", "raw2science", "distribution", "archive")
INPUT_TOPIC = "ztf_containers_programid1"
TOPIC_PREFIX = "fink_"
ALERTS = "ztf_2023_schema_4.02"
#: the pipeline on 2 busy cores: cold Spark start of four stages, then three micro-batch hops
DEADLINE_S = 900.0


def _stage_version(stage: str) -> str:
    return read_version(Path("stages") / stage / "src" / f"fink_{stage}" / "VERSION")


def _image(name: str, version: str) -> str:
    return f"fink/{name}:{version}"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("container-lake")
    path.chmod(0o777)  # the images run as uid 10001
    return path


@pytest.fixture(scope="module")
def stages(
    docker_network: Network,
    kafka_container: str,
    hbase_container: tuple[str, int],
    lake: Path,
) -> Iterator[dict[str, DockerContainer]]:
    ensure_topics(kafka_container, [INPUT_TOPIC])
    env = {
        "FINK_KAFKA_BOOTSTRAP": KAFKA_INTERNAL,
        "FINK_HBASE_THRIFT": HBASE_INTERNAL,
        "FINK_DATA_DIR": "/data/lake",
        "FINK_INPUT_TOPICS": INPUT_TOPIC,
        "FINK_TOPIC_PREFIX": TOPIC_PREFIX,
        "FINK_TRIGGER_SECONDS": "2",
        "FINK_SOURCE_WAIT_SECONDS": str(int(DEADLINE_S)),
        "FINK_SPARK_DRIVER_MEMORY": "1g",
    }
    running: dict[str, DockerContainer] = {}
    try:
        for stage in STAGES:
            container = (
                DockerContainer(_image(stage, _stage_version(stage)))
                .with_envs(**env)
                .with_volume_mapping(str(lake), "/data/lake", "rw")
                .with_network(docker_network)
            )
            running[stage] = start_labelled(container)
        yield running
    finally:
        for container in running.values():
            container.stop()


def _replay(network: Network, datasim: Path) -> dict[str, object]:
    """Replays the real alerts with the datasim image (as compose does); returns its JSON summary line."""
    container = (
        DockerContainer(_image("datasim", read_version("datasim/src/fink_datasim/VERSION")))
        .with_volume_mapping(str(datasim), "/alerts", "ro")
        .with_network(network)
        .with_command(
            ["replay", f"--alerts=/alerts/{ALERTS}", f"--topic={INPUT_TOPIC}", "--rate=0",
             f"--bootstrap={KAFKA_INTERNAL}", "--quiet", "--json"]
        )  # fmt: skip
    )
    start_labelled(container)
    try:
        wrapped = container.get_wrapped_container()
        status = wrapped.wait(timeout=300)
        out = wrapped.logs(stdout=True, stderr=False).decode().strip().splitlines()
        assert status["StatusCode"] == 0, wrapped.logs().decode()[-2000:]
    finally:
        container.stop()
    return json.loads(out[-1])


def _get(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _get_json(url: str) -> tuple[int, Any]:
    status, body = _get(url)
    return status, json.loads(body)


def _assert_api_serves(network: Network, hbase: tuple[str, int], archived: int) -> None:
    """The fink/api image, on the archive the pipeline wrote: healthy (heartbeat), then its routes answer
    from HBase: /health, /statistics (the `archived` alerts), an archived object, an unknown one (404)."""
    tables = ArchiveTables("ztf")
    client = HBaseClient(HBaseConfig(*hbase, ""), pool_size=1)
    first_key = client.scan(tables.main, row_prefix=b"ZTF", limit=1)[0][0].decode()
    object_id = first_key.split(KEY_SEP)[0]
    object_alerts = client.count(tables.main, row_prefix=f"{object_id}{KEY_SEP}".encode())

    port = free_port()
    container = (
        DockerContainer(_image("api", read_version("libs/fink-api/src/fink_api/VERSION")))
        .with_envs(FINK_HBASE_THRIFT=HBASE_INTERNAL, FINK_HBASE_TABLE_PREFIX="", FINK_SURVEY="ztf",
                   FINK_API_HOST="0.0.0.0", FINK_API_PORT="8080")  # fmt: skip
        .with_bind_ports(8080, port)
        .with_network(network)
    )
    start_labelled(container)
    try:
        print(f"{container.image}: healthy {wait_healthy(container, timeout=120):.1f} s after start")
        base = f"http://127.0.0.1:{port}"

        status, health = _get_json(f"{base}/health")
        assert status == 200 and health["status"] == "ok", health

        # the statistics row of a night is rewritten after each archive micro-batch: give the last one time
        deadline = time.monotonic() + 60
        status, nights = _get_json(f"{base}/statistics")
        while status == 200 and sum(n["alerts"] for n in nights) != archived and time.monotonic() < deadline:
            time.sleep(2)
            status, nights = _get_json(f"{base}/statistics")
        assert status == 200 and nights, nights
        assert sum(n["alerts"] for n in nights) == archived, nights

        status, found = _get_json(f"{base}/objects/{object_id}")
        assert status == 200, found
        assert found["objectId"] == object_id and len(found["alerts"]) == object_alerts
        assert found["lightcurve"]
        # matplotlib in the image (manylinux wheels on the runtime's Debian python3)
        status, png = _get(f"{base}/objects/{object_id}/lightcurve.png")
        assert status == 200 and png.startswith(b"\x89PNG"), png[:200]

        status, missing = _get_json(f"{base}/objects/ZTF00aaaaaaa")
        assert status == 404, missing
    except BaseException:
        print(container.get_wrapped_container().logs(tail=60).decode("utf-8", "replace"))
        raise
    finally:
        container.stop()


def _stdout_json(container: DockerContainer) -> list[dict[str, object]]:
    lines = container.get_wrapped_container().logs(stdout=True, stderr=False).decode().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.usefixtures("stages")
def test_containerised_pipeline_reconciles_exactly(
    docker_network: Network,
    kafka_container: str,
    hbase_container: tuple[str, int],
    lake: Path,
    stages: dict[str, DockerContainer],
) -> None:
    replayed = _replay(docker_network, datasim_dir())
    assert replayed["sent"] == 300 and replayed["failed"] == 0

    host, port = hbase_container
    ctx = RunContext(lake, kafka_container, (INPUT_TOPIC,), TOPIC_PREFIX, "ztf", HBaseConfig(host, port, ""))
    deadline = time.monotonic() + DEADLINE_S
    report = build_report(ctx)
    while not report.ok and time.monotonic() < deadline:
        for name, container in stages.items():
            state = container.get_wrapped_container()
            state.reload()
            assert state.status == "running", f"{name} exited:\n{state.logs().decode()[-3000:]}"
        time.sleep(5)
        report = build_report(ctx)
    assert report.ok, report.render()

    totals = report.totals
    assert (totals["received"], totals["raw"], totals["quarantined"]) == (300, 300, 0)
    assert (totals["duplicates"], totals["science"], totals["rejected"]) == (3, 297, 0)
    assert report.nights["20231017"]["hbase_main"] == 297

    # each stage image logs JSON lines to stdout: one per micro-batch, with the stage and its version
    for stage, container in stages.items():
        events = _stdout_json(container)
        batches = [e for e in events if e.get("event") == "micro-batch"]
        assert batches, f"{stage}: no micro-batch line on stdout"
        assert {e["stage"] for e in batches} == {stage}
        assert {e["version"] for e in batches} == {_stage_version(stage)}

    # the archive query API image serves what the archive stage wrote
    _assert_api_serves(docker_network, hbase_container, report.nights["20231017"]["hbase_main"])
