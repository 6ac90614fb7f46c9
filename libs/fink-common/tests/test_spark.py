"""The local SparkSession carries the pinned connector jars and is sized for a small machine."""

from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fink_common.config import EnvReader, SparkConfig
from fink_common.jars import spark_jars
from fink_common.spark import cluster_settings, session_settings


def test_session_settings_put_every_connector_jar_on_the_classpath() -> None:
    config = SparkConfig(master="local[2]", driver_memory="1536m", shuffle_partitions=3, ui_enabled=False, log_level="WARN")
    settings = session_settings(config, {"spark.sql.shuffle.partitions": "4"})
    jars = settings["spark.jars"].split(",")
    names = {Path(j).name for j in jars}
    assert any(n.startswith("spark-sql-kafka-0-10_2.13-") for n in names), names
    assert any(n.startswith("spark-avro_2.13-") for n in names), names
    assert any(n.startswith("kafka-clients-") for n in names), names
    assert all(Path(j).is_file() for j in jars)
    assert settings["spark.driver.memory"] == "1536m"
    assert settings["spark.sql.shuffle.partitions"] == "4"  # extra wins
    assert settings["spark.ui.enabled"] == "false"
    assert len(spark_jars()) == len(jars)


def test_running_session_has_connectors_loaded(spark: SparkSession) -> None:
    jvm = spark.sparkContext._jvm
    loader = jvm.Thread.currentThread().getContextClassLoader()
    for cls in [
        "org.apache.spark.sql.kafka010.KafkaSourceProvider",
        "org.apache.spark.sql.avro.AvroDataToCatalyst",
        "org.apache.kafka.clients.consumer.KafkaConsumer",
    ]:
        assert loader.loadClass(cls) is not None
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_running_jvm_exits_on_out_of_memory(spark: SparkSession) -> None:
    """A stage whose JVM ran out of heap must exit (and be restarted), not linger half-dead."""
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert "-XX:+ExitOnOutOfMemoryError" in arguments, arguments


def test_to_avro_from_avro_round_trip(spark: SparkSession) -> None:
    from pyspark.sql.avro.functions import from_avro, to_avro

    df = spark.createDataFrame([("ZTF23a", 1, 2460235.5), ("ZTF23b", 2, 2460235.7)], "objectId string, candid long, jd double")
    schema = (
        '{"type":"record","name":"r","fields":[{"name":"objectId","type":["string","null"]},'
        '{"name":"candid","type":["long","null"]},{"name":"jd","type":["double","null"]}]}'
    )
    encoded = df.select(to_avro(F.struct("objectId", "candid", "jd")).alias("v"))
    back = encoded.select(from_avro("v", schema).alias("a")).select("a.*").orderBy("candid").collect()
    assert [tuple(r) for r in back] == [("ZTF23a", 1, 2460235.5), ("ZTF23b", 2, 2460235.7)]


def test_local_settings_are_unchanged_by_the_cluster_options() -> None:
    config = SparkConfig(master="local[2]", driver_memory="1g", shuffle_partitions=2, ui_enabled=False, log_level="WARN")
    settings = session_settings(config)
    assert settings["spark.driver.host"] == settings["spark.driver.bindAddress"] == "127.0.0.1"
    assert not [k for k in settings if k.startswith(("spark.executor.memory", "spark.executor.cores", "spark.cores"))]
    assert "spark.driver.port" not in settings and "spark.blockManager.port" not in settings
    assert cluster_settings(config) == {}


def test_cluster_settings_come_from_the_environment() -> None:
    env = EnvReader(
        {
            "FINK_SPARK_MASTER": "spark://spark-master:7077",
            "FINK_SPARK_DRIVER_HOST": "raw2science",
            "FINK_SPARK_EXECUTOR_MEMORY": "2g",
            "FINK_SPARK_EXECUTOR_CORES": "2",
            "FINK_SPARK_CORES_MAX": "2",
            "FINK_SPARK_DRIVER_PORT": "7078",
            "FINK_SPARK_BLOCKMANAGER_PORT": "7079",
        }
    )
    config = SparkConfig.from_env(env)
    env.finish()
    settings = session_settings(config, {"spark.executor.cores": "1"})
    assert settings["spark.master"] == "spark://spark-master:7077"
    assert settings["spark.driver.host"] == "raw2science" and settings["spark.driver.bindAddress"] == "0.0.0.0"
    assert settings["spark.executor.memory"] == "2g" and settings["spark.cores.max"] == "2"
    assert settings["spark.executor.cores"] == "1"  # extra wins
    assert (settings["spark.driver.port"], settings["spark.blockManager.port"]) == ("7078", "7079")
