"""The cached inputs of the stages run alone: the raw lake stream2raw makes of N alerts, and the science lake
raw2science makes of that raw lake, each made once under `<work-dir>/lakes/` (keyed by N and seed) and reused.

A cached dataset is `<work-dir>/lakes/<raw|science>-n<N>-s<seed>/<raw|science>/night=*/batch-*.parquet` plus
`made.json` beside it (what made it, when, with which stage version, how many rows). A run links its files
into its own fresh lake (hard links: instant, and the stage cannot alter the cache; it only reads them).
`--refresh-inputs` remakes them (e.g. after the stages' code changed what they write).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from benchlib import unique_name
from stage import Names, alone_env, run_alone
from topics import replayed

__all__ = ["INPUT_OF", "CachedDataset", "InputBuilder", "link_tree"]

#: The dataset each lake-reading stage takes in.
INPUT_OF = {"raw2science": "raw", "distribution": "science", "archive": "science"}
#: The stage that makes each dataset, and the dataset it reads.
_MADE_BY = {"raw": ("stream2raw", None), "science": ("raw2science", "raw")}


@dataclass(frozen=True)
class CachedDataset:
    name: str  # "raw" or "science"
    root: Path

    @property
    def path(self) -> Path:
        return self.root / self.name

    @property
    def ready(self) -> bool:
        return (self.root / "made.json").is_file()

    @property
    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "made.json").read_text())
        return data

    def files(self) -> list[Path]:
        return sorted(self.path.glob("night=*/*.parquet"))

    def stats(self) -> dict[str, Any]:
        files = self.files()
        rows = ds.dataset([str(f) for f in files], format="parquet").count_rows() if files else 0
        return {"files": len(files), "bytes": sum(f.stat().st_size for f in files), "rows": rows}

    def link_into(self, lake: Path) -> None:
        """Make `<lake>/<name>` a copy of the dataset made of hard links."""
        link_tree(self.path, lake / self.name)


def link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of `source` into the same place under `target` (copy across file systems)."""
    for path in source.rglob("*"):
        if path.is_file():
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, dest)
            except OSError:
                shutil.copy2(path, dest)


@dataclass(frozen=True)
class InputBuilder:
    """Makes (once) the raw and science datasets of a workload by running the real stages alone."""

    alerts: Path
    n: int
    seed: int
    work_dir: Path
    bootstrap: str
    thrift: str
    driver_memory: str
    timeout_s: float
    refresh: bool = False
    survey: str = "ztf"

    def dataset(self, name: str) -> CachedDataset:
        """The cached dataset `name`, made first if missing (and its own input before it)."""
        tag = "" if self.survey == "ztf" else f"{self.survey}-"
        cached = CachedDataset(name, self.work_dir / "lakes" / f"{name}-{tag}n{self.n}-s{self.seed}")
        if cached.ready and not self.refresh:
            return cached
        stage, upstream = _MADE_BY[name]
        source = self.dataset(upstream) if upstream else None
        shutil.rmtree(cached.root, ignore_errors=True)
        print(f"making the cached {name} lake of {self.n} alerts with {stage} (once)", file=sys.stderr)
        build = Path(tempfile.mkdtemp(prefix=f"build-{name}-", dir=self.work_dir))
        try:
            names = Names(
                self.bootstrap, self.thrift, build / "lake", unique_name("bench_input"), "unused_", "unused", self.survey
            )
            env = alone_env(names, driver_memory=self.driver_memory)
            if source is None:
                with replayed(self.alerts, names.input_topic, self.bootstrap):
                    run = run_alone(stage, env, build / f"{stage}.log", self.timeout_s)
            else:
                source.link_into(names.lake)
                run = run_alone(stage, env, build / f"{stage}.log", self.timeout_s)
            if run.returncode != 0:
                raise SystemExit(f"{stage} failed making the {name} lake (exit {run.returncode}):\n{run.tail()}")
            cached.root.mkdir(parents=True, exist_ok=True)
            (names.lake / name).rename(cached.path)
            made = {
                "dataset": name,
                "n": self.n,
                "seed": self.seed,
                "made_by": stage,
                "stage_version": getattr(import_module(f"fink_{stage}"), "__version__", None),
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "stage_totals": run.stopped,
                **cached.stats(),
            }
            (cached.root / "made.json").write_text(json.dumps(made, indent=2) + "\n")
        finally:
            shutil.rmtree(build, ignore_errors=True)
        return cached
