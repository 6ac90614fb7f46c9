"""PNG pictures of alerts: light curves and image cutouts.

Every function here is pure: it takes alert data and returns PNG bytes (or an array). Drawing uses
`matplotlib.figure.Figure` with the Agg canvas directly, never `pyplot`, so there is no global figure
state and the functions can be called from several web-server threads at once. FITS cutouts are read
with astropy.

A light-curve point is a mapping with keys `jd`, `fid` (ZTF: 1 = g, 2 = r, 3 = i) or `band` (LSST: u, g, r, i,
z, y), `magpsf`, `sigmapsf`, `diffmaglim` and `kind` (`"alert"`, `"detection"` for a detection from an alert's
history, `"forced"` for forced photometry (LSST), `"upper"` for a non-detection whose `diffmaglim` is the
5-sigma limiting magnitude); other keys (`candid`, `isdiffpos`, fluxes) are ignored.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.visualization import ZScaleInterval
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator

__all__ = [
    "BANDS",
    "CUTOUT_KEYS",
    "MJD_OFFSET",
    "LSST_BANDS",
    "LightcurveSummary",
    "cutout_image",
    "cutout_png",
    "cutouts_figure",
    "cutouts_png",
    "draw_lightcurve",
    "lightcurve_figure",
    "lightcurve_png",
]

#: MJD = JD - MJD_OFFSET.
MJD_OFFSET = 2400000.5
#: ZTF filter id -> (band name, colour).
BANDS: dict[int, tuple[str, str]] = {1: ("g", "#1b9e3a"), 2: ("r", "#d62728"), 3: ("i", "#8c4a0b")}
#: LSST band -> (its key in a `LightcurveSummary`, colour); keys above ZTF's filter ids.
LSST_BANDS: dict[str, tuple[int, str]] = {
    "u": (11, "#56b4e9"), "g": (12, "#009e73"), "r": (13, "#e69f00"),
    "i": (14, "#d55e00"), "z": (15, "#cc79a7"), "y": (16, "#000000"),
}  # fmt: skip
_LSST_KEYS = {key: (band, colour) for band, (key, colour) in LSST_BANDS.items()}
#: Alert cutout fields, in display order, with their panel titles.
CUTOUT_KEYS: dict[str, str] = {
    "cutoutScience": "Science",
    "cutoutTemplate": "Template",
    "cutoutDifference": "Difference",
}

_DPI = 100
_LIGHTCURVE_SIZE = (8.0, 4.5)
_CUTOUTS_SIZE = (9.0, 3.4)
_CUTOUT_SIZE = (3.4, 3.6)
_OTHER_COLOUR = "#555555"
_UPPER_ALPHA = 0.45
_GZIP_MAGIC = b"\x1f\x8b"
_FITS_MAGIC = b"SIMPLE"
# A downward arrow whose tail is at the marker origin: the limit sits at the top of the shaft and the
# head points to fainter magnitudes (down on screen, as the magnitude axis is inverted).
_ARROW = MarkerStyle(
    Path(
        [(0.0, 0.0), (0.0, -0.55), (-0.38, -0.55), (0.38, -0.55), (0.0, -1.0), (0.0, 0.0)],
        [Path.MOVETO, Path.LINETO, Path.MOVETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY],
    )
)
_CUTOUT_CMAP = colormaps["gray"].with_extremes(bad="#2a3550")


@dataclass
class LightcurveSummary:
    """What `draw_lightcurve` drew, per ZTF filter id (LSST bands: their `LSST_BANDS` key)."""

    alerts: dict[int, int] = field(default_factory=dict)
    detections: dict[int, int] = field(default_factory=dict)
    forced: dict[int, int] = field(default_factory=dict)
    upper_limits: dict[int, int] = field(default_factory=dict)
    errorbars: dict[int, int] = field(default_factory=dict)
    skipped: int = 0
    artists: list[Artist] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of points drawn."""
        drawn = (self.alerts, self.detections, self.forced, self.upper_limits)
        return sum(sum(kind.values()) for kind in drawn)


