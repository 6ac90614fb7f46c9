"""The pure driver: run science modules over one pandas batch, isolating each module's failures.

`run_modules(pdf, modules)` gives each module its input columns (from `pdf` or from an earlier
module's outputs), in order. When a module raises on the batch, its columns get the module's failed
values for every alert of the batch, the failure is recorded as a `ModuleFailure` (and logged), and
the next modules run as usual: one broken module never stops the stream. A missing input column is a
planning error, not a batch failure: it raises `ScienceError` before anything runs.

Struct outputs stay flat in the returned frame (`<struct>.<field>` columns). `nested_outputs` turns
the output columns into the shape Spark's `mapInPandas` expects back (one dict per row for a struct).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fink_raw2science.science.module import ScienceModule
from fink_raw2science.science.registry import check_plan

__all__ = ["ModuleFailure", "nested_outputs", "run_modules"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModuleFailure:
    """One module that raised on one batch: which, why, and how many alerts got its failed values."""

    module: str
    version: str
    error: str
    alerts: int


def run_modules(pdf: pd.DataFrame, modules: Sequence[ScienceModule]) -> tuple[pd.DataFrame, list[ModuleFailure]]:
    """`pdf` plus every module's output columns, and the failures met on the way (see module docstring)."""
    base = pdf.reset_index(drop=True)
    check_plan(modules, base.columns)
    n = len(base)
    produced: dict[str, pd.Series] = {}
    failures: list[ModuleFailure] = []
    for module in modules:
        inputs = [produced[p] if p in produced else base[p] for p in module.inputs]
        try:
            result = module.compute(*inputs)
        except Exception as exc:  # any error of a module on a batch is isolated, by design
            error = f"{type(exc).__name__}: {exc}"
            _log.warning("science module %s %s failed on %d alerts: %s", module.name, module.version, n, error)
            failures.append(ModuleFailure(module.name, module.version, error, n))
            result = module.failed_frame(n)
        for column, field in zip(module.frame_columns, module.fields, strict=True):
            produced[column] = result[field.name]
    kept = base.drop(columns=[c for c in produced if c in base.columns])
    return pd.concat([kept, pd.DataFrame(produced, index=base.index)], axis=1), failures


def nested_outputs(pdf: pd.DataFrame, modules: Sequence[ScienceModule]) -> pd.DataFrame:
    """Only the modules' output columns, struct outputs as one dict per row (for `mapInPandas`)."""
    out: dict[str, pd.Series] = {}
    for module in modules:
        if module.struct is None:
            for column in module.columns:
                out[column] = pdf[column]
            continue
        names = [f.name for f in module.fields]
        block = pdf[list(module.frame_columns)].to_numpy(dtype=object)
        records = [
            {name: (None if isinstance(v, float) and np.isnan(v) else v) for name, v in zip(names, row, strict=True)}
            for row in block
        ]
        out[module.struct] = pd.Series(records, index=pdf.index, dtype=object)
    return pd.DataFrame(out, index=pdf.index)
