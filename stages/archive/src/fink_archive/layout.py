"""What the archive needs to know of each survey: which columns name, time and place an alert, which go to
which table, and whether keys are salted. One `SurveyLayout` per survey; the writer (`transform`) and the
readers (`expected`, a query API) take everything survey-specific from here.

This module does not import pyspark.

**ZTF** keeps the keys it always had (`objectId_jd_candid`; an index `value_jd_objectId_candid`): objectIds
are spread over the alphabet, and the jd is the key's time.

**LSST** keys an alert by its object, `diaObjectId` for a static source and `ssObjectId` for a solar-system
one (the clear ids stream2raw sets: Rubin's 0 sentinel becomes null), and timed by `diaSource.midpointMjdTai`
(MJD, TAI; written like a jd with 7 decimals). Rubin's ids grow with time, so a key that starts with an id,
or with the time, sends a night's writes to the last region: those keys start with a salt, the id modulo
`SALT_BUCKETS` on two digits (`salt_`). A reader computes the salt from the id it looks for; a time-range
scan reads each bucket.

| LSST table | rowkey | one row per |
|---|---|---|
| `lsst` | `salt(object)_object_mjd_diaSourceId` | alert: `i` = ids, schema id/version, `diaSource.*`; `d` = every other column |
| `lsst.cutouts` | same | alert: `b` = the three FITS cutouts |
| `lsst.sources` | `salt(object)_object_mjd_diaSourceId` | detection: the alert's `diaSource` and each of its `prvDiaSources` |
| `lsst.forced` | `salt(diaObjectId)_diaObjectId_mjd_diaForcedSourceId` | forced point of `prvDiaForcedSources` |
| `lsst.objects` | `salt(diaObjectId)_diaObjectId` | static object: its latest `diaObject` (largest `midpointMjdTai`, then `diaSourceId`) |
| `lsst.sso` | `salt(ssObjectId)_ssObjectId_mjd_diaSourceId` | solar-system alert: `ssSource.*`, its designation and detection |
| `lsst.class`, `lsst.pixel128`, `lsst.ssnamenr` | `value_mjd_object_diaSourceId` | index row (class; sky pixel; designation, else ssObjectId) |
| `lsst.jd` | `salt(diaSourceId)_mjd_object_diaSourceId` | index row by time |
| `lsst.statistics` | `lsst_<night>` | night |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fink_common.errors import ConfigError

__all__ = [
    "ARCHIVE_SURVEYS",
    "LSST_LAYOUT",
    "SALT_BUCKETS",
    "ZTF_LAYOUT",
    "SurveyLayout",
    "salt",
    "survey_layout",
]

#: Salt buckets of LSST keys (two digits).
SALT_BUCKETS = 16


def salt(value: int | str) -> str:
    """`170094456248729605` -> `05`: the id modulo `SALT_BUCKETS`, on two digits."""
    return f"{int(value) % SALT_BUCKETS:02d}"


@dataclass(frozen=True)
class SurveyLayout:
    """The columns and key rules of one survey's archive."""

    survey: str
    object_columns: tuple[str, ...]  # the first non-null, as text, is the object part of keys
    alert_column: str  # the alert's id (integer)
    time_column: str  # the key's time (ZTF jd, LSST MJD TAI)
    jd_offset: float  # jd = time + jd_offset (the night window of the statistics)
    ra_column: str
    dec_column: str
    band_column: str
    band_names: Mapping[Any, str]  # a band value -> its name in the statistics (`basic:n_<name>`)
    detection: str  # the struct flattened into family `i` of the main table
    id_columns: tuple[str, ...]  # top-level columns first in family `i`
    tail_columns: tuple[str, ...]  # top-level columns last in family `i`
    history_columns: tuple[str, ...]  # arrays kept out of the main table
    cutout_columns: tuple[str, ...]
    index_columns: tuple[tuple[str, str], ...]  # (qualifier, column path) copied into every index row
    salted: bool
    extra_tables: tuple[str, ...] = ()  # table suffixes beyond the common ones (`sources`, `forced`, ...)
    #: the statistics read from the time index: qualifiers of the object, time and band
    statistics_qualifiers: tuple[str, str, str] = ("objectId", "jd", "fid")
    #: the solar-system index: the name (first non-blank of these paths), else the id column, else
    #: `unnamed` when the flag (column, value) holds
    sso_name_paths: tuple[str, ...] = ()
    sso_id_column: str | None = None
    sso_flag: tuple[str, int] | None = None

    @property
    def object_qualifier(self) -> str:
        return self.statistics_qualifiers[0]

    def band_name(self, value: Any) -> str | None:
        """A band value as stored (ZTF fid 1 or its text "1"; LSST "g") -> its name."""
        if value is None:
            return None
        name = self.band_names.get(value)
        if name is None and isinstance(value, str) and value.isdigit():
            name = self.band_names.get(int(value))
        return name if name is not None else str(value)

    def object_key(self, object_id: str) -> str:
        """The leading part of an object's keys: `salt_object` (salted) or `object`."""
        return f"{salt(object_id)}_{object_id}" if self.salted else object_id


