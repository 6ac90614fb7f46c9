"""Ports, heaps and timeouts of the local services, each overridable by an environment variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

from fink_services.errors import ServiceError

__all__ = ["Settings"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything that varies between machines; `Settings.from_env()` reads the FINK_* variables."""

    host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    #: the SASL_PLAINTEXT (SCRAM-SHA-512) listener for users; 9092 stays PLAINTEXT for the stages
    kafka_sasl_port: int = 9094
    zookeeper_port: int = 2181
    thrift_port: int = 9090
    hbase_master_port: int = 16000
    hbase_regionserver_port: int = 16020
    kafka_heap: str = "512m"
    hbase_heap: str = "1g"
    thrift_heap: str = "320m"
    kafka_max_message_bytes: int = 20 * MIB
    startup_timeout: float = 180.0

    #: field -> environment variable
    ENV: ClassVar[dict[str, str]] = {
        "host": "FINK_SERVICES_HOST",
        "kafka_port": "FINK_KAFKA_PORT",
        "kafka_controller_port": "FINK_KAFKA_CONTROLLER_PORT",
        "kafka_sasl_port": "FINK_KAFKA_SASL_PORT",
        "zookeeper_port": "FINK_ZOOKEEPER_PORT",
        "thrift_port": "FINK_HBASE_THRIFT_PORT",
        "hbase_master_port": "FINK_HBASE_MASTER_PORT",
        "hbase_regionserver_port": "FINK_HBASE_REGIONSERVER_PORT",
        "kafka_heap": "FINK_KAFKA_HEAP",
        "hbase_heap": "FINK_HBASE_HEAP",
        "thrift_heap": "FINK_HBASE_THRIFT_HEAP",
        "kafka_max_message_bytes": "FINK_KAFKA_MAX_MESSAGE_BYTES",
        "startup_timeout": "FINK_SERVICES_TIMEOUT",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        problems: list[str] = []
        for f in fields(cls):
            var = cls.ENV.get(f.name)
            raw = env.get(var) if var else None
            if raw is None or raw == "":
                continue
            kind: type = type(getattr(cls, f.name))  # every field has a default: its type parses the text
            try:
                values[f.name] = kind(raw)
            except ValueError:
                problems.append(f"{var}={raw!r} is not a valid {kind.__name__}")
        settings = cls(**values)  # type: ignore[arg-type]
        problems.extend(settings.problems())
        if problems:
            raise ServiceError("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
        return settings

    def problems(self) -> list[str]:
        out = []
        ports = {name: getattr(self, name) for name in self.ENV if name.endswith("_port")}
        for name, port in ports.items():
            if not 1 <= port <= 65535:
                out.append(f"{self.ENV[name]}={port} is not a TCP port")
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                out.append(f"{self.ENV[name]} and {self.ENV[seen[port]]} are both {port}")
            seen[port] = name
        return out

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def kafka_sasl_bootstrap(self) -> str:
        """The users' listener (SASL_PLAINTEXT, SCRAM-SHA-512)."""
        return f"{self.host}:{self.kafka_sasl_port}"
