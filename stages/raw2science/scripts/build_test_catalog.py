"""Build the small cross-match test catalog shipped with the science modules.

    FINK_DATASIM_DIR=/work/shared/datasim \\
    PYTHONPATH=libs/fink-common/src:stages/raw2science/src \\
    python stages/raw2science/scripts/build_test_catalog.py

Writes `stages/raw2science/src/fink_raw2science/science/data/xmatch_test_catalog.parquet` (columns
ra, dec, name, type), deterministic for a given set of real alerts:

* "near" rows: positions of some real ZTF 4.02 alerts moved by 0.1-1.0 arcsec (they match at the
  default 1.5 arcsec radius), with made-up names `FTC J...` and types;
* one alert gets two sources (0.3 and 1.2 arcsec) so that "nearest only" is exercised;
* "far" rows: alerts moved by 2-4 arcsec (no match at 1.5 arcsec, a match at 5);
* random positions uniform on the sky, for volume.

The names and types are invented: this is a test fixture, not astronomy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd

from fink_common.datasets import sample_files

__all__ = ["build_catalog", "main"]

OUT = Path(__file__).resolve().parents[1] / "src/fink_raw2science/science/data/xmatch_test_catalog.parquet"
TYPES = ("RRLyr", "EB*", "QSO", "SN Ia", "CV*", "YSO", "Galaxy", "Mira", "BLLac", "LPV*")
SEED = 20231018


def _offset(ra: float, dec: float, arcsec: float, angle: float) -> tuple[float, float]:
    """Move (ra, dec) by `arcsec` along position angle `angle` (radians), on the sphere."""
    d = np.radians(arcsec / 3600.0)
    ra0, dec0 = np.radians(ra), np.radians(dec)
    dec1 = np.arcsin(np.sin(dec0) * np.cos(d) + np.cos(dec0) * np.sin(d) * np.cos(angle))
    ra1 = ra0 + np.arctan2(np.sin(angle) * np.sin(d) * np.cos(dec0), np.cos(d) - np.sin(dec0) * np.sin(dec1))
    return float(np.degrees(ra1) % 360.0), float(np.degrees(dec1))


def _name(ra: float, dec: float) -> str:
    return f"FTC J{ra:09.5f}{dec:+09.5f}"


def build_catalog(n_near: int = 30, n_far: int = 6, n_random: int = 360) -> pd.DataFrame:
    """The catalog as a DataFrame (see the module docstring)."""
    rng = np.random.default_rng(SEED)
    positions: dict[str, tuple[float, float]] = {}
    for path in sample_files("ztf_4.02"):
        with path.open("rb") as fh:
            for record in fastavro.reader(fh):
                cand = record["candidate"]
                positions.setdefault(record["objectId"], (cand["ra"], cand["dec"]))
    objects = sorted(positions)
    picked = [objects[i] for i in np.linspace(0, len(objects) - 1, n_near + n_far).astype(int)]
    rows: list[dict[str, object]] = []

    def add(ra: float, dec: float, kind: str) -> None:
        rows.append({"ra": ra, "dec": dec, "name": _name(ra, dec), "type": kind})

    for i, oid in enumerate(picked):
        ra, dec = positions[oid]
        near = i < n_near
        sep = rng.uniform(0.1, 1.0) if near else rng.uniform(2.0, 4.0)
        add(*_offset(ra, dec, sep, rng.uniform(0, 2 * np.pi)), TYPES[i % len(TYPES)])
        if i == 0:  # a second, further source around the same alert: only the nearest may be returned
            add(*_offset(ra, dec, 1.2, rng.uniform(0, 2 * np.pi)), "Unrelated*")
    ra = rng.uniform(0.0, 360.0, n_random)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n_random)))
    for r, d, t in zip(ra, dec, rng.choice(TYPES, n_random), strict=True):
        add(float(r), float(d), str(t))
    return pd.DataFrame(rows, columns=["ra", "dec", "name", "type"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    catalog = build_catalog()
    catalog.to_parquet(args.out, index=False)
    print(f"wrote {len(catalog)} rows to {args.out}")


if __name__ == "__main__":
    main()