ZTF_LAYOUT = SurveyLayout(
    survey="ztf",
    object_columns=("objectId",),
    alert_column="candid",
    time_column="candidate.jd",
    jd_offset=0.0,
    ra_column="candidate.ra",
    dec_column="candidate.dec",
    band_column="candidate.fid",
    band_names={1: "g", 2: "r", 3: "i"},
    detection="candidate",
    id_columns=("objectId", "candid"),
    tail_columns=("schemavsn", "publisher"),
    history_columns=("prv_candidates", "fp_hists"),
    cutout_columns=("cutoutScience", "cutoutTemplate", "cutoutDifference"),
    index_columns=(
        ("objectId", "objectId"),
        ("candid", "candid"),
        ("jd", "candidate.jd"),
        ("ra", "candidate.ra"),
        ("dec", "candidate.dec"),
        ("fid", "candidate.fid"),
        ("magpsf", "candidate.magpsf"),
        ("sigmapsf", "candidate.sigmapsf"),
        ("ndethist", "candidate.ndethist"),
        ("jdstarthist", "candidate.jdstarthist"),
        ("drb", "candidate.drb"),
        ("ssnamenr", "candidate.ssnamenr"),
        ("roid", "roid"),
        ("nalerthist", "nalerthist"),
        ("classification", "classification"),
        ("xmatch_name", "xmatch_name"),
        ("xmatch_type", "xmatch_type"),
        ("anomaly_score", "anomaly_score"),
        ("night", "night"),
    ),
    salted=False,
    extra_tables=("history",),
    sso_name_paths=("candidate.ssnamenr",),
    sso_flag=("roid", 3),
)

LSST_LAYOUT = SurveyLayout(
    survey="lsst",
    object_columns=("diaObjectId", "ssObjectId"),
    alert_column="diaSourceId",
    time_column="diaSource.midpointMjdTai",
    jd_offset=2400000.5,
    ra_column="diaSource.ra",
    dec_column="diaSource.dec",
    band_column="diaSource.band",
    band_names={b: b for b in ("u", "g", "r", "i", "z", "y")},
    detection="diaSource",
    id_columns=("diaSourceId", "diaObjectId", "ssObjectId"),
    tail_columns=("schema_id", "schema_version"),
    history_columns=("prvDiaSources", "prvDiaForcedSources", "prvDiaNondetectionLimits"),
    cutout_columns=("cutoutScience", "cutoutTemplate", "cutoutDifference"),
    index_columns=(
        ("diaSourceId", "diaSourceId"),
        ("diaObjectId", "diaObjectId"),
        ("ssObjectId", "ssObjectId"),
        ("object", "__object"),
        ("midpointMjdTai", "diaSource.midpointMjdTai"),
        ("ra", "diaSource.ra"),
        ("dec", "diaSource.dec"),
        ("band", "diaSource.band"),
        ("psfFlux", "diaSource.psfFlux"),
        ("psfFluxErr", "diaSource.psfFluxErr"),
        ("snr", "diaSource.snr"),
        ("reliability", "diaSource.reliability"),
        ("is_sso", "is_sso"),
        ("is_first", "is_first"),
        ("good_quality", "good_quality"),
        ("classification", "classification"),
        ("anomaly_score", "anomaly_score"),
        ("night", "night"),
    ),
    salted=True,
    extra_tables=("sources", "forced", "objects", "sso"),
    statistics_qualifiers=("object", "midpointMjdTai", "band"),
    sso_name_paths=("ssSource.designation", "mpc_orbits.designation", "MPCORB.mpcDesignation"),
    sso_id_column="ssObjectId",
)

_LAYOUTS = {layout.survey: layout for layout in (ZTF_LAYOUT, LSST_LAYOUT)}
#: The surveys the archive can store.
ARCHIVE_SURVEYS: tuple[str, ...] = tuple(sorted(_LAYOUTS))


def survey_layout(survey: str) -> SurveyLayout:
    try:
        return _LAYOUTS[survey]
    except KeyError:
        known = ", ".join(ARCHIVE_SURVEYS)
        raise ConfigError([f"no archive layout for survey {survey!r} (known: {known})"], source="archive layout") from None
