"""`build_spark_session` on a Spark standalone cluster: a master and a worker started on free loopback ports
from this pyspark installation, a session built from FINK_SPARK_* settings, and a pandas UDF and a
`mapInArrow` function that import fink_common on the executor, which has our code only through the zip
the driver ships (the daemons run without the first-party source folders on their PYTHONPATH).

Skipped only when no master can start on this host (no Java, no launcher); anything after that fails.
The fixtures are module-scoped so that the cluster session stops before the local `spark` session of the
other test files starts (one SparkContext per process; the conftest runs these tests first).
"""

from __future__ import annotations

import os
import pkgutil
import time
from collections.abc import Iterable, Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from pyspark import SparkContext
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro, to_avro

import fink_common
from fink_common.config import EnvReader, SparkConfig
from fink_common.errors import ServiceUnavailableError
from fink_common.night import SITE_LONGITUDES, night_of_jd
from fink_common.pyfiles import FIRST_PARTY_PREFIX, first_party_packages
from fink_common.schema import schema_fingerprint
from fink_common.spark import build_spark_session
from fink_common.standalone import StandaloneCluster, free_port

pytestmark = pytest.mark.spark_cluster

EXECUTOR_MEMORY_MB = 512
EXECUTOR_WAIT_S = 180.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    cluster = StandaloneCluster(tmp_path_factory.mktemp("spark-standalone"))
    try:
        try:
            cluster.start_master()
        except ServiceUnavailableError as exc:
            pytest.skip(f"cannot start a Spark standalone master on this host: {exc}")
        cluster.add_worker(cores=1, memory="1g")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster_config(cluster: StandaloneCluster) -> SparkConfig:
    env = EnvReader(
        {
            "FINK_SPARK_MASTER": cluster.master_url,
            "FINK_SPARK_EXECUTOR_MEMORY": f"{EXECUTOR_MEMORY_MB}m",
            "FINK_SPARK_EXECUTOR_CORES": "1",
            "FINK_SPARK_CORES_MAX": "1",
            "FINK_SPARK_DRIVER_PORT": str(free_port()),
        },
        source="cluster test settings",
    )
    config = SparkConfig.from_env(env)
    env.finish()
    return config


def _executors(spark: SparkSession) -> int:
    return int(spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()) - 1  # minus the driver


def _executor_logs(cluster: StandaloneCluster) -> str:
    logs = sorted(cluster.work_dir.glob("worker-*/app-*/*/stderr"))
    return "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-2000:]}" for p in logs)


@pytest.fixture(scope="module")
def cluster_spark(cluster: StandaloneCluster, cluster_config: SparkConfig) -> Iterator[SparkSession]:
    if SparkContext._active_spark_context is not None:
        pytest.fail("a SparkContext already runs in this process: the cluster tests must run first (conftest.py)")
    spark = build_spark_session("fink-cluster-test", cluster_config)
    try:
        deadline = time.monotonic() + EXECUTOR_WAIT_S
        while _executors(spark) < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        if _executors(spark) < 1:
            pytest.fail(f"no executor registered:\n{cluster.log_tail('worker-0')}\n{_executor_logs(cluster)}")
        yield spark
    finally:
        spark.stop()


def test_pandas_udf_runs_fink_common_on_an_executor(cluster_spark: SparkSession, cluster: StandaloneCluster) -> None:
    longitude = SITE_LONGITUDES["ztf"]

    @F.pandas_udf("night string, origin string, cwd string")  # type: ignore[call-overload]
    def night(jd: pd.Series) -> pd.DataFrame:
        from fink_common.night import night_of_jd as executor_night_of_jd

        return pd.DataFrame(
            {
                "night": jd.map(lambda v: executor_night_of_jd(float(v), longitude)),
                "origin": executor_night_of_jd.__code__.co_filename,
                "cwd": os.getcwd(),
            }
        )

    jds = [2460235.75, 2458849.9] + [2460000.5 + i / 7 for i in range(200)]
    frame = cluster_spark.createDataFrame([(i, jd) for i, jd in enumerate(jds)], "i long, jd double").repartition(3)
    rows = frame.select("i", night("jd").alias("n")).orderBy("i").collect()

    assert [r.n.night for r in rows[:2]] == ["20231017", "20191231"]  # the UTC date is 2023-10-18 06:00
    assert [r.n.night for r in rows] == [night_of_jd(jd, longitude) for jd in jds]
    origins = {r.n.origin for r in rows}
    assert len(origins) == 1 and ".zip/fink_common/night.py" in origins.pop()
    # it ran in an executor of our worker (its work folder), not in a Python worker of the driver
    cwds = {Path(r.n.cwd).resolve() for r in rows}
    assert all(cwd.is_relative_to(cluster.work_dir.resolve() / "worker-0") for cwd in cwds), cwds


