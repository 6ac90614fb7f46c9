"""Kafka client credentials: the file, the environment, KafkaConfig, and that no repr shows the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_common.config import EnvReader, KafkaConfig
from fink_common.credentials import KafkaCredentials, read_properties, render_credentials, sasl_bootstrap
from fink_common.errors import ConfigError
from fink_common.kafka import client_config, config_client, redacted

SECRET = "s3cret-Value_42"


def _file(tmp_path: Path, creds: KafkaCredentials) -> Path:
    path = tmp_path / "alice.properties"
    path.write_text(render_credentials(creds, "a header"))
    return path


def test_repr_and_str_mask_the_password() -> None:
    creds = KafkaCredentials("alice", SECRET, bootstrap="127.0.0.1:9094")
    config = KafkaConfig("127.0.0.1:9094", creds)
    for text in (repr(creds), str(creds), repr(config), str(config), f"{config}", f"{[creds]}"):
        assert SECRET not in text and "***" in text and "alice" in text


def test_client_config_repr_masks_every_secret() -> None:
    creds = KafkaCredentials("alice", SECRET)
    conf = client_config("h:9094", {"sasl.jaas.config": f"x password='{SECRET}';", "group.id": "alice-1"}, credentials=creds)
    assert conf["sasl.password"] == SECRET  # librdkafka gets the real value
    assert conf["security.protocol"] == "SASL_PLAINTEXT" and conf["sasl.mechanism"] == "SCRAM-SHA-512"
    for text in (repr(conf), str(conf), f"{conf}", repr(redacted(conf))):
        assert SECRET not in text and "alice-1" in text
    assert client_config("h:9092") == {"bootstrap.servers": "h:9092"}  # the stages' clients: unchanged


def test_file_round_trip(tmp_path: Path) -> None:
    creds = KafkaCredentials("alice", SECRET, bootstrap="127.0.0.1:9094")
    text = render_credentials(creds, "a header")
    assert text.startswith("# a header\nbootstrap.servers=127.0.0.1:9094\n")
    assert read_properties(text)["sasl.password"] == SECRET
    assert KafkaCredentials.from_file(_file(tmp_path, creds)) == creds


def test_unusable_files_never_quote_the_content(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the credentials file"):
        KafkaCredentials.from_file(tmp_path / "missing")
    path = tmp_path / "bad.properties"
    path.write_text(f"sasl.password={SECRET}\n")
    with pytest.raises(ValueError, match="has no sasl.username") as err:
        KafkaCredentials.from_file(path)
    assert SECRET not in str(err.value)


def test_env_credentials(tmp_path: Path) -> None:
    assert KafkaCredentials.from_env({}) == (None, [])
    creds, problems = KafkaCredentials.from_env({"FINK_KAFKA_USERNAME": "bob", "FINK_KAFKA_PASSWORD": SECRET})
    assert problems == [] and creds == KafkaCredentials("bob", SECRET)
    path = _file(tmp_path, KafkaCredentials("alice", SECRET, bootstrap="h:9094"))
    creds, problems = KafkaCredentials.from_env(
        {"FINK_KAFKA_CREDENTIALS": str(path), "FINK_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    )
    assert problems == [] and creds is not None
    assert (creds.username, creds.password, creds.security_protocol, creds.bootstrap) == ("alice", SECRET, "SASL_SSL", "h:9094")


def test_env_problems_are_all_reported_without_the_password() -> None:
    env = EnvReader(
        {
            "FINK_KAFKA_BOOTSTRAP": "nohost",
            "FINK_KAFKA_PASSWORD": SECRET,
            "FINK_KAFKA_SASL_MECHANISM": "GSSAPI",
        }
    )
    KafkaConfig.from_env(env)
    with pytest.raises(ConfigError) as err:
        env.finish()
    text = str(err.value)
    assert "FINK_KAFKA_BOOTSTRAP" in text and "FINK_KAFKA_PASSWORD is set but FINK_KAFKA_USERNAME is not" in text
    assert SECRET not in text
    _, problems = KafkaCredentials.from_env(
        {"FINK_KAFKA_USERNAME": "a", "FINK_KAFKA_PASSWORD": SECRET, "FINK_KAFKA_SASL_MECHANISM": "GSSAPI"}
    )
    assert problems == ["SASL mechanism 'GSSAPI' is not one of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] (from the environment)"]


def test_kafka_config_client_settings(tmp_path: Path) -> None:
    env = EnvReader({"FINK_KAFKA_BOOTSTRAP": "127.0.0.1:9094", "FINK_KAFKA_CREDENTIALS": str(_file(tmp_path, KafkaCredentials("alice", SECRET)))})
    config = KafkaConfig.from_env(env)
    env.finish()
    assert config.client_settings()["sasl.username"] == "alice"
    assert config_client(config, {"group.id": "alice"})["sasl.password"] == SECRET
    plain = EnvReader({})
    assert KafkaConfig.from_env(plain) == KafkaConfig("127.0.0.1:9092")  # the stages: no credentials
    assert KafkaConfig("h:1").client_settings() == {"bootstrap.servers": "h:1"}


def test_sasl_bootstrap_follows_the_plaintext_host() -> None:
    assert sasl_bootstrap("127.0.0.1:9092,x:1", {}) == "127.0.0.1:9094"
    assert sasl_bootstrap("127.0.0.1:39092", {"FINK_KAFKA_SASL_PORT": "39094"}) == "127.0.0.1:39094"
    assert sasl_bootstrap("h:1", {"FINK_KAFKA_SASL_BOOTSTRAP": "127.0.0.1:19096"}) == "127.0.0.1:19096"
    with pytest.raises(ValueError, match="not host:port"):
        sasl_bootstrap("nohost", {})
