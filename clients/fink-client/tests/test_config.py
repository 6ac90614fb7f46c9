"""fink-consume's options: defaults, credentials, and every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_client.__main__ import main
from fink_client.config import load_config
from fink_common.errors import ConfigError

SECRET = "s3cret-password-xyz"


def _credentials(tmp_path: Path) -> Path:
    path = tmp_path / "alice.properties"
    path.write_text(
        "# made by fink users add\nbootstrap.servers=127.0.0.1:9094\nsecurity.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism=SCRAM-SHA-512\nsasl.username=alice\nsasl.password={SECRET}\n"
    )
    return path


def test_defaults() -> None:
    config = load_config(["--topic", "fink_sso_candidates_ztf"], environ={})
    assert config.bootstrap == "127.0.0.1:9092" and config.credentials is None
    assert config.topics == ("fink_sso_candidates_ztf",)
    assert config.group == "fink-consume-anonymous"
    assert (config.from_beginning, config.max_alerts, config.timeout_s, config.out) == (False, None, 10.0, None)
    assert (config.format, config.batch_size, config.schema_topic, config.list_topics) == ("avro", 100, None, False)
    env = {"FINK_KAFKA_BOOTSTRAP": "kafka:9092"}
    assert load_config(["--list-topics"], environ=env).bootstrap == "kafka:9092"


def test_options(tmp_path: Path) -> None:
    argv = ["--topic", "a_x_ztf", "--topic", "a_y_ztf", "--topic", "a_x_ztf", "--group", "g", "--from-beginning",
            "--max", "5", "--timeout", "0", "--out", str(tmp_path / "out"), "--format", "parquet",
            "--batch-size", "7", "--schema-topic", "a_schemas", "--bootstrap", "h1:1,h2:2"]  # fmt: skip
    config = load_config(argv, environ={})
    assert config.topics == ("a_x_ztf", "a_y_ztf") and config.group == "g" and config.from_beginning
    assert (config.max_alerts, config.timeout_s, config.format, config.batch_size) == (5, 0.0, "parquet", 7)
    assert config.out == tmp_path / "out" and config.schema_topic == "a_schemas" and config.bootstrap == "h1:1,h2:2"


def test_credentials_file_and_its_bootstrap(tmp_path: Path) -> None:
    path = _credentials(tmp_path)
    config = load_config(["--topic", "t", "--credentials", str(path)], environ={"FINK_KAFKA_BOOTSTRAP": "x:1"})
    assert config.credentials is not None and config.credentials.username == "alice"
    assert config.bootstrap == "127.0.0.1:9094"  # the file's wins over the environment
    assert config.group == "alice-fink-consume"  # within the groups a user's ACLs allow (alice-*)
    assert SECRET not in repr(config)
    explicit = load_config(["--topic", "t", "--bootstrap", "h:9", "--credentials", str(path)], environ={})
    assert explicit.bootstrap == "h:9"
    from_env = load_config(["--topic", "t"], environ={"FINK_KAFKA_CREDENTIALS": str(path)})
    assert from_env.credentials == config.credentials and from_env.bootstrap == "127.0.0.1:9094"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    argv = ["--max", "0", "--timeout", "-1", "--format", "csv", "--batch-size", "many", "--bootstrap", "nohost",
            "--topic", "bad topic", "--topic", "__consumer_offsets", "--out", str(a_file),
            "--credentials", str(tmp_path / "missing.properties"), "--group", " "]  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        load_config(argv, environ={})
    problems = exc.value.problems
    assert len(problems) == 10, problems
    text = "\n".join(problems)
    for needle in ("--max '0'", "--timeout '-1'", "--format 'csv'", "--batch-size 'many'", "'nohost'",
                   "'bad topic'", "'__consumer_offsets'", "--out", "missing.properties", "--group is empty"):  # fmt: skip
        assert needle in text, needle
    with pytest.raises(ConfigError, match="no topic"):
        load_config([], environ={})
    with pytest.raises(ConfigError, match="unrecognized arguments"):
        load_config(["--topic", "t", "--nope"], environ={})


def test_cli_exits_2_with_one_message(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--max", "x", "--format", "csv"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith("fink-consume: invalid fink-consume options (3 problem(s)):")
    for needle in ("no topic", "--max 'x'", "--format 'csv'"):
        assert needle in err
    bad = tmp_path / "bad.properties"
    bad.write_text("sasl.username=bob\n")
    assert main(["--topic", "t", "--credentials", str(bad)]) == 2
    assert "no sasl.password" in capsys.readouterr().err


def test_cli_unreachable_broker_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--topic", "fink_x_ztf", "--bootstrap", "127.0.0.1:1", "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert "Kafka at 127.0.0.1:1 did not answer" in err and "Traceback" not in err
