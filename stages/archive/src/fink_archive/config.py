"""archive configuration: one frozen dataclass, read once from the environment, all problems at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fink_archive.layout import ARCHIVE_SURVEYS
from fink_archive.tables import ArchiveTables
from fink_common.config import EnvReader, HBaseConfig, SparkConfig
from fink_common.lake import LakePaths

__all__ = ["ArchiveConfig", "load_config"]


@dataclass(frozen=True)
class ArchiveConfig:
    hbase: HBaseConfig  # FINK_HBASE_THRIFT, FINK_HBASE_TABLE_PREFIX (`<prefix>_` before every table name)
    spark: SparkConfig
    lake: LakePaths  # reads <FINK_DATA_DIR>/science
    survey: str  # the table names: `<survey>`, `<survey>.cutouts`, ...
    max_files_per_trigger: int
    trigger_seconds: float
    available_now: bool  # archive what is in the science dataset, then stop (tests, replays, backfills)

    @property
    def checkpoint(self) -> Path:
        return self.lake.checkpoint("archive")

    @property
    def tables(self) -> ArchiveTables:
        return ArchiveTables(self.survey)


def load_config(environ: Mapping[str, str] | None = None) -> ArchiveConfig:
    env = EnvReader(environ, source="archive configuration")
    hbase = HBaseConfig.from_env(env)
    spark = SparkConfig.from_env(env)
    lake = LakePaths(Path(env.str("FINK_DATA_DIR", ".fink/lake")).absolute())
    survey = env.choice("FINK_SURVEY", list(ARCHIVE_SURVEYS), "ztf")
    config = ArchiveConfig(
        hbase=hbase,
        spark=spark,
        lake=lake,
        survey=survey,
        max_files_per_trigger=env.int("FINK_MAX_FILES_PER_TRIGGER", 4, minimum=1),  # bounded batches under a backlog
        trigger_seconds=env.float("FINK_TRIGGER_SECONDS", 2.0, minimum=0.0),
        available_now=env.bool("FINK_AVAILABLE_NOW", False),
    )
    env.finish()
    return config
