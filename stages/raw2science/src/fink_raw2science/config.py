"""raw2science configuration: one frozen dataclass, read once from the environment, all problems at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fink_common.config import EnvReader, SparkConfig
from fink_common.lake import LakePaths
from fink_common.surveys import SURVEY_NAMES
from fink_raw2science.science import ScienceError, ScienceModule, resolve_modules
from fink_raw2science.surveys import QUALITY_CUTS, survey_science

__all__ = ["Raw2ScienceConfig", "load_config"]


@dataclass(frozen=True)
class Raw2ScienceConfig:
    spark: SparkConfig
    lake: LakePaths
    survey: str
    quality_cut: str  # ZTF: "fink" (Fink's cuts); LSST: "none" (Fink's choice, a flag only) or "good_quality"
    modules: tuple[ScienceModule, ...]
    max_files_per_trigger: int
    trigger_seconds: float
    available_now: bool
    dedup_delay: str  # how long a candid is remembered after its ingest time (the watermark delay)
    source_wait_seconds: float  # how long to wait for the first raw file at start

    @property
    def checkpoint(self) -> Path:
        return self.lake.checkpoint("raw2science")


def _delay(env: EnvReader, name: str, default: str) -> str:
    value = env.str(name, default)
    amount, _, unit = value.partition(" ")
    env.check(
        amount.isdigit() and unit.rstrip("s") in {"second", "minute", "hour", "day"},
        f"{name}={value!r} is not a delay like '6 hours' or '30 minutes'",
    )
    return value


def load_config(environ: Mapping[str, str] | None = None) -> Raw2ScienceConfig:
    env = EnvReader(environ, source="raw2science configuration")
    spark = SparkConfig.from_env(env)
    lake = LakePaths(Path(env.str("FINK_DATA_DIR", ".fink/lake")).absolute())
    survey = env.choice("FINK_SURVEY", SURVEY_NAMES, "ztf")
    known = survey if survey in SURVEY_NAMES else "ztf"
    quality_cut = env.choice("FINK_QUALITY_CUT", QUALITY_CUTS[known], QUALITY_CUTS[known][0])
    names = env.list("FINK_SCIENCE_MODULES", ",".join(survey_science(known).default_modules))
    extra = env.list("FINK_EXTRA_MODULES", "")  # `package.module:object` entry points, run after the built-ins
    modules: list[ScienceModule] = []
    try:
        modules = resolve_modules([*names, *extra], survey=known)
    except ScienceError as exc:
        env.problems.extend(f"FINK_SCIENCE_MODULES/FINK_EXTRA_MODULES: {p}" for p in exc.problems)
    config = Raw2ScienceConfig(
        spark=spark,
        lake=lake,
        survey=survey,
        quality_cut=quality_cut,
        modules=tuple(modules),
        # stream2raw writes ~2,500 alerts per file (5,000 per batch over 2 tasks): 2 files keep a backlog's micro-batch
        # near 5,000 alerts. On a pre-filled 100k raw lake, 4 files (10,000 alerts) ran a 1 GB and a 2 GB driver out of
        # heap at the second micro-batch; 2 files ran all 20 in 1 GB (bench/README.md, scaling)
        max_files_per_trigger=env.int("FINK_MAX_FILES_PER_TRIGGER", 2, minimum=1),
        trigger_seconds=env.float("FINK_TRIGGER_SECONDS", 2.0, minimum=0.0),
        available_now=env.bool("FINK_AVAILABLE_NOW", False),
        dedup_delay=_delay(env, "FINK_DEDUP_DELAY", "6 hours"),
        source_wait_seconds=env.float("FINK_SOURCE_WAIT_SECONDS", 600.0, minimum=0.0),
    )
    env.finish()
    return config
