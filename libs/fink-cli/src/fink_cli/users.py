"""`./fink users add|list|remove`: the Kafka users who read their alerts over SASL/SCRAM, and their ACLs.

Kafka (libs/fink-services, kafka.py) has two kinds of listeners: the PLAINTEXT ones (local 127.0.0.1:9092;
containers INTERNAL/EXTERNAL), whose principal `User:ANONYMOUS` is the only super user (the stages and this
command connect there), and USERS (SASL_PLAINTEXT, SCRAM-SHA-512; local 127.0.0.1:9094), where the
StandardAuthorizer allows only what an ACL allows (`allow.everyone.if.no.acl.found=false`). What a user
gets is in `fink_cli.accounts`.

`add` writes `<credentials dir>/NAME.properties` (mode 0600; fink_common.credentials) and prints its path,
never the password. The password comes from `--password-file`, else FINK_USER_PASSWORD, else the user's
existing credentials file (so `add` again keeps it), else `secrets.token_urlsafe`; `--new-password` forces
a generated one.
"""

from __future__ import annotations

import argparse
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import (
    AclBinding,
    ResourcePatternType,
    ResourceType,
)

from fink_cli.accounts import (
    MECHANISM,
    PASSWORD_ENV,
    UserAdmin,
    check_request,
    credentials_path,
    name_problems,
    password_problems,
    user_acls,
    write_credentials,
)
from fink_common.config import parse_host_port
from fink_common.credentials import KafkaCredentials, sasl_bootstrap
from fink_common.errors import ConfigError
from fink_common.kafka import list_topics

__all__ = ["add_commands", "run_users"]


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
        problems.extend(password_problems(password, f"--password-file {args.password_file}"))
        return password, f"the file {args.password_file}"
    if os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
        problems.extend(password_problems(password, f"${PASSWORD_ENV}"))
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
        problems += name_problems(args.name)
    if problems:
        raise ConfigError(problems, source=f"`fink users {args.action}` arguments")
    admin = UserAdmin(ctx.bootstrap)
    return _list(admin, ctx) if args.action == "list" else _remove(admin, ctx, args.name)
