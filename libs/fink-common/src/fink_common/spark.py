"""SparkSession construction: the cached connector jars on the classpath, settings sized for 2 cores.

The master is `SparkConfig.master`: `local[N]` (the default, executors are threads of this process's JVM)
or a cluster (`spark://host:port`, `k8s://...`, `yarn`). On a cluster the executors are other processes,
possibly in other containers: the driver advertises `FINK_SPARK_DRIVER_HOST` to them, each executor gets
`FINK_SPARK_EXECUTOR_MEMORY` and `FINK_SPARK_EXECUTOR_CORES`, and the first-party `fink_*` packages are
zipped and shipped to them right after the session starts (`fink_common.pyfiles`), since the pandas UDFs
and `mapInArrow` functions import them on the executor side. Executors run Python with the same interpreter
path as the driver (PYSPARK_PYTHON): in our images that is the same venv.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from fink_common.config import SparkConfig
from fink_common.jars import spark_jars
from fink_common.logging import STAGE_ENV, VERSION_ENV
from fink_common.pyfiles import ship_packages

__all__ = ["build_spark_session", "session_settings", "cluster_settings"]

_WILDCARDS = ("0.0.0.0", "::")
_JAVA_OPTIONS = "-Dio.netty.tryReflectionSetAccessible=true -XX:+ExitOnOutOfMemoryError"


def cluster_settings(config: SparkConfig) -> dict[str, str]:
    """The settings that only matter when executors are separate processes (empty for a `local` master)."""
    if config.is_local:
        return {}
    settings = {
        "spark.executor.memory": config.executor_memory,
        "spark.executor.cores": str(config.executor_cores),
    }
    if config.cores_max is not None:
        settings["spark.cores.max"] = str(config.cores_max)
    return settings


def session_settings(config: SparkConfig, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every Spark setting we apply, in one dict (kept separate so it can be tested without a JVM)."""
    settings = {
        "spark.master": config.master,
        "spark.driver.memory": config.driver_memory,
        "spark.jars": ",".join(str(p) for p in spark_jars()),
        "spark.sql.shuffle.partitions": str(config.shuffle_partitions),
        "spark.default.parallelism": str(config.shuffle_partitions),
        "spark.ui.enabled": "true" if config.ui_enabled else "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
        # an alert with its cutouts is ~65 kB: the default 4096-row parquet batches (~270 MB each, per task)
        # do not fit a 1 GB driver; 256 rows is ~16 MB and still amortises the per-batch cost
        "spark.sql.parquet.columnarReaderBatchSize": "256",
        # the same for a persisted micro-batch (raw2science): a default 10,000-row cache batch of alerts with
        # cutouts is ~650 MB, built in memory before it can spill
        "spark.sql.inMemoryColumnarStorage.batchSize": "256",
        "spark.sql.streaming.metricsEnabled": "true",
        "spark.sql.adaptive.enabled": "false",
        # nights are partition folders `night=YYYYMMDD`: keep them strings, never infer integers
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        # where the driver listens, and the address executors (and the block managers) use to reach it
        "spark.driver.bindAddress": config.driver_bind_address,
        "spark.driver.host": config.driver_host,
        # an OutOfMemoryError ends the JVM at once, so the stage exits and is restarted from its checkpoint;
        # without it a 100k chaos run saw an archive JVM stay up, hung, after an OOM in its exception handlers
        "spark.driver.extraJavaOptions": _JAVA_OPTIONS,
        "spark.executor.extraJavaOptions": _JAVA_OPTIONS,
    }
    if config.driver_port is not None:
        settings["spark.driver.port"] = str(config.driver_port)
    if config.block_manager_port is not None:
        settings["spark.blockManager.port"] = str(config.block_manager_port)
    settings.update(cluster_settings(config))
    settings.update(extra or {})
    return settings


def _local_ip(config: SparkConfig) -> str | None:
    """SPARK_LOCAL_IP for the driver JVM: loopback for `local`, else the bind address unless it is a wildcard."""
    if config.is_local:
        return "127.0.0.1"
    return None if config.driver_bind_address in _WILDCARDS else config.driver_bind_address


def _from_pex() -> bool:
    """True inside a running PEX (the PEX runtime sets $PEX to the file it runs from)."""
    return bool(os.environ.get("PEX"))


def build_spark_session(app_name: str, config: SparkConfig, extra: Mapping[str, str] | None = None) -> SparkSession:
    """Create (or return the running) SparkSession for `app_name`; on a cluster, ship our packages to it."""
    # Python workers (local, or on executors: same image, same path) use this interpreter, not `python3`.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Keep a local driver, its block manager and Python workers on loopback (never a LAN address).
    local_ip = _local_ip(config)
    if local_ip is not None:
        os.environ.setdefault("SPARK_LOCAL_IP", local_ip)
    builder = SparkSession.builder.appName(app_name)
    # Executors of a cluster do not inherit the driver's environment: give their Python workers the stage
    # name and version that `configure_logging` left there, so that their log lines are the stage's JSON too.
    log_env = {f"spark.executorEnv.{var}": os.environ[var] for var in (STAGE_ENV, VERSION_ENV) if var in os.environ}
    for key, value in {**log_env, **session_settings(config, extra)}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(config.log_level)
    # Ship our packages to Python workers that cannot import them: executors of a cluster, and local
    # workers too when the driver runs from a PEX (the images): the PEX's code is on the driver's
    # sys.path only, not on the PYTHONPATH that Spark's Python workers start with.
    if _from_pex() or not (spark.sparkContext.master or "local").startswith("local"):
        ship_packages(spark.sparkContext)
    return spark
