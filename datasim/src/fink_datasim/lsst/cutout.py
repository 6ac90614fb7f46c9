"""Rubin cutouts: uncompressed multi-HDU FITS of 34,560 bytes, written by astropy as Rubin ships them.

Each stamp holds the 30x30 float32 image (nJy, with a TAN WCS), `UNCERT` (its 30x30 float32 variance) and
`PSFIMAGE` (the 41x41 float64 PSF, unit sum). Writing three FITS files with astropy costs milliseconds, too slow
for one set per alert, so `StampPool` writes a deterministic pool per seed once; each alert then gets a copy
whose WCS reference value (CRVAL1/2) and cutout origin (CUTMINX/Y) are its own, by rewriting those fixed-format
80-character header cards in place (the file size and every other byte stay what astropy wrote).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

__all__ = ["PSF_SIZE", "STAMP_KINDS", "STAMP_SIZE", "StampPool", "render_stamps"]

STAMP_SIZE = 30
PSF_SIZE = 41
#: What the stamps show: a static variable source, a negative difference, a moving object, a long trail.
STAMP_KINDS = ("static", "negative", "sso", "trail")

_CARD = 80
_PIXEL_DEG = 0.2 / 3600.0
_PATCHED = ("CUTMINX", "CUTMINY", "CRVAL1", "CRVAL2")


def _gauss(size: int, x0: float, y0: float, sigma: float, elong: float = 1.0, angle: float = 0.0) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    dx, dy = xx - x0, yy - y0
    c, s = np.cos(angle), np.sin(angle)
    u, v = (c * dx + s * dy) / elong, -s * dx + c * dy
    return np.exp(-(u**2 + v**2) / (2.0 * sigma**2))


def _hdus(image: np.ndarray, variance: np.ndarray, psf: np.ndarray, rot: float) -> bytes:
    primary = fits.PrimaryHDU(image.astype(np.float32))
    header = primary.header
    header["EXTEND"] = True
    header["CUTMINX"] = 0
    header["CUTMINY"] = 0
    header["ROTPA"] = (rot, "Pos angle in deg of focal plane +Y wrt North")
    header["BUNIT"] = "nJy"
    header["WCSAXES"] = (2, "Number of coordinate axes")
    c = (STAMP_SIZE + 1) / 2.0
    header["CRPIX1"] = (c, "Pixel coordinate of reference point")
    header["CRPIX2"] = (c, "Pixel coordinate of reference point")
    cos_r, sin_r = np.cos(np.radians(rot)), np.sin(np.radians(rot))
    for key, value in (("PC1_1", -cos_r), ("PC1_2", sin_r), ("PC2_1", sin_r), ("PC2_2", cos_r)):
        header[key] = (float(value) * _PIXEL_DEG, "Coordinate transformation matrix element")
    header["CDELT1"] = (1.0, "Coordinate increment at reference point")
    header["CDELT2"] = (1.0, "Coordinate increment at reference point")
    header["CTYPE1"] = ("RA---TAN", "Right ascension, gnomonic projection")
    header["CTYPE2"] = ("DEC--TAN", "Declination, gnomonic projection")
    header["CRVAL1"] = (0.0, "Coordinate value at reference point")
    header["CRVAL2"] = (0.0, "Coordinate value at reference point")
    header["LATPOLE"] = (90.0, "[deg] Native latitude of celestial pole")
    header["MJDREF"] = (0.0, "[d] MJD of fiducial time")
    uncert = fits.ImageHDU(variance.astype(np.float32), name="UNCERT")
    uncert.header["UTYPE"] = "VarianceUncertainty"
    out = io.BytesIO()
    fits.HDUList([primary, uncert, fits.ImageHDU(psf.astype(np.float64), name="PSFIMAGE")]).writeto(out)
    return out.getvalue()


def render_stamps(kind: str, rng: np.random.Generator) -> tuple[bytes, bytes, bytes]:
    """(difference, science, template) FITS bytes of one kind of source, noise drawn from `rng`."""
    n = STAMP_SIZE
    c = (n - 1) / 2.0
    sigma = float(rng.uniform(1.4, 2.6))  # PSF width in pixels (seeing 0.65-1.2")
    psf = _gauss(PSF_SIZE, (PSF_SIZE - 1) / 2.0, (PSF_SIZE - 1) / 2.0, sigma)
    psf /= psf.sum()
    noise = float(rng.uniform(35.0, 60.0))  # per-pixel sigma, nJy
    amp = float(rng.uniform(150.0, 3000.0))
    rot = float(rng.uniform(0.0, 360.0))
    source = _gauss(n, c + rng.normal(0, 0.4), c + rng.normal(0, 0.4), sigma)
    static = float(rng.uniform(0.0, 400.0)) * _gauss(n, c + rng.normal(0, 2), c + rng.normal(0, 2), 4 * sigma)
    for _ in range(int(rng.integers(0, 3))):  # unrelated field stars
        x, y = rng.uniform(0, n, 2)
        static += float(rng.uniform(200, 20000)) * _gauss(n, float(x), float(y), sigma)
    if kind == "negative":
        diff_source, template_source = -amp * source, static + 1.5 * amp * source
    elif kind == "sso":
        diff_source, template_source = amp * source, static
    elif kind == "trail":
        elong = float(rng.uniform(4.0, 8.0))
        trail = _gauss(n, c, c, sigma, elong=elong, angle=float(rng.uniform(0, np.pi)))
        diff_source, template_source = amp * trail / elong, static
    else:
        diff_source, template_source = amp * source, static + float(rng.uniform(0.5, 5.0)) * amp * source
    template = template_source + rng.normal(0, noise / 4.0, (n, n))
    science = template_source + diff_source + rng.normal(0, noise, (n, n))
    difference = diff_source + rng.normal(0, noise * 1.05, (n, n))
    variance = noise**2 + np.clip(science, 0, None) * 0.05
    return (
        _hdus(difference, variance * 1.1, psf, rot),
        _hdus(science, variance, psf, rot),
        _hdus(template, variance / 16.0, psf, rot),
    )


def _card_offsets(data: bytes) -> dict[str, int]:
    """Byte offset of each card to patch, in the primary header (the first 2880-byte block)."""
    offsets = {}
    for start in range(0, 2880, _CARD):
        key = data[start : start + 8].decode("ascii").strip()
        if key in _PATCHED:
            offsets[key] = start
    return offsets


def _card(key: str, value: int | float, old: bytes) -> bytes:
    """A fixed-format card with a new value, the old card's comment kept (value in columns 11-30)."""
    text = f"{value:>20d}" if isinstance(value, int) else f"{value:>20.13G}"
    return (f"{key:<8}= {text}".encode("ascii") + old[30:])[:_CARD]


