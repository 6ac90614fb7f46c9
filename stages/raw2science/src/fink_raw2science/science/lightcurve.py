"""The `c*` history arrays (history followed by the current candidate) and vectorised work on them.

`c<field>` for one alert is `[p[field] for p in prv_candidates] + [candidate[field]]`, upper limits
included (their `magpsf`/`sigmapsf` are null); a null `prv_candidates` gives just `[candidate[field]]`.
The last element is therefore always the current candidate. This is Fink's `concat_col` rule.

On the Spark side the same arrays are built with column expressions (`adapter.history_column`). In a
pandas batch they arrive as a Series of numpy arrays; `Ragged` flattens such a Series once into one
float64 array plus the per-alert lengths, so that the modules work on whole batches with numpy instead
of looping over alerts.

`nalerthist` (Fink's rule): the number of non-null, non-NaN `magpsf` in history + current.

`forced_<field>` names a forced-photometry array: `<forced section>.<field>` of the alert (Rubin's
`prvDiaForcedSources`), with no current element (the alert itself is a detection, not a forced measurement);
null or empty when the alert carries none. `records_frame` builds both kinds, and struct fields, from decoded
alert records of any survey, given its sections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fink_raw2science.science.errors import ScienceError

__all__ = [
    "FORCED_PREFIX",
    "HISTORY_PREFIX",
    "Ragged",
    "forced_field",
    "history_field",
    "history_values",
    "input_frame",
    "input_frame_from_records",
    "nalerthist",
    "records_frame",
]

#: `c<field>` names a history array; a path with a dot names a struct field.
HISTORY_PREFIX = "c"
#: `forced_<field>` names a forced-photometry array.
FORCED_PREFIX = "forced_"


@dataclass(frozen=True)
class Ragged:
    """A batch of variable-length arrays as one flat float64 array plus per-alert lengths."""

    values: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_series(cls, series: pd.Series) -> Ragged:
        """Flatten a Series of arrays/lists (None or NaN = empty); null elements become NaN."""
        items = [item if hasattr(item, "__len__") else () for item in series.array]
        lengths = np.fromiter((len(item) for item in items), dtype=np.int64, count=len(items))
        parts = [item for item in items if len(item)]
        if not parts:
            return cls(values=np.zeros(0, dtype=np.float64), lengths=lengths)
        # One concatenate for the batch; an object result (None inside) converts None -> NaN.
        values = np.concatenate(parts).astype(np.float64, copy=False)
        return cls(values=values, lengths=lengths)

    @property
    def n(self) -> int:
        return int(self.lengths.size)

    @property
    def ends(self) -> np.ndarray:
        """Index one past each alert's last element in `values`."""
        return np.cumsum(self.lengths)

    @property
    def starts(self) -> np.ndarray:
        return self.ends - self.lengths

    @property
    def rows(self) -> np.ndarray:
        """The alert (row) index of every flat element."""
        return np.repeat(np.arange(self.n), self.lengths)

    @property
    def is_last(self) -> np.ndarray:
        """True for the flat element that is the last of its alert (the current candidate)."""
        flags = np.zeros(self.values.size, dtype=bool)
        ends = self.ends[self.lengths > 0]
        flags[ends - 1] = True
        return flags

    def last(self, offset: int = 1) -> np.ndarray:
        """Per alert, the `offset`-th value from the end (1 = last); NaN when the array is too short."""
        out = np.full(self.n, np.nan)
        ok = self.lengths >= offset
        out[ok] = self.values[self.ends[ok] - offset]
        return out

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Per alert, how many flat elements satisfy `mask`."""
        return np.bincount(self.rows[mask], minlength=self.n).astype(np.int64)

    def same_shape(self, *others: Ragged) -> None:
        for other in others:
            if not np.array_equal(self.lengths, other.lengths):
                raise ValueError("history arrays of one alert have different lengths")


def nalerthist(cmagpsf: pd.Series) -> pd.Series:
    """Number of valid (non-null, non-NaN) `magpsf` values in history + current, per alert."""
    mags = Ragged.from_series(cmagpsf)
    return pd.Series(mags.count(np.isfinite(mags.values)), dtype="int32")


def history_field(path: str) -> str | None:
    """`cjd` -> `jd`; None when `path` is not a history array name."""
    if path.startswith(HISTORY_PREFIX) and "." not in path and len(path) > 1:
        return path[len(HISTORY_PREFIX) :]
    return None


def forced_field(path: str) -> str | None:
    """`forced_psfFlux` -> `psfFlux`; None when `path` is not a forced-photometry array name."""
    if path.startswith(FORCED_PREFIX) and "." not in path and len(path) > len(FORCED_PREFIX):
        return path[len(FORCED_PREFIX) :]
    return None


def history_values(prv: Sequence[Mapping[str, Any]] | None, candidate: Mapping[str, Any], name: str) -> list[Any]:
    """`c<name>` for one alert."""
    values = [p.get(name) for p in prv] if prv is not None else []
    values.append(candidate.get(name))
    return values


def _as_records(item: Any) -> list[Mapping[str, Any]] | None:
    if item is None:
        return None
    if isinstance(item, float) and np.isnan(item):
        return None
    return list(item)


def input_frame(raw: pd.DataFrame, paths: Iterable[str]) -> pd.DataFrame:
    """The flat input frame of `paths` from a raw alert batch shaped like Spark's `mapInPandas` gives it.

    `raw` holds `candidate` as one dict per row and `prv_candidates` as one array of dicts (or None)
    per row, plus any top-level column. Paths: `candidate.<f>`, `c<f>`, or a top-level column name.
    """
    wanted = list(dict.fromkeys(paths))
    problems = []
    for path in wanted:
        if "." in path and path.split(".", 1)[0] != "candidate":
            problems.append(f"{path!r}: only candidate.<field> paths can be read from a raw batch")
        elif "." not in path and history_field(path) is None and path not in raw.columns:
            problems.append(f"{path!r}: no such column in the raw batch")
    if problems:
        raise ScienceError(problems, what="input frame")
    columns: dict[str, Any] = {}
    candidates = list(raw["candidate"]) if "candidate" in raw.columns else []
    histories = [_as_records(p) for p in raw["prv_candidates"]] if "prv_candidates" in raw.columns else []
    for path in wanted:
        if path in raw.columns and "." not in path:
            columns[path] = raw[path].reset_index(drop=True)
        elif path.startswith("candidate."):
            name = path.split(".", 1)[1]
            columns[path] = pd.Series([c.get(name) if c is not None else None for c in candidates], dtype=object)
        else:
            field = history_field(path)
            assert field is not None
            columns[path] = pd.Series(
                [_array(history_values(p, c, field)) for p, c in zip(histories, candidates, strict=True)],
                dtype=object,
            )
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))
    for path, series in frame.items():
        if str(path).startswith("candidate."):
            frame[path] = _tighten(series)
    return frame


def _array(values: list[Any]) -> np.ndarray:
    """float64 (None -> NaN) for numbers, object otherwise (strings such as isdiffpos)."""
    if all(v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool)) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array(values, dtype=object)


def _tighten(series: pd.Series) -> pd.Series:
    """Numeric candidate fields as float64 (nulls -> NaN) when every value is a number or null."""
    values = series.array
    if all(v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool)) for v in values):
        return pd.Series([np.nan if v is None else v for v in values], dtype=np.float64)
    return series


def input_frame_from_records(records: Iterable[Mapping[str, Any]], paths: Iterable[str]) -> pd.DataFrame:
    """`input_frame` of decoded Avro alert records (dicts as fastavro returns them)."""
    rows = list(records)
    raw = pd.DataFrame(
        {
            "objectId": [r.get("objectId") for r in rows],
            "candid": [r.get("candid") for r in rows],
            "candidate": [r.get("candidate") for r in rows],
            "prv_candidates": [r.get("prv_candidates") for r in rows],
        }
    )
    return input_frame(raw, paths)


def _record_value(record: Mapping[str, Any], path: str) -> Any:
    section, _, name = path.partition(".")
    value = record.get(section)
    return value.get(name) if name and value is not None else value


def records_frame(
    records: Iterable[Mapping[str, Any]],
    paths: Iterable[str],
    *,
    history: str,
    current: str,
    forced: str | None = None,
) -> pd.DataFrame:
    """The flat input frame of `paths` from decoded alert records (dicts), for the survey whose sections
    these are (`history`, `current`, `forced`; Rubin: prvDiaSources, diaSource, prvDiaForcedSources).

    Paths: `c<f>` (history + current), `forced_<f>` (the forced array, an empty array when null),
    `<section>.<f>` (a struct field, None when the section is null) or a top-level name. This is what
    the Spark side gives a module, built in plain Python: for tests and training scripts.
    """
    rows = list(records)
    columns: dict[str, pd.Series] = {}
    for path in dict.fromkeys(paths):
        name, kind = history_field(path), "history"
        if name is None:
            name, kind = forced_field(path), "forced"
        if name is not None and kind == "history":
            values = [history_values(r.get(history), r.get(current) or {}, name) for r in rows]
        elif name is not None:
            if forced is None:
                raise ScienceError(f"{path!r}: no forced-photometry section given")
            values = [[p.get(name) for p in r.get(forced) or []] for r in rows]
        else:
            columns[path] = _tighten(pd.Series([_record_value(r, path) for r in rows], dtype=object))
            continue
        columns[path] = pd.Series([_array(v) for v in values], dtype=object)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