def _number(value: Any) -> float | None:
    """A finite float, or None for None / NaN / inf / non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _band(fid: Any) -> tuple[str, str]:
    try:
        key = int(fid)
    except (TypeError, ValueError):
        return (f"fid {fid}", _OTHER_COLOUR)
    return BANDS.get(key) or _LSST_KEYS.get(key) or (f"fid {key}", _OTHER_COLOUR)


def _fid_key(fid: Any, band: Any = None) -> int:
    if fid is None and isinstance(band, str) and band in LSST_BANDS:
        return LSST_BANDS[band][0]
    try:
        return int(fid)
    except (TypeError, ValueError):
        return -1


def draw_lightcurve(ax: Axes, points: Sequence[Mapping[str, Any]]) -> LightcurveSummary:
    """Draw a light curve on `ax` (magnitude vs MJD, inverted magnitude axis) and say what was drawn.

    Alert detections are filled circles, history detections open circles, both with `sigmapsf` error
    bars when known; upper limits are semi-transparent downward arrows at `diffmaglim`. Points without a
    usable time or magnitude are skipped. Artists carry a `gid` such as ``"upper:1"`` or ``"errorbar:2"``.
    """
    summary = LightcurveSummary()
    # fid -> kind -> (mjd, mag, sigma) lists
    groups: dict[int, dict[str, list[tuple[float, float, float | None]]]] = {}
    for point in points:
        jd = _number(point.get("jd"))
        mag = _number(point.get("magpsf"))
        limit = _number(point.get("diffmaglim"))
        kind = point.get("kind")
        if jd is None:
            summary.skipped += 1
            continue
        if kind == "upper" or mag is None:
            if limit is None:
                summary.skipped += 1
                continue
            kind, mag, sigma = "upper", limit, None
        else:
            kind = kind if kind in ("alert", "forced") else "detection"
            sigma = _number(point.get("sigmapsf"))
        fid = _fid_key(point.get("fid"), point.get("band"))
        groups.setdefault(fid, {}).setdefault(kind, []).append((jd - MJD_OFFSET, mag, sigma))

    for fid in sorted(groups):
        name, colour = _band(fid)
        for kind, rows in groups[fid].items():
            x = np.array([row[0] for row in rows])
            y = np.array([row[1] for row in rows])
            if kind == "upper":
                (line,) = ax.plot(
                    x, y, linestyle="none", marker=_ARROW, markersize=20, markeredgewidth=1.4,
                    color=colour, markerfacecolor=colour, alpha=_UPPER_ALPHA, zorder=2,
                )  # fmt: skip
                line.set_gid(f"upper:{fid}")
                summary.upper_limits[fid] = len(rows)
                summary.artists.append(line)
                continue
            with_sigma = [row for row in rows if row[2] is not None and row[2] > 0]
            if with_sigma:
                bars = ax.errorbar(
                    [row[0] for row in with_sigma], [row[1] for row in with_sigma],
                    yerr=np.array([row[2] for row in with_sigma], dtype=np.float64), fmt="none", ecolor=colour, elinewidth=1.0,
                    capsize=0, alpha=0.8, zorder=3,
                )  # fmt: skip
                for collection in bars.lines[2]:
                    collection.set_gid(f"errorbar:{fid}")
                    summary.artists.append(collection)
                summary.errorbars[fid] = summary.errorbars.get(fid, 0) + len(with_sigma)
            alert = kind == "alert"
            (line,) = ax.plot(
                x, y, linestyle="none", marker="s" if kind == "forced" else "o", markersize=7 if alert else 5.5,
                markerfacecolor=colour if alert else "white", markeredgecolor="black" if alert else colour,
                markeredgewidth=1.0 if alert else 1.3, zorder=5 if alert else 4,
            )  # fmt: skip
            line.set_gid(f"{kind}:{fid}")
            {"alert": summary.alerts, "forced": summary.forced}.get(kind, summary.detections)[fid] = len(rows)
            summary.artists.append(line)

    ax.set_xlabel("Time [MJD = JD \N{MINUS SIGN} 2400000.5]")
    ax.set_ylabel("Magnitude (PSF)")
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.grid(True, alpha=0.3)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    if summary.total:
        ax.margins(x=0.04, y=0.08)
        ax.legend(handles=_legend_handles(summary), loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return summary


def _legend_handles(summary: LightcurveSummary) -> list[Artist]:
    handles: list[Artist] = []
    fids = sorted(set(summary.alerts) | set(summary.detections) | set(summary.forced) | set(summary.upper_limits))
    for fid in fids:
        name, colour = _band(fid)
        label = f"ZTF {name}" if fid in BANDS else f"LSST {name}" if fid in _LSST_KEYS else name
        handles.append(Line2D([], [], linestyle="none", marker="s", markersize=8, color=colour, label=label))
    grey = _OTHER_COLOUR
    if summary.alerts:
        handles.append(
            Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=grey,
                   markeredgecolor="black", label="alert")
        )  # fmt: skip
    if summary.detections:
        handles.append(
            Line2D([], [], linestyle="none", marker="o", markersize=5.5, markerfacecolor="white",
                   markeredgecolor=grey, markeredgewidth=1.3, label="history")
        )  # fmt: skip
    if summary.forced:
        handles.append(
            Line2D([], [], linestyle="none", marker="s", markersize=5.5, markerfacecolor="white",
                   markeredgecolor=grey, markeredgewidth=1.3, label="forced photometry")
        )  # fmt: skip
    if summary.upper_limits:
        handles.append(
            Line2D([], [], linestyle="none", marker=_ARROW, markersize=18, color=grey, alpha=_UPPER_ALPHA,
                   label="upper limit")
        )  # fmt: skip
    return handles


def _new_figure(size: tuple[float, float]) -> Figure:
    figure = Figure(figsize=size, dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def lightcurve_figure(points: Sequence[Mapping[str, Any]], *, title: str = "") -> Figure:
    """A ~8x4.5 inch Figure of the light curve of `points` (see `draw_lightcurve`); says "no data" if empty."""
    figure = _new_figure(_LIGHTCURVE_SIZE)
    ax = figure.add_subplot()
    summary = draw_lightcurve(ax, points)
    if not summary.total:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", fontsize=16, color="grey")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    figure.tight_layout()
    return figure


def lightcurve_png(points: Sequence[Mapping[str, Any]], *, title: str = "") -> bytes:
    """PNG bytes (800x450 pixels) of the light curve of `points`; `title` is e.g. the objectId."""
    return _png(lightcurve_figure(points, title=title))


def cutout_image(fits_bytes: bytes) -> np.ndarray:
    """The 2-D float64 image of a (gzipped or plain) FITS cutout; ValueError if the bytes are not FITS."""
    raw = bytes(fits_bytes)
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"cutout is not valid gzip: {exc}") from exc
    if not raw.startswith(_FITS_MAGIC):
        raise ValueError(f"cutout is not a FITS file (starts with {raw[:16]!r})")
    try:
        with fits.open(io.BytesIO(raw), memmap=False) as hdus:
            for hdu in hdus:
                data = hdu.data
                if data is None or not isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU):
                    continue
                image = np.squeeze(np.asarray(data, dtype=np.float64))
                if image.ndim == 2:
                    return image.copy()
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"cutout FITS could not be read: {exc}") from exc
    raise ValueError("cutout FITS has no 2-D image HDU")


def _limits(image: np.ndarray) -> tuple[float, float]:
    """Display limits: zscale, else 1-99.5 percentiles, of the finite pixels."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return (0.0, 1.0)
    try:
        low, high = ZScaleInterval().get_limits(finite)
    except Exception:  # zscale can fail on odd data: fall back to percentiles
        low, high = math.nan, math.nan
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        low, high = (float(v) for v in np.percentile(finite, [1.0, 99.5]))
    if not high > low:
        low, high = float(finite.min()), float(finite.min()) + 1.0
    return (float(low), float(high))


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=13, color="grey")


