"""The archive's fast path: tasks read the micro-batch's science files with pyarrow and put every table's rows.

The stream carries only where each alert is (`fink_common.batchfiles`); the driver collects the files of the
batch, and one task per file reads them in Arrow batches, keys them and builds each table's rows
(`fink_archive.rows`), and puts them in batches of `PUT_BATCH_ROWS` rows per table (`store.put_table_rows`).
A latest-wins table (LSST objects) is written in a second pass whose tasks each own a set of salt buckets and
read that table's columns from every file of the batch: all the candidates of one object meet in one task, so
two tasks never race on one row (`store.newer_rows` keeps the newest, stored row included).

Only counts come back to the driver: alerts, alerts without a key, the nights, rows written per table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from fink_archive.layout import SALT_BUCKETS, SurveyLayout
from fink_archive.plans import keyed_schema
from fink_archive.rows import TablePlans, column_at, keyed_frame, table_plans, table_rows
from fink_archive.store import PUT_BATCH_ROWS, put_table_rows
from fink_archive.tables import ArchiveTables
from fink_common.batchfiles import BatchFile, read_batch_file
from fink_common.config import HBaseConfig
from fink_common.hbase import HBaseClient, Row

__all__ = ["BATCH_ROWS", "ArchivePlan", "BatchCounts", "archive_files", "file_batches", "latest_columns", "plan_for"]

#: Alerts per Arrow batch a task keys and writes at once.
BATCH_ROWS = 1000


@dataclass(frozen=True)
class ArchivePlan:
    """What every task of a micro-batch needs: the layout, the version, each table's rule and plan."""

    layout: SurveyLayout
    version: str
    plans: TablePlans
    hbase: HBaseConfig
    batch_rows: int = PUT_BATCH_ROWS


def plan_for(schema: T.StructType, tables: ArchiveTables, version: str, hbase: HBaseConfig) -> ArchivePlan:
    """The plan of a science lake of Spark schema `schema` (the plans are those of `transform.archive_cells`);
    a `SchemaError` if the alerts lack a key column."""
    from fink_archive.transform import check_key_columns

    check_key_columns(schema, tables.layout)
    return ArchivePlan(tables.layout, version, table_plans(keyed_schema(schema), tables), hbase)


@dataclass
class BatchCounts:
    """What the tasks of one micro-batch report."""

    alerts: int = 0
    unkeyed: int = 0
    nights: set[str] = field(default_factory=set)
    rows: Counter[str] = field(default_factory=Counter)

    def add(self, other: BatchCounts) -> None:
        self.alerts += other.alerts
        self.unkeyed += other.unkeyed
        self.nights |= other.nights
        self.rows.update(other.rows)


def file_batches(item: BatchFile, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """The kept rows of one science file (only `columns`, if given) in Arrow batches, with its night (the
    folder) as the `night` column."""
    for batch in read_batch_file(item, BATCH_ROWS, columns=columns):
        yield batch.append_column("night", pa.array([item.night] * batch.num_rows, pa.string()))


def latest_columns(plan: ArchivePlan) -> list[str]:
    """The top-level columns that the keys and the latest-wins tables read (the second pass reads only those)."""
    layout = plan.layout
    paths = [*layout.object_columns, layout.alert_column, layout.time_column, layout.ra_column, layout.dec_column]
    for name, _, cells in plan.plans.tables:
        if name in plan.plans.latest:
            paths += [c.path for c in cells]
    return sorted({p.split(".")[0] for p in paths if not p.startswith("__")})


class _Puts:
    """Rows waiting to be put, per table, sent `batch_rows` at a time."""

    def __init__(self, plan: ArchivePlan) -> None:
        self.plan = plan
        self.client = HBaseClient(plan.hbase, pool_size=1)
        self.pending: dict[str, list[Row]] = {}
        self.written: Counter[str] = Counter()

    def add(self, table: str, rows: list[Row]) -> None:
        waiting = self.pending.setdefault(table, [])
        waiting += rows
        if len(waiting) >= self.plan.batch_rows:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.pending):
            rows, self.pending[name] = self.pending[name], []
            if rows:
                order = self.plan.plans.latest.get(name)
                self.written[name] += put_table_rows(self.client, name, rows, order, self.plan.batch_rows)


def _write_files(plan: ArchivePlan) -> Callable[[Iterable[BatchFile]], Iterator[BatchCounts]]:
    others = [name for name in plan.plans.names() if name not in plan.plans.latest]

    def run(files: Iterable[BatchFile]) -> Iterator[BatchCounts]:
        counts, puts = BatchCounts(), _Puts(plan)
        for item in files:
            for batch in file_batches(item):
                frame, unkeyed = keyed_frame(batch, plan.layout, plan.version)
                counts.alerts += batch.num_rows
                counts.unkeyed += unkeyed
                if frame.num_rows:
                    counts.nights.add(item.night)
                for table, rows in table_rows(frame, plan.layout, plan.plans, others):
                    puts.add(table, rows)
        puts.flush()
        counts.rows.update(puts.written)
        yield counts

    return run


def _owner(frame: pa.Table, tasks: int) -> pa.Array:
    """The task that owns each row of a latest-wins table: its object's salt bucket modulo the tasks."""
    ids = column_at(frame, "diaObjectId")
    assert ids is not None
    buckets = [None if v is None else (v % SALT_BUCKETS) % tasks for v in ids.to_pylist()]
    return pa.array(buckets, pa.int64())


def _write_latest(plan: ArchivePlan, files: Sequence[BatchFile], tasks: int) -> Callable[[int, Iterable[int]], Iterator[BatchCounts]]:
    latest, columns = list(plan.plans.latest), latest_columns(plan)

    def run(index: int, _items: Iterable[int]) -> Iterator[BatchCounts]:
        counts, puts = BatchCounts(), _Puts(plan)
        for item in files:
            for batch in file_batches(item, columns):
                mine = batch.filter(pc.equal(_owner(batch, tasks), index))
                frame, _unkeyed = keyed_frame(mine, plan.layout, plan.version)
                for table, rows in table_rows(frame, plan.layout, plan.plans, latest):
                    puts.add(table, rows)
        puts.flush()
        counts.rows.update(puts.written)
        yield counts

    return run


def archive_files(spark: SparkSession, files: Sequence[BatchFile], plan: ArchivePlan) -> BatchCounts:
    """Put every table's rows of a micro-batch's files (actions: one task per file, then the latest-wins pass)."""
    total = BatchCounts()
    if not files:
        return total
    sc = spark.sparkContext
    for counts in sc.parallelize(list(files), len(files)).mapPartitions(_write_files(plan)).collect():
        total.add(counts)
    if plan.plans.latest and total.alerts:
        tasks = max(1, min(sc.defaultParallelism, SALT_BUCKETS))
        latest = sc.parallelize(range(tasks), tasks).mapPartitionsWithIndex(_write_latest(plan, files, tasks))
        for counts in latest.collect():
            total.rows.update(counts.rows)
    return total

