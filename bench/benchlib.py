"""Shared helpers of the benchmark scripts: the workload, common options, machine info, JSON results and
markdown tables.

Imported by every script in `bench/` (Python puts the script's folder, `bench/`, first on sys.path). Run the
scripts through `bench/run.sh`, which sets PYTHONPATH like `./fink` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from fink_datasim.generate import MANIFEST, generate
from fink_datasim.survey import DEFAULT_NIGHT

__all__ = [
    "BENCH_DIR",
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_THRIFT",
    "DEFAULT_WORK_DIR",
    "RESULTS_DIR",
    "add_common_args",
    "machine_info",
    "markdown_table",
    "pin_to_one_core",
    "pinned_to_one_core",
    "rates",
    "read_json",
    "unique_name",
    "workload",
    "write_json",
]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_WORK_DIR = Path(os.environ.get("FINK_BENCH_DIR", "/tmp/fink-bench"))
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_THRIFT = "127.0.0.1:9090"
#: Distributions whose versions go into every result file.
VERSIONED = ("fastavro", "pyarrow", "confluent-kafka", "pyspark")


def workload(n: int, seed: int, work_dir: Path, night: str = DEFAULT_NIGHT, survey: str = "ztf") -> Path:
    """The folder of N generated alerts (`fink-datasim generate`) of one observing night, generated once and
    reused: ZTF 4.02 alerts (candids unique within a night, different between nights), or with `survey="lsst"`
    Rubin 11.0 alerts in the Confluent framing, in visits of 10,000 (datasim's own night)."""
    if survey != "ztf":
        out = work_dir / f"alerts-{survey}-n{n}-s{seed}"
        if not (out / MANIFEST).is_file():
            print(f"generating {n} {survey} alerts (seed {seed}) into {out}", file=sys.stderr)
            generate(out, n=n, seed=seed, survey=survey, overwrite=True, progress=False)
        return out
    suffix = "" if night == DEFAULT_NIGHT else f"-{night}"
    out = work_dir / f"alerts-n{n}-s{seed}{suffix}"
    if not (out / MANIFEST).is_file():
        print(f"generating {n} alerts (seed {seed}, night {night}) into {out}", file=sys.stderr)
        generate(out, n=n, seed=seed, night=night, overwrite=True, progress=False)
    return out


def add_common_args(parser: argparse.ArgumentParser, *, out: Path, thrift: bool = True) -> None:
    """The options every stage and pipeline script takes (besides its own --n, --rate, ...)."""
    parser.add_argument("--seed", type=int, default=1, help="datasim seed (default 1)")
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP, help=f"Kafka (default {DEFAULT_BOOTSTRAP})")
    if thrift:
        parser.add_argument("--thrift", default=DEFAULT_THRIFT, help=f"HBase Thrift (default {DEFAULT_THRIFT})")
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help=f"alerts, lakes and logs (default {DEFAULT_WORK_DIR})"
    )
    parser.add_argument("--driver-memory", default="1g", help="FINK_SPARK_DRIVER_MEMORY of each stage (default 1g)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before giving up (default 1800)")
    parser.add_argument("--keep", action="store_true", help="keep the topics, tables, lake and logs it made")
    parser.add_argument("--out", type=Path, default=out, help=f"result file (default {out})")


def machine_info() -> dict[str, Any]:
    """Where and with what the numbers were measured."""
    versions: dict[str, str | None] = {}
    for dist in VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@contextmanager
def pinned_to_one_core() -> Iterator[int | None]:
    """Pin this process to one core for the duration of the block, then restore its affinity."""
    if not hasattr(os, "sched_getaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    try:
        yield pin_to_one_core()
    finally:
        os.sched_setaffinity(0, before)


def pin_to_one_core() -> int | None:
    """Pin this process (and the threads it starts from now on) to one core; returns that core."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def rates(alerts: int, nbytes: int, elapsed_s: float) -> dict[str, float]:
    """alerts/s, MB/s (1 MB = 1e6 bytes) and the elapsed seconds, rounded for the result files."""
    per_s = alerts / elapsed_s if elapsed_s > 0 else 0.0
    mb_s = nbytes / 1e6 / elapsed_s if elapsed_s > 0 else 0.0
    return {"alerts_per_s": round(per_s, 1), "mb_per_s": round(mb_s, 2), "elapsed_s": round(elapsed_s, 3)}


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results written to {path}", file=sys.stderr)


def read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def unique_name(prefix: str) -> str:
    """A topic or table-prefix name no one else uses: `<prefix>_<epoch s>_<pid>_<6 random hex>` (two names made
    in the same second by one process differ too)."""
    return f"{prefix}_{int(time.time())}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
