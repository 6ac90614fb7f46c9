"""HBase down for 60 s: our HBase client (what the archive stage writes through) retries with backoff, logs
each retry as a JSON line, and gets through once HBase is back. Nothing written before or during the outage
is lost. Real HBase: the fink/hbase image, stopped and started again with `docker stop`/`docker start`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import structlog
from containers import THRIFT_PORT, free_port, hbase_image, start_labelled, wait_healthy
from testcontainers.core.container import DockerContainer

from fink_common.config import HBaseConfig
from fink_common.hbase import HBaseClient

OUTAGE_S = 60.0


@pytest.fixture()
def hbase() -> Iterator[DockerContainer]:
    container = hbase_image(free_port())
    start_labelled(container)
    try:
        wait_healthy(container)
        yield container
    finally:
        container.stop()


def test_writes_ride_out_a_60_s_outage(hbase: DockerContainer) -> None:
    port = int(hbase.get_exposed_port(THRIFT_PORT))
    client = HBaseClient(HBaseConfig("127.0.0.1", port, "outage"))
    client.ensure_table("ztf", ["i"])
    before = [(f"before_{i:03d}".encode(), {b"i:n": str(i).encode()}) for i in range(100)]
    assert client.put_rows("ztf", before) == 100

    wrapped = hbase.get_wrapped_container()
    wrapped.stop(timeout=60)  # a clean stop: what was written is on the container's disk
    down_at = time.monotonic()

    def restart() -> None:
        time.sleep(OUTAGE_S)
        wrapped.start()

    threading.Thread(target=restart, daemon=True).start()
    during = [(f"during_{i:03d}".encode(), {b"i:n": str(i).encode()}) for i in range(100)]
    with structlog.testing.capture_logs() as logs:
        written = client.put_rows("ztf", during)  # blocks, retrying, until HBase answers again
    waited = time.monotonic() - down_at

    assert written == 100
    assert waited >= OUTAGE_S  # it really waited for HBase, it did not give up or skip the rows
    retries = [e for e in logs if e["event"] == "retrying"]
    assert len(retries) >= 4  # one line per retry, with the attempt number and the wait
    assert [e["attempt"] for e in retries] == list(range(1, len(retries) + 1))
    assert all(e["call"].endswith("put_rows") and e["wait_s"] > 0 for e in retries)
    assert client.count("ztf") == 200
    assert client.get_row("ztf", b"before_042") == {b"i:n": b"42"}
    assert client.get_row("ztf", b"during_099") == {b"i:n": b"99"}
