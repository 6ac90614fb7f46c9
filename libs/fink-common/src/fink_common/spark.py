"""SparkSession construction: the cached connector jars on the classpath, settings sized for 2 cores."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pyspark.sql import SparkSession

from fink_common.config import SparkConfig
from fink_common.jars import spark_jars

__all__ = ["build_spark_session", "session_settings"]


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
        "spark.sql.streaming.metricsEnabled": "true",
        "spark.sql.adaptive.enabled": "false",
        # nights are partition folders `night=YYYYMMDD`: keep them strings, never infer integers
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.extraJavaOptions": "-Dio.netty.tryReflectionSetAccessible=true",
        "spark.executor.extraJavaOptions": "-Dio.netty.tryReflectionSetAccessible=true",
    }
    settings.update(extra or {})
    return settings


def build_spark_session(app_name: str, config: SparkConfig, extra: Mapping[str, str] | None = None) -> SparkSession:
    """Create (or return the running) SparkSession for `app_name`."""
    # Local Python workers must use this interpreter, not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", _python())
    # Keep the driver, its block manager and Python workers on loopback (never a LAN address).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    for key, value in session_settings(config, extra).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(config.log_level)
    return spark


def _python() -> str:
    import sys

    return sys.executable
