"""RunContext.from_env: the deployment a `report --from-env` reconciles (the compose stack's variables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_cli.reconcile import RunContext
from fink_common.config import HBaseConfig
from fink_common.errors import ConfigError


def test_compose_variables_make_a_context() -> None:
    ctx = RunContext.from_env(
        {
            "FINK_DATA_DIR": "/data/lake",
            "FINK_KAFKA_BOOTSTRAP": "kafka:29092,kafka2:29092",
            "FINK_INPUT_TOPICS": "ztf_a, ztf_b",
            "FINK_TOPIC_PREFIX": "fink_",
            "FINK_HBASE_THRIFT": "hbase:9090",
        }
    )
    assert ctx.lake == Path("/data/lake")
    assert ctx.bootstrap == "kafka:29092,kafka2:29092"
    assert ctx.input_topics == ("ztf_a", "ztf_b")
    assert (ctx.topic_prefix, ctx.survey) == ("fink_", "ztf")
    assert ctx.hbase == HBaseConfig("hbase", 9090, "")
    assert ctx.dropped_duplicates is None  # only the demo knows Spark's own count


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        RunContext.from_env({"FINK_KAFKA_BOOTSTRAP": "no-port", "FINK_HBASE_THRIFT": "hbase:notaport", "FINK_SURVEY": "hsc"})
    problems = err.value.problems
    assert any("FINK_DATA_DIR" in p for p in problems)
    assert any("FINK_INPUT_TOPICS" in p for p in problems)
    assert any("FINK_KAFKA_BOOTSTRAP" in p for p in problems)
    assert any("FINK_HBASE_THRIFT" in p for p in problems)
    assert any("FINK_SURVEY" in p for p in problems)
    assert len(problems) == 5


def test_a_rubin_deployment() -> None:
    ctx = RunContext.from_env(
        {"FINK_DATA_DIR": "/data/lsst", "FINK_INPUT_TOPICS": "lsst-alerts-v11", "FINK_SURVEY": "lsst"}
    )
    assert ctx.survey == "lsst" and ctx.input_topics == ("lsst-alerts-v11",)
