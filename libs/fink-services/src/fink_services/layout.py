"""Where everything lives: the state dir (data, logs, configs, pid files) and the jars cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fink_services.errors import ServiceError

__all__ = [
    "STATE_DIR_ENV",
    "JARS_DIR_ENV",
    "Layout",
    "ContainerLayout",
    "find_repo_root",
    "default_state_dir",
    "default_jars_dir",
]

STATE_DIR_ENV = "FINK_STATE_DIR"
JARS_DIR_ENV = "FINK_JARS_DIR"


def find_repo_root(start: Path | None = None) -> Path | None:
    """The nearest folder holding `pants.toml`, from `start` (default: cwd) and then from this file."""
    for origin in (start or Path.cwd(), Path(__file__).resolve()):
        for folder in (origin, *origin.parents):
            if (folder / "pants.toml").is_file():
                return folder
    return None


def default_state_dir() -> Path:
    """`$FINK_STATE_DIR`, else `<repo root>/.fink`."""
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = find_repo_root()
    if root is None:
        raise ServiceError(
            "cannot tell where the state dir is: not inside the repo (no pants.toml above the current "
            f"folder). Pass --state-dir DIR or set {STATE_DIR_ENV}."
        )
    return root / ".fink"


def default_jars_dir() -> Path:
    """`$FINK_JARS_DIR`, else `~/.cache/fink/jars` (filled by deploy/jars/fetch.sh)."""
    env = os.environ.get(JARS_DIR_ENV)
    return Path(env).expanduser().resolve() if env else Path.home() / ".cache" / "fink" / "jars"


@dataclass(frozen=True)
class Layout:
    """Every path fink-services reads or writes. Nothing is written outside `state` and `jars`."""

    state: Path
    jars: Path

    @classmethod
    def default(cls, state_dir: Path | None = None) -> Layout:
        state = state_dir.expanduser().resolve() if state_dir else default_state_dir()
        return cls(state=state, jars=default_jars_dir())

    # ---- shared ----
    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        """The service's own log (log4j2, rolled)."""
        return self.logs / f"{service}.log"

    def out_file(self, service: str) -> Path:
        """What the JVM prints itself (startup errors, crashes)."""
        return self.logs / f"{service}.out"

    def jar_group(self, group: str) -> Path:
        return self.jars / group

    # ---- kafka ----
    @property
    def kafka(self) -> Path:
        return self.state / "kafka"

    @property
    def kafka_data(self) -> Path:
        return self.kafka / "data"

    @property
    def kafka_config(self) -> Path:
        return self.kafka / "server.properties"

    @property
    def kafka_cluster_id(self) -> Path:
        return self.kafka / "cluster.id"

    # ---- hbase ----
    @property
    def hbase(self) -> Path:
        return self.state / "hbase"

    @property
    def hbase_conf(self) -> Path:
        return self.hbase / "conf"

    @property
    def hbase_data(self) -> Path:
        return self.hbase / "data"

    @property
    def hbase_zookeeper(self) -> Path:
        return self.hbase / "zookeeper"

    @property
    def hbase_tmp(self) -> Path:
        return self.hbase / "tmp"

    @property
    def gateway(self) -> Path:
        return self.hbase / "thrift-gateway"


@dataclass(frozen=True)
class ContainerLayout(Layout):
    """Container mode: the data (Kafka log dirs; HBase root dir, ZooKeeper and tmp dirs) under `data`
    (`/data/kafka`, `/data/hbase`, the images' volumes); the configs written at each start under `state`
    (a scratch folder); no log files (the JVMs log to stdout)."""

    data: Path = Path("/data")

    @property
    def kafka_data(self) -> Path:
        return self.data / "kafka"

    @property
    def hbase_data(self) -> Path:
        return self.data / "hbase" / "root"

    @property
    def hbase_zookeeper(self) -> Path:
        return self.data / "hbase" / "zookeeper"

    @property
    def hbase_tmp(self) -> Path:
        return self.data / "hbase" / "tmp"
