"""Pure DataFrame -> DataFrame steps of raw2science: deduplication, quality cuts, science enrichment."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fink_raw2science.science import ScienceModule
from fink_raw2science.science.adapter import ZTF_SECTIONS, FailureLog, apply_modules

__all__ = ["RB_MIN", "deduplicate", "flag_quality", "passing", "rejected", "enrich"]

RB_MIN = 0.55  # Fink's real-bogus threshold


def deduplicate(raw: DataFrame, delay: str, key: str = "candid") -> DataFrame:
    """Streaming deduplication on the alert id `key` (candid, diaSourceId): an id seen within `delay` (of
    ingest time) is dropped.

    The watermark is on the ingest time, which only moves forward, so no alert is ever dropped as
    late: an old night replayed today is still processed.
    """
    return raw.withWatermark("ingest_timestamp", delay).dropDuplicatesWithinWatermark([key])


def _reason(failed: Column, text: Column) -> Column:
    return F.when(failed, text)


def flag_quality(df: DataFrame) -> DataFrame:
    """Add `cut_reason`: null when the alert passes Fink's cuts (nbad == 0, rb >= 0.55, fid != 3), else
    every cut it fails, in words (a null value fails its cut: we cannot vouch for it)."""
    c = F.col("candidate")

    def shown(value: Column) -> Column:
        return F.coalesce(value.cast("string"), F.lit("null"))

    reasons = F.concat_ws(
        "; ",
        _reason(c.nbad.isNull() | (c.nbad != 0), F.concat(F.lit("nbad="), shown(c.nbad), F.lit(" != 0"))),
        _reason(
            c.rb.isNull() | F.isnan(c.rb) | (c.rb < RB_MIN),
            F.concat(F.lit("rb="), shown(F.round(c.rb, 3)), F.lit(f" < {RB_MIN}")),
        ),
        _reason(c.fid.isNull() | (c.fid == 3), F.concat(F.lit("fid="), shown(c.fid), F.lit(" (i band or unknown)"))),
    )
    return df.withColumn("cut_reason", F.when(reasons == "", F.lit(None).cast("string")).otherwise(reasons))


def passing(flagged: DataFrame) -> DataFrame:
    return flagged.where(F.col("cut_reason").isNull()).drop("cut_reason")


def rejected(flagged: DataFrame, *, version: str) -> DataFrame:
    """Alerts that fail the cuts, kept whole with their reason (never lost)."""
    return flagged.where(F.col("cut_reason").isNotNull()).withColumn("raw2science_version", F.lit(version))


def enrich(
    alerts: DataFrame,
    modules: Sequence[ScienceModule],
    *,
    version: str,
    failures: FailureLog | None = None,
    sections: tuple[str, str] = ZTF_SECTIONS,
    forced: str | None = None,
) -> DataFrame:
    """Run the science modules (vectorised pandas UDFs) and stamp the version and processing time.
    A module that raises on a batch gives its documented failed value and is recorded in `failures`.
    `sections`: (history array, current detection) of the survey's alerts, for the `c*` history arrays;
    `forced`: its forced-photometry array, for `forced_*` (default: the one paired with the history)."""
    out = apply_modules(alerts, list(modules), failures, sections, forced).withColumns(
        {"raw2science_version": F.lit(version), "science_timestamp": F.current_timestamp()}
    )
    if "night" in out.columns:  # keep the partition column last, as in every dataset of the lake
        out = out.select(*[c for c in out.columns if c != "night"], "night")
    return out
