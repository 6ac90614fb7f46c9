"""Shared pytest fixtures: one local SparkSession per test process, and the real local Kafka and HBase.

Test packages import these in their `conftest.py` (`from fink_common.testing import *`). Tests that need a
service never skip: when Kafka or HBase does not answer, the fixture first runs `./fink services up` (the
repository root comes from FINK_REPO_ROOT, which `./pants` exports) and fails with a clear message if the
service still does not answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from fink_common.config import EnvReader, HBaseConfig, KafkaConfig, SparkConfig, parse_host_port
from fink_common.hbase import HBaseClient
from fink_common.spark import build_spark_session

__all__ = ["spark", "kafka_bootstrap", "hbase_client", "unique_name", "ensure_local_services"]


def _answers(address: str, timeout_s: float = 2.0) -> bool:
    host, port = parse_host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def ensure_local_services(*addresses: str) -> None:
    """Start the local services with `./fink services up` when one of `addresses` does not answer."""
    if all(_answers(a) for a in addresses):
        return
    root = os.environ.get("FINK_REPO_ROOT")
    if not root or not (Path(root) / "fink").is_file():
        pytest.fail(f"{', '.join(addresses)} not reachable; start the services with `./fink services up`")
    proc = subprocess.run([str(Path(root) / "fink"), "services", "up"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not all(_answers(a) for a in addresses):
        pytest.fail(
            "the local services did not come up (`./fink services up`):\n" + proc.stdout[-2000:] + proc.stderr[-2000:]
        )


def unique_name(prefix: str) -> str:
    """A fresh topic/table name per test run, so reruns never see old data."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    config = SparkConfig(master="local[2]", driver_memory="1g", shuffle_partitions=2, ui_enabled=False, log_level="WARN")
    session = build_spark_session("fink-tests", config)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    env = EnvReader()
    config = KafkaConfig.from_env(env)
    env.finish()
    ensure_local_services(config.bootstrap.split(",")[0])
    return config.bootstrap


@pytest.fixture(scope="session")
def hbase_client() -> HBaseClient:
    env = EnvReader()
    config = HBaseConfig.from_env(env)
    env.finish()
    ensure_local_services(f"{config.host}:{config.port}")
    return HBaseClient(config)
