"""distribution configuration: defaults, derived names, and every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_common.errors import ConfigError
from fink_distribution.__main__ import main
from fink_distribution.config import load_config
from fink_distribution.registry import DEFAULT_FILTERS


def test_defaults(tmp_path: Path) -> None:
    config = load_config({"FINK_DATA_DIR": str(tmp_path)})
    assert [f.name for f in config.filters] == list(DEFAULT_FILTERS)
    assert config.kafka.bootstrap == "127.0.0.1:9092"
    assert config.topic_of("sso_candidates") == "fink_sso_candidates_ztf"
    assert config.topics["fast_risers"] == "fink_fast_risers_ztf"
    assert (config.schema_topic, config.commit_topic) == ("fink_schemas", "fink_distribution_commits")
    assert config.transactional_id == "fink_distribution_ztf"
    assert config.trigger_seconds == 2.0 and not config.available_now
    assert config.lake.science == tmp_path / "science"
    assert config.schema_dir == tmp_path / "distribution" / "schemas"
    assert config.checkpoint == tmp_path / "checkpoints" / "distribution" / "main"


def test_explicit_settings(tmp_path: Path) -> None:
    config = load_config(
        {
            "FINK_DATA_DIR": str(tmp_path),
            "FINK_FILTERS": "anomalies, sso_candidates",
            "FINK_TOPIC_PREFIX": "test_",
            "FINK_TRANSACTIONAL_ID": "distribution-a",
            "FINK_MAX_FILES_PER_TRIGGER": "3",
            "FINK_TRIGGER_SECONDS": "0.5",
            "FINK_AVAILABLE_NOW": "true",
        }
    )
    assert list(config.topics.values()) == ["test_anomalies_ztf", "test_sso_candidates_ztf"]
    assert config.schema_topic == "test_schemas" and config.commit_topic == "test_distribution_commits"
    assert config.transactional_id == "distribution-a"
    assert (config.max_files_per_trigger, config.trigger_seconds, config.available_now) == (3, 0.5, True)


def test_every_problem_at_once() -> None:
    env = {
        "FINK_KAFKA_BOOTSTRAP": "nohost",
        "FINK_FILTERS": "sso_candidates,bogus_one,bogus_two",
        "FINK_EXTRA_FILTERS": "no.such.module:FILTER",
        "FINK_SURVEY": "lsst",
        "FINK_TOPIC_PREFIX": "bad prefix/",
        "FINK_MAX_FILES_PER_TRIGGER": "0",
        "FINK_TRIGGER_SECONDS": "soon",
        "FINK_AVAILABLE_NOW": "maybe",
    }
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    text = "\n".join(caught.value.problems)
    for needle in (
        "FINK_KAFKA_BOOTSTRAP",
        "'sso_candidates', 'bogus_one', 'bogus_two'",  # a ZTF filter is not an LSST one
        "cannot import 'no.such.module'",
        "FINK_TOPIC_PREFIX",
        "FINK_MAX_FILES_PER_TRIGGER=0",
        "FINK_TRIGGER_SECONDS='soon'",
        "FINK_AVAILABLE_NOW='maybe'",
    ):
        assert needle in text, (needle, text)
    assert len(caught.value.problems) == 7


def test_main_reports_a_bad_config_without_a_stack_trace(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Keep the process-wide logging set-up of the other tests: main() would bind it to capsys' streams.
    monkeypatch.setattr("fink_common.entrypoint.configure_logging", lambda **_: None)
    monkeypatch.setenv("FINK_FILTERS", "sso_candidates,not_a_filter")
    monkeypatch.setenv("FINK_MAX_FILES_PER_TRIGGER", "-1")
    assert main() == 2
    err = capsys.readouterr().err
    assert err.startswith("fink-distribution: invalid distribution configuration (2 problem(s))")
    assert "'not_a_filter'" in err and "FINK_MAX_FILES_PER_TRIGGER=-1" in err
    assert "Traceback" not in err
