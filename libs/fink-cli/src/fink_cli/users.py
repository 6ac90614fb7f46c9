"""`./fink users add|list|remove`: the Kafka users who read their alerts over SASL/SCRAM, and their ACLs.

Kafka (libs/fink-services, kafka.py) has two kinds of listeners: the PLAINTEXT ones (local 127.0.0.1:9092;
containers INTERNAL/EXTERNAL), whose principal `User:ANONYMOUS` is the only super user (the stages and this
command connect there), and USERS (SASL_PLAINTEXT, SCRAM-SHA-512; local 127.0.0.1:9094), where the
StandardAuthorizer allows only what an ACL allows (`allow.everyone.if.no.acl.found=false`).

`add NAME --topics T...` sets, over the PLAINTEXT listener with the Admin API:
- the SCRAM-SHA-512 credentials of NAME (`alter_user_scram_credentials`; KRaft keeps them in its metadata log);
- exactly these ACLs of `User:NAME` (others of that principal are deleted, so `add` again changes the topics):
  READ and DESCRIBE on each topic and on the schema topic (`<prefix>schemas`: the client decodes with the
  published schemas), and on the consumer groups `NAME` (LITERAL) and `NAME-*` (PREFIXED `NAME-`). No
  WRITE, no cluster operation: a user can neither produce nor create anything.
Then it writes `<credentials dir>/NAME.properties` (mode 0600; fink_common.credentials) and prints its path,
never the password. The password comes from `--password-file`, else FINK_USER_PASSWORD, else the user's
existing credentials file (so `add` again keeps it), else `secrets.token_urlsafe`; `--new-password` forces
a generated one. A user name has no `-` (the group prefix `NAME-` of one user must not cover another's).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
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

from fink_common.config import parse_host_port
from fink_common.credentials import KafkaCredentials, render_credentials, sasl_bootstrap
from fink_common.errors import ConfigError, ServiceError, ServiceUnavailableError
from fink_common.kafka import list_topics, make_admin

__all__ = [
    "MECHANISM",
    "ITERATIONS",
    "PASSWORD_ENV",
    "UserRequest",
    "UserAdmin",
    "user_acls",
    "group_patterns",
    "check_request",
    "credentials_path",
    "write_credentials",
    "add_commands",
    "run_users",
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


def _name_problems(name: str) -> list[str]:
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


def _password_problems(password: str, source: str) -> list[str]:
    if len(password) < _MIN_PASSWORD:
        return [f"the password from {source} is shorter than {_MIN_PASSWORD} characters"]
    if any(c.isspace() or not c.isprintable() for c in password):
        return [f"the password from {source} holds whitespace or control characters"]
    return []


def check_request(name: str, topics: Sequence[str], schema_topic: str) -> tuple[UserRequest, list[str]]:
    """The request and every problem with it (names only: the password is checked where it is read)."""
    problems = _name_problems(name)
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
        flt = AclBindingFilter(
            ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY, AclPermissionType.ANY
        )
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


# ---------------------------------------------------------------------------------------------- command line


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `users add|list|remove` to the `fink` argparse subcommands."""
    users = commands.add_parser("users", help="Kafka users (SASL/SCRAM-SHA-512) and their read-only ACLs")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create or update a user: credentials, ACLs, a 0600 credentials file")
    add.add_argument("name", help="user name: letters, digits, '_', '.'; its consumer groups are NAME and NAME-*")
    add.add_argument("--topics", nargs="+", required=True, metavar="TOPIC", help="the topics the user may read")
    add.add_argument("--password-file", type=Path, help=f"read the password from this file (else ${PASSWORD_ENV})")
    add.add_argument("--new-password", action="store_true", help="generate a new password even if the user has one")
    for p in (add, actions.add_parser("list", help="every user, with what it may read")):
        _connection_options(p)
    remove = actions.add_parser("remove", help="delete a user's credentials, ACLs and credentials file")
    remove.add_argument("name")
    _connection_options(remove)


def _connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--bootstrap",
        help="Kafka's internal PLAINTEXT listener, where the super user works (default: $FINK_KAFKA_BOOTSTRAP, "
        "else 127.0.0.1:9092)",
    )
    p.add_argument(
        "--sasl-bootstrap",
        help="the USERS listener written into the credentials file (default: $FINK_KAFKA_SASL_BOOTSTRAP, else "
        "the bootstrap host with port $FINK_KAFKA_SASL_PORT, else 9094)",
    )
    p.add_argument(
        "--schema-topic", help="the schema topic every user may read (default: ${FINK_TOPIC_PREFIX:-fink_}schemas)"
    )
    p.add_argument("--credentials-dir", type=Path, help="where NAME.properties go (default: $FINK_STATE_DIR/users)")


@dataclass(frozen=True)
class _Context:
    bootstrap: str
    sasl_bootstrap: str
    schema_topic: str
    credentials_dir: Path


