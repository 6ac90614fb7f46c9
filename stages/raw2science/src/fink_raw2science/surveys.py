"""What raw2science does differently per survey, in one table: the alert id it deduplicates on, the sections its
history and forced-photometry arrays come from, its quality step and its default science modules. The job asks
`survey_science(name)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame

from fink_common.surveys import get_survey
from fink_raw2science.flags import ArrowFlags, lsst_flags, ztf_flags
from fink_raw2science.quality import flag_lsst_quality
from fink_raw2science.science.registry import DEFAULT_MODULES_BY_SURVEY
from fink_raw2science.transform import flag_quality

__all__ = ["QUALITY_CUTS", "SurveyScience", "survey_science"]


@dataclass(frozen=True)
class SurveyScience:
    name: str
    alert_id: str  # the deduplication key
    history: str  # the array of earlier detections: `c<field>` = history.<field> + current.<field>
    current: str
    forced: str | None  # the forced-photometry array: `forced_<field>` = forced.<field> (None: the survey has none here)
    flag: Callable[[DataFrame, str], DataFrame]  # adds `cut_reason` (null = kept), given the configured cut
    flag_arrow: ArrowFlags  # the same on an Arrow batch, in the tasks of the fast path: the columns it adds
    cuts: tuple[str, ...]  # the values FINK_QUALITY_CUT may take, the default first
    default_modules: tuple[str, ...]


def _ztf_flag(df: DataFrame, cut: str) -> DataFrame:
    return flag_quality(df)


_SURVEYS = {
    "ztf": SurveyScience(
        name="ztf", alert_id=get_survey("ztf").alert_id_field, history="prv_candidates", current="candidate",
        forced=None, flag=_ztf_flag, flag_arrow=ztf_flags, cuts=("fink",), default_modules=DEFAULT_MODULES_BY_SURVEY["ztf"],
    ),
    "lsst": SurveyScience(
        name="lsst", alert_id=get_survey("lsst").alert_id_field, history="prvDiaSources", current="diaSource",
        forced="prvDiaForcedSources", flag=flag_lsst_quality, flag_arrow=lsst_flags, cuts=("none", "good_quality"), default_modules=DEFAULT_MODULES_BY_SURVEY["lsst"],
    ),
}  # fmt: skip
#: survey -> the quality cuts it offers
QUALITY_CUTS: dict[str, tuple[str, ...]] = {name: s.cuts for name, s in _SURVEYS.items()}


def survey_science(name: str) -> SurveyScience:
    return _SURVEYS[name]
