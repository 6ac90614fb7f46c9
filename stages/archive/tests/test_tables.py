"""The read side without Spark: rowkeys, sky pixels and night statistics."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from fink_archive.statistics import NightStatistics, night_statistics, night_window
from fink_archive.tables import (
    JD_WIDTH,
    ArchiveTables,
    cone_pixels,
    index_rowkey,
    jd_key,
    main_rowkey,
    object_prefix,
    parse_main_rowkey,
    pixel_key,
    sky_pixels,
    time_range,
    time_rowkey,
)
from fink_common.night import night_of_jd


def test_jd_keys_sort_like_the_jds() -> None:
    rng = random.Random(7)
    jds = [2460236.1042900463, 2460235.6150116, 2458523.0562616, 999999.25, 2460236.145956713]
    jds += [rng.uniform(2_400_000.0, 2_500_000.0) for _ in range(500)]
    keys = [jd_key(jd) for jd in jds]
    assert {len(k) for k in keys} == {JD_WIDTH}
    assert jd_key(999999.25) == "0999999.2500000"  # zero-padded
    assert jd_key(2460236.1042900463) == "2460236.1042900"
    assert [k for _, k in sorted(zip(jds, keys, strict=True))] == sorted(keys)
    rows = sorted(main_rowkey("ZTF23abcdefg", jd, 100 + i) for i, jd in enumerate(jds))
    assert [parse_main_rowkey(r)[1] for r in rows] == sorted(round(jd, 7) for jd in jds)
    for bad in (math.nan, math.inf, -1.0, 1e7):
        with pytest.raises(ValueError):
            jd_key(bad)


def test_same_object_and_jd_stay_apart() -> None:
    first = main_rowkey("ZTF18acurdfi", 2460236.1042900463, 2481535411115010000)
    second = main_rowkey("ZTF18acurdfi", 2460236.1042900463, 2481540281115010001)
    assert first != second
    assert first.encode().startswith(object_prefix("ZTF18acurdfi"))
    assert parse_main_rowkey(first) == ("ZTF18acurdfi", 2460236.10429, 2481535411115010000)
    assert index_rowkey("Mira", 2460236.1, "ZTF1", 1) != index_rowkey("Mira", 2460236.1, "ZTF1", 2)
    assert time_rowkey(2460236.1, "ZTF1", 1) == "2460236.1000000_ZTF1_1"
    start, stop = time_range(2460236.0, 2460237.0)
    assert start <= time_rowkey(2460236.1, "ZTF1", 1).encode() < stop


def test_table_names_and_families() -> None:
    tables = ArchiveTables("ztf")
    families = tables.families()
    assert list(families) == [
        "ztf", "ztf.cutouts", "ztf.class", "ztf.pixel128", "ztf.jd", "ztf.ssnamenr", "ztf.history", "ztf.statistics",
    ]  # fmt: skip
    assert families["ztf.history"] == ("i",)
    assert families["ztf"] == ("i", "d") and families["ztf.cutouts"] == ("i", "b")
    assert families["ztf.statistics"] == ("basic", "class")


def test_sky_pixels_and_cone() -> None:
    ra = np.array([0.0, 276.3167239, 359.9999, np.nan, 10.0])
    dec = np.array([0.0, -11.4936657, 89.9, 5.0, np.nan])
    pixels = sky_pixels(ra, dec)
    assert pixels[3] == -1 and pixels[4] == -1
    assert all(0 <= p < 12 * 128 * 128 for p in pixels[:3])
    assert pixel_key(int(pixels[0])) == f"{pixels[0]:06d}"
    near = cone_pixels(276.3167239, -11.4936657, 0.2)
    assert int(pixels[1]) in near and near == sorted(near)


def test_night_window_holds_the_night_at_any_longitude() -> None:
    start, stop = night_window("20231017")
    for longitude in (-180.0, -116.865, 0.0, 70.0, 180.0):
        inside = [jd for jd in np.arange(start - 2, stop + 2, 0.01) if night_of_jd(float(jd), longitude) == "20231017"]
        assert inside and start <= min(inside) and max(inside) < stop, longitude


def test_night_statistics_counts_one_night() -> None:
    rows = [
        {"night": "20231017", "objectId": "A", "jd": "1.5", "fid": "1", "classification": "Mira"},
        {"night": "20231017", "objectId": "A", "jd": "1.5", "fid": "1", "classification": "Mira"},
        {"night": "20231017", "objectId": "B", "jd": "1.6", "fid": "2", "classification": "Unknown"},
        {"night": "20231017", "objectId": "C", "jd": "1.6", "fid": "2"},
        {"night": "20231018", "objectId": "D", "jd": "2.5", "fid": "3", "classification": "Mira"},
    ]
    stats = night_statistics("ztf", "20231017", rows)
    assert (stats.alerts, stats.objects, stats.exposures) == (4, 3, 2)
    assert stats.per_band == {"g": 2, "r": 2}
    assert stats.per_class == {"Mira": 2, "Unknown": 1}
    cells = stats.cells()
    assert cells[b"basic:n_i"] == b"0" and cells[b"class:Mira"] == b"2" and stats.rowkey == b"ztf_20231017"
    back = NightStatistics.from_cells("ztf", cells)
    assert back.per_band == {"g": 2, "r": 2, "i": 0} and back.per_class == stats.per_class and back.alerts == 4
