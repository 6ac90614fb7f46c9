"""What a science module is: a pure function over pandas Series plus the contract around it.

A module reads the input columns named in `inputs` (flat paths, in this order, as positional
arguments) and returns, for a batch of n alerts, n output rows:

* one field and no `struct`: a `pandas.Series` -> one top-level column named like the field;
* several fields and no `struct`: a `pandas.DataFrame` with one column per field -> as many top-level
  columns (e.g. `mag_rate`, `sigma_rate`, ...);
* `struct` set: a `pandas.DataFrame` with one column per field -> one struct column named `struct`.

Input paths are the names the columns have in the frame the pure driver receives (`runner.run_modules`)
and, unchanged, the `pyspark.sql.functions.col` paths on the Spark side: `candidate.<field>` (a field of
the current candidate), `c<field>` (history followed by the current value, see `lightcurve`), an
output column of an earlier module, or `<struct>.<field>` for a field of an earlier struct output.
In the pure frame a struct output is kept flat, one column per field named `<struct>.<field>`.

Every field carries its `failed` value: what the column holds for a whole batch when the function
raised on it. It is chosen to be distinguishable from every value the function itself returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fink_raw2science.science.errors import ScienceError

__all__ = ["DDL_DTYPES", "FAILED_LABEL", "OutputField", "ScienceModule", "ModuleFunction"]

#: The value of a string output on an alert its module failed on.
FAILED_LABEL = "Fail"

#: Spark DDL of a scalar output -> the numpy dtype the pure frame holds it in.
DDL_DTYPES: dict[str, str] = {
    "int": "int32",
    "bigint": "int64",
    "double": "float64",
    "float": "float32",
    "boolean": "object",  # object so that a failed (null) flag can sit next to True/False
    "string": "object",
}

ModuleFunction = Callable[..., pd.Series | pd.DataFrame]


@dataclass(frozen=True)
class OutputField:
    """One output value of a module: its name, its Spark DDL type and its value on a failed batch."""

    name: str
    ddl: str
    failed: Any

    def __post_init__(self) -> None:
        if self.ddl not in DDL_DTYPES:
            raise ScienceError(f"field {self.name!r}: DDL type {self.ddl!r} not one of {sorted(DDL_DTYPES)}")

    @property
    def dtype(self) -> str:
        return DDL_DTYPES[self.ddl]

    def coerce(self, values: Any, n: int) -> pd.Series:
        """`values` as a length-n Series in this field's dtype (raises on a wrong length or type)."""
        series = pd.Series(values).reset_index(drop=True)
        if len(series) != n:
            raise ValueError(f"field {self.name!r}: {len(series)} values for {n} alerts")
        if self.ddl in ("int", "bigint"):
            if series.isna().any():
                raise ValueError(f"field {self.name!r}: null in an integer output")
            return series.astype(self.dtype)
        if self.ddl in ("double", "float"):
            return pd.to_numeric(series, errors="raise").astype(self.dtype)
        if self.ddl == "boolean":
            return series.astype(object).where(series.notna(), None)
        return series.astype(object).where(series.notna(), None)

    def failed_series(self, n: int) -> pd.Series:
        if self.failed is None:
            return pd.Series([None] * n, dtype=object)
        return pd.Series(np.full(n, self.failed), dtype=self.dtype if self.ddl != "boolean" else object)

    def failed_is(self, value: Any) -> bool:
        """True when `value` is this field's failed value (NaN equals NaN here)."""
        if self.failed is None:
            return value is None
        if isinstance(self.failed, float) and math.isnan(self.failed):
            return isinstance(value, float | np.floating) and math.isnan(value)
        return bool(value == self.failed)


@dataclass(frozen=True)
class ScienceModule:
    """A named, versioned science module: inputs -> pure function -> output fields."""

    name: str
    inputs: tuple[str, ...]
    fields: tuple[OutputField, ...]
    function: ModuleFunction
    version: str
    struct: str | None = None
    description: str = field(default="", compare=False)
    #: the surveys whose alerts it reads (its input paths are one survey's layout): resolve_modules checks it
    surveys: tuple[str, ...] = ("ztf",)

    def __post_init__(self) -> None:
        problems = []
        if not self.fields:
            problems.append("no output field")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            problems.append(f"duplicate output fields {names}")
        if not self.inputs:
            problems.append("no input column")
        if not callable(self.function):
            problems.append(f"function {self.function!r} is not callable")
        if problems:
            raise ScienceError(problems, what=f"science module {self.name!r}")

    @property
    def columns(self) -> tuple[str, ...]:
        """Top-level columns this module adds to the alert table."""
        return (self.struct,) if self.struct else tuple(f.name for f in self.fields)

    @property
    def frame_columns(self) -> tuple[str, ...]:
        """Columns this module adds to the pure (flat) frame: struct fields become `<struct>.<field>`."""
        if self.struct:
            return tuple(f"{self.struct}.{f.name}" for f in self.fields)
        return tuple(f.name for f in self.fields)

    @property
    def ddl(self) -> str:
        """Spark DDL type of the UDF result: the scalar type for one plain field, else a struct."""
        if self.struct is None and len(self.fields) == 1:
            return self.fields[0].ddl
        return "struct<" + ",".join(f"{f.name}:{f.ddl}" for f in self.fields) + ">"

    @property
    def failed_value(self) -> Any:
        """The documented value on a failed batch: a scalar for one plain field, else a dict per field."""
        if self.struct is None and len(self.fields) == 1:
            return self.fields[0].failed
        return {f.name: f.failed for f in self.fields}

    def result_frame(self, result: pd.Series | pd.DataFrame, n: int) -> pd.DataFrame:
        """The function's result checked and cast: one column per field, in field order, n rows."""
        if isinstance(result, pd.DataFrame):
            missing = [f.name for f in self.fields if f.name not in result.columns]
            if missing:
                raise ValueError(f"module {self.name!r} returned no column for {missing}")
            data = {f.name: f.coerce(result[f.name], n) for f in self.fields}
        elif len(self.fields) == 1:
            data = {self.fields[0].name: self.fields[0].coerce(result, n)}
        else:
            raise ValueError(
                f"module {self.name!r} must return a DataFrame with columns {[f.name for f in self.fields]}"
            )
        return pd.DataFrame(data)

    def failed_frame(self, n: int) -> pd.DataFrame:
        """n rows of the failed values, one column per field."""
        return pd.DataFrame({f.name: f.failed_series(n) for f in self.fields})

    def compute(self, *columns: pd.Series) -> pd.DataFrame:
        """Run the function on its input Series and return the checked result frame (may raise)."""
        n = len(columns[0]) if columns else 0
        args = [c.reset_index(drop=True) for c in columns]
        return self.result_frame(self.function(*args), n)
