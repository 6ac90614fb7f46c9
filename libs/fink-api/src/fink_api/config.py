"""API configuration: one frozen dataclass, read once from the environment, all problems at once.

| variable | default | meaning |
|---|---|---|
| FINK_HBASE_THRIFT | 127.0.0.1:9090 | the HBase Thrift server holding the archive |
| FINK_HBASE_TABLE_PREFIX | (none) | the archive's table prefix (`./fink demo` uses `demo`) |
| FINK_SURVEY | ztf | the survey whose tables are read (`ztf` or `lsst`) |
| FINK_API_HOST | 127.0.0.1 | address the server listens on (`0.0.0.0` in a container) |
| FINK_API_PORT | 8080 | its port |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fink_archive.layout import ARCHIVE_SURVEYS
from fink_archive.tables import ArchiveTables
from fink_common.config import EnvReader, HBaseConfig

__all__ = ["ApiConfig", "load_config"]

_SURVEYS = ARCHIVE_SURVEYS


@dataclass(frozen=True)
class ApiConfig:
    hbase: HBaseConfig
    survey: str
    host: str
    port: int

    @property
    def tables(self) -> ArchiveTables:
        return ArchiveTables(self.survey)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def load_config(environ: Mapping[str, str] | None = None) -> ApiConfig:
    env = EnvReader(environ, source="API configuration")
    hbase = HBaseConfig.from_env(env)
    survey = env.choice("FINK_SURVEY", _SURVEYS, "ztf")
    host = env.host("FINK_API_HOST", "127.0.0.1")
    port = env.int("FINK_API_PORT", 8080, minimum=1)
    env.check(port <= 65535, f"FINK_API_PORT={port} is not a TCP port (1-65535)")
    config = ApiConfig(hbase=hbase, survey=survey, host=host, port=port)
    env.finish()
    return config
