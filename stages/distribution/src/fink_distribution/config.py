"""distribution configuration: one frozen dataclass, read once from the environment, all problems at once.

| variable | default | meaning |
|---|---|---|
| FINK_KAFKA_BOOTSTRAP | 127.0.0.1:9092 | Kafka brokers the topics are written to |
| FINK_DATA_DIR | .fink/lake | lake root: reads `science/`, writes `distribution/schemas/` and the checkpoint |
| FINK_FILTERS | every built-in filter of the survey and every extra filter | comma-separated filter names (one topic each) |
| FINK_EXTRA_FILTERS | none | comma-separated `package.module:object` entry points providing more filters |
| FINK_SURVEY | ztf | `ztf` or `lsst`: the built-in filters, the alert id, the message key and the topic suffix (`<prefix><filter>_<survey>`) |
| FINK_TOPIC_PREFIX | fink_ | prefix of every topic: filters, `<prefix>schemas`, `<prefix>distribution_commits` |
| FINK_TRANSACTIONAL_ID | `<prefix>distribution_<survey>` | Kafka transactional.id, stable per stage instance |
| FINK_MAX_FILES_PER_TRIGGER | 4 | science parquet files per micro-batch (bounds a backlog's batch and the driver's memory) |
| FINK_TRIGGER_SECONDS | 2 | micro-batch interval |
| FINK_AVAILABLE_NOW | false | process what is in the science table, then stop |
| FINK_SOURCE_WAIT_SECONDS | 600 | how long to wait at start for the first science file |
| FINK_TOPIC_PARTITIONS | 1 | partitions of the filter topics created at start |
| FINK_DEDUPLICATE | true | send each alert id (`candid`, `diaSourceId`) once per checkpoint (Spark state: one entry per alert seen) |

plus the Spark settings of `fink_common.config.SparkConfig` (FINK_SPARK_*).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fink_common.config import EnvReader, KafkaConfig, SparkConfig
from fink_common.lake import LakePaths
from fink_common.surveys import SURVEY_NAMES, Survey, get_survey
from fink_distribution.registry import AlertFilter, FilterError, resolve_filters

__all__ = ["DistributionConfig", "load_config"]

_TOPIC_CHARS = re.compile(r"^[A-Za-z0-9._-]*$")
_MAX_TOPIC_LENGTH = 249


@dataclass(frozen=True)
class DistributionConfig:
    kafka: KafkaConfig
    spark: SparkConfig
    lake: LakePaths
    filters: tuple[AlertFilter, ...]
    survey: str
    topic_prefix: str
    transactional_id: str
    max_files_per_trigger: int
    trigger_seconds: float
    available_now: bool  # process what is in the science table, then stop (tests, replays, the demo)
    source_wait_seconds: float
    topic_partitions: int
    deduplicate: bool

    @property
    def checkpoint(self) -> Path:
        return self.lake.checkpoint("distribution")

    @property
    def schema_dir(self) -> Path:
        """Where each published schema is written as `<fingerprint>.avsc`."""
        return self.lake.root / "distribution" / "schemas"

    @property
    def schema_topic(self) -> str:
        return f"{self.topic_prefix}schemas"

    @property
    def commit_topic(self) -> str:
        return f"{self.topic_prefix}distribution_commits"

    @property
    def survey_plugin(self) -> Survey:
        return get_survey(self.survey)

    def topic_of(self, filter_name: str) -> str:
        return f"{self.topic_prefix}{filter_name}_{self.survey}"

    @property
    def topics(self) -> dict[str, str]:
        """Filter name -> its topic, in filter order."""
        return {f.name: self.topic_of(f.name) for f in self.filters}


def load_config(environ: Mapping[str, str] | None = None) -> DistributionConfig:
    env = EnvReader(environ, source="distribution configuration")
    kafka = KafkaConfig.from_env(env)
    spark = SparkConfig.from_env(env)
    lake = LakePaths(Path(env.str("FINK_DATA_DIR", ".fink/lake")).absolute())
    survey = env.choice("FINK_SURVEY", list(SURVEY_NAMES), "ztf")
    prefix = env.str("FINK_TOPIC_PREFIX", "fink_")
    env.check(
        bool(_TOPIC_CHARS.match(prefix)),
        f"FINK_TOPIC_PREFIX={prefix!r} may only hold letters, digits, '.', '_', '-'",
    )
    names = env.list("FINK_FILTERS", "")
    extra = env.list("FINK_EXTRA_FILTERS", "")
    filters: tuple[AlertFilter, ...] = ()
    try:
        filters = resolve_filters(names or None, extra, survey=survey)
    except FilterError as exc:
        env.problems.extend(f"FINK_FILTERS/FINK_EXTRA_FILTERS: {p}" for p in exc.problems)
    longest = max((len(f"{prefix}{f.name}_{survey}") for f in filters), default=0)
    env.check(longest <= _MAX_TOPIC_LENGTH, f"a topic name would be longer than {_MAX_TOPIC_LENGTH} characters")
    transactional_id = env.str("FINK_TRANSACTIONAL_ID", f"{prefix}distribution_{survey}")
    config = DistributionConfig(
        kafka=kafka,
        spark=spark,
        lake=lake,
        filters=filters,
        survey=survey,
        topic_prefix=prefix,
        transactional_id=transactional_id,
        max_files_per_trigger=env.int("FINK_MAX_FILES_PER_TRIGGER", 4, minimum=1),  # bounded batches under a backlog
        trigger_seconds=env.float("FINK_TRIGGER_SECONDS", 2.0, minimum=0.0),
        available_now=env.bool("FINK_AVAILABLE_NOW", False),
        source_wait_seconds=env.float("FINK_SOURCE_WAIT_SECONDS", 600.0, minimum=0.0),
        topic_partitions=env.int("FINK_TOPIC_PARTITIONS", 1, minimum=1),
        deduplicate=env.bool("FINK_DEDUPLICATE", True),
    )
    env.finish()
    return config
