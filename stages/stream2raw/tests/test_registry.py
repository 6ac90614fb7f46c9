"""The schema-registry path against a real registry server (Apicurio Registry, Confluent-compatible API), started
here: schemas by id from the registry, cached on disk, the official package for ids the registry lacks, and a
registry outage during ingestion that loses nothing and doubles nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastavro.schema import parse_schema, to_parsing_canonical_form
from pyspark.sql import SparkSession

from fink_common.alert_packet import official_schema
from fink_common.datasets import sample_files
from fink_common.errors import ServiceUnavailableError
from fink_common.kafka import ensure_topics, make_producer
from fink_common.registry_server import ApicurioRegistry
from fink_common.schema_registry import RegistrySettings, SchemaResolver
from fink_common.surveys.lsst import frame_confluent, split_confluent
from fink_common.testing import unique_name
from fink_stream2raw.config import load_config
from fink_stream2raw.job import start


def _canonical(schema: dict) -> str:
    return str(to_parsing_canonical_form(parse_schema(schema)))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApicurioRegistry, dict[str, int]]]:
    server = ApicurioRegistry(tmp_path_factory.mktemp("apicurio")).start()
    try:
        ids = {v: server.register("alert-packet", official_schema(v)) for v in ("11.0", "11.1")}
        yield server, ids
    finally:
        server.stop()


def _official(schema_id: int) -> dict | None:
    return official_schema("10.0") if schema_id == 1000 else None


def test_resolver_reads_the_registry_and_caches_on_disk(
    registry: tuple[ApicurioRegistry, dict[str, int]], tmp_path: Path
) -> None:
    server, ids = registry
    settings = RegistrySettings(url=server.url, cache_dir=str(tmp_path / "cache"), retry_s=2.0)
    resolver = SchemaResolver(settings, _official)
    for version, schema_id in ids.items():
        assert _canonical(resolver.schema(schema_id)) == _canonical(official_schema(version))
        assert resolver.sources[schema_id] == "registry"
    assert len(list((tmp_path / "cache").glob("*/*.avsc"))) == 2
    # an id the registry does not hold (404) comes from the official package
    assert resolver.schema(1000)["namespace"] == "lsst.v10_0" and resolver.sources[1000] == "package"
    # a second process reads its cache, not the registry; another registry's ids have a folder of their own
    again = SchemaResolver(settings, _official)
    assert again.schema(ids["11.0"]) == resolver.schema(ids["11.0"]) and again.sources[ids["11.0"]] == "cache"
    other = RegistrySettings(url="http://127.0.0.1:9/apis/ccompat/v7", cache_dir=settings.cache_dir, retry_s=0.5)
    with pytest.raises(ServiceUnavailableError):
        SchemaResolver(other, _official).schema(ids["11.0"])


def test_a_registry_that_stays_down_is_an_error_not_an_unknown_id(tmp_path: Path) -> None:
    down = RegistrySettings(url="http://127.0.0.1:9/apis/ccompat/v7", cache_dir=str(tmp_path), retry_s=1.0)
    with pytest.raises(ServiceUnavailableError, match="unreachable"):
        SchemaResolver(down, _official).schema(1100)


def test_registry_outage_during_ingestion_loses_nothing(
    spark: SparkSession, kafka_bootstrap: str, registry: tuple[ApicurioRegistry, dict[str, int]], tmp_path: Path
) -> None:
    server, ids = registry
    topic = unique_name("lsst-alerts-v11")
    ensure_topics(kafka_bootstrap, [topic])
    # Real alerts framed with the ids this registry gave: the 14 of schema 11.0 and the tiny 11.1 one.
    values = [frame_confluent(ids["11.0"], split_confluent(p.read_bytes())[1]) for p in sample_files("lsst_wire_11.0")]
    v111 = next(p for p in sample_files("lsst_wire_versions") if p.name.endswith("v11_1.avro"))
    values.append(frame_confluent(ids["11.1"], split_confluent(v111.read_bytes())[1]))
    producer = make_producer(kafka_bootstrap)
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(60) == 0
    env = {
        "FINK_SURVEY": "lsst",
        "FINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "FINK_INPUT_TOPICS": topic,
        "FINK_DATA_DIR": str(tmp_path / "lake"),
        "FINK_AVAILABLE_NOW": "true",
        "FINK_SCHEMA_REGISTRY_URL": server.url,
        "FINK_SCHEMA_REGISTRY_RETRY": "3",
    }

    server.stop()  # the registry is down when the first alerts of these ids arrive
    query, _ = start(load_config(env), spark)
    with pytest.raises(Exception, match="unreachable"):
        query.awaitTermination(timeout=600)
    assert not list((tmp_path / "lake" / "raw").glob("night=*/*.parquet"))  # nothing written ...
    assert not list((tmp_path / "lake" / "quarantine").glob("night=*/*.parquet"))  # ... and nothing refused

    server.start()  # back, with its schemas (kept in its H2 file)
    query, sink = start(load_config(env), spark)  # the same checkpoint: the failed batch again
    query.awaitTermination(timeout=600)
    assert query.exception() is None
    assert sink.totals == {"received": len(values), "raw": len(values), "quarantined": 0}
    raw = pq.read_table(tmp_path / "lake" / "raw").to_pylist()
    assert sorted(r["kafka_offset"] for r in raw) == list(range(len(values)))  # each once
    labels = {(r["schema_id"], r["schema_version"]) for r in raw}
    assert labels == {(ids["11.0"], "11.0"), (ids["11.1"], "11.1")}  # the message's own schema, not "latest"
    assert len(list((tmp_path / "lake" / "schemas").glob("*/*.avsc"))) == 2  # the disk cache
