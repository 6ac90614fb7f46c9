"""Configuration read once from the environment into frozen dataclasses, reporting every problem at once.

Each stage builds its own frozen config with an `EnvReader`: every getter records a problem instead of raising,
and `EnvReader.finish()` raises one `ConfigError` that lists them all. No stack trace reaches a user for a typo.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from fink_common.errors import ConfigError

__all__ = ["EnvReader", "KafkaConfig", "HBaseConfig", "SparkConfig", "parse_host_port"]

T = TypeVar("T")


def parse_host_port(value: str) -> tuple[str, int]:
    """`host:port` -> (host, port); ValueError with a readable message otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} has no valid port (1-65535)")
    return host, int(port)


class EnvReader:
    """Reads typed settings from an environment mapping, collecting every problem."""

    def __init__(self, env: Mapping[str, str] | None = None, *, source: str = "environment") -> None:
        self._env = dict(os.environ if env is None else env)
        self._source = source
        self.problems: list[str] = []

    def _raw(self, name: str, default: str | None) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            if default is None:
                self.problems.append(f"{name} is required but not set")
            return default
        return value.strip()

    def _convert(self, name: str, raw: str | None, convert: Callable[[str], T], what: str, fallback: T) -> T:
        if raw is None:
            return fallback
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"{name}={raw!r} is not {what} ({exc})")
            return fallback

    def str(self, name: str, default: str | None = None) -> str:
        return self._raw(name, default) or ""

    def int(self, name: str, default: int | None = None, *, minimum: int | None = None) -> int:
        raw = self._raw(name, None if default is None else str(default))
        value = self._convert(name, raw, int, "an integer", default or 0)
        if minimum is not None and raw is not None and value < minimum:
            self.problems.append(f"{name}={value} must be >= {minimum}")
        return value

    def float(self, name: str, default: float | None = None, *, minimum: float | None = None) -> float:
        raw = self._raw(name, None if default is None else repr(default))
        value = self._convert(name, raw, float, "a number", default or 0.0)
        if minimum is not None and raw is not None and value < minimum:
            self.problems.append(f"{name}={value} must be >= {minimum}")
        return value

    def bool(self, name: str, default: bool) -> bool:
        raw = self._raw(name, "true" if default else "false")
        table = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
        if raw is None or raw.lower() not in table:
            self.problems.append(f"{name}={raw!r} is not a boolean (true/false)")
            return default
        return table[raw.lower()]

    def choice(self, name: str, choices: Iterable[str], default: str | None = None) -> str:
        allowed = list(choices)
        raw = self._raw(name, default)
        if raw is not None and raw not in allowed:
            self.problems.append(f"{name}={raw!r} is not one of {allowed}")
        return raw or (default or "")

    def list(self, name: str, default: str | None = None, *, sep: str = ",") -> tuple[str, ...]:
        raw = self._raw(name, default)
        return tuple(item.strip() for item in (raw or "").split(sep) if item.strip())

    def host_port(self, name: str, default: str | None = None) -> str:
        """A comma-separated list of host:port addresses, each checked."""
        raw = self._raw(name, default)
        for item in (raw or "").split(","):
            if item.strip():
                try:
                    parse_host_port(item.strip())
                except ValueError as exc:
                    self.problems.append(f"{name}: {exc}")
        return raw or ""

    def check(self, ok: bool, problem: str) -> None:
        """Record a cross-field problem."""
        if not ok:
            self.problems.append(problem)

    def finish(self) -> None:
        """Raise one ConfigError listing every problem seen, if any."""
        if self.problems:
            raise ConfigError(self.problems, source=self._source)


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap: str

    @classmethod
    def from_env(cls, env: EnvReader) -> KafkaConfig:
        return cls(bootstrap=env.host_port("FINK_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))


@dataclass(frozen=True)
class HBaseConfig:
    host: str
    port: int
    table_prefix: str

    @classmethod
    def from_env(cls, env: EnvReader) -> HBaseConfig:
        address = env.host_port("FINK_HBASE_THRIFT", "127.0.0.1:9090")
        try:
            host, port = parse_host_port(address)
        except ValueError:
            host, port = "", 0
        return cls(host=host, port=port, table_prefix=env.str("FINK_HBASE_TABLE_PREFIX", ""))


@dataclass(frozen=True)
class SparkConfig:
    master: str
    driver_memory: str
    shuffle_partitions: int
    ui_enabled: bool
    log_level: str

    @classmethod
    def from_env(cls, env: EnvReader) -> SparkConfig:
        master = env.str("FINK_SPARK_MASTER", "local[2]")
        env.check(
            master.startswith(("local", "spark://", "k8s://", "yarn")),
            f"FINK_SPARK_MASTER={master!r} is not a Spark master URL (local[*], spark://host:port, k8s://...)",
        )
        memory = env.str("FINK_SPARK_DRIVER_MEMORY", "1g")
        env.check(
            memory[:-1].isdigit() and memory[-1].lower() in "gm",
            f"FINK_SPARK_DRIVER_MEMORY={memory!r} is not a size like 1g or 1536m",
        )
        return cls(
            master=master,
            driver_memory=memory,
            shuffle_partitions=env.int("FINK_SPARK_SHUFFLE_PARTITIONS", 2, minimum=1),
            ui_enabled=env.bool("FINK_SPARK_UI", False),
            log_level=env.choice("FINK_SPARK_LOG_LEVEL", ["ERROR", "WARN", "INFO", "DEBUG"], "WARN"),
        )
