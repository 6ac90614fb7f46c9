"""Cross-match of alert positions against a local catalog file (no network).

The catalog is a parquet file with columns `ra`, `dec` (degrees, ICRS), `name`, `type`. Its positions
become unit vectors in a scipy KD-tree; an alert matches the *nearest* catalog row whose angular
distance is within `radius_arcsec` (the 3-D chord `2 sin(r/2)` bounds the tree query, then the exact
angle is computed from the two vectors). The tree is built once per (file, process) and cached.

Outputs: `xmatch_name` and `xmatch_type` (strings, `NO_MATCH` = "Unknown" when nothing is within the
radius or the alert position is null/NaN) and `xmatch_sep_arcsec` (double, null when no match).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from fink_raw2science.science.errors import ScienceError
from fink_raw2science.science.module import FAILED_LABEL, OutputField, ScienceModule

__all__ = [
    "CATALOG_COLUMNS",
    "DEFAULT_CATALOG",
    "DEFAULT_RADIUS_ARCSEC",
    "NO_MATCH",
    "Catalog",
    "CrossMatcher",
    "load_catalog",
    "unit_vectors",
]

CATALOG_COLUMNS: tuple[str, ...] = ("ra", "dec", "name", "type")
#: Packaged test catalog (a few hundred rows), relative to this package.
DEFAULT_CATALOG = "data/xmatch_test_catalog.parquet"
#: Default match radius (Fink uses 1.5 arcsec for its local catalogs).
DEFAULT_RADIUS_ARCSEC = 1.5
NO_MATCH = "Unknown"
_ARCSEC_PER_RAD = 180.0 / np.pi * 3600.0


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors of positions in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    cos_dec = np.cos(dec)
    return np.column_stack((cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)))


@dataclass(frozen=True)
class Catalog:
    """A loaded catalog: names, types, unit vectors and the KD-tree over them."""

    source: str
    names: np.ndarray
    types: np.ndarray
    vectors: np.ndarray
    tree: cKDTree

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str) -> Catalog:
        problems = [f"missing column {c!r}" for c in CATALOG_COLUMNS if c not in frame.columns]
        if not problems:
            ra = pd.to_numeric(frame["ra"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            dec = pd.to_numeric(frame["dec"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            bad = ~(np.isfinite(ra) & np.isfinite(dec)) | (np.abs(dec) > 90)
            if bad.any():
                problems.append(f"{int(bad.sum())} row(s) without a valid ra/dec (first at row {int(np.argmax(bad))})")
        if problems:
            raise ScienceError(problems, what=f"cross-match catalog {source}")
        vectors = unit_vectors(ra, dec)
        return cls(
            source=source,
            names=frame["name"].astype(str).to_numpy(dtype=object),
            types=frame["type"].astype(str).to_numpy(dtype=object),
            vectors=vectors,
            tree=cKDTree(vectors),
        )

    def __len__(self) -> int:
        return int(self.names.size)


@lru_cache(maxsize=8)
def load_catalog(path: str | None = None) -> Catalog:
    """The catalog at `path`, or the packaged test catalog when None (cached per path)."""
    where = path or f"fink_raw2science.science/{DEFAULT_CATALOG}"
    try:
        if path is None:
            with resources.as_file(resources.files("fink_raw2science.science").joinpath(DEFAULT_CATALOG)) as file:
                frame = pd.read_parquet(file)
        else:
            frame = pd.read_parquet(Path(path))
    except (OSError, ValueError) as exc:
        raise ScienceError(f"cannot read the cross-match catalog {where}: {type(exc).__name__}: {exc}") from exc
    return Catalog.from_frame(frame, where)


class CrossMatcher:
    """The module function: `(ra, dec) -> xmatch_name, xmatch_type, xmatch_sep_arcsec`."""

    def __init__(self, catalog_path: str | None = None, radius_arcsec: float = DEFAULT_RADIUS_ARCSEC) -> None:
        if not (np.isfinite(radius_arcsec) and 0 < radius_arcsec <= 3600 * 180):
            raise ScienceError(f"cross-match radius must be a positive number of arcsec, got {radius_arcsec!r}")
        self.catalog_path = catalog_path
        self.radius_arcsec = float(radius_arcsec)

    @property
    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_path)

    def __call__(self, ra: pd.Series, dec: pd.Series) -> pd.DataFrame:
        catalog = self.catalog
        ra_v = pd.to_numeric(ra, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        dec_v = pd.to_numeric(dec, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        n = ra_v.size
        names = np.full(n, NO_MATCH, dtype=object)
        types = np.full(n, NO_MATCH, dtype=object)
        seps = np.full(n, np.nan)
        valid = np.isfinite(ra_v) & np.isfinite(dec_v) & (np.abs(dec_v) <= 90)
        if valid.any() and len(catalog):
            vectors = unit_vectors(ra_v[valid], dec_v[valid])
            radius_rad = self.radius_arcsec / _ARCSEC_PER_RAD
            # Chord bound with a little slack; the exact angle below decides.
            bound = 2.0 * np.sin(min(radius_rad, np.pi) / 2.0) * (1 + 1e-9) + 1e-15
            _, idx = catalog.tree.query(vectors, k=1, distance_upper_bound=bound)
            found = idx < len(catalog)
            rows = np.flatnonzero(valid)[found]
            hit = idx[found]
            cross = np.linalg.norm(np.cross(vectors[found], catalog.vectors[hit]), axis=1)
            dot = np.einsum("ij,ij->i", vectors[found], catalog.vectors[hit])
            sep = np.arctan2(cross, dot) * _ARCSEC_PER_RAD
            inside = sep <= self.radius_arcsec
            rows, hit, sep = rows[inside], hit[inside], sep[inside]
            names[rows] = catalog.names[hit]
            types[rows] = catalog.types[hit]
            seps[rows] = sep
        return pd.DataFrame({"xmatch_name": names, "xmatch_type": types, "xmatch_sep_arcsec": seps})


def xmatch_module(
    catalog: str | None = None,
    radius_arcsec: float = DEFAULT_RADIUS_ARCSEC,
    *,
    position: tuple[str, str] = ("candidate.ra", "candidate.dec"),
    surveys: tuple[str, ...] = ("ztf",),
) -> ScienceModule:
    """The `xmatch` science module: the nearest source of the local catalog within the radius."""
    matcher = CrossMatcher(catalog, radius_arcsec)
    matcher.catalog  # noqa: B018  (load now: a bad catalog is a configuration error, not a batch failure)
    return ScienceModule(
        name="xmatch",
        surveys=surveys,
        inputs=position,
        fields=(
            OutputField("xmatch_name", "string", FAILED_LABEL),
            OutputField("xmatch_type", "string", FAILED_LABEL),
            OutputField("xmatch_sep_arcsec", "double", math.nan),
        ),
        function=matcher,
        version="1.0.0",
        description=f"nearest local catalog source within {radius_arcsec} arcsec",
    )
