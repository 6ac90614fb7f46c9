"""fink-consume's configuration: one frozen dataclass from the command line and the environment.

Every option is read as text and checked here, so one run reports every bad option at once (a
`fink_common.errors.ConfigError` listing them all; the command line exits 2 with it).

| option | environment | default | meaning |
|---|---|---|---|
| --bootstrap HOST:PORT | FINK_KAFKA_BOOTSTRAP | 127.0.0.1:9092 | Kafka brokers; a credentials file's `bootstrap.servers` wins over the environment and the default, not over --bootstrap |
| --credentials FILE | FINK_KAFKA_CREDENTIALS (or FINK_KAFKA_USERNAME/PASSWORD) | none | the SASL properties file `./fink users add NAME` writes |
| --topic T (repeatable) | | | the filter topics to read (`<prefix><filter>_<survey>`: `fink_<filter>_ztf`, `fink_<filter>_lsst`; both surveys in one run is fine) |
| --group G | | `<user>-fink-consume` with credentials (the ACLs allow the groups `<user>-*`), else `fink-consume-anonymous` | consumer group: offsets are committed there |
| --from-beginning | | off | a new group starts at the earliest offset (else at the end) |
| --max N | | no limit | stop after N alerts |
| --timeout S | | 10 | stop after S seconds without a message (0: wait forever) |
| --out DIR | | none | save the alerts under DIR/<topic>/, undecodable messages under DIR/quarantine/ |
| --format avro\\|parquet | | avro | file format of --out |
| --batch-size K | | 100 | save (and then commit) every K alerts |
| --schema-topic T | | `<prefix>schemas`, the prefix found from the topics | where the schemas are published |
| --list-topics | | | print the filter topics the broker offers, with their message counts, and exit |
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from fink_common.config import parse_host_port
from fink_common.credentials import KafkaCredentials
from fink_common.errors import ConfigError

__all__ = ["DEFAULT_BOOTSTRAP", "FORMATS", "ConsumeConfig", "build_parser", "default_group", "load_config"]

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
FORMATS = ("avro", "parquet")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


@dataclass(frozen=True)
class ConsumeConfig:
    """What one fink-consume run does (checked: build it with `load_config`)."""

    bootstrap: str
    credentials: KafkaCredentials | None
    topics: tuple[str, ...]
    group: str
    from_beginning: bool = False
    max_alerts: int | None = None
    timeout_s: float = 10.0  # 0: wait forever
    out: Path | None = None
    format: str = "avro"
    batch_size: int = 100
    schema_topic: str | None = None  # None: `<prefix>schemas`, found on the broker from the topics' prefix
    list_topics: bool = False

    @property
    def user(self) -> str | None:
        return self.credentials.username if self.credentials else None


def default_group(credentials: KafkaCredentials | None) -> str:
    """`<user>-fink-consume` (a user may only use the groups `<user>` and `<user>-*`), else `fink-consume-anonymous`."""
    return f"{credentials.username}-fink-consume" if credentials else "fink-consume-anonymous"


class _Parser(argparse.ArgumentParser):
    """argparse that raises ConfigError instead of exiting, so the API and the CLI report alike."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError([message], source="fink-consume arguments")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="fink-consume",
        description="Read the alerts Fink distributes on Kafka: decode them with the published schemas, print "
        "one line per alert, optionally save them (Avro or parquet). Offsets are committed after saving.",
    )
    p.add_argument("--topic", action="append", default=[], metavar="TOPIC", help="a filter topic (repeatable)")
    p.add_argument("--list-topics", action="store_true", help="list the filter topics and their message counts")
    p.add_argument("--bootstrap", metavar="HOST:PORT", help="Kafka brokers (default: $FINK_KAFKA_BOOTSTRAP or the "
                   f"credentials file's, else {DEFAULT_BOOTSTRAP})")  # fmt: skip
    p.add_argument("--credentials", metavar="FILE", help="SASL properties file (`./fink users add NAME`); "
                   "default $FINK_KAFKA_CREDENTIALS")  # fmt: skip
    p.add_argument("--group", help="consumer group (default <user>-fink-consume, or fink-consume-anonymous)")
    p.add_argument("--from-beginning", action="store_true", help="a new group starts at the earliest offset")
    p.add_argument("--max", metavar="N", help="stop after N alerts")
    p.add_argument("--timeout", metavar="S", default="10", help="stop after S seconds without a message; 0: never "
                   "(default 10)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", help="save the alerts under DIR/<topic>/ (and undecodable ones under "
                   "DIR/quarantine/)")  # fmt: skip
    p.add_argument("--format", default="avro", metavar="avro|parquet", help="file format of --out (default avro)")
    p.add_argument("--batch-size", default="100", metavar="K", help="save and commit every K alerts (default 100)")
    p.add_argument("--schema-topic", metavar="TOPIC", help="the schema topic (default <prefix>schemas)")
    return p


