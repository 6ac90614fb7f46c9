"""Topic names of a Fink broker and what it offers.

The distribution stage writes, under one prefix (default `fink_`): a topic per filter
`<prefix><filter>_<survey>` (`ztf` or `lsst`: one stage per survey, the same prefix by default), the
compacted schema topic `<prefix>schemas` (the schemas of both surveys) and its internal
`<prefix>distribution_commits`. The prefix may itself hold underscores, so it is found on the broker: the
prefix of a topic is its longest leading part ending in `_` whose `<part>schemas` topic exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from fink_client.errors import KafkaAccessError

__all__ = [
    "SCHEMA_SUFFIX",
    "TopicInfo",
    "filter_name",
    "is_internal",
    "list_filter_topics",
    "prefix_of",
    "schema_topic_of",
    "survey_suffix",
]

SCHEMA_SUFFIX = "schemas"
_COMMITS_SUFFIX = "distribution_commits"


def _candidate_prefixes(topic: str) -> list[str]:
    """Every leading part of `topic` ending in `_`, longest first."""
    return [topic[: i + 1] for i in range(len(topic) - 1, -1, -1) if topic[i] == "_"]


def prefix_of(topic: str, existing: Iterable[str] = ()) -> str:
    """The prefix of a filter topic: the longest `P` (ending in `_`) with `P + 'schemas'` in `existing`; without
    one, the part up to the first `_` (`fink_` for `fink_sso_candidates_ztf`), or '' when there is none."""
    names = set(existing)
    candidates = _candidate_prefixes(topic)
    for prefix in candidates:
        if prefix + SCHEMA_SUFFIX in names and prefix + SCHEMA_SUFFIX != topic:
            return prefix
    return candidates[-1] if candidates else ""


def schema_topic_of(topic: str, existing: Iterable[str] = ()) -> str:
    """`<prefix>schemas` for the prefix of `topic` (see `prefix_of`)."""
    return prefix_of(topic, existing) + SCHEMA_SUFFIX


def filter_name(topic: str, prefix: str | None = None) -> str:
    """`<prefix><filter>_<survey>` -> `<filter>` (`fink_sso_candidates_ztf` -> `sso_candidates`). Without a
    prefix, the one up to the first `_`. A topic not of that shape is returned as it is."""
    prefix = prefix if prefix is not None else prefix_of(topic)
    if not prefix or not topic.startswith(prefix):
        return topic
    rest = topic[len(prefix) :]
    name, sep, _survey = rest.rpartition("_")
    return name if sep and name else rest


def survey_suffix(topic: str) -> str:
    """The survey a filter topic names: its part after the last `_` (`fink_solar_system_lsst` -> `lsst`), or ''."""
    _name, sep, survey = topic.rpartition("_")
    return survey if sep else ""


def is_internal(topic: str, schema_topics: Iterable[str] = ()) -> bool:
    """Kafka's own topics (`__*`), schema topics and the distribution's commit topics: not for users."""
    return (
        topic.startswith("__")
        or topic.startswith("_confluent")
        or topic.endswith(_COMMITS_SUFFIX)
        or topic in set(schema_topics)
    )


@dataclass(frozen=True)
class TopicInfo:
    """A filter topic: its name, filter, schema topic and message count."""

    topic: str
    filter: str
    schema_topic: str
    partitions: int
    messages: int  # sum of (high - low watermark): a transactional topic's commit markers count too (upper bound)


def list_filter_topics(
    consumer: Consumer, *, schema_topic: str | None = None, timeout_s: float = 10.0
) -> list[TopicInfo]:
    """The filter topics the broker offers (those visible to us): every topic that has a sibling
    `<prefix>schemas` topic, or only those of `schema_topic`'s prefix; internal topics left out."""
    try:
        meta = consumer.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise KafkaAccessError(f"Kafka did not answer the topic listing: {exc}") from exc
    names = {t for t, info in meta.topics.items() if info.error is None}
    schema_topics = {t for t in names if t.endswith(SCHEMA_SUFFIX)}
    found: list[TopicInfo] = []
    for topic in sorted(names):
        if is_internal(topic, schema_topics):
            continue
        owner = next(
            (p + SCHEMA_SUFFIX for p in _candidate_prefixes(topic) if p + SCHEMA_SUFFIX in schema_topics), None
        )
        if owner is None or (schema_topic is not None and owner != schema_topic):
            continue
        count = 0
        partitions = meta.topics[topic].partitions
        try:
            for pid in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid), timeout=timeout_s)
                count += max(0, high - low)
        except KafkaException as exc:
            raise KafkaAccessError(f"reading the offsets of {topic!r}: {exc}") from exc
        prefix = owner[: -len(SCHEMA_SUFFIX)]
        found.append(TopicInfo(topic, filter_name(topic, prefix), owner, len(partitions), count))
    return found