def test_map_in_arrow_reads_package_data_on_an_executor(cluster_spark: SparkSession) -> None:
    # our fink_* packages: not the installed third-party ones (fink-filters, fink-utils, from the lockfile)
    installed = set(packages_distributions())
    candidates = sorted(
        {m.name for m in pkgutil.iter_modules() if m.name.startswith(FIRST_PARTY_PREFIX) and m.name not in installed}
    )

    def probe(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import importlib.util

        import fink_common as executor_fink_common
        from fink_common.schema import schema_fingerprint as executor_fingerprint

        for batch in batches:
            names = batch.column("name").to_pylist()
            specs = [importlib.util.find_spec(n) for n in names]
            yield pa.RecordBatch.from_pydict(
                {
                    "name": names,
                    "origin": [s.origin if s is not None else None for s in specs],
                    "version": [executor_fink_common.__version__] * len(names),
                    "fingerprint": [executor_fingerprint("ztf_4.02")] * len(names),
                }
            )

    frame = cluster_spark.createDataFrame([(n,) for n in candidates], "name string").repartition(2)
    schema = "name string, origin string, version string, fingerprint string"
    rows = frame.mapInArrow(probe, schema).collect()

    assert sorted(r.name for r in rows) == candidates
    # package data read inside the zip: VERSION (at import) and an .avsc schema
    assert {r.version for r in rows} == {fink_common.__version__}
    assert {r.fingerprint for r in rows} == {schema_fingerprint("ztf_4.02")}
    # the executor finds exactly the shipped packages, and only in the zip: not the source folders
    importable = {r.name: r.origin for r in rows if r.origin is not None}
    assert set(importable) == set(first_party_packages()) and "fink_common" in importable
    assert all("fink-pyfiles-" in origin and ".zip/" in origin for origin in importable.values()), importable


def test_cluster_runs_the_app_with_our_settings(
    cluster_spark: SparkSession, cluster: StandaloneCluster, cluster_config: SparkConfig
) -> None:
    sc = cluster_spark.sparkContext
    assert sc.master == cluster.master_url
    assert sc.getConf().get("spark.driver.port") == str(cluster_config.driver_port)  # the port it bound
    apps = [a for a in cluster.status()["activeapps"] if a["id"] == sc.applicationId]
    assert len(apps) == 1
    assert apps[0]["memoryperexecutor"] == EXECUTOR_MEMORY_MB and apps[0]["cores"] == 1

    # the connector jars reach the executors: Avro functions run there
    frame = cluster_spark.createDataFrame([("ZTF23a", 1), ("ZTF23b", 2)], "objectId string, candid long")
    avro_schema = (
        '{"type":"record","name":"r","fields":[{"name":"objectId","type":["string","null"]},'
        '{"name":"candid","type":["long","null"]}]}'
    )
    encoded = frame.select(to_avro(F.struct("objectId", "candid")).alias("v"))
    back = encoded.select(from_avro("v", avro_schema).alias("a")).select("a.*").orderBy("candid").collect()
    assert [tuple(r) for r in back] == [("ZTF23a", 1), ("ZTF23b", 2)]

    # building the session again returns it, and ships the same zip only once
    assert build_spark_session("fink-cluster-test", cluster_config) is cluster_spark
    assert len([f for f in sc.listFiles if "fink-pyfiles-" in f]) == 1
