"""Tests of fink_api.plots on real ZTF alerts (schema 4.02 sample set)."""

from __future__ import annotations

import gzip
import io
import math
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fastavro
import numpy as np
import pytest
from astropy.io import fits
from astropy.visualization import ZScaleInterval
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import AxesImage, imread

from fink_api.plots import (
    BANDS,
    CUTOUT_KEYS,
    MJD_OFFSET,
    cutout_image,
    cutout_png,
    cutouts_figure,
    cutouts_png,
    draw_lightcurve,
    lightcurve_figure,
    lightcurve_png,
)
from fink_common.datasets import sample_files

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def alert_points(alert: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Light-curve points of one alert: its candidate plus its history."""

    def point(row: Mapping[str, Any], kind: str) -> dict[str, Any]:
        keys = ("jd", "fid", "magpsf", "sigmapsf", "diffmaglim", "candid", "isdiffpos")
        return {**{key: row.get(key) for key in keys}, "kind": kind}

    points = [point(alert["candidate"], "alert")]
    for row in alert["prv_candidates"] or []:
        points.append(point(row, "upper" if row["magpsf"] is None else "detection"))
    return points


def png_pixels(png: bytes) -> np.ndarray:
    assert png[:8] == PNG_SIGNATURE
    return imread(io.BytesIO(png))


def fits_bytes(data: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    fits.PrimaryHDU(data).writeto(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def alerts() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sample_files("ztf_4.02"):
        with path.open("rb") as handle:
            out.extend(fastavro.reader(handle))
    assert len(out) == 300
    return out


@pytest.fixture(scope="module")
def long_alert(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """The alert with the longest history holding g and r detections and upper limits."""

    def usable(alert: dict[str, Any]) -> bool:
        prv = alert["prv_candidates"] or []
        bands = {row["fid"] for row in prv if row["magpsf"] is not None}
        upper_bands = {row["fid"] for row in prv if row["magpsf"] is None}
        return {1, 2} <= bands and {1, 2} <= upper_bands

    alert = max(filter(usable, alerts), key=lambda a: len(a["prv_candidates"]))
    assert len(alert["prv_candidates"]) >= 50
    return alert


# ---------------------------------------------------------------- light curves


def test_lightcurve_png_is_an_800x450_png(long_alert: dict[str, Any]) -> None:
    pixels = png_pixels(lightcurve_png(alert_points(long_alert), title=long_alert["objectId"]))
    assert pixels.shape[:2] == (450, 800)
    assert pixels[..., :3].std() > 0.05  # something was drawn


def test_lightcurve_structure_of_a_real_alert(long_alert: dict[str, Any]) -> None:
    points = alert_points(long_alert)
    figure = lightcurve_figure(points, title=long_alert["objectId"])
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert ax.get_title() == long_alert["objectId"]
    assert "MJD" in ax.get_xlabel()

    bottom, top = ax.get_ylim()
    assert ax.yaxis_inverted() and bottom > top
    lines = {line.get_gid(): line for line in ax.get_lines()}
    bar_counts = Counter(c.get_gid() for c in ax.collections for _ in c.get_segments())

    for fid in (1, 2):
        band = [p for p in points if p["fid"] == fid]
        upper = sorted(p["diffmaglim"] for p in band if p["kind"] == "upper")
        history = [p for p in band if p["kind"] == "detection"]
        assert upper and history
        upper_line = lines[f"upper:{fid}"]
        assert len(upper_line.get_xdata()) == len(upper)
        np.testing.assert_allclose(sorted(upper_line.get_ydata()), upper)
        assert 0 < upper_line.get_alpha() < 1
        assert to_rgb(upper_line.get_color()) == to_rgb(BANDS[fid][1])

        history_line = lines[f"detection:{fid}"]
        np.testing.assert_allclose(
            sorted(history_line.get_xdata()), sorted(p["jd"] - MJD_OFFSET for p in history), rtol=0, atol=1e-6
        )
        with_sigma = [p for p in band if p["kind"] != "upper" and p["sigmapsf"] is not None]
        assert bar_counts[f"errorbar:{fid}"] == len(with_sigma)

    # every y value is within the axis range
    all_mags = [p["magpsf"] if p["kind"] != "upper" else p["diffmaglim"] for p in points]
    assert top < min(all_mags) and max(all_mags) < bottom

    # the alert is filled with its band colour, history detections are open
    alert_fid = long_alert["candidate"]["fid"]
    alert_line = lines[f"alert:{alert_fid}"]
    assert alert_line.get_ydata()[0] == pytest.approx(long_alert["candidate"]["magpsf"])
    assert to_rgb(alert_line.get_markerfacecolor()) == to_rgb(BANDS[alert_fid][1])
    assert to_rgb(lines[f"detection:{alert_fid}"].get_markerfacecolor()) == (1.0, 1.0, 1.0)

    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:2] == ["ZTF g", "ZTF r"]
    assert {"alert", "history", "upper limit"} <= set(labels)


def test_errorbar_half_lengths_are_sigmapsf(long_alert: dict[str, Any]) -> None:
    points = [p for p in alert_points(long_alert) if p["kind"] == "detection" and p["fid"] == 2]
    figure = lightcurve_figure(points)
    (bars,) = (c for c in figure.axes[0].collections if c.get_gid() == "errorbar:2")
    half_lengths = sorted((seg[:, 1].max() - seg[:, 1].min()) / 2 for seg in bars.get_segments())
    np.testing.assert_allclose(half_lengths, sorted(p["sigmapsf"] for p in points), rtol=1e-6)


def test_upper_limit_arrows_point_to_fainter_magnitudes(long_alert: dict[str, Any]) -> None:
    figure = lightcurve_figure(alert_points(long_alert))
    ax = figure.axes[0]
    figure.canvas.draw()
    line = next(line for line in ax.get_lines() if line.get_gid() == "upper:1")
    # the marker path is drawn in screen points, y up: the arrow starts at the limit and its tip is below
    vertices = line.get_marker().vertices
    assert vertices[0].tolist() == [0.0, 0.0]
    assert vertices[:, 1].min() < 0 and vertices[:, 1].max() == 0
    # ...and below on screen is fainter (a larger magnitude)
    x, mag = line.get_xdata()[0], line.get_ydata()[0]
    (_, y_limit), (_, y_fainter) = ax.transData.transform([(x, mag), (x, mag + 0.5)])
    assert y_fainter < y_limit


def test_draw_lightcurve_handles_missing_values() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    points = [
        {"jd": 2460236.1, "fid": 1, "magpsf": 19.0, "sigmapsf": 0.1, "diffmaglim": 20.0, "kind": "alert"},
        {"jd": 2460230.1, "fid": 1, "magpsf": 19.5, "sigmapsf": None, "diffmaglim": 20.1, "kind": "detection"},
        {"jd": 2460231.1, "fid": 1, "magpsf": 19.6, "sigmapsf": math.nan, "diffmaglim": None, "kind": "detection"},
        {"jd": 2460232.1, "fid": 2, "magpsf": None, "sigmapsf": None, "diffmaglim": 20.5, "kind": "upper"},
        {"jd": 2460233.1, "fid": 2, "magpsf": math.nan, "sigmapsf": None, "diffmaglim": 20.7, "kind": "detection"},
        {"jd": 2460234.1, "fid": 2, "magpsf": None, "sigmapsf": None, "diffmaglim": None, "kind": "upper"},
        {"jd": 2460234.1, "fid": 2, "magpsf": math.nan, "sigmapsf": 0.1, "diffmaglim": math.nan, "kind": "alert"},
        {"jd": None, "fid": 2, "magpsf": 19.0, "sigmapsf": 0.1, "diffmaglim": 20.0, "kind": "detection"},
        {"jd": 2460235.1, "fid": 3, "magpsf": 18.0, "sigmapsf": 0.2, "diffmaglim": 19.0, "kind": "detection"},
    ]
    summary = draw_lightcurve(ax, points)
    assert summary.alerts == {1: 1}
    assert summary.detections == {1: 2, 3: 1}
    assert summary.upper_limits == {2: 2}  # a detection without magnitude falls back to its limit
    assert summary.errorbars == {1: 1, 3: 1}  # no bar without a finite sigmapsf
    assert summary.skipped == 3
    assert summary.total == 6
    assert ax.yaxis_inverted()
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[:3] == ["ZTF g", "ZTF r", "ZTF i"]
    colours = {fid: np.array(to_rgb(colour)) for fid, (_, colour) in BANDS.items()}
    assert colours[1].argmax() == 1 and colours[2].argmax() == 0  # g greenish, r reddish
    assert len({tuple(c) for c in colours.values()}) == 3


@pytest.mark.parametrize(
    "points",
    [[], [{"jd": 2460235.1, "fid": 1, "magpsf": None, "sigmapsf": None, "diffmaglim": None, "kind": "upper"}]],
    ids=["empty", "nothing-usable"],
)
def test_lightcurve_without_data_says_no_data(points: list[dict[str, Any]]) -> None:
    figure = lightcurve_figure(points, title="ZTF00aaaaaaa")
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["no data"]
    assert figure.axes[0].get_legend() is None
    assert png_pixels(lightcurve_png(points)).shape[:2] == (450, 800)


def test_rendering_is_thread_safe(alerts: list[dict[str, Any]]) -> None:
    chosen = alerts[:6]
    expected = [lightcurve_png(alert_points(a), title=a["objectId"]) for a in chosen]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda a: lightcurve_png(alert_points(a), title=a["objectId"]), chosen * 2))
    assert got == expected * 2


# ---------------------------------------------------------------- cutouts


def test_cutout_image_matches_astropy(long_alert: dict[str, Any]) -> None:
    for key in CUTOUT_KEYS:
        stamp = long_alert[key]["stampData"]
        assert stamp[:2] == b"\x1f\x8b"
        image = cutout_image(stamp)
        with fits.open(io.BytesIO(gzip.decompress(stamp))) as hdus:
            expected = hdus[0].data.astype(np.float64)
        assert image.shape == (63, 63)
        assert image.dtype == np.float64
        assert np.isfinite(image).all()
        np.testing.assert_array_equal(image, expected)
        # the same FITS, not gzipped
        np.testing.assert_array_equal(cutout_image(gzip.decompress(stamp)), expected)


def test_cutout_shapes_and_nans_across_the_sample(alerts: list[dict[str, Any]]) -> None:
    shapes: Counter[tuple[int, ...]] = Counter()
    with_nan = 0
    for alert in alerts:
        for key in CUTOUT_KEYS:
            image = cutout_image(alert[key]["stampData"])
            shapes[image.shape] += 1
            with_nan += not np.isfinite(image).all()
    assert shapes[(63, 63)] > 0.9 * sum(shapes.values())
    assert all(image_shape[0] <= 63 and image_shape[1] <= 63 for image_shape in shapes)
    assert with_nan > 0  # cutouts at chip edges hold NaNs, kept as NaN


@pytest.mark.parametrize(
    "data",
    [b"", b"not a fits file at all", gzip.compress(b"hello, not FITS"), b"\x1f\x8b\x08\x00truncated", b"SIMPLE  = T"],
    ids=["empty", "text", "gzipped-text", "broken-gzip", "truncated-fits"],
)
def test_cutout_image_rejects_non_fits(data: bytes) -> None:
    with pytest.raises(ValueError):
        cutout_image(data)
    with pytest.raises(ValueError):
        cutout_png(data)


def test_cutouts_png_real(long_alert: dict[str, Any]) -> None:
    cutouts = {key: long_alert[key]["stampData"] for key in CUTOUT_KEYS}
    figure = cutouts_figure(cutouts, title=long_alert["objectId"])
    assert [ax.get_title() for ax in figure.axes] == ["Science", "Template", "Difference"]
    for ax, key in zip(figure.axes, CUTOUT_KEYS, strict=True):
        (image,) = ax.get_images()
        assert isinstance(image, AxesImage)
        assert image.origin == "lower" and image.get_cmap().name.startswith("gray")
        assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0
        low, high = ZScaleInterval().get_limits(cutout_image(cutouts[key]))
        assert image.get_clim() == pytest.approx((low, high))
    pixels = png_pixels(cutouts_png(cutouts, title=long_alert["objectId"]))
    assert pixels.shape[:2] == (340, 900)


def test_cutouts_png_with_one_missing(long_alert: dict[str, Any]) -> None:
    cutouts = {key: long_alert[key]["stampData"] for key in CUTOUT_KEYS}
    cutouts["cutoutTemplate"] = None
    figure = cutouts_figure(cutouts)
    science, template, difference = figure.axes
    assert template.get_images() == [] and [t.get_text() for t in template.texts] == ["missing"]
    assert len(science.get_images()) == 1 and len(difference.get_images()) == 1

    pixels = png_pixels(cutouts_png(cutouts))[..., :3]
    assert pixels.shape[:2] == (340, 900)
    # the middle panel is (nearly all) white background, the science panel is an image
    middle = pixels[120:280, 350:550]
    left = pixels[120:280, 50:250]
    assert middle.mean() > 0.97
    assert left.mean() < 0.8 and left.std() > 0.1

    # absent keys and undecodable bytes do not break the picture
    figure = cutouts_figure({"cutoutScience": cutouts["cutoutScience"], "cutoutDifference": b"garbage"})
    assert [t.get_text() for t in figure.axes[1].texts] == ["missing"]
    assert [t.get_text() for t in figure.axes[2].texts] == ["unreadable"]


def test_cutout_scaling_fallbacks() -> None:
    constant = np.full((63, 63), 5.0, dtype=np.float32)
    all_nan = np.full((10, 10), np.nan, dtype=np.float32)
    with_nan = np.arange(63 * 63, dtype=np.float32).reshape(63, 63)
    with_nan[:20] = np.nan
    figure = cutouts_figure(
        {
            "cutoutScience": gzip.compress(fits_bytes(constant)),
            "cutoutTemplate": fits_bytes(all_nan),
            "cutoutDifference": fits_bytes(with_nan),
        }
    )
    clims = [ax.get_images()[0].get_clim() for ax in figure.axes]
    assert clims[0] == (5.0, 6.0)
    assert clims[1] == (0.0, 1.0)
    low, high = clims[2]
    assert math.isfinite(low) and math.isfinite(high) and np.nanmin(with_nan) <= low < high <= np.nanmax(with_nan)
    assert png_pixels(cutouts_png({"cutoutScience": fits_bytes(with_nan)})).shape[:2] == (340, 900)


def test_cutout_png_real(long_alert: dict[str, Any]) -> None:
    pixels = png_pixels(cutout_png(long_alert["cutoutDifference"]["stampData"], label="Difference"))
    assert pixels.shape[:2] == (360, 340)
    assert pixels[..., :3].std() > 0.1


def test_cutout_image_takes_the_first_image_hdu() -> None:
    image = np.arange(12, dtype=np.int16).reshape(3, 4)
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image)]).writeto(buffer)
    np.testing.assert_array_equal(cutout_image(buffer.getvalue()), image.astype(np.float64))
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "J", array=[1])])]).writeto(buffer)
    with pytest.raises(ValueError, match="no 2-D image"):
        cutout_image(buffer.getvalue())
