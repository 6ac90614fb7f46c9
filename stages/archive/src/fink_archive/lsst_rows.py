"""The Rubin/LSST tables of `fink_archive.lsst` (sources, forced, objects, sso), built in Arrow by the same rules.

Each rule takes the keyed frame of a batch (`rows.keyed_frame`) and gives the table's rows as a frame the
table's plan reads (`lsst.source_plan` and the others: an exploded detection or forced point is the struct
column `__row`), with their rowkeys.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fink_archive.layout import SurveyLayout, salt
from fink_archive.lsst import _ROW
from fink_archive.plans import ALERT_KEY, JD_KEY, OBJECT_KEY
from fink_archive.rows import ArrowRule, column_at, jd_keys, join_key, sso_names, texts

__all__ = ["ARROW_RULES"]


def _exploded(frame: pa.Table, name: str) -> tuple[pa.Array, np.ndarray]:
    """The items of the list column `name` and the frame row each came from (`explode`: no row for a null or
    empty list)."""
    column = frame.column(name).combine_chunks()
    return pc.list_flatten(column), pc.list_parent_indices(column).to_numpy(zero_copy_only=False)


def _timed(rows: pa.Table, id_field: str, objects: list[str | None]) -> tuple[pa.Table, list[str]]:
    """The rows with a time and an id (keyed `salt(object)_object_mjd_id`), `__object` set to `objects`."""
    n = rows.num_rows
    times = jd_keys(column_at(rows, f"{_ROW}.midpointMjdTai"), n)
    ids = texts(column_at(rows, f"{_ROW}.{id_field}"), n)
    keep = np.array([t is not None and i is not None for t, i in zip(times, ids, strict=True)], dtype=bool)
    rows = rows.append_column(OBJECT_KEY, pa.array(objects, pa.string())).filter(pa.array(keep))
    keys = [
        join_key(salt(o) if o is not None else None, o, t, i)
        for o, t, i, k in zip(objects, times, ids, keep, strict=True)
        if k
    ]
    return rows, keys


def _sources(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    own = frame.column(layout.detection).combine_chunks()
    objects = texts(frame.column(OBJECT_KEY), frame.num_rows)
    items, parents = own, np.arange(frame.num_rows)
    if "prvDiaSources" in frame.column_names:
        older, from_rows = _exploded(frame, "prvDiaSources")
        items = pa.concat_arrays([own, older.cast(own.type)])
        parents = np.concatenate([parents, from_rows])
    rows = pa.table({_ROW: items})
    return _timed(rows, "diaSourceId", [objects[p] for p in parents])


def _forced(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    if "prvDiaForcedSources" not in frame.column_names:
        return frame.slice(0, 0), []
    items, parents = _exploded(frame, "prvDiaForcedSources")
    rows = pa.table({_ROW: items})
    alert_objects = texts(frame.column(OBJECT_KEY), frame.num_rows)
    own = texts(column_at(rows, f"{_ROW}.diaObjectId"), rows.num_rows)
    objects = [o if o is not None else alert_objects[p] for o, p in zip(own, parents, strict=True)]
    return _timed(rows, "diaForcedSourceId", objects)


def _objects(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    if "diaObject" not in frame.column_names:
        return frame.slice(0, 0), []
    keep = pc.and_(pc.is_valid(frame.column("diaObject")), pc.is_valid(frame.column("diaObjectId")))
    rows = frame.filter(keep)
    ids = texts(rows.column("diaObjectId"), rows.num_rows)
    times, alerts = rows.column(JD_KEY).to_pylist(), texts(rows.column(ALERT_KEY), rows.num_rows)
    latest = [f"{t}_{str(a).rjust(20, '0')}" for t, a in zip(times, alerts, strict=True)]
    rows = rows.append_column("__latest", pa.array(latest, pa.string()))
    return rows, [join_key(salt(i), i) for i in ids]  # type: ignore[arg-type]


def _sso(frame: pa.Table, layout: SurveyLayout) -> tuple[pa.Table, list[str]]:
    if "ssSource" not in frame.column_names:
        return frame.slice(0, 0), []
    n = frame.num_rows
    top = texts(column_at(frame, "ssObjectId"), n)
    inner = texts(column_at(frame, "ssSource.ssObjectId"), n)
    sso_ids = [a if a is not None else b for a, b in zip(top, inner, strict=True)]
    present = pc.is_valid(frame.column("ssSource")).to_numpy(zero_copy_only=False)
    keep = np.array([p and s is not None for p, s in zip(present, sso_ids, strict=True)], dtype=bool)
    names = sso_names(frame, layout)
    rows = frame.append_column("__sso_id", pa.array([int(s) if s is not None else None for s in sso_ids], pa.int64()))
    rows = rows.append_column("__designation", pa.array(names, pa.string())).filter(pa.array(keep))
    times, alerts = rows.column(JD_KEY).to_pylist(), texts(rows.column(ALERT_KEY), rows.num_rows)
    kept = [s for s, k in zip(sso_ids, keep, strict=True) if k]
    return rows, [join_key(salt(s), s, t, a) for s, t, a in zip(kept, times, alerts, strict=True)]  # type: ignore[arg-type]


#: Suffix -> the Arrow rule of each LSST table of its own (the plans are `lsst.TABLE_RULES`').
ARROW_RULES: dict[str, ArrowRule] = {"sources": _sources, "forced": _forced, "objects": _objects, "sso": _sso}
