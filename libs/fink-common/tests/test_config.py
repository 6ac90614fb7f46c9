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
