"""The fast path of raw2science: each Spark task reads raw parquet files itself, cuts, runs the science modules
and writes the science and rejected files with pyarrow, so the wide nested alerts never cross into the JVM.

Profiling the DataFrame path (`transform`: Spark reads the raw rows, shuffles them whole for the streaming
deduplication, caches them, runs the modules as pandas UDFs and writes parquet) put most of its time in Spark's
JVM: reading, copying, shuffling and re-encoding rows of ~30 previous detections of ~100 fields each. Here
Spark keeps only what it is good at: the file stream (which raw files are new, checkpointed), and the
deduplication on a narrow projection (alert id, ingest time, file, row index). The driver collects the rows that
survive, per file (`fink_common.batchfiles`), and hands each file to a task (`stage_files`), which

1. reads the rows of the file that survived (by their index in the file) in Arrow batches (`BATCH_ROWS`);
2. adds the survey's quality columns (`flags`, the same rules as the DataFrame step) and splits kept / rejected;
3. runs the modules on pandas (`science.runner.run_modules`, the pure driver: a module that raises gives its
   failed values, reported through the `FailureLog`), their inputs and outputs converted as pyspark does
   (`frames`);
4. writes one science and one rejected file per night into the batch's staging folders (`TaskFiles`), with
   exactly the columns and types the DataFrame path gives (`SciencePlan.schemas`, from the Spark schemas of
   the same steps on the raw schema), and returns their manifest.

The driver publishes the files under the batch id (`fink_common.lake.publish_files`), so a replayed batch
replaces its own files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark import TaskContext
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import to_arrow_schema

from fink_common.batchfiles import BatchFile, read_batch_file
from fink_common.errors import SchemaError
from fink_common.lake import MANIFEST, TaskFiles
from fink_raw2science.frames import input_frame, output_columns
from fink_raw2science.science import ScienceModule, run_modules
from fink_raw2science.science.adapter import FailureLog
from fink_raw2science.surveys import survey_science
from fink_raw2science.transform import enrich, passing, rejected

__all__ = [
    "BATCH_ROWS",
    "REJECTED",
    "SCIENCE",
    "SciencePlan",
    "plan_for",
    "process_batch",
    "stage_files",
]

SCIENCE, REJECTED = "science", "rejected"
#: raw rows per Arrow batch in a task: ~25 MB of ZTF alerts (~100 MB of Rubin ones) in memory at a time
BATCH_ROWS = 500


@dataclass(frozen=True)
class SciencePlan:
    """What every task of a micro-batch needs: the survey's steps, the output schemas, where the files go."""

    survey: str
    quality_cut: str
    modules: tuple[ScienceModule, ...]
    key: str
    sections: tuple[str, str]
    forced: str | None
    schemas: Mapping[str, pa.Schema]  # SCIENCE / REJECTED -> the file columns (the night is the folder)
    version: str
    staging: Mapping[str, str] = field(default_factory=dict)  # SCIENCE / REJECTED -> the batch's staging folder
    science_timestamp: dt.datetime | None = None


def plan_for(
    spark: SparkSession, raw_schema: Any, *, survey: str, quality_cut: str, modules: Sequence[ScienceModule], version: str
) -> SciencePlan:
    """The plan of a raw lake of `raw_schema` (Spark's): the output schemas are those of the DataFrame steps
    (`transform`) on an empty frame of that schema, so the files match what the DataFrame path writes (and the
    module plan is checked, on the driver, before any task runs)."""
    science = survey_science(survey)
    empty = spark.createDataFrame([], raw_schema)
    flagged = science.flag(empty, quality_cut)
    shapes = {
        SCIENCE: enrich(
            passing(flagged), modules, version=version, sections=(science.history, science.current), forced=science.forced
        ),
        REJECTED: rejected(flagged, version=version),
    }
    schemas = {name: to_arrow_schema(df.drop("night").schema, timestamp_utc=True) for name, df in shapes.items()}
    return SciencePlan(
        survey=survey,
        quality_cut=quality_cut,
        modules=tuple(modules),
        key=science.alert_id,
        sections=(science.history, science.current),
        forced=science.forced,
        schemas=schemas,
        version=version,
    )


def _conform(columns: Mapping[str, pa.Array | pa.ChunkedArray], schema: pa.Schema) -> pa.Table:
    """The columns in the files' order and types (a column the plan expects and the batch lacks is a bug)."""
    missing = [item.name for item in schema if item.name not in columns]
    if missing:
        raise SchemaError(f"raw2science fast path: no column {missing} for the files of schema {schema.names}")
    return pa.Table.from_arrays([columns[item.name].cast(item.type) for item in schema], schema=schema)


def process_batch(
    batch: pa.Table, plan: SciencePlan, report: Callable[[str, int, str], None] | None = None
) -> tuple[pa.Table, pa.Table]:
    """(science, rejected) rows of one Arrow batch of deduplicated raw rows (no I/O)."""
    science = survey_science(plan.survey)
    flags = science.flag_arrow(batch, plan.quality_cut)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {name: batch.column(name) for name in batch.column_names}
    columns.update(flags)
    columns["raw2science_version"] = pa.array([plan.version] * batch.num_rows, pa.string())
    table = pa.table(columns)
    is_rejected = pc.is_valid(flags["cut_reason"])
    bad = table.filter(is_rejected)
    good = table.filter(pc.invert(is_rejected))
    kept: dict[str, pa.Array | pa.ChunkedArray] = {name: good.column(name) for name in good.column_names}
    frame, failures = run_modules(input_frame(good, plan.modules, plan.sections, plan.forced), plan.modules)
    for failure in failures:
        if report is not None:
            report(failure.module, failure.alerts, failure.error)
    kept.update(output_columns(frame, plan.modules))
    stamp = plan.science_timestamp or dt.datetime.now(dt.UTC)
    kept["science_timestamp"] = pa.array([stamp] * good.num_rows, pa.timestamp("us", tz="UTC"))
    return (
        _conform(kept, plan.schemas[SCIENCE]),
        _conform({name: bad.column(name) for name in bad.column_names}, plan.schemas[REJECTED]),
    )


def _task(plan: SciencePlan, failures: FailureLog | None) -> Callable[[Iterable[BatchFile]], Iterator[tuple]]:
    def run(files: Iterable[BatchFile]) -> Iterator[tuple]:
        context = TaskContext.get()
        out = TaskFiles(plan.staging, plan.schemas, context.partitionId() if context is not None else 0)
        report = failures.add if failures is not None else None
        for raw in files:
            for batch in read_batch_file(raw, BATCH_ROWS):
                science, bad = process_batch(batch, plan, report)
                for dataset, table in ((SCIENCE, science), (REJECTED, bad)):
                    if table.num_rows:
                        out.write(dataset, raw.night, table)
        manifest = out.close()
        yield from zip(*(manifest.column(name).to_pylist() for name in MANIFEST.fieldNames()), strict=True)

    return run


def stage_files(
    spark: SparkSession, files: Sequence[BatchFile], plan: SciencePlan, failures: FailureLog | None = None
) -> list[tuple[str, str, str, int]]:
    """Run one task per raw file (an action); returns the manifest: (dataset, night, path, rows) per file written."""
    if not files:
        return []
    rdd = spark.sparkContext.parallelize(list(files), len(files))
    return [(str(d), str(n), str(p), int(r)) for d, n, p, r in rdd.mapPartitions(_task(plan, failures)).collect()]