@dataclass(frozen=True)
class StampPool:
    """`variants` triplets of cutouts per kind, written once per seed; `stamps()` gives one alert its own copy."""

    triplets: dict[str, tuple[tuple[bytes, bytes, bytes], ...]]
    offsets: dict[str, int]

    @classmethod
    def build(cls, seed: int, variants: int = 12) -> StampPool:
        rng = np.random.default_rng([seed, 0x1557, 0xC07])
        triplets = {kind: tuple(render_stamps(kind, rng) for _ in range(variants)) for kind in STAMP_KINDS}
        offsets = _card_offsets(triplets[STAMP_KINDS[0]][0][0])
        if set(offsets) != set(_PATCHED):
            raise RuntimeError(f"astropy wrote an unexpected cutout header: cards {sorted(offsets)}")
        return cls(triplets, offsets)

    def stamps(self, kind: str, index: int, ra: float, dec: float, x: float, y: float) -> tuple[bytes, bytes, bytes]:
        """(difference, science, template) for a source at (ra, dec), pixel (x, y) of its detector."""
        choices = self.triplets[kind]
        values = {
            "CUTMINX": int(x) - STAMP_SIZE // 2,
            "CUTMINY": int(y) - STAMP_SIZE // 2,
            "CRVAL1": ra,
            "CRVAL2": dec,
        }
        first = choices[index % len(choices)]
        cards = {key: _card(key, value, first[0][self.offsets[key] : self.offsets[key] + _CARD])
                 for key, value in values.items()}  # fmt: skip
        out = []
        for data in first:
            buf = bytearray(data)
            for key, card in cards.items():
                at = self.offsets[key]
                buf[at : at + _CARD] = card
            out.append(bytes(buf))
        return out[0], out[1], out[2]
