"""One stage: its environment (the `FINK_*` variables), and a run alone on a pre-filled input (availableNow).

`stage_env` is the environment `./fink demo` gives its stages (`fink_cli.demo._stage_env`: Kafka, HBase
Thrift and its table prefix, lake, input topic, topic prefix, trigger interval, driver memory, how long to
wait for the first input file), with the benchmark's own names and trigger interval. `run_alone` runs
`python -m fink_<stage>` with `FINK_AVAILABLE_NOW=true` (process what the input holds in micro-batches,
then stop) and samples the memory of its process tree while it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events import MODULES, read_events
from memory import MemorySampler

__all__ = ["Names", "StageRun", "alone_env", "run_alone", "stage_env"]


@dataclass(frozen=True)
class Names:
    """Where a benchmark's stages read and write: unique names, so that a run never touches anyone else's."""

    bootstrap: str
    thrift: str
    lake: Path
    input_topic: str
    topic_prefix: str  # the filter topics `<prefix><filter>_ztf`, `<prefix>schemas`, `<prefix>distribution_commits`
    table_prefix: str  # the HBase tables `<prefix>_ztf`, `<prefix>_ztf.cutouts`, ...
    survey: str = "ztf"  # FINK_SURVEY of every stage


def stage_env(names: Names, *, trigger_seconds: float, driver_memory: str, source_wait_s: float) -> dict[str, str]:
    """The variables `./fink demo` sets for every stage (the same set for all four), with our names."""
    return {
        "FINK_SURVEY": names.survey,
        "FINK_KAFKA_BOOTSTRAP": names.bootstrap,
        "FINK_HBASE_THRIFT": names.thrift,
        "FINK_HBASE_TABLE_PREFIX": names.table_prefix,
        "FINK_DATA_DIR": str(names.lake),
        "FINK_INPUT_TOPICS": names.input_topic,
        "FINK_TOPIC_PREFIX": names.topic_prefix,
        "FINK_TRIGGER_SECONDS": f"{trigger_seconds:g}",
        "FINK_SPARK_DRIVER_MEMORY": driver_memory,
        "FINK_SOURCE_WAIT_SECONDS": str(int(source_wait_s)),
    }


def alone_env(
    names: Names, *, driver_memory: str, max_offsets: int | None = None, max_files: int | None = None
) -> dict[str, str]:
    """`stage_env` plus availableNow on `local[2]`, and the micro-batch size when given (else the stage's default)."""
    env = stage_env(names, trigger_seconds=0, driver_memory=driver_memory, source_wait_s=60)
    env.update({"FINK_AVAILABLE_NOW": "true", "FINK_SPARK_MASTER": "local[2]"})
    if max_offsets is not None:
        env["FINK_MAX_OFFSETS_PER_TRIGGER"] = str(max_offsets)
    if max_files is not None:
        env["FINK_MAX_FILES_PER_TRIGGER"] = str(max_files)
    return env


@dataclass(frozen=True)
class StageRun:
    """A finished run of one stage: exit code, wall time, its JSON log lines and its memory."""

    stage: str
    returncode: int
    wall_s: float
    events: list[dict[str, Any]]
    memory: dict[str, Any]
    log_path: Path

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    @property
    def stopped(self) -> dict[str, Any]:
        """The totals of the stage's `stopped` line (empty when it did not stop cleanly)."""
        return next((e for e in self.events if e.get("event") == "stopped"), {})


def run_alone(stage: str, env: dict[str, str], log_path: Path, timeout_s: float) -> StageRun:
    """Run `python -m fink_<stage>` until it stops by itself (availableNow), sampling its memory.
    stdout (the JSON lines) and stderr (Spark's log) both go to `log_path`. Stopped (SIGTERM) after `timeout_s`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", MODULES[stage]], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        sampler = MemorySampler(proc.pid)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            print(f"{stage} still running after {timeout_s:.0f} s: stopping it", file=sys.stderr)
            proc.terminate()
            try:
                returncode = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                returncode = proc.wait()
        finally:
            sampler.stop()
    wall = time.monotonic() - started
    return StageRun(stage, returncode, wall, read_events(log_path), sampler.summary(), log_path)
