"""The cross-match against a brute-force angular distance, on the packaged test catalog and on edge cases."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import pytest

from fink_common.datasets import sample_files
from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.xmatch import NO_MATCH, CrossMatcher, load_catalog


def catalog_frame() -> pd.DataFrame:
    path = resources.files("fink_raw2science.science").joinpath("data/xmatch_test_catalog.parquet")
    with resources.as_file(path) as file:
        return pd.read_parquet(file)


def real_positions() -> tuple[np.ndarray, np.ndarray]:
    ra, dec = [], []
    for path in sample_files("ztf_4.02"):
        with path.open("rb") as fh:
            for record in fastavro.reader(fh):
                ra.append(record["candidate"]["ra"])
                dec.append(record["candidate"]["dec"])
    return np.array(ra), np.array(dec)


def brute_force(ra: float, dec: float, catalog: pd.DataFrame, radius: float) -> tuple[str, str, float]:
    """Nearest catalog row within `radius` arcsec by the haversine formula, one row at a time."""
    best = (NO_MATCH, NO_MATCH, math.nan)
    best_sep = math.inf
    for row in catalog.itertuples():
        d_dec = math.radians(row.dec - dec)
        d_ra = math.radians(row.ra - ra)
        h = (
            math.sin(d_dec / 2) ** 2
            + math.cos(math.radians(dec)) * math.cos(math.radians(row.dec)) * math.sin(d_ra / 2) ** 2
        )
        sep = math.degrees(2 * math.asin(min(1.0, math.sqrt(h)))) * 3600.0
        if sep <= radius and sep < best_sep:
            best, best_sep = (row.name, row.type, sep), sep
    return best


@pytest.mark.parametrize("radius", [1.5, 5.0])
def test_xmatch_equals_brute_force_on_real_alerts_and_random_positions(radius: float) -> None:
    catalog = catalog_frame()
    ra, dec = real_positions()
    rng = np.random.default_rng(11)
    ra = np.concatenate([ra, rng.uniform(0, 360, 100)])
    dec = np.concatenate([dec, np.degrees(np.arcsin(rng.uniform(-1, 1, 100)))])
    out = CrossMatcher(None, radius)(pd.Series(ra), pd.Series(dec))
    expected = [brute_force(r, d, catalog, radius) for r, d in zip(ra, dec, strict=True)]
    assert out["xmatch_name"].tolist() == [e[0] for e in expected]
    assert out["xmatch_type"].tolist() == [e[1] for e in expected]
    got_sep = out["xmatch_sep_arcsec"].to_numpy()
    want_sep = np.array([e[2] for e in expected])
    assert np.array_equal(np.isnan(got_sep), np.isnan(want_sep))
    assert np.allclose(got_sep[~np.isnan(got_sep)], want_sep[~np.isnan(want_sep)], atol=1e-6)
    matched = int((out["xmatch_name"] != NO_MATCH).sum())
    assert matched >= 30  # the planted sources do match (several alerts share an object)
    if radius == 1.5:
        assert got_sep[~np.isnan(got_sep)].max() <= 1.5


def test_only_the_nearest_source_is_returned() -> None:
    catalog = catalog_frame()
    ra, dec = real_positions()
    out = CrossMatcher(None, 1.5)(pd.Series(ra), pd.Series(dec))
    # Haversine separation of every alert to every catalog row (arcsec), as a matrix.
    d1, d2 = np.radians(dec)[:, None], np.radians(catalog["dec"].to_numpy())[None, :]
    dra = np.radians(catalog["ra"].to_numpy())[None, :] - np.radians(ra)[:, None]
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin(dra / 2) ** 2
    sep = np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) * 3600.0
    doubles = np.flatnonzero((sep <= 1.5).sum(axis=1) >= 2)
    assert doubles.size >= 1  # the build script plants a pair of sources around one alert
    for i in doubles:
        j = int(np.argmin(sep[i]))
        assert out["xmatch_name"][i] == catalog["name"][j]
        assert out["xmatch_sep_arcsec"][i] == pytest.approx(sep[i, j], abs=1e-6)


def test_null_positions_wrap_around_and_poles(tmp_path: Path) -> None:
    catalog = pd.DataFrame(
        {
            "ra": [359.99995, 10.0, 123.0],
            "dec": [0.0, 89.99990, -30.0],
            "name": ["wrap", "pole", "south"],
            "type": ["A", "B", "C"],
        }
    )
    path = tmp_path / "cat.parquet"
    catalog.to_parquet(path)
    matcher = CrossMatcher(str(path), 1.0)
    out = matcher(
        pd.Series([0.0001, 190.0, None, math.nan, 123.0, 123.0]),
        pd.Series([0.0, 89.99991, 5.0, 5.0, -30.0 + 2.0 / 3600, -30.0]),
    )
    # 0.00015 deg of RA at the equator = 0.54"; across the pole the 2 points are 0.68" apart.
    assert out["xmatch_name"].tolist() == ["wrap", "pole", NO_MATCH, NO_MATCH, NO_MATCH, "south"]
    assert out["xmatch_type"].tolist() == ["A", "B", NO_MATCH, NO_MATCH, NO_MATCH, "C"]
    assert out["xmatch_sep_arcsec"][0] == pytest.approx(0.54, abs=1e-3)
    assert out["xmatch_sep_arcsec"][1] == pytest.approx(0.684, abs=1e-3)
    assert out["xmatch_sep_arcsec"][5] == pytest.approx(0.0, abs=1e-6)
    assert out["xmatch_sep_arcsec"][2:5].isna().all()


def test_bad_catalogs_and_radius_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"ra": [1.0, None], "dec": [95.0, 0.0], "label": ["x", "y"]}).to_parquet(bad)
    with pytest.raises(ScienceError) as info:
        load_catalog(str(bad))
    assert "'name'" in str(info.value) and "'type'" in str(info.value)
    with pytest.raises(ScienceError, match="cannot read"):
        load_catalog(str(tmp_path / "missing.parquet"))
    with pytest.raises(ScienceError, match="radius"):
        CrossMatcher(None, -1.0)
    invalid = tmp_path / "invalid.parquet"
    pd.DataFrame({"ra": [1.0, 2.0], "dec": [95.0, 0.0], "name": ["x", "y"], "type": ["t", "t"]}).to_parquet(invalid)
    with pytest.raises(ScienceError, match="valid ra/dec"):
        load_catalog(str(invalid))
