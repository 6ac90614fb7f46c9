"""Synthetic image cutouts: 63x63 float32 FITS images, gzipped as ZTF ships them (about 13 kB each).

Making and compressing an image costs about a millisecond, far too slow for one per alert at 100k alerts per
minute, so the generator builds a deterministic pool of image triplets per seed (`CutoutPool`) and draws from it.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import numpy as np

__all__ = ["CUTOUT_SIZE", "KINDS", "CutoutPool", "fits_bytes", "gzip_fits", "render_triplet"]

#: Side of a ZTF cutout, in pixels.
CUTOUT_SIZE = 63
#: What is at the centre of the cutouts, per population.
KINDS = ("transient", "variable", "asteroid", "bogus")

_BLOCK = 2880
_CARD = 80


def _card(key: str, value: bool | int | float | str, comment: str = "") -> bytes:
    """One 80-character FITS header card (fixed format)."""
    if isinstance(value, bool):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int):
        text = f"{value:>20d}"
    elif isinstance(value, float):
        text = f"{value:>20.10G}"
    else:
        text = f"'{value:<8}'"
    card = f"{key:<8}= {text}"
    if comment:
        card = f"{card} / {comment}"
    return card[:_CARD].ljust(_CARD).encode("ascii")


def fits_bytes(image: np.ndarray, extra: dict[str, str | float | int] | None = None) -> bytes:
    """A minimal single-HDU FITS file holding `image` as big-endian float32 (BITPIX -32)."""
    data = np.ascontiguousarray(image, dtype=">f4")
    ny, nx = data.shape
    cards = [
        _card("SIMPLE", True, "conforms to FITS standard"),
        _card("BITPIX", -32, "array data type"),
        _card("NAXIS", 2, "number of array dimensions"),
        _card("NAXIS1", nx),
        _card("NAXIS2", ny),
    ]
    for key, value in (extra or {}).items():
        cards.append(_card(key, value))
    cards.append(b"END".ljust(_CARD))
    header = b"".join(cards)
    header += b" " * (-len(header) % _BLOCK)
    raw = data.tobytes()
    return header + raw + b"\0" * (-len(raw) % _BLOCK)


def gzip_fits(image: np.ndarray, extra: dict[str, str | float | int] | None = None) -> bytes:
    """Gzipped FITS bytes; the gzip header has no time stamp, so equal images give equal bytes."""
    return gzip.compress(fits_bytes(image, extra), compresslevel=6, mtime=0)


def _psf(size: int, x0: float, y0: float, fwhm: float) -> np.ndarray:
    """A unit-peak circular Gaussian centred at (x0, y0)."""
    sigma = fwhm / 2.3548
    yy, xx = np.mgrid[0:size, 0:size]
    return np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2))


def render_triplet(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Science, template and difference images for one kind of source (noise plus sources near the centre)."""
    n = CUTOUT_SIZE
    c = (n - 1) / 2.0
    fwhm = float(rng.uniform(1.6, 3.2))
    sky = float(rng.uniform(80.0, 400.0))
    noise_sci = np.sqrt(sky) * float(rng.uniform(1.0, 1.6))
    amp = float(rng.uniform(40.0, 2000.0))
    psf = _psf(n, c + rng.normal(0, 0.3), c + rng.normal(0, 0.3), fwhm)
    static = np.zeros((n, n))
    transient = amp * psf
    # A few unrelated field stars make the stamps look like sky.
    for _ in range(int(rng.integers(0, 4))):
        x, y = rng.uniform(0, n, 2)
        static += float(rng.uniform(50, 3000)) * _psf(n, float(x), float(y), fwhm)
    if kind == "transient":
        dx, dy = rng.normal(0, 2.5, 2)
        host_width = float(rng.uniform(4.0, 10.0))
        static += float(rng.uniform(30, 300)) * _psf(n, c + dx, c + dy, host_width)
    elif kind == "variable":
        static += float(rng.uniform(500, 20000)) * psf
        transient *= float(rng.choice([-1.0, 1.0]))
    elif kind == "bogus":
        transient = np.zeros((n, n))
        row = int(rng.integers(n // 3, 2 * n // 3))
        if rng.random() < 0.5:  # bad column
            transient[:, row] = float(rng.uniform(200, 3000))
        else:  # dipole from a bad subtraction
            transient = amp * (psf - _psf(n, c + 1.5, c + 0.5, fwhm))
    science = sky + static + np.clip(transient, 0, None) + rng.normal(0, noise_sci, (n, n))
    template = 0.9 * sky + static + rng.normal(0, noise_sci / 3.0, (n, n))
    difference = transient + rng.normal(0, noise_sci * 1.05, (n, n))
    return science, template, difference


@dataclass(frozen=True)
class CutoutPool:
    """Gzipped FITS triplets (science, template, difference), `variants` per kind, drawn deterministically."""

    triplets: dict[str, tuple[tuple[bytes, bytes, bytes], ...]]

    @classmethod
    def build(cls, seed: int, variants: int = 16) -> CutoutPool:
        rng = np.random.default_rng([seed, 0x0C07])
        triplets: dict[str, tuple[tuple[bytes, bytes, bytes], ...]] = {}
        for kind in KINDS:
            made = []
            for _ in range(variants):
                sci, tmpl, diff = render_triplet(kind, rng)
                made.append(
                    (
                        gzip_fits(sci, {"ORIGIN": "fink-datasim", "IMAGETYP": "science"}),
                        gzip_fits(tmpl, {"ORIGIN": "fink-datasim", "IMAGETYP": "template"}),
                        gzip_fits(diff, {"ORIGIN": "fink-datasim", "IMAGETYP": "difference"}),
                    )
                )
            triplets[kind] = tuple(made)
        return cls(triplets)

    def pick(self, kind: str, index: int) -> tuple[bytes, bytes, bytes]:
        """Triplet number `index` (modulo the pool size) of `kind`."""
        choices = self.triplets[kind]
        return choices[index % len(choices)]
