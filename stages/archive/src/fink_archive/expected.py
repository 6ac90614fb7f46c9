"""What every table of the archive must hold, worked out from the science alerts as plain Python rows.

The reconciliation report (`fink_cli.reconcile`) and the chaos audit compare each HBase table with these
rowkeys, and the statistics rows with these cells, so that an index or a statistics table that lags behind
the main table is caught (a main table that is complete says nothing about `<survey>.jd` or the statistics).

Each rule restates, row by row, which alerts a table keeps and how their keys are built, with the reader's key
functions of `fink_archive.tables` (the writer computes the same keys in Spark, `fink_archive.transform`).
An alert is a nested dict as pyarrow's `to_pylist` gives it, with at least the top-level columns of
`source_columns`. This module does not import pyspark.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from fink_archive.layout import SurveyLayout
from fink_archive.statistics import NightStatistics, night_statistics
from fink_archive.tables import (
    UNNAMED_SSO,
    ArchiveTables,
    index_rowkey,
    main_rowkey,
    pixel_key,
    sky_pixels,
    statistics_rowkey,
    time_rowkey,
)

__all__ = ["archive_key", "expected_rowkeys", "expected_statistics", "key_columns", "source_columns"]

Alert = Mapping[str, Any]
_UNNAMED = ("", "null", "none", "nan")


def source_columns(layout: SurveyLayout) -> list[str]:
    """The top-level science columns the rules read."""
    paths = [*layout.object_columns, layout.alert_column, layout.time_column, layout.ra_column, layout.dec_column,
             layout.band_column, "night", "classification", *layout.sso_name_paths]  # fmt: skip
    if layout.sso_id_column:
        paths.append(layout.sso_id_column)
    if layout.sso_flag:
        paths.append(layout.sso_flag[0])
    tops = {p.split(".", 1)[0] for p in paths}
    tops |= {"prv_candidates"} if "history" in layout.extra_tables else set()
    tops |= {"prvDiaSources", "prvDiaForcedSources", "diaObject", "ssSource"} if layout.salted else set()
    return sorted(tops)


def _at(alert: Alert, path: str) -> Any:
    node: Any = alert
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _object(alert: Alert, layout: SurveyLayout) -> str | None:
    for column in layout.object_columns:
        value = alert.get(column)
        if value is not None:
            return str(value)
    return None


def _time(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def archive_key(alert: Alert, layout: SurveyLayout) -> tuple[str, int, float] | None:
    """(object, alert id, time) of an alert's keys, or None when it lacks one of them: the archive leaves such
    an alert out of every table (and of the statistics) and counts it (`alerts_without_key` in its log). A Rubin
    alert associated with neither a diaObject nor a solar-system object (both ids 0: Rubin's synthetic test
    alerts) is one."""
    object_id, alert_id = _object(alert, layout), alert.get(layout.alert_column)
    time = _time(_at(alert, layout.time_column))
    if object_id is None or alert_id is None or time is None:
        return None
    return object_id, int(alert_id), time


def key_columns(layout: SurveyLayout) -> list[str]:
    """The top-level columns `archive_key` reads, and the night."""
    return list(dict.fromkeys([*layout.object_columns, layout.alert_column, layout.time_column.split(".")[0], "night"]))


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _sso_name(alert: Alert, layout: SurveyLayout) -> str | None:
    for path in layout.sso_name_paths:
        value = _at(alert, path)
        if value is not None and str(value).strip().lower() not in _UNNAMED:
            return str(value).strip()
    return None


def _sso_key_name(alert: Alert, layout: SurveyLayout) -> str | None:
    """The name part of the solar-system index key, or None when the alert is not a solar-system one."""
    name = _sso_name(alert, layout)
    if name is not None:
        return name
    sso_id = alert.get(layout.sso_id_column) if layout.sso_id_column else None
    if sso_id is not None:
        return str(sso_id)
    if layout.sso_flag and alert.get(layout.sso_flag[0]) == layout.sso_flag[1]:
        return UNNAMED_SSO
    return None


def _salted(layout: SurveyLayout, object_id: str, time: float, item_id: int) -> bytes:
    return main_rowkey(object_id, time, item_id, salted=layout.salted).encode()


def _lsst_keys(tables: ArchiveTables, alert: Alert, object_id: str, out: dict[str, set[bytes]]) -> None:
    layout = tables.layout
    detection = alert.get(layout.detection) or {}
    for source in [detection, *(alert.get("prvDiaSources") or [])]:
        time = _time(source.get("midpointMjdTai"))
        if time is not None and source.get("diaSourceId") is not None:
            out[tables.sources].add(_salted(layout, object_id, time, source["diaSourceId"]))
    for point in alert.get("prvDiaForcedSources") or []:
        time, owner = _time(point.get("midpointMjdTai")), point.get("diaObjectId")
        if time is not None and point.get("diaForcedSourceId") is not None:
            out[tables.forced].add(_salted(layout, str(owner) if owner is not None else object_id, time, point["diaForcedSourceId"]))
    if alert.get("diaObject") is not None and alert.get("diaObjectId") is not None:
        dia = str(alert["diaObjectId"])
        out[tables.objects].add(layout.object_key(dia).encode())
    sso = alert.get("ssSource")
    sso_id = alert.get("ssObjectId") if alert.get("ssObjectId") is not None else _at(alert, "ssSource.ssObjectId")
    if sso is not None and sso_id is not None:
        time = _time(_at(alert, layout.time_column))
        assert time is not None  # keyed alerts only
        out[tables.sso].add(_salted(layout, str(sso_id), time, alert[layout.alert_column]))


def expected_rowkeys(tables: ArchiveTables, alerts: Iterable[Alert]) -> dict[str, set[bytes]]:
    """Table -> the rowkeys it must hold (schema rows aside), for every table but the statistics."""
    layout = tables.layout
    out: dict[str, set[bytes]] = defaultdict(set)
    rows = list(alerts)
    ra = np.array([_float(_at(a, layout.ra_column)) for a in rows], dtype=np.float64)
    dec = np.array([_float(_at(a, layout.dec_column)) for a in rows], dtype=np.float64)
    pixels = sky_pixels(ra, dec) if rows else np.array([], dtype=np.int64)
    for alert, pixel in zip(rows, pixels, strict=True):
        key = archive_key(alert, layout)
        if key is None:
            continue  # no key: the archive leaves it out and says how many
        object_id, alert_id, time = key
        main = main_rowkey(object_id, time, alert_id, salted=layout.salted).encode()
        out[tables.main].add(main)
        out[tables.cutouts].add(main)
        out[tables.by_time].add(time_rowkey(time, object_id, alert_id, salted=layout.salted).encode())
        if alert.get("classification") is not None:
            out[tables.by_class].add(index_rowkey(str(alert["classification"]), time, object_id, alert_id).encode())
        if pixel >= 0:
            out[tables.by_pixel].add(index_rowkey(pixel_key(int(pixel)), time, object_id, alert_id).encode())
        name = _sso_key_name(alert, layout)
        if name is not None:
            out[tables.by_sso].add(index_rowkey(name, time, object_id, alert_id).encode())
        if "history" in layout.extra_tables and alert.get("prv_candidates"):
            out[tables.history].add(main)
        if layout.salted:
            _lsst_keys(tables, alert, object_id, out)
    return {name: set(out.get(name, set())) for name in tables.families() if name != tables.statistics}


def expected_statistics(tables: ArchiveTables, alerts: Iterable[Alert]) -> dict[bytes, dict[bytes, bytes]]:
    """Statistics rowkey -> its cells, per night of the keyed alerts (`fink_archive.statistics`' rule)."""
    layout = tables.layout
    object_q, time_q, band_q = layout.statistics_qualifiers
    per_night: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in alerts:
        key = archive_key(alert, layout)
        if key is None or not alert.get("night"):
            continue
        object_id, _, time = key
        per_night[str(alert["night"])].append({
            "night": str(alert["night"]), object_q: object_id, time_q: repr(time),
            band_q: _at(alert, layout.band_column), "classification": alert.get("classification"),
        })  # fmt: skip
    out: dict[bytes, dict[bytes, bytes]] = {}
    for night, rows in per_night.items():
        stats: NightStatistics = night_statistics(tables.survey, night, rows)
        out[statistics_rowkey(tables.survey, night).encode()] = stats.cells()
    return out
