"""Shared pytest fixtures: one local SparkSession per test process, and the real local Kafka and HBase.

Test packages import these in their `conftest.py` (`from fink_common.testing import *`). Tests that need a
service never skip: when Kafka or HBase does not answer, the fixture first runs `./fink services up` (the
repository root comes from FINK_REPO_ROOT, which `./pants` exports) and fails with a clear message if the
service still does not answer.

The `spark` fixture runs on `local[2]`, or on the master in FINK_TEST_SPARK_MASTER (e.g. the
`spark://127.0.0.1:7077` of a standalone cluster on this host, with the other FINK_SPARK_* settings from the
environment): the stage tests then run their Spark jobs on executors that import our packages from the zip
`build_spark_session` ships. `fink_common.standalone.StandaloneCluster` starts such a cluster (master and
workers from the pyspark installation, on free loopback ports).
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
from fink_common.credentials import sasl_bootstrap
from fink_common.hbase import HBaseClient
from fink_common.spark import build_spark_session

__all__ = [
    "spark",
    "kafka_bootstrap",
    "kafka_sasl_bootstrap",
    "hbase_client",
    "unique_name",
    "ensure_local_services",
    "spark_test_config",
]


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


def spark_test_config() -> SparkConfig:
    """`local[2]`, or the FINK_TEST_SPARK_MASTER cluster with the FINK_SPARK_* settings of the environment."""
    master = os.environ.get("FINK_TEST_SPARK_MASTER", "").strip()
    if not master:
        return SparkConfig(master="local[2]", driver_memory="1g", shuffle_partitions=2, ui_enabled=False, log_level="WARN")
    env = EnvReader({**os.environ, "FINK_SPARK_MASTER": master}, source="test Spark settings")
    config = SparkConfig.from_env(env)
    env.finish()
    return config


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = build_spark_session("fink-tests", spark_test_config())
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
def kafka_sasl_bootstrap(kafka_bootstrap: str) -> str:
    """The SASL_PLAINTEXT/SCRAM-SHA-512 listener of the Kafka behind `kafka_bootstrap` (users' clients)."""
    address = sasl_bootstrap(kafka_bootstrap)
    if not _answers(address.split(",")[0]):
        pytest.fail(
            f"Kafka answers at {kafka_bootstrap} but not on its SASL listener {address}: it was started with a "
            "config from before that listener, or FINK_KAFKA_SASL_PORT / FINK_KAFKA_SASL_BOOTSTRAP differ from "
            "its settings. Restart it: `./fink services down && ./fink services up` (same FINK_* variables).",
            pytrace=False,
        )
    return address


@pytest.fixture(scope="session")
def hbase_client() -> HBaseClient:
    env = EnvReader()
    config = HBaseConfig.from_env(env)
    env.finish()
    ensure_local_services(f"{config.host}:{config.port}")
    return HBaseClient(config)
