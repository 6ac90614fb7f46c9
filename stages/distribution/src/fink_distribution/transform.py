"""Pure DataFrame -> DataFrame steps of the distribution: drop repeated alerts, flag alerts with every
filter in one pass, and turn them into Kafka messages.

* `unique_alerts(df, alert_id)` keeps one row per alert id (`candid`, `diaSourceId`: the survey's
  `alert_id_field`). Alert streams repeat alerts (the real ZTF sample holds 3 exact duplicates); on a streaming DataFrame this is Spark's stateful deduplication, whose state is
  versioned with the checkpoint, so a replayed batch drops exactly what it dropped the first time.
* `flag_alerts(df, filters)` adds one struct column `filter_flags` with one boolean field per filter,
  computed by a single pandas UDF that reads the union of the filters' inputs once per Arrow batch
  (`registry.evaluate_filters`). A flag is null for the alerts of a batch on which its filter raised.
* `encode_messages(flagged, filters, schema, survey)` gives one row per alert `(partition_key, value, alert_id,
  filters, failed)`: partition_key = the alert's object id as UTF-8 text (the first non-null of the survey's
  `object_id_fields`: ZTF `objectId`; LSST `diaObjectId`, else `ssObjectId`, in decimal, exact; else the alert
  id), from which the publisher picks the partition (the Kafka key itself is the writer schema, the same
  for every message: `wire.WireSchema.key`), value = the whole alert (every column of the science row,
  `filter_flags` excluded) as schemaless Avro written by Spark's `to_avro` with the derived schema, or
  null when no filter selected the alert (nothing is encoded for it), the names of the filters that
  selected it, and the names of the filters that failed on it. One row per alert, so the driver counts
  the batch, the selections and the failures from the same single pass that it sends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.avro.functions import to_avro
from pyspark.sql.functions import pandas_udf

from fink_common.surveys import Survey
from fink_distribution.fink_plugins import bind, flat_paths
from fink_distribution.registry import AlertFilter, check_columns, evaluate_filters, required_columns
from fink_distribution.wire import WireSchema

__all__ = [
    "FLAGS_COLUMN",
    "column_paths",
    "encode_messages",
    "flag_alerts",
    "partition_key",
    "unique_alerts",
]

#: The struct column of filter flags that `flag_alerts` adds (never sent).
FLAGS_COLUMN = "filter_flags"


def column_paths(schema: T.StructType) -> set[str]:
    """Paths readable from a table: top-level names, `struct.field` one level down, and `array.field` for
    a field of an array of structs (Spark's `col` reads it as one array per row)."""
    paths = set(schema.fieldNames())
    for item in schema.fields:
        data_type = item.dataType
        if isinstance(data_type, T.ArrayType):
            data_type = data_type.elementType
        if isinstance(data_type, T.StructType):
            paths.update(f"{item.name}.{sub}" for sub in data_type.fieldNames())
    return paths


def unique_alerts(df: DataFrame, alert_id: str = "candid") -> DataFrame:
    """One row per alert id (the first seen; on a stream, across every batch of the checkpoint)."""
    return df.dropDuplicates([alert_id])


def partition_key(survey: Survey) -> Column:
    """What picks an alert's partition (`publisher.partition_for`): its object id, so all alerts of one object go
    to the same partition, in order; an alert with no object id falls back to its own alert id."""
    ids = [*survey.object_id_fields, survey.alert_id_field]
    return F.coalesce(*[F.col(name).cast("string") for name in ids]).cast("binary")


def _flags_udf(filters: Sequence[AlertFilter]) -> Callable[..., Column]:
    paths = required_columns(filters)
    ddl = "struct<" + ",".join(f"{f.name}:boolean" for f in filters) + ">"

    def flags(*columns: pd.Series) -> pd.DataFrame:
        frame = pd.DataFrame({p: c.reset_index(drop=True) for p, c in zip(paths, columns, strict=True)})
        return evaluate_filters(frame, filters)

    flags.__name__ = "fink_filters"
    return pandas_udf(flags, returnType=ddl)  # type: ignore[call-overload]


def flag_alerts(df: DataFrame, filters: Sequence[AlertFilter]) -> DataFrame:
    """df plus `filter_flags` (struct of one boolean per filter); FilterError if an input is missing."""
    filters = bind(filters, flat_paths(df.schema), column_paths(df.schema))
    check_columns(filters, column_paths(df.schema))
    paths = required_columns(filters)
    return df.withColumn(FLAGS_COLUMN, _flags_udf(filters)(*[F.col(p) for p in paths]))


def _flag(name: str) -> Column:
    return F.col(f"{FLAGS_COLUMN}.{name}")


def _names(filters: Sequence[AlertFilter], condition: Callable[[Column], Column]) -> Column:
    """The names of the filters whose flag meets `condition`, as an array<string>."""
    names = F.array(*[F.when(condition(_flag(f.name)), F.lit(f.name)) for f in filters])
    return F.filter(names, lambda name: name.isNotNull())


def encode_messages(
    flagged: DataFrame, filters: Sequence[AlertFilter], schema: WireSchema, survey: Survey
) -> DataFrame:
    """One `(partition_key, value, alert_id, filters, failed)` row per alert; value is null when nothing selected it."""
    alert_columns = [c for c in flagged.columns if c != FLAGS_COLUMN]
    if tuple(alert_columns) != schema.field_names:
        raise ValueError(
            f"the batch columns {alert_columns} differ from the wire schema's {list(schema.field_names)}"
        )
    selected = _names(filters, lambda flag: flag)
    value = to_avro(F.struct(*[F.col(c) for c in alert_columns]), schema.text)
    return flagged.select(
        partition_key(survey).alias("partition_key"),
        F.when(F.size(selected) > 0, value).alias("value"),
        F.col(survey.alert_id_field).alias("alert_id"),
        selected.alias("filters"),
        _names(filters, lambda flag: flag.isNull()).alias("failed"),
    )
