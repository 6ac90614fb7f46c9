import pytest

from fink_common.config import EnvReader, HBaseConfig, KafkaConfig, SparkConfig, parse_host_port
from fink_common.errors import ConfigError, FinkError


def test_defaults_are_valid() -> None:
    env = EnvReader({})
    kafka, hbase, spark = KafkaConfig.from_env(env), HBaseConfig.from_env(env), SparkConfig.from_env(env)
    env.finish()
    assert kafka.bootstrap == "127.0.0.1:9092"
    assert (hbase.host, hbase.port) == ("127.0.0.1", 9090)
    assert spark.master == "local[2]" and spark.shuffle_partitions == 2 and spark.ui_enabled is False


def test_every_problem_is_reported_at_once() -> None:
    env = EnvReader(
        {
            "FINK_KAFKA_BOOTSTRAP": "localhost",
            "FINK_HBASE_THRIFT": "h:99999",
            "FINK_SPARK_MASTER": "mesos-ish",
            "FINK_SPARK_SHUFFLE_PARTITIONS": "zero",
            "FINK_SPARK_UI": "maybe",
        },
        source="test config",
    )
    KafkaConfig.from_env(env)
    HBaseConfig.from_env(env)
    SparkConfig.from_env(env)
    with pytest.raises(ConfigError) as info:
        env.finish()
    err = info.value
    assert isinstance(err, FinkError)
    assert len(err.problems) == 5, err.problems
    text = str(err)
    for name in ["FINK_KAFKA_BOOTSTRAP", "FINK_HBASE_THRIFT", "FINK_SPARK_MASTER", "FINK_SPARK_SHUFFLE_PARTITIONS", "FINK_SPARK_UI"]:
        assert name in text
    assert text.startswith("invalid test config (5 problem(s))")


def test_required_and_minimum() -> None:
    env = EnvReader({"N": "0"})
    env.str("MISSING")
    env.int("N", 1, minimum=1)
    with pytest.raises(ConfigError) as info:
        env.finish()
    assert info.value.problems == ["MISSING is required but not set", "N=0 must be >= 1"]


@pytest.mark.parametrize("value", ["h", ":1", "h:", "h:0", "h:x"])
def test_parse_host_port_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_host_port(value)


def test_parse_host_port_accepts_ipv6_like() -> None:
    assert parse_host_port("::1:9092") == ("::1", 9092)


def _spark(values: dict[str, str]) -> SparkConfig:
    env = EnvReader(values, source="test config")
    config = SparkConfig.from_env(env)
    env.finish()
    return config


def _spark_problems(values: dict[str, str]) -> list[str]:
    env = EnvReader(values, source="test config")
    SparkConfig.from_env(env)
    with pytest.raises(ConfigError) as info:
        env.finish()
    return info.value.problems


def test_spark_cluster_defaults_keep_the_local_driver_on_loopback() -> None:
    spark = _spark({})
    assert (spark.driver_host, spark.driver_bind_address) == ("127.0.0.1", "127.0.0.1")
    assert (spark.executor_memory, spark.executor_cores) == ("1g", 1)
    assert (spark.cores_max, spark.driver_port, spark.block_manager_port) == (None, None, None)
    assert spark.is_local


def test_spark_in_a_container_binds_everywhere_and_advertises_its_name() -> None:
    spark = _spark(
        {
            "FINK_SPARK_MASTER": "spark://spark-master:7077",
            "FINK_SPARK_DRIVER_HOST": "stream2raw",
            "FINK_SPARK_EXECUTOR_MEMORY": "1536m",
            "FINK_SPARK_EXECUTOR_CORES": "2",
            "FINK_SPARK_CORES_MAX": "4",
            "FINK_SPARK_DRIVER_PORT": "7078",
            "FINK_SPARK_BLOCKMANAGER_PORT": "7079",
        }
    )
    assert not spark.is_local
    assert (spark.driver_host, spark.driver_bind_address) == ("stream2raw", "0.0.0.0")
    assert (spark.executor_memory, spark.executor_cores, spark.cores_max) == ("1536m", 2, 4)
    assert (spark.driver_port, spark.block_manager_port) == (7078, 7079)


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[*]",
        "local[4,2]",
        "spark://127.0.0.1:7077",
        "spark://m1:7077,m2:7077",
        "k8s://https://kubernetes.default.svc:443",
        "yarn",
    ],
)
def test_spark_master_urls_accepted(master: str) -> None:
    host = "127.0.0.1" if master.startswith(("local", "spark://127.")) else "fink-driver.fink.svc"
    assert _spark({"FINK_SPARK_MASTER": master, "FINK_SPARK_DRIVER_HOST": host}).master == master


