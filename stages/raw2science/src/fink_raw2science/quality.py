"""Rubin/LSST quality: no hard cut by default (as Fink), a `good_quality` flag on every alert, and a cut on it
when the configuration asks for one (FINK_QUALITY_CUT=good_quality).

`good_quality` is Fink's `b_good_quality` block: none of the pixel and measurement flags below is set, and the
difference-image PSF flux is non-negative with S/N = psfFlux / psfFluxErr >= 6. A null flag or flux is not
vouched for, so it is not good quality (as Fink's filter treats it). `quality_issues` lists, in words, what
made an alert not good quality (null when it is), so a user can see why without re-deriving the rule.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

__all__ = ["LSST_FLAGS", "SNR_MIN", "flag_lsst_quality"]

#: diaSource flags that make an alert not good quality (Fink's b_good_quality)
LSST_FLAGS: tuple[str, ...] = (
    "isDipole", "pixelFlags", "pixelFlags_bad", "pixelFlags_saturated", "pixelFlags_streakCenter",
    "pixelFlags_interpolated", "pixelFlags_cr", "pixelFlags_nodata", "pixelFlags_streak", "pixelFlags_edge",
    "psfFlux_flag", "apFlux_flag", "forced_PsfFlux_flag", "forced_PsfFlux_flag_edge", "shape_flag", "centroid_flag",
)  # fmt: skip
SNR_MIN = 6.0


def _issues() -> Column:
    source = F.col("diaSource")
    flux, err = source.psfFlux, source.psfFluxErr
    parts = [F.when(source[name].isNull() | source[name], F.lit(name)) for name in LSST_FLAGS]
    parts.append(F.when(flux.isNull() | F.isnan(flux) | (flux < 0), F.lit("psfFlux < 0 or null")))
    low_snr = err.isNull() | F.isnan(err) | (err <= 0) | (flux / err < F.lit(SNR_MIN))
    parts.append(F.when(low_snr, F.lit(f"S/N < {SNR_MIN:g}")))
    joined = F.concat_ws("; ", *parts)
    return F.when(joined == "", F.lit(None).cast("string")).otherwise(joined)


def flag_lsst_quality(df: DataFrame, cut: str = "none") -> DataFrame:
    """Add `good_quality` and `quality_issues`, and `cut_reason` (null = kept): with cut "none" every alert is
    kept; with "good_quality" an alert that is not good quality is rejected with its issues as the reason."""
    flagged = df.withColumn("quality_issues", _issues()).withColumn("good_quality", F.col("quality_issues").isNull())
    if cut == "good_quality":
        reason = F.when(~F.col("good_quality"), F.concat(F.lit("not good quality: "), F.col("quality_issues")))
    else:
        reason = F.lit(None).cast("string")
    return flagged.withColumn("cut_reason", reason)
