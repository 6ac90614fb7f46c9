"""Survey plug-ins: everything that differs between ZTF and Rubin/LSST at ingestion, in one place per survey."""

from __future__ import annotations

from functools import cache

from fink_common.errors import ConfigError
from fink_common.surveys.base import AlertDecoder, DecodeSettings, Survey
from fink_common.surveys.lsst import LSST
from fink_common.surveys.ztf import ZTF

__all__ = ["SURVEY_NAMES", "AlertDecoder", "DecodeSettings", "Survey", "get_survey"]

_SURVEYS: dict[str, type[Survey]] = {"ztf": ZTF, "lsst": LSST}
SURVEY_NAMES: tuple[str, ...] = tuple(_SURVEYS)


@cache
def get_survey(name: str) -> Survey:
    try:
        return _SURVEYS[name]()
    except KeyError:
        raise ConfigError([f"unknown survey {name!r}; known: {', '.join(SURVEY_NAMES)}"]) from None
