"""Kafka user accounts for the USERS listener: SCRAM-SHA-512 credentials, read-only ACLs, the 0600
credentials file, and the checks of a request (`fink_cli.users` is the `./fink users` command over them).

What `add NAME --topics T...` sets, over the PLAINTEXT listener with the Admin API (`UserAdmin`):
- the SCRAM-SHA-512 credentials of NAME (`alter_user_scram_credentials`; KRaft keeps them in its metadata log);
- exactly these ACLs of `User:NAME` (others of that principal are deleted, so `add` again changes the topics):
  READ and DESCRIBE on each topic and on the schema topic (`<prefix>schemas`: the client decodes with the
  published schemas), and on the consumer groups `NAME` (LITERAL) and `NAME-*` (PREFIXED `NAME-`). No
  WRITE, no cluster operation: a user can neither produce nor create anything.
A user name has no `-` (the group prefix `NAME-` of one user must not cover another's).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from fink_common.credentials import KafkaCredentials, render_credentials
from fink_common.errors import ServiceError, ServiceUnavailableError
from fink_common.kafka import make_admin

__all__ = [
    "ITERATIONS",
    "MECHANISM",
    "PASSWORD_ENV",
    "UserAdmin",
    "UserRequest",
    "check_request",
    "credentials_path",
    "group_patterns",
    "name_problems",
    "password_problems",
    "user_acls",
    "write_credentials",
]

MECHANISM = "SCRAM-SHA-512"
ITERATIONS = 8192  # Kafka accepts 4096..16384 for SCRAM-SHA-512
PASSWORD_ENV = "FINK_USER_PASSWORD"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
_RESERVED = {"anonymous"}  # User:ANONYMOUS is the super user of the PLAINTEXT listeners
_MIN_PASSWORD = 12
_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class UserRequest:
    """What `users add` asks for (checked by `check_request`)."""

    name: str
    topics: tuple[str, ...]
    schema_topic: str


def group_patterns(name: str) -> list[tuple[str, ResourcePatternType]]:
    """The consumer groups a user may use: `NAME` itself and every `NAME-...`."""
    return [(name, ResourcePatternType.LITERAL), (f"{name}-", ResourcePatternType.PREFIXED)]


def user_acls(request: UserRequest) -> list[AclBinding]:
    """Every ACL of `User:NAME`: READ + DESCRIBE on its topics, the schema topic and its groups."""
    principal = f"User:{request.name}"
    resources = [(ResourceType.TOPIC, t, ResourcePatternType.LITERAL) for t in (*request.topics, request.schema_topic)]
    resources += [(ResourceType.GROUP, group, pattern) for group, pattern in group_patterns(request.name)]
    return [
        AclBinding(kind, name, pattern, principal, "*", operation, AclPermissionType.ALLOW)
        for kind, name, pattern in dict.fromkeys(resources)
        for operation in (AclOperation.READ, AclOperation.DESCRIBE)
    ]


def name_problems(name: str) -> list[str]:
    if not _NAME.fullmatch(name):
        return [
            f"user name {name!r} must start with a letter and hold only letters, digits, '_' and '.' "
            "(at most 64; no '-': NAME-* are the user's consumer groups)"
        ]
    if name.lower() in _RESERVED:
        return [f"user name {name!r} is reserved (the super user of the internal listeners)"]
    return []


def _topic_problems(topic: str, what: str) -> list[str]:
    if not _TOPIC.fullmatch(topic) or topic in (".", ".."):
        return [f"{what} {topic!r} is not a Kafka topic name (1-249 of letters, digits, '.', '_', '-')"]
    if topic.startswith("__"):
        return [f"{what} {topic!r} is an internal Kafka topic"]
    return []


def password_problems(password: str, source: str) -> list[str]:
    if len(password) < _MIN_PASSWORD:
        return [f"the password from {source} is shorter than {_MIN_PASSWORD} characters"]
    if any(c.isspace() or not c.isprintable() for c in password):
        return [f"the password from {source} holds whitespace or control characters"]
    return []


def check_request(name: str, topics: Sequence[str], schema_topic: str) -> tuple[UserRequest, list[str]]:
    """The request and every problem with it (names only: the password is checked where it is read)."""
    problems = name_problems(name)
    if not topics:
        problems.append("no topic given (--topics T1 [T2 ...])")
    for topic in topics:
        problems += _topic_problems(topic, "topic")
    problems += _topic_problems(schema_topic, "schema topic")
    return UserRequest(name, tuple(dict.fromkeys(topics)), schema_topic), problems


def credentials_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.properties"


def write_credentials(path: Path, credentials: KafkaCredentials) -> None:
    """Writes the credentials file atomically with mode 0600 (its folder 0700); never readable by others."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    header = f"Kafka credentials of {credentials.username} (fink users add). Secret: keep it private (mode 0600)."
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(render_credentials(credentials, header))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _error_code(exc: BaseException) -> int | None:
    err = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return err.code() if isinstance(err, KafkaError) else None


