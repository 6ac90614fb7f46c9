"""Command line: `python -m fink_services up|status|down [--state-dir DIR]` for the local services, and
`python -m fink_services run|probe kafka|hbase` for the container mode (container.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fink_services import container
from fink_services.errors import ServiceError
from fink_services.layout import Layout
from fink_services.settings import Settings
from fink_services.supervisor import Supervisor

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fink services",
        description="Local Apache Kafka (KRaft) and Apache HBase (standalone + Thrift) for the broker.",
        epilog="Ports and heaps: FINK_KAFKA_PORT, FINK_KAFKA_CONTROLLER_PORT, FINK_KAFKA_SASL_PORT (users, SCRAM), "
        "FINK_ZOOKEEPER_PORT, "
        "FINK_HBASE_THRIFT_PORT, FINK_HBASE_MASTER_PORT, FINK_HBASE_REGIONSERVER_PORT, FINK_KAFKA_HEAP, "
        "FINK_HBASE_HEAP, FINK_HBASE_THRIFT_HEAP; FINK_SERVICES_TIMEOUT (s); jars from FINK_JARS_DIR.",
    )
    p.add_argument(
        "command",
        choices=["up", "status", "down", "run", "probe"],
        help="up/status/down: the local services; run SERVICE: one service in the foreground (container "
        "mode, configured by FINK_* variables: see fink_services/container.py); probe SERVICE: one real "
        "call to it, exit 0 when it answers",
    )
    p.add_argument("service", nargs="?", choices=container.CONTAINER_SERVICES, help="run/probe: the service")
    p.add_argument("--address", help="probe: HOST:PORT to call (default: the container's own listener)")
    p.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="data, logs, configs and pid files (default: $FINK_STATE_DIR, else <repo>/.fink)",
    )
    p.add_argument("--json", action="store_true", help="status: print JSON")
    return p


def _status(supervisor: Supervisor, as_json: bool) -> int:
    statuses = supervisor.status()
    if as_json:
        print(json.dumps(supervisor.status_dicts(), indent=1))
    else:
        for s in statuses:
            word = "running" if s.running else "stopped"
            pid = f"pid {s.pid}" if s.pid else "pid -"
            print(f"{s.name:<7} {word:<8} {pid:<11} {supervisor.settings.host}:{s.port:<6} {s.detail}")
        print(f"state dir {supervisor.layout.state}")
    return 0 if all(s.healthy for s in statuses) else 1


def _container_command(args: argparse.Namespace) -> int:
    if args.command == "run":
        return container.run(args.service)
    try:
        print(f"{args.service}: {container.probe(args.service, args.address)}")
    except ValueError as exc:
        raise ServiceError(f"--address: {exc}") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if (args.command in ("run", "probe")) != (args.service is not None):
        p.error(f"{args.command}: " + ("name the service (kafka or hbase)" if args.service is None else "takes no service"))
    if args.address and args.command != "probe":
        p.error("--address goes with probe only")
    try:
        if args.service is not None:
            return _container_command(args)
        supervisor = Supervisor(Layout.default(args.state_dir), Settings.from_env())
        if args.command == "up":
            supervisor.up()
            return 0
        if args.command == "down":
            supervisor.down()
            return 0
        return _status(supervisor, args.json)
    except ServiceError as exc:
        print(f"fink services {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"fink services {args.command}: interrupted. Anything already started keeps running: "
            "check with `./fink services status`, stop with `./fink services down`.",
            file=sys.stderr,
        )
        return 130