def _context(args: argparse.Namespace, state: Path, problems: list[str]) -> _Context:
    env = os.environ
    bootstrap = args.bootstrap or env.get("FINK_KAFKA_BOOTSTRAP") or "127.0.0.1:9092"
    for address in bootstrap.split(","):
        try:
            parse_host_port(address.strip())
        except ValueError as exc:
            problems.append(f"bootstrap: {exc}")
    try:
        sasl = args.sasl_bootstrap or sasl_bootstrap(bootstrap, env)
    except ValueError:
        sasl = "127.0.0.1:9094"  # the bootstrap's problem is reported above
    for address in sasl.split(","):
        try:
            parse_host_port(address.strip())
        except ValueError as exc:
            problems.append(f"SASL bootstrap: {exc}")
    schema_topic = args.schema_topic or f"{env.get('FINK_TOPIC_PREFIX', 'fink_')}schemas"
    return _Context(bootstrap, sasl, schema_topic, args.credentials_dir or state / "users")


def _password(args: argparse.Namespace, existing: Path, name: str, problems: list[str]) -> tuple[str, str]:
    """(password, where it came from); problems never quote it."""
    if args.password_file is not None:
        try:
            text = args.password_file.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"--password-file {args.password_file}: {exc.strerror or exc}")
            return "", "--password-file"
        password = text.rstrip("\r\n")
        problems.extend(_password_problems(password, f"--password-file {args.password_file}"))
        return password, f"the file {args.password_file}"
    if os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
        problems.extend(_password_problems(password, f"${PASSWORD_ENV}"))
        return password, f"${PASSWORD_ENV}"
    if existing.is_file() and not args.new_password:
        try:
            old = KafkaCredentials.from_file(existing)
            if old.username == name:
                return old.password, f"the existing {existing.name} (kept)"
        except ValueError:
            pass
    return secrets.token_urlsafe(24), "generated"


def _add(args: argparse.Namespace, ctx: _Context, problems: list[str]) -> int:
    request, found = check_request(args.name, args.topics, ctx.schema_topic)
    problems += found
    path = credentials_path(ctx.credentials_dir, args.name)
    password, source = _password(args, path, args.name, problems)
    if problems:
        raise ConfigError(problems, source="`fink users add` arguments")
    admin = UserAdmin(ctx.bootstrap)
    existed = args.name in admin.users()
    admin.set_password(request.name, password)
    created, deleted = admin.set_acls(request.name, user_acls(request))
    credentials = KafkaCredentials(request.name, password, MECHANISM, "SASL_PLAINTEXT", ctx.sasl_bootstrap)
    write_credentials(path, credentials)
    topics = ", ".join(request.topics)
    print(f"fink users: {request.name}: {MECHANISM} credentials {'updated' if existed else 'created'} (password: {source})")
    print(
        f"  may read (READ, DESCRIBE): topics {topics}; schema topic {request.schema_topic}; consumer groups "
        f"{request.name} and {request.name}-*  ({created} ACL(s) created, {deleted} removed)"
    )
    known = list_topics(ctx.bootstrap)
    for topic in (*request.topics, request.schema_topic):
        if topic not in known:
            print(f"  note: topic {topic} does not exist yet (the distribution stage creates it)")
    print(f"  credentials file: {path} (mode 0600: it holds the password, keep it private)")
    print(f"  connect to {ctx.sasl_bootstrap} with SASL_PLAINTEXT + {MECHANISM}: FINK_KAFKA_CREDENTIALS={path}")
    return 0


def _list(admin: UserAdmin, ctx: _Context) -> int:
    users = admin.users()
    by_principal: dict[str, list[AclBinding]] = {}
    for binding in admin.acls():
        by_principal.setdefault(binding.principal, []).append(binding)
    names = sorted({*users, *(p.split(":", 1)[1] for p in by_principal if p.startswith("User:"))})
    if not names:
        print("fink users: no users")
    for name in names:
        bindings = by_principal.get(f"User:{name}", [])
        topics = sorted({b.name for b in bindings if b.restype == ResourceType.TOPIC})
        prefixed = ResourcePatternType.PREFIXED
        groups = sorted(
            {b.name + ("*" if b.resource_pattern_type == prefixed else "") for b in bindings if b.restype == ResourceType.GROUP}
        )
        creds = "SCRAM" if name in users else "no credentials"
        path = credentials_path(ctx.credentials_dir, name)
        shown = f"; file {path}" if path.is_file() else ""
        print(f"{name:<20} {creds:<15} topics: {', '.join(topics) or '-'}; groups: {', '.join(groups) or '-'}{shown}")
    return 0


def _remove(admin: UserAdmin, ctx: _Context, name: str) -> int:
    deleted_acls = admin.delete_acls(name)
    had_credentials = admin.delete_credentials(name)
    path = credentials_path(ctx.credentials_dir, name)
    had_file = path.is_file()
    path.unlink(missing_ok=True)
    if not (deleted_acls or had_credentials or had_file):
        print(f"fink users: no user {name!r}")
        return 1
    print(f"fink users: {name}: removed {deleted_acls} ACL(s), credentials {'deleted' if had_credentials else 'none'}")
    return 0


def run_users(args: argparse.Namespace, state: Path) -> int:
    """Runs `users add|list|remove`; ConfigError (exit 2) lists every problem with the arguments."""
    problems: list[str] = []
    ctx = _context(args, state, problems)
    if args.action == "add":
        return _add(args, ctx, problems)
    if args.action == "remove":
        problems += _name_problems(args.name)
    if problems:
        raise ConfigError(problems, source=f"`fink users {args.action}` arguments")
    admin = UserAdmin(ctx.bootstrap)
    return _list(admin, ctx) if args.action == "list" else _remove(admin, ctx, args.name)
