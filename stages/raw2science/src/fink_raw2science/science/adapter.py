"""Spark side of the science modules: `c*` history columns and one pandas UDF per module.

`spark_udf_for(module)` wraps the module's pure function in a `pandas_udf` returning `module.ddl`.
Inside the UDF a batch on which the function raises gets the module's failed values (and a warning
in the executor log), exactly like `runner.run_modules`, so one bad batch never kills the query.

`apply_modules(df, modules)` is the whole step on a raw alert DataFrame: it adds the `c*` history
arrays and the `forced_*` forced-photometry arrays the modules need (`history_column`, `forced_column`),
applies each UDF in order (a struct result of a module with several top-level columns is expanded into
them), and drops the helper columns it added.
Each multi-column module is still evaluated once per batch (Spark projects the fields of one UDF result).

Spark stores a NaN returned by a pandas UDF as null (the pandas -> Arrow conversion treats NaN as
missing), so the NaN values documented for the pure functions (no rate, no features, no match, a
failed batch) read as nulls in the Spark tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pandas as pd
from pyspark import Accumulator, AccumulatorParam, SparkContext
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from fink_raw2science.science.lightcurve import forced_field, history_field
from fink_raw2science.science.module import ScienceModule
from fink_raw2science.science.registry import check_plan

__all__ = [
    "FORCED_SECTIONS",
    "ZTF_SECTIONS",
    "FailureLog",
    "apply_modules",
    "forced_column",
    "history_column",
    "spark_udf_for",
    "with_history_columns",
]

_log = logging.getLogger(__name__)


#: (history array, current detection): ZTF's sections; Rubin's are ("prvDiaSources", "diaSource")
ZTF_SECTIONS = ("prv_candidates", "candidate")
#: history array -> the forced-photometry array of the same alerts, when no other is named (`forced_<field>`)
FORCED_SECTIONS: dict[str, str] = {"prvDiaSources": "prvDiaForcedSources"}


def history_column(field: str, sections: tuple[str, str] = ZTF_SECTIONS) -> Column:
    """`c<field>`: `<history>.<field>` followed by `<current>.<field>` (just the latter when no history)."""
    history, now = sections
    current = F.array(F.col(f"{now}.{field}"))
    return F.when(F.col(history).isNull(), current).otherwise(F.concat(F.col(f"{history}.{field}"), current))


def forced_column(field: str, section: str) -> Column:
    """`forced_<field>`: `<section>.<field>`, the forced-photometry array (null when the alert has none)."""
    return F.col(f"{section}.{field}")


def _top_level(df: DataFrame) -> set[str]:
    return set(df.columns)


def _available(df: DataFrame) -> set[str]:
    """Column paths readable from df: top-level names and `struct.field` one level down."""
    paths = set(df.columns)
    for field in df.schema.fields:
        if hasattr(field.dataType, "fieldNames"):
            paths.update(f"{field.name}.{sub}" for sub in field.dataType.fieldNames())
    return paths


def with_history_columns(
    df: DataFrame,
    modules: Sequence[ScienceModule],
    sections: tuple[str, str] = ZTF_SECTIONS,
    forced: str | None = None,
) -> tuple[DataFrame, list[str]]:
    """df plus the `c*` and `forced_*` arrays the modules read and df lacks; also returns the names added.
    `forced`: the forced-photometry section (default: the one `FORCED_SECTIONS` pairs with the history)."""
    forced = forced if forced is not None else FORCED_SECTIONS.get(sections[0])
    produced = {c for m in modules for c in (*m.columns, *m.frame_columns)}
    added: list[str] = []
    for module in modules:
        for path in module.inputs:
            if path in produced or path in added or path in _top_level(df):
                continue
            if (field := history_field(path)) is not None:
                df = df.withColumn(path, history_column(field, sections))
            elif (field := forced_field(path)) is not None and forced is not None and forced in _top_level(df):
                df = df.withColumn(path, forced_column(field, forced))
            else:
                continue  # a struct field or a missing input: check_plan says which
            added.append(path)
    return df, added


#: module name -> [alerts that got the failed value, first error seen]
Failures = dict[str, list]


class _FailureParam(AccumulatorParam):
    def zero(self, value: Failures) -> Failures:
        return {}

    def addInPlace(self, a: Failures, b: Failures) -> Failures:  # noqa: N802 (Spark's API)
        for name, (count, error) in b.items():
            if name in a:
                a[name][0] += count
            else:
                a[name] = [count, error]
        return a


class FailureLog:
    """Collects, from the Python workers back to the driver, the science modules that raised: per module,
    the number of alerts that got its failed value and the first error. The sink reads and resets it
    around each micro-batch, so a failure is reported with its module, batch and error."""

    def __init__(self, sc: SparkContext) -> None:
        self._acc: Accumulator[Failures] = sc.accumulator({}, _FailureParam())

    def add(self, module: str, alerts: int, error: str) -> None:
        self._acc.add({module: [alerts, error]})

    def take(self) -> Failures:
        """The failures since the last call (driver only)."""
        value = dict(self._acc.value)
        self._acc.value = {}
        return value


def spark_udf_for(module: ScienceModule, failures: FailureLog | None = None) -> Callable[..., Column]:
    """A pandas UDF computing `module` on its input columns (pass them as `F.col(path)` in `inputs` order)."""

    def compute(columns: tuple[pd.Series, ...]) -> pd.DataFrame:
        n = len(columns[0])
        try:
            return module.compute(*columns)
        except Exception as exc:  # isolate the module's failure on this batch, by design
            if failures is not None:
                failures.add(module.name, n, f"{type(exc).__name__}: {exc}")
            _log.warning(
                "science module %s %s failed on %d alerts: %s: %s",
                module.name,
                module.version,
                n,
                type(exc).__name__,
                exc,
            )
            return module.failed_frame(n)

    # Spark picks the UDF kind from the type hints: Series -> Series (scalar) or Series -> DataFrame (struct).
    if module.struct is None and len(module.fields) == 1:

        def scalar(*columns: pd.Series) -> pd.Series:
            return compute(columns).iloc[:, 0]

        scalar.__name__ = f"science_{module.name}"
        return pandas_udf(scalar, returnType=module.ddl)  # type: ignore[call-overload]

    def struct(*columns: pd.Series) -> pd.DataFrame:
        return compute(columns)

    struct.__name__ = f"science_{module.name}"
    return pandas_udf(struct, returnType=module.ddl)  # type: ignore[call-overload]


def apply_modules(
    df: DataFrame,
    modules: Sequence[ScienceModule],
    failures: FailureLog | None = None,
    sections: tuple[str, str] = ZTF_SECTIONS,
    forced: str | None = None,
) -> DataFrame:
    """df plus every module's output columns, computed by pandas UDFs, in order."""
    df, added = with_history_columns(df, modules, sections, forced)
    check_plan(modules, _available(df))
    for module in modules:
        result = spark_udf_for(module, failures)(*[F.col(path) for path in module.inputs])
        if module.struct is not None or len(module.fields) == 1:
            df = df.withColumn(module.columns[0], result)
            continue
        holder = f"__science_{module.name}"
        df = df.withColumn(holder, result)
        df = df.withColumns({f.name: F.col(holder)[f.name] for f in module.fields}).drop(holder)
    return df.drop(*added)