def _draw_cutout(ax: Axes, image: np.ndarray | None, label: str, problem: str = "missing") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if label:
        ax.set_title(label)
    if image is None:
        ax.set_aspect("equal")
        _message(ax, problem)
        return
    low, high = _limits(image)
    ax.imshow(
        np.ma.masked_invalid(image), cmap=_CUTOUT_CMAP, origin="lower", vmin=low, vmax=high,
        interpolation="nearest",
    )  # fmt: skip


def cutouts_figure(cutouts: Mapping[str, bytes | None], *, title: str = "") -> Figure:
    """A 9x3.4 inch Figure of the science, template and difference cutouts side by side.

    A missing (None or absent) cutout shows "missing", one that cannot be decoded shows "unreadable".
    """
    figure = _new_figure(_CUTOUTS_SIZE)
    axes = figure.subplots(1, len(CUTOUT_KEYS))
    for ax, (key, label) in zip(axes, CUTOUT_KEYS.items(), strict=True):
        data = cutouts.get(key)
        if data is None:
            _draw_cutout(ax, None, label)
            continue
        try:
            image = cutout_image(data)
        except ValueError:
            _draw_cutout(ax, None, label, problem="unreadable")
            continue
        _draw_cutout(ax, image, label)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def cutouts_png(cutouts: Mapping[str, bytes | None], *, title: str = "") -> bytes:
    """PNG bytes (900x340 pixels) of the three cutouts side by side (see `cutouts_figure`)."""
    return _png(cutouts_figure(cutouts, title=title))


def cutout_png(fits_bytes: bytes, *, label: str = "") -> bytes:
    """PNG bytes (340x360 pixels) of one cutout; ValueError if the bytes are not FITS."""
    image = cutout_image(fits_bytes)
    figure = _new_figure(_CUTOUT_SIZE)
    ax = figure.add_subplot()
    _draw_cutout(ax, image, label)
    figure.tight_layout()
    return _png(figure)