class UserAdmin:
    """The Admin API calls of `users`, over the internal (super user) listener at `bootstrap`."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin = make_admin(bootstrap, {"socket.timeout.ms": 15000})

    def _result(self, future: Any, what: str) -> Any:
        try:
            return future.result(timeout=_TIMEOUT_S)
        except KafkaException as exc:
            code = _error_code(exc)
            if code == KafkaError.SECURITY_DISABLED:
                raise ServiceError(
                    f"{what}: Kafka at {self.bootstrap} runs without an authorizer (a config from before the "
                    "SASL listener): restart it (`./fink services down` then `./fink services up`)"
                ) from None
            if code in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN):
                raise ServiceUnavailableError(f"{what}: Kafka at {self.bootstrap} did not answer: {exc}") from None
            raise ServiceError(f"{what}: {exc}") from None
        except TimeoutError:
            raise ServiceUnavailableError(f"{what}: no answer from Kafka at {self.bootstrap} in {_TIMEOUT_S:.0f} s") from None

    def set_password(self, name: str, password: str) -> None:
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
        upsert = UserScramCredentialUpsertion(name, info, password.encode("utf-8"))
        for future in self._admin.alter_user_scram_credentials([upsert]).values():
            self._result(future, f"setting the credentials of {name!r}")

    def delete_credentials(self, name: str) -> bool:
        """Deletes the user's SCRAM credentials; False when it had none."""
        deletion = UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512)
        try:
            for future in self._admin.alter_user_scram_credentials([deletion]).values():
                future.result(timeout=_TIMEOUT_S)
        except KafkaException as exc:
            if _error_code(exc) == KafkaError.RESOURCE_NOT_FOUND:
                return False
            raise ServiceError(f"deleting the credentials of {name!r}: {exc}") from None
        return True

    def users(self) -> list[str]:
        """Every user with SCRAM credentials."""
        return sorted(self._result(self._admin.describe_user_scram_credentials(), "listing the users"))

    def acls(self, name: str | None = None) -> list[AclBinding]:
        """The ACLs of `User:NAME`, or every ACL."""
        principal = f"User:{name}" if name is not None else None
        flt = AclBindingFilter(  # None matches any name, principal, host (confluent-kafka's stubs say str)
            ResourceType.ANY, None, ResourcePatternType.ANY, principal, None,  # type: ignore[arg-type]
            AclOperation.ANY, AclPermissionType.ANY,
        )  # fmt: skip
        return list(self._result(self._admin.describe_acls(flt, request_timeout=_TIMEOUT_S), "reading the ACLs"))

    def set_acls(self, name: str, wanted: Iterable[AclBinding]) -> tuple[int, int]:
        """Makes the ACLs of `User:NAME` exactly `wanted`; returns (created, deleted)."""
        wanted = list(dict.fromkeys(wanted))
        existing = self.acls(name)
        stale = [b for b in existing if b not in wanted]
        missing = [b for b in wanted if b not in existing]
        if stale:
            filters = [
                AclBindingFilter(
                    b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
                )
                for b in stale
            ]
            for future in self._admin.delete_acls(filters, request_timeout=_TIMEOUT_S).values():
                self._result(future, f"deleting old ACLs of {name!r}")
        if missing:
            for future in self._admin.create_acls(missing, request_timeout=_TIMEOUT_S).values():
                self._result(future, f"creating the ACLs of {name!r}")
        return len(missing), len(stale)

    def delete_acls(self, name: str) -> int:
        return self.set_acls(name, [])[1]