def test_every_spark_cluster_problem_is_reported_at_once() -> None:
    problems = _spark_problems(
        {
            "FINK_SPARK_MASTER": "spark://spark-master",
            "FINK_SPARK_DRIVER_HOST": "not a host!",
            "FINK_SPARK_DRIVER_BIND_ADDRESS": "10.0.0.999",
            "FINK_SPARK_EXECUTOR_MEMORY": "256m",
            "FINK_SPARK_EXECUTOR_CORES": "0",
            "FINK_SPARK_CORES_MAX": "many",
            "FINK_SPARK_DRIVER_PORT": "70000",
            "FINK_SPARK_BLOCKMANAGER_PORT": "-1",
        }
    )
    assert problems == [
        "FINK_SPARK_MASTER='spark://spark-master' is not spark://host:port[,host:port...] "
        "('spark-master' is not host:port)",
        "FINK_SPARK_DRIVER_HOST='not a host!' is not a host name or IP address",
        "FINK_SPARK_DRIVER_BIND_ADDRESS='10.0.0.999' is not a host name or IP address",
        "FINK_SPARK_EXECUTOR_CORES=0 must be >= 1",
        "FINK_SPARK_CORES_MAX='many' is not an integer (invalid literal for int() with base 10: 'many')",
        "FINK_SPARK_DRIVER_PORT=70000 must be <= 65535",
        "FINK_SPARK_BLOCKMANAGER_PORT=-1 must be >= 1",
        "FINK_SPARK_EXECUTOR_MEMORY='256m' is below Spark's minimum of 450m",
    ]


def test_spark_settings_that_contradict_each_other() -> None:
    problems = _spark_problems(
        {
            "FINK_SPARK_MASTER": "spark://spark-master:7077",  # executors elsewhere cannot reach 127.0.0.1
            "FINK_SPARK_EXECUTOR_CORES": "2",
            "FINK_SPARK_CORES_MAX": "1",
            "FINK_SPARK_DRIVER_PORT": "7078",
            "FINK_SPARK_BLOCKMANAGER_PORT": "7078",
        }
    )
    assert len(problems) == 3, problems
    assert "FINK_SPARK_DRIVER_HOST='127.0.0.1' is a loopback address" in problems[0]
    assert "FINK_SPARK_CORES_MAX=1 is below FINK_SPARK_EXECUTOR_CORES=2" in problems[1]
    assert "are both 7078" in problems[2]

    problems = _spark_problems(
        {"FINK_SPARK_DRIVER_HOST": "0.0.0.0", "FINK_SPARK_MASTER": "localhost:7077", "FINK_SPARK_DRIVER_MEMORY": "2 GB"}
    )
    assert [p.split(" ")[0] for p in problems] == [
        "FINK_SPARK_MASTER='localhost:7077'",
        "FINK_SPARK_DRIVER_HOST='0.0.0.0'",
        "FINK_SPARK_DRIVER_MEMORY='2",
    ]
    problems = _spark_problems(
        {
            "FINK_SPARK_MASTER": "k8s://https://k8s:443",
            "FINK_SPARK_DRIVER_HOST": "driver-svc",
            "FINK_SPARK_DRIVER_BIND_ADDRESS": "localhost",
        }
    )
    assert problems == [
        "FINK_SPARK_DRIVER_BIND_ADDRESS='localhost' only accepts local connections, but "
        "FINK_SPARK_DRIVER_HOST='driver-svc' tells executors to connect from elsewhere: bind 0.0.0.0"
    ]