def _number(text: str | None, name: str, kind: type, minimum: float, problems: list[str]) -> float | int | None:
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        problems.append(f"{name} {text!r} is not {'an integer' if kind is int else 'a number'}")
        return None
    if value < minimum or value != value:  # NaN too
        problems.append(f"{name} {text!r} must be at least {minimum:g}")
        return None
    return value


def _credentials(path: str | None, env: Mapping[str, str], problems: list[str]) -> KafkaCredentials | None:
    if path:
        try:
            creds = KafkaCredentials.from_file(path)
        except ValueError as exc:
            problems.append(f"--credentials: {exc}")
            return None
        problems.extend(f"--credentials: {p}" for p in creds.problems())
        return creds
    from_env, found = KafkaCredentials.from_env(env)
    problems.extend(found)
    return from_env


def load_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ConsumeConfig:
    """The configuration of `fink-consume ARGV` in `environ` (default: the process's); ConfigError lists every
    problem."""
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    problems: list[str] = []
    creds = _credentials(args.credentials, env, problems)
    bootstrap = (
        args.bootstrap or (creds.bootstrap if creds else None) or env.get("FINK_KAFKA_BOOTSTRAP") or DEFAULT_BOOTSTRAP
    ).strip()
    for server in bootstrap.split(","):
        try:
            parse_host_port(server.strip())
        except ValueError as exc:
            problems.append(f"bootstrap: {exc}")
    topics = tuple(dict.fromkeys(args.topic))
    if not topics and not args.list_topics:
        problems.append("no topic: give --topic TOPIC (repeatable), or --list-topics to see them")
    for topic in (*topics, *([args.schema_topic] if args.schema_topic is not None else [])):
        if not _TOPIC.match(topic) or topic in (".", ".."):
            problems.append(f"{topic!r} is not a Kafka topic name (1-249 of letters, digits, '.', '_', '-')")
        elif topic.startswith("__"):
            problems.append(f"{topic!r} is an internal Kafka topic, not a filter topic")
    if args.group is not None and not args.group.strip():
        problems.append("--group is empty")
    max_alerts = _number(args.max, "--max", int, 1, problems)
    timeout_s = _number(args.timeout, "--timeout", float, 0, problems)
    batch_size = _number(args.batch_size, "--batch-size", int, 1, problems)
    if args.format not in FORMATS:
        problems.append(f"--format {args.format!r} is not one of {', '.join(FORMATS)}")
    out = Path(args.out).absolute() if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        problems.append(f"--out {args.out}: exists and is not a folder")
    if args.list_topics and (args.out or args.max):
        problems.append("--list-topics reads no alerts: it takes neither --out nor --max")
    if problems:
        raise ConfigError(problems, source="fink-consume options")
    return ConsumeConfig(
        bootstrap=bootstrap,
        credentials=creds,
        topics=topics,
        group=(args.group or "").strip() or default_group(creds),
        from_beginning=args.from_beginning,
        max_alerts=int(max_alerts) if max_alerts is not None else None,
        timeout_s=float(timeout_s if timeout_s is not None else 10.0),
        out=out,
        format=args.format,
        batch_size=int(batch_size if batch_size is not None else 100),
        schema_topic=args.schema_topic,
        list_topics=args.list_topics,
    )
