"""`fink-datasim generate --survey lsst`: synthetic Rubin alerts, one Kafka message value per file.

Output layout (what `replay` reads):

    OUT/<diaSourceId>.confluent.avro   0x00, the schema id (1100 or 1101, 4 bytes big-endian), one schemaless record
    OUT/manifest.json                  seed, night, schema, visits, counts, packet sizes and history lengths

diaSourceIds start with the exposure, so the files sort by visit (and `replay --visit-size` sends them visit by
visit). Chunks of alerts are written in parallel (one process per core); each alert depends only on (seed, its
index, the plan), so the output is byte-identical whatever the number of processes.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from fink_datasim.errors import DatasimError
from fink_datasim.lsst.alert import LsstAlertFactory
from fink_datasim.lsst.cutout import StampPool
from fink_datasim.lsst.plan import DEFAULT_NIGHT, LsstPlan, build_lsst_plan

__all__ = ["CHUNK", "SUFFIX", "LsstGeneration", "file_name", "generate_lsst"]

#: The file name suffix of a Confluent-framed alert, as in the real samples.
SUFFIX = ".confluent.avro"
#: Alerts per unit of parallel work.
CHUNK = 500


@dataclass(frozen=True)
class LsstGeneration:
    """What `generate_lsst` wrote; `generate()` turns it into a GenerateResult."""

    plan: LsstPlan
    files: tuple[str, ...]
    sizes: np.ndarray  # bytes per message, in alert order
    manifest: dict[str, Any]


def file_name(source_id: int) -> str:
    return f"{source_id}{SUFFIX}"


class _Writer:
    """Per-process state: the alert factory (plan, stamps, compiled encoder), built once before the fork."""

    def __init__(self, plan: LsstPlan, out: Path, version: str, encoder: str) -> None:
        self.factory = LsstAlertFactory(plan, StampPool.build(plan.seed), version, encoder)
        self.out = out

    def write(self, chunk: int) -> list[int]:
        """Write the alerts of one chunk; returns their sizes in bytes."""
        plan = self.factory.plan
        sizes = []
        for i in range(chunk * CHUNK, min((chunk + 1) * CHUNK, plan.size)):
            data = self.factory.message(i)
            (self.out / file_name(int(plan.source_ids[i]))).write_bytes(data)
            sizes.append(len(data))
        return sizes


_WORKER: _Writer | None = None


def _init_worker(state: _Writer) -> None:
    global _WORKER
    _WORKER = state


def _write_in_worker(chunk: int) -> list[int]:
    assert _WORKER is not None
    return _WORKER.write(chunk)


def _write_all(state: _Writer, workers: int | None, progress: bool) -> list[int]:
    total = state.factory.plan.size
    n_chunks = -(-total // CHUNK)
    workers = max(1, min(workers or os.cpu_count() or 1, n_chunks))
    sizes: list[int] = []
    with tqdm(total=total, unit="alert", desc="generate lsst", disable=not progress, leave=False) as bar:
        if workers == 1:
            for chunk in range(n_chunks):
                sizes += state.write(chunk)
                bar.update(len(sizes) - bar.n)
            return sizes
        # fork: the workers inherit the plan, the stamp pool and the compiled encoder instead of rebuilding them
        with multiprocessing.get_context("fork").Pool(workers, _init_worker, (state,)) as pool:
            for chunk_sizes in pool.imap(_write_in_worker, range(n_chunks)):
                sizes += chunk_sizes
                bar.update(len(chunk_sizes))
    return sizes


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    p50, p90, p99 = np.percentile(values, [50, 90, 99]).tolist()
    return {"min": int(values.min()), "median": p50, "p90": p90, "p99": p99, "max": int(values.max()),
            "mean": round(float(values.mean()), 1)}  # fmt: skip


def generate_lsst(
    out: Path,
    *,
    n: int,
    seed: int = 0,
    night: str = DEFAULT_NIGHT,
    schema: str = "11.0",
    visit_size: int = 10_000,
    workers: int | None = None,
    encoder: str = "compiled",
    progress: bool = False,
) -> LsstGeneration:
    """Plan and write `n` alerts into the (prepared) folder `out`; same arguments, same bytes."""
    plan = build_lsst_plan(n, seed, night, visit_size)
    state = _Writer(plan, out, schema, encoder)
    try:
        sizes = np.array(_write_all(state, workers, progress), dtype=np.int64)
    except OSError as exc:
        raise DatasimError(f"cannot write alerts to {out}: {exc.strerror or exc}") from None
    static = ~plan.sso
    manifest = {
        "generator": "fink-datasim",
        "survey": "lsst",
        "schema": f"lsst_{schema}",
        "schema_id": state.factory.schema_id,
        "framing": "confluent",
        "seed": seed,
        "night": night,
        "alerts": plan.size,
        "visit_size": visit_size,
        "alerts_per_population": {"static": int(static.sum()), "sso": int(plan.sso.sum())},
        "bytes": int(sizes.sum()),
        "packet_bytes": _quantiles(sizes),
        "prvDiaSources": _quantiles(plan.n_prv[static]),
        "prvDiaForcedSources": _quantiles(plan.n_forced[static]),
        "visits": [
            {"visit": v.visit, "midpointMjdTai": v.midpoint_mjd_tai, "band": v.band, "alerts": v.count,
             "observation_reason": v.observation_reason, "first": file_name(int(plan.source_ids[v.first]))}
            for v in plan.visits
        ],  # fmt: skip
    }
    files = tuple(file_name(int(s)) for s in plan.source_ids)
    return LsstGeneration(plan=plan, files=files, sizes=sizes, manifest=manifest)

