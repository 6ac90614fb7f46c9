"""stream2raw configuration: one frozen dataclass, read once from the environment, all problems at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fink_common.config import EnvReader, KafkaConfig, SparkConfig
from fink_common.lake import LakePaths
from fink_common.schema import SCHEMA_NAMES
from fink_common.schema_registry import RegistrySettings
from fink_common.surveys import SURVEY_NAMES, DecodeSettings, get_survey

__all__ = ["Stream2RawConfig", "load_config"]


@dataclass(frozen=True)
class Stream2RawConfig:
    kafka: KafkaConfig
    spark: SparkConfig
    lake: LakePaths
    topics: tuple[str, ...]  # subscribe to these names ...
    topic_pattern: str  # ... or to a regex such as `ztf_20231020.*` (exactly one of the two)
    starting_offsets: str
    max_offsets_per_trigger: int
    min_partitions: int  # Spark tasks per micro-batch, at least (a Kafka partition is split across several)
    fail_on_data_loss: bool
    trigger_seconds: float
    survey: str
    schema_name: str  # the schema of schemaless messages (containers and Confluent frames name their own)
    registry: RegistrySettings  # where Confluent-framed messages' writer schemas are looked up by id
    site_longitude_deg: float
    available_now: bool  # process what is in the topics, then stop (tests, replays, the demo)

    @property
    def decoding(self) -> DecodeSettings:
        return DecodeSettings(survey=self.survey, schema_name=self.schema_name, registry=self.registry)

    @property
    def checkpoint(self) -> Path:
        return self.lake.checkpoint("stream2raw")

    def source_options(self) -> dict[str, str]:
        options = {
            "kafka.bootstrap.servers": self.kafka.bootstrap,
            "startingOffsets": self.starting_offsets,
            "failOnDataLoss": "true" if self.fail_on_data_loss else "false",
            "maxOffsetsPerTrigger": str(self.max_offsets_per_trigger),
            "minPartitions": str(self.min_partitions),
            # Each fetch response is one heap buffer, per task. In a 1 GB G1 heap (1 MB regions) a buffer of
            # 16-64 MB needs that many contiguous free regions, and the 100k chaos runs ran out of heap there.
            # 4 MB still holds ~60 alerts per fetch. A larger message still comes through (the broker returns
            # at least one record batch per fetch): these bound memory, not the message size.
            "kafka.fetch.max.bytes": str(4 * 1024 * 1024),
            "kafka.max.partition.fetch.bytes": str(2 * 1024 * 1024),
        }
        if self.topic_pattern:
            options["subscribePattern"] = self.topic_pattern
        else:
            options["subscribe"] = ",".join(self.topics)
        return options


def load_config(environ: Mapping[str, str] | None = None) -> Stream2RawConfig:
    env = EnvReader(environ, source="stream2raw configuration")
    kafka = KafkaConfig.from_env(env)
    spark = SparkConfig.from_env(env)
    lake = LakePaths(Path(env.str("FINK_DATA_DIR", ".fink/lake")).absolute())
    topics = env.list("FINK_INPUT_TOPICS", "")
    pattern = env.str("FINK_INPUT_TOPIC_PATTERN", "")
    env.check(
        bool(topics) != bool(pattern),
        "set exactly one of FINK_INPUT_TOPICS (comma-separated names) and FINK_INPUT_TOPIC_PATTERN (a regex)",
    )
    survey = env.choice("FINK_SURVEY", SURVEY_NAMES, "ztf")
    plugin = get_survey(survey if survey in SURVEY_NAMES else "ztf")
    schema_name = env.choice("FINK_INPUT_SCHEMA", SCHEMA_NAMES, plugin.default_schema)
    env.check(
        schema_name.split("_")[0] == survey,
        f"FINK_INPUT_SCHEMA={schema_name!r} does not belong to survey {survey!r}",
    )
    registry = RegistrySettings.from_env(env, default_cache_dir=str(lake.root / "schemas"))
    longitude = env.float("FINK_SITE_LONGITUDE", plugin.site_longitude_deg)
    env.check(-180.0 <= longitude <= 180.0, f"FINK_SITE_LONGITUDE={longitude} is not in [-180, 180]")
    config = Stream2RawConfig(
        kafka=kafka,
        spark=spark,
        lake=lake,
        topics=topics,
        topic_pattern=pattern,
        starting_offsets=env.str("FINK_STARTING_OFFSETS", "earliest"),
        max_offsets_per_trigger=env.int("FINK_MAX_OFFSETS_PER_TRIGGER", 5000, minimum=1),
        # one task per core by default, even when the input topic has a single partition
        min_partitions=env.int("FINK_KAFKA_MIN_PARTITIONS", spark.shuffle_partitions, minimum=1),
        fail_on_data_loss=env.bool("FINK_FAIL_ON_DATA_LOSS", False),
        trigger_seconds=env.float("FINK_TRIGGER_SECONDS", 2.0, minimum=0.0),
        survey=survey,
        schema_name=schema_name,
        registry=registry,
        site_longitude_deg=longitude,
        available_now=env.bool("FINK_AVAILABLE_NOW", False),
    )
    env.finish()
    return config
