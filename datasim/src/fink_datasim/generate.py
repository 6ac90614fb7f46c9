"""`fink-datasim generate`: synthetic ZTF 4.02 alerts written as Avro container files of up to 1000 records.

Output layout (what `replay` reads):

    OUT/manifest.json                 seed, night, counts per population, the list of files
    OUT/ztf_<night>_<chunk>.avro      Avro Object Container Files, one record per block, time-ordered

Chunks are built in parallel (one process per core) and each depends only on (seed, night, n, chunk index),
so the output is byte-identical whatever the number of processes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fink_common.schema import load_avro_schema
from fink_datasim.alert import AlertFactory
from fink_datasim.container import encode_header, write_blocks
from fink_datasim.cutout import CutoutPool
from fink_datasim.errors import DatasimError, OutputExistsError
from fink_datasim.plan import KIND_ORDER, NightPlan, Population, build_plan
from fink_datasim.survey import DEFAULT_NIGHT, night_date

__all__ = ["MANIFEST", "SCHEMA_NAME", "SURVEYS", "GenerateResult", "generate", "iter_alerts"]

#: Name of the manifest written next to the alert files.
MANIFEST = "manifest.json"
#: The schema every generated alert follows (`fink_common.schema.load_avro_schema` name).
SCHEMA_NAME = "ztf_4.02"
SURVEYS = ("ztf", "lsst")


@dataclass(frozen=True)
class GenerateResult:
    """What a generation produced (all counts are alerts unless said otherwise)."""

    out: Path
    alerts: int
    objects: int
    files: tuple[str, ...]
    bytes: int
    elapsed_s: float
    per_population: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.alerts / self.elapsed_s if self.elapsed_s > 0 else 0.0


class _Chunks:
    """Per-process state: the alert factory (with its compiled encoder), built once and reused for every chunk."""

    def __init__(self, plan: NightPlan, pool: CutoutPool, out: Path, per_file: int) -> None:
        schema = load_avro_schema(SCHEMA_NAME)
        self.schema_json = json.dumps(schema, separators=(",", ":"))
        self.factory = AlertFactory(plan, pool, schema, encode=True)
        self.plan = plan
        self.out = out
        self.per_file = per_file

    def name(self, chunk: int) -> str:
        return f"ztf_{self.plan.night}_{chunk:05d}.avro"

    def indices(self, chunk: int) -> range:
        return range(chunk * self.per_file, min((chunk + 1) * self.per_file, len(self.plan.alerts)))

    def write(self, chunk: int) -> tuple[str, int, int]:
        """Write one chunk file; returns (file name, alerts, bytes)."""
        sync = hashlib.sha256(f"fink-datasim:{self.plan.seed}:{self.plan.night}:{chunk}".encode()).digest()[:16]
        path = self.out / self.name(chunk)
        # One record per block: `replay` re-wraps a record by slicing bytes, without decoding.
        with open(path, "wb", buffering=1 << 20) as fh:
            header = encode_header(self.schema_json, sync)
            count = write_blocks(fh, header, sync, (self.factory.encoded(i) for i in self.indices(chunk)))
        return path.name, count, path.stat().st_size


_WORKER: _Chunks | None = None


def _init_worker(state: _Chunks) -> None:
    global _WORKER
    _WORKER = state


def _write_in_worker(chunk: int) -> tuple[str, int, int]:
    assert _WORKER is not None
    return _WORKER.write(chunk)


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DatasimError(f"output path {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    old = sorted(out.glob("*.avro")) + ([out / MANIFEST] if (out / MANIFEST).exists() else [])
    if old and not overwrite:
        raise OutputExistsError(f"{out} already holds {len(old)} alert file(s); use --force to replace them")
    for path in old:
        path.unlink()


def _write_all(state: _Chunks, workers: int | None, progress: bool) -> list[tuple[str, int, int]]:
    """Write every chunk, in parallel when there are several workers; returns (name, alerts, bytes) per file."""
    total = len(state.plan.alerts)
    n_chunks = -(-total // state.per_file)
    workers = max(1, min(workers or os.cpu_count() or 1, n_chunks))
    written: list[tuple[str, int, int]] = []
    if workers == 1:
        with tqdm(total=total, unit="alert", desc="generate", disable=not progress, leave=False) as bar:
            for chunk in range(n_chunks):
                written.append(state.write(chunk))
                bar.update(written[-1][1])
        return written
    # fork: the workers inherit the plan, the cutout pool and the compiled encoder instead of rebuilding them;
    # the pool is forked before the progress bar starts its monitor thread.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(state,)) as pool:
        with tqdm(total=total, unit="alert", desc="generate", disable=not progress, leave=False) as bar:
            for result in pool.imap(_write_in_worker, range(n_chunks)):
                written.append(result)
                bar.update(result[1])
    return written


def iter_alerts(plan: NightPlan, pool: CutoutPool | None = None) -> Iterator[dict[str, Any]]:
    """Every alert of a plan as a dict, in order, in this process (for tests and small in-memory uses)."""
    factory = AlertFactory(plan, pool or CutoutPool.build(plan.seed), load_avro_schema(SCHEMA_NAME))
    for index in range(len(plan.alerts)):
        yield factory.alert(index)


def generate(
    out: str | Path,
    *,
    n: int,
    seed: int = 0,
    night: str | None = None,
    survey: str = "ztf",
    per_file: int = 1000,
    workers: int | None = None,
    population: Population | None = None,
    overwrite: bool = False,
    progress: bool = False,
    **lsst: Any,
) -> GenerateResult:
    """Generate `n` synthetic alerts of `night` into folder `out`; same arguments, same bytes.

    `survey="lsst"` writes Rubin alerts instead (`fink_datasim.lsst.generate`); it takes `schema` ("11.0" or
    "11.1"), `visit_size` (alerts per visit, default 10000) and `encoder`, and `night` defaults to 20260305.
    """
    if survey not in SURVEYS:
        raise DatasimError(f"unknown survey {survey!r}; supported: {', '.join(SURVEYS)}")
    if per_file < 1:
        raise DatasimError(f"alerts per file must be >= 1, got {per_file}")
    if survey == "lsst":
        return _generate_lsst(Path(out), n, seed, night, overwrite, progress, workers, **lsst)
    if lsst:
        raise DatasimError(f"options {', '.join(sorted(lsst))} apply to --survey lsst only")
    started = time.perf_counter()
    night = night or DEFAULT_NIGHT
    population = population or Population()
    plan = build_plan(n, seed, night, population)
    out = Path(out)
    try:
        _prepare_out(out, overwrite)
        written = _write_all(_Chunks(plan, CutoutPool.build(seed), out, per_file), workers, progress)
    except OSError as exc:
        raise DatasimError(f"cannot write alerts to {out}: {exc.strerror or exc}") from None

    per_population = Counter(plan.objects[a.obj].kind for a in plan.alerts)
    manifest = {
        "generator": "fink-datasim",
        "survey": survey,
        "schema": SCHEMA_NAME,
        "seed": seed,
        "night": night,
        "alerts": len(plan.alerts),
        "objects": len(plan.objects),
        "alerts_per_file": per_file,
        "population_target": population.as_dict(),
        "alerts_per_population": {k: per_population.get(k, 0) for k in KIND_ORDER},
        "files": [{"name": name, "alerts": count} for name, count, _ in written],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return GenerateResult(
        out=out,
        alerts=sum(c for _, c, _ in written),
        objects=len(plan.objects),
        files=tuple(name for name, _, _ in written),
        bytes=sum(size for _, _, size in written),
        elapsed_s=time.perf_counter() - started,
        per_population={k: per_population.get(k, 0) for k in KIND_ORDER},
    )


def _generate_lsst(
    out: Path, n: int, seed: int, night: str | None, overwrite: bool, progress: bool, workers: int | None, **options: Any
) -> GenerateResult:
    from fink_datasim.lsst.generate import generate_lsst
    from fink_datasim.lsst.plan import DEFAULT_NIGHT as LSST_NIGHT

    unknown = set(options) - {"schema", "visit_size", "encoder"}
    if unknown:
        raise DatasimError(f"unknown option(s) for --survey lsst: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    night = night or LSST_NIGHT
    night_date(night)  # a clear error for a malformed night
    try:
        _prepare_out(out, overwrite)
    except OSError as exc:
        raise DatasimError(f"cannot write alerts to {out}: {exc.strerror or exc}") from None
    made = generate_lsst(out, n=n, seed=seed, night=night, workers=workers, progress=progress, **options)
    (out / MANIFEST).write_text(json.dumps(made.manifest, indent=1, sort_keys=True) + "\n")
    return GenerateResult(
        out=out,
        alerts=made.plan.size,
        objects=made.plan.size,  # one object per alert
        files=made.files,
        bytes=int(made.sizes.sum()),
        elapsed_s=time.perf_counter() - started,
        per_population=dict(made.manifest["alerts_per_population"]),
    )
