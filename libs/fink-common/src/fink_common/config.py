"""Configuration read once from the environment into frozen dataclasses, reporting every problem at once.

Each stage builds its own frozen config with an `EnvReader`: every getter records a problem instead of raising,
and `EnvReader.finish()` raises one `ConfigError` that lists them all. No stack trace reaches a user for a typo.
"""

from __future__ import annotations

import builtins
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from fink_common.credentials import KafkaCredentials
from fink_common.errors import ConfigError

__all__ = ["EnvReader", "KafkaConfig", "HBaseConfig", "SparkConfig", "parse_host_port", "is_host", "is_loopback"]

T = TypeVar("T")


def parse_host_port(value: str) -> tuple[str, int]:
    """`host:port` -> (host, port); ValueError with a readable message otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} has no valid port (1-65535)")
    return host, int(port)


_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def is_host(value: str) -> bool:
    """True for an IP address or a DNS host name (labels of letters, digits, `-`, `_`: compose service names)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    labels = value.split(".")
    if all(label.isdigit() for label in labels):  # 1.2.3.999 is a broken IP, not a host name
        return False
    return 0 < len(value) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IPs (127.0.0.0/8, ::1); a resolvable name is never looked up."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EnvReader:
    """Reads typed settings from an environment mapping, collecting every problem."""

    def __init__(self, env: Mapping[builtins.str, builtins.str] | None = None, *, source: builtins.str = "environment") -> None:
        self._env = dict(os.environ if env is None else env)
        self._source = source
        self.problems: list[str] = []

    def _raw(self, name: builtins.str, default: builtins.str | None) -> builtins.str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            if default is None:
                self.problems.append(f"{name} is required but not set")
            return default
        return value.strip()

    def _convert(self, name: builtins.str, raw: builtins.str | None, convert: Callable[[builtins.str], T], what: builtins.str, fallback: T) -> T:
        if raw is None:
            return fallback
        try:
            return convert(raw)
        except (ValueError, TypeError) as exc:
            self.problems.append(f"{name}={raw!r} is not {what} ({exc})")
            return fallback

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        return self._raw(name, default) or ""

    def int(self, name: builtins.str, default: builtins.int | None = None, *, minimum: builtins.int | None = None) -> builtins.int:
        raw = self._raw(name, None if default is None else str(default))
        value = self._convert(name, raw, int, "an integer", default or 0)
        if minimum is not None and raw is not None and value < minimum:
            self.problems.append(f"{name}={value} must be >= {minimum}")
        return value

    def optional_int(self, name: builtins.str, *, minimum: builtins.int | None = None, maximum: builtins.int | None = None) -> builtins.int | None:
        """An integer that may be left unset (None)."""
        raw = self._raw(name, "")
        if not raw:
            return None
        value = self._convert(name, raw, int, "an integer", None)
        if value is not None and minimum is not None and value < minimum:
            self.problems.append(f"{name}={value} must be >= {minimum}")
        if value is not None and maximum is not None and value > maximum:
            self.problems.append(f"{name}={value} must be <= {maximum}")
        return value

    def float(self, name: builtins.str, default: builtins.float | None = None, *, minimum: builtins.float | None = None) -> builtins.float:
        raw = self._raw(name, None if default is None else repr(default))
        value = self._convert(name, raw, float, "a number", default or 0.0)
        if minimum is not None and raw is not None and value < minimum:
            self.problems.append(f"{name}={value} must be >= {minimum}")
        return value

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        raw = self._raw(name, "true" if default else "false")
        table = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
        if raw is None or raw.lower() not in table:
            self.problems.append(f"{name}={raw!r} is not a boolean (true/false)")
            return default
        return table[raw.lower()]

    def choice(self, name: builtins.str, choices: Iterable[builtins.str], default: builtins.str | None = None) -> builtins.str:
        allowed = list(choices)
        raw = self._raw(name, default)
        if raw is not None and raw not in allowed:
            self.problems.append(f"{name}={raw!r} is not one of {allowed}")
        return raw or (default or "")

    def list(self, name: builtins.str, default: builtins.str | None = None, *, sep: builtins.str = ",") -> tuple[builtins.str, ...]:
        raw = self._raw(name, default)
        return tuple(item.strip() for item in (raw or "").split(sep) if item.strip())

    def host(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        """A host name or IP address (no port, no scheme)."""
        raw = self._raw(name, default)
        if raw is not None and not is_host(raw):
            self.problems.append(f"{name}={raw!r} is not a host name or IP address")
        return raw or ""

    def host_port(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str:
        """A comma-separated list of host:port addresses, each checked."""
        raw = self._raw(name, default)
        for item in (raw or "").split(","):
            if item.strip():
                try:
                    parse_host_port(item.strip())
                except ValueError as exc:
                    self.problems.append(f"{name}: {exc}")
        return raw or ""

    def check(self, ok: builtins.bool, problem: builtins.str) -> None:
        """Record a cross-field problem."""
        if not ok:
            self.problems.append(problem)

    def finish(self) -> None:
        """Raise one ConfigError listing every problem seen, if any."""
        if self.problems:
            raise ConfigError(self.problems, source=self._source)


@dataclass(frozen=True)
class KafkaConfig:
    """Where Kafka is (FINK_KAFKA_BOOTSTRAP) and, for a user's client, its SASL credentials
    (FINK_KAFKA_CREDENTIALS or FINK_KAFKA_USERNAME/PASSWORD...: fink_common.credentials). The stages use
    the internal PLAINTEXT listener and no credentials. The repr masks the password."""

    bootstrap: str
    credentials: KafkaCredentials | None = None

    @classmethod
    def from_env(cls, env: EnvReader) -> KafkaConfig:
        bootstrap = env.host_port("FINK_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        credentials, problems = KafkaCredentials.from_env(env._env)
        env.problems.extend(problems)
        return cls(bootstrap=bootstrap, credentials=credentials)

    def client_settings(self) -> dict[str, str]:
        """librdkafka settings: `bootstrap.servers` plus the SASL ones when there are credentials."""
        return {"bootstrap.servers": self.bootstrap, **(self.credentials.client_settings() if self.credentials else {})}


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
        prefix = env.str("FINK_HBASE_TABLE_PREFIX", "")
        env.check(
            not prefix or _TABLE_PREFIX.fullmatch(prefix) is not None,
            f"FINK_HBASE_TABLE_PREFIX={prefix!r} may only hold letters, digits, '_', '-' and '.'",
        )
        return cls(host=host, port=port, table_prefix=prefix)


#: An HBase table prefix (`<prefix>_` goes before every table name).
_TABLE_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LOCAL_MASTER = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?|local-cluster\[\d+,\d+,\d+\]")
_MEMORY = re.compile(r"(\d+)([gGmM])")
#: Spark refuses an executor below 1.5 x its 300 MiB reserved memory.
_MIN_EXECUTOR_MB = 450


def _master_problem(master: str) -> str | None:
    """What is wrong with a Spark master URL, or None."""
    name = f"FINK_SPARK_MASTER={master!r}"
    if master.startswith("local"):
        return None if _LOCAL_MASTER.fullmatch(master) else f"{name} is not local, local[N], local[*] or local[N,F]"
    if master.startswith("spark://"):
        for address in master[len("spark://") :].split(","):
            try:
                parse_host_port(address)
            except ValueError as exc:
                return f"{name} is not spark://host:port[,host:port...] ({exc})"
        return None
    if master.startswith("k8s://"):
        return None if master[len("k8s://") :] else f"{name} names no Kubernetes API server (k8s://https://host:port)"
    if master == "yarn":
        return None
    return f"{name} is not a Spark master URL (local[*], spark://host:port, k8s://https://host:port, yarn)"


def _master_hosts(master: str) -> list[str]:
    """The hosts a spark:// or k8s:// master URL names (empty for local and yarn, or when unparsable)."""
    rest = master.split("://", 1)[1] if "://" in master else ""
    rest = rest.split("://", 1)[-1].split("/", 1)[0]  # k8s://https://host:port/path -> host:port
    hosts = []
    for address in rest.split(","):
        host, _, port = address.rpartition(":")
        hosts.append(host if host and port.isdigit() else address)
    return [h.strip("[]") for h in hosts if h]


def _memory(env: EnvReader, name: str, default: str, *, minimum_mb: int = 0) -> str:
    value = env.str(name, default)
    match = _MEMORY.fullmatch(value)
    env.check(match is not None, f"{name}={value!r} is not a size like 1g or 1536m")
    if match:
        megabytes = int(match.group(1)) * (1024 if match.group(2).lower() == "g" else 1)
        env.check(megabytes >= minimum_mb, f"{name}={value!r} is below Spark's minimum of {minimum_mb}m")
    return value


@dataclass(frozen=True)
class SparkConfig:
    """The Spark settings of a stage (FINK_SPARK_*). The master URL decides where executors run:

    - `local[N]` (default `local[2]`): executors are threads of the stage's own JVM; nothing else is needed.
    - `spark://host:port[,host:port]`: a standalone cluster. Executors are JVMs (with Python workers) on the
      workers, possibly other containers of the same image; they connect back to the driver at
      FINK_SPARK_DRIVER_HOST, which must therefore be an address they can reach (the container's hostname,
      not 127.0.0.1). In a container, bind FINK_SPARK_DRIVER_BIND_ADDRESS=0.0.0.0 (the default as soon as
      the driver host is not a loopback address). `fink_common.spark` ships the first-party `fink_*`
      packages to the executors. Each executor gets FINK_SPARK_EXECUTOR_MEMORY (default 1g) and
      FINK_SPARK_EXECUTOR_CORES (default 1); FINK_SPARK_CORES_MAX caps the cores the stage takes from the
      cluster (unset: all it offers, so set it when several stages share a cluster).
    - `k8s://https://<api-server>:<port>`: accepted, in client mode (the stage process is the driver and
      Spark starts executor pods). It also needs settings that have no FINK_* variable; put them in
      `$SPARK_CONF_DIR/spark-defaults.conf` (read when pyspark launches the driver JVM) or pass them as
      `extra` to `build_spark_session`: `spark.kubernetes.container.image` (the stage's image, so executors
      have the same interpreter path and dependencies), `spark.kubernetes.namespace`,
      `spark.kubernetes.authenticate.driver.serviceAccountName` (allowed to create pods),
      `spark.kubernetes.driver.pod.name` (executor pods are then owned by, and deleted with, the driver
      pod), `spark.kubernetes.executor.podNamePrefix` and `spark.executor.instances`. FINK_SPARK_DRIVER_HOST
      is then a headless Service selecting the driver pod, which exposes fixed FINK_SPARK_DRIVER_PORT and
      FINK_SPARK_BLOCKMANAGER_PORT.
    - `yarn`: accepted as is (HADOOP_CONF_DIR says where the cluster is).

    FINK_SPARK_DRIVER_PORT and FINK_SPARK_BLOCKMANAGER_PORT pin `spark.driver.port` and
    `spark.blockManager.port` (unset: random free ports), for networks where only known ports are open.
    """

    master: str
    driver_memory: str
    shuffle_partitions: int
    ui_enabled: bool
    log_level: str
    driver_host: str = "127.0.0.1"
    driver_bind_address: str = "127.0.0.1"
    executor_memory: str = "1g"
    executor_cores: int = 1
    cores_max: int | None = None
    driver_port: int | None = None
    block_manager_port: int | None = None

    @property
    def is_local(self) -> bool:
        """True when executors run inside the driver's JVM (`local`, `local[N]`...)."""
        return self.master.startswith("local")

    @classmethod
    def from_env(cls, env: EnvReader) -> SparkConfig:
        master = env.str("FINK_SPARK_MASTER", "local[2]")
        master_problem = _master_problem(master)
        env.check(master_problem is None, master_problem or "")
        driver_host = env.host("FINK_SPARK_DRIVER_HOST", "127.0.0.1")
        wildcard = driver_host in ("0.0.0.0", "::")
        env.check(
            not wildcard,
            f"FINK_SPARK_DRIVER_HOST={driver_host!r} is a wildcard: it must be an address executors can reach "
            "(the driver's hostname or IP); to listen on every interface set FINK_SPARK_DRIVER_BIND_ADDRESS=0.0.0.0",
        )
        remote_master = (
            master_problem is None
            and not master.startswith("local")
            and not all(is_loopback(h) for h in _master_hosts(master) or ["?"])
        )
        env.check(
            not (remote_master and is_loopback(driver_host)),
            f"FINK_SPARK_DRIVER_HOST={driver_host!r} is a loopback address that executors of {master} cannot "
            "reach: set it to this host's (container's) name or IP",
        )
        default_bind = "127.0.0.1" if is_loopback(driver_host) or wildcard else "0.0.0.0"
        bind_address = env.host("FINK_SPARK_DRIVER_BIND_ADDRESS", default_bind)
        env.check(
            not (is_loopback(bind_address) and not is_loopback(driver_host) and not wildcard),
            f"FINK_SPARK_DRIVER_BIND_ADDRESS={bind_address!r} only accepts local connections, but "
            f"FINK_SPARK_DRIVER_HOST={driver_host!r} tells executors to connect from elsewhere: bind 0.0.0.0",
        )
        executor_cores = env.int("FINK_SPARK_EXECUTOR_CORES", 1, minimum=1)
        cores_max = env.optional_int("FINK_SPARK_CORES_MAX", minimum=1)
        env.check(
            cores_max is None or cores_max < 1 or cores_max >= executor_cores,
            f"FINK_SPARK_CORES_MAX={cores_max} is below FINK_SPARK_EXECUTOR_CORES={executor_cores}: "
            "no executor could start",
        )
        driver_port = env.optional_int("FINK_SPARK_DRIVER_PORT", minimum=1, maximum=65535)
        block_manager_port = env.optional_int("FINK_SPARK_BLOCKMANAGER_PORT", minimum=1, maximum=65535)
        env.check(
            driver_port is None or driver_port != block_manager_port,
            f"FINK_SPARK_DRIVER_PORT and FINK_SPARK_BLOCKMANAGER_PORT are both {driver_port}: they must differ",
        )
        return cls(
            master=master,
            driver_memory=_memory(env, "FINK_SPARK_DRIVER_MEMORY", "1g"),
            shuffle_partitions=env.int("FINK_SPARK_SHUFFLE_PARTITIONS", 2, minimum=1),
            ui_enabled=env.bool("FINK_SPARK_UI", False),
            log_level=env.choice("FINK_SPARK_LOG_LEVEL", ["ERROR", "WARN", "INFO", "DEBUG"], "WARN"),
            driver_host=driver_host,
            driver_bind_address=bind_address,
            executor_memory=_memory(env, "FINK_SPARK_EXECUTOR_MEMORY", "1g", minimum_mb=_MIN_EXECUTOR_MB),
            executor_cores=executor_cores,
            cores_max=cores_max,
            driver_port=driver_port,
            block_manager_port=block_manager_port,
        )
