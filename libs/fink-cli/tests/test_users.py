"""`fink users`: argument checks, the ACLs a user gets and the credentials file (no Kafka needed)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from fink_cli.__main__ import main
from fink_cli.accounts import UserRequest, check_request, credentials_path, user_acls, write_credentials
from fink_common.credentials import KafkaCredentials


def test_acls_are_read_and_describe_on_own_topics_schema_topic_and_groups() -> None:
    request = UserRequest("alice", ("fink_sn_ztf", "fink_kn_ztf"), "fink_schemas")
    acls = user_acls(request)
    got = {(b.restype, b.name, b.resource_pattern_type, b.operation) for b in acls}
    expected = {
        (kind, name, pattern, op)
        for kind, name, pattern in [
            (ResourceType.TOPIC, "fink_sn_ztf", ResourcePatternType.LITERAL),
            (ResourceType.TOPIC, "fink_kn_ztf", ResourcePatternType.LITERAL),
            (ResourceType.TOPIC, "fink_schemas", ResourcePatternType.LITERAL),
            (ResourceType.GROUP, "alice", ResourcePatternType.LITERAL),
            (ResourceType.GROUP, "alice-", ResourcePatternType.PREFIXED),
        ]
        for op in (AclOperation.READ, AclOperation.DESCRIBE)
    }
    assert got == expected and len(acls) == len(expected)
    assert {(b.principal, b.host, b.permission_type) for b in acls} == {("User:alice", "*", AclPermissionType.ALLOW)}
    assert not any(b.operation in (AclOperation.WRITE, AclOperation.ALL, AclOperation.CREATE) for b in acls)


def test_schema_topic_listed_as_a_user_topic_gets_one_set_of_acls() -> None:
    assert len(user_acls(UserRequest("bob", ("fink_schemas",), "fink_schemas"))) == 6


def test_every_problem_is_reported() -> None:
    _, problems = check_request("bad-name", ["ok_topic", "__consumer_offsets", "a*b", ".."], "schemas!")
    text = "\n".join(problems)
    assert len(problems) == 5, problems
    for needle in ("'bad-name'", "'__consumer_offsets' is an internal", "'a*b'", "'..'", "schema topic 'schemas!'"):
        assert needle in text
    assert check_request("ANONYMOUS", ["t"], "s")[1] == ["user name 'ANONYMOUS' is reserved (the super user of the internal listeners)"]
    request, problems = check_request("alice.b_2", ["t1", "t1", "t2"], "fink_schemas")
    assert problems == [] and request.topics == ("t1", "t2")


def test_cli_validation_exits_2_with_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "pw"
    secret.write_text("short\n")
    argv = ["users", "add", "no-dash", "--topics", "__x", "ok", "--password-file", str(secret),
            "--bootstrap", "nohost", "--credentials-dir", str(tmp_path / "users")]  # fmt: skip
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith("fink users: invalid `fink users add` arguments (4 problem(s)):")
    for needle in ("'no-dash'", "'__x'", "shorter than 12", "'nohost' is not host:port"):
        assert needle in err
    assert "short" not in err.replace("shorter", "")  # the password itself is never quoted
    assert not (tmp_path / "users").exists()


def test_cli_needs_topics(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["users", "add", "alice"])
    assert exc.value.code == 2
    assert "--topics" in capsys.readouterr().err


def test_credentials_file_is_private_and_readable_back(tmp_path: Path) -> None:
    path = credentials_path(tmp_path / "users", "alice")
    creds = KafkaCredentials("alice", "pa:ss=word-123456", bootstrap="127.0.0.1:9094")
    write_credentials(path, creds)
    write_credentials(path, creds)  # rewriting keeps it private
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["alice.properties"]  # no temporary file left
    back = KafkaCredentials.from_file(path)
    assert back == creds
    assert "sasl.password=pa:ss=word-123456" in path.read_text()
