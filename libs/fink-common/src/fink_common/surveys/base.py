"""What a survey plug-in says about itself: its site, its schemas, how its messages are framed and decoded,
what identifies and places an alert, and the columns it adds to its raw table.

The stages ask the survey (`fink_common.surveys.get_survey`) instead of branching on its name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import types as T

from fink_common.night import night_of_unix
from fink_common.schema_registry import RegistrySettings

__all__ = ["DecodeSettings", "AlertDecoder", "Survey"]


@dataclass(frozen=True)
class DecodeSettings:
    """What a Spark task needs to decode a survey's messages (picklable)."""

    survey: str
    schema_name: str  # the schema of schemaless messages
    registry: RegistrySettings = field(default_factory=RegistrySettings)


#: One Kafka message value -> the raw-table record (with the survey's extra columns); raises DecodeError.
AlertDecoder = Callable[[bytes | None], dict[str, Any]]


class Survey(ABC):
    """A survey's plug-in. Subclasses set the class attributes and implement the three methods."""

    #: `ztf`, `lsst`: the value of FINK_SURVEY, the suffix of topics and the prefix of tables
    name: str
    #: east longitude of the site, degrees: a night starts at local (mean solar) noon there
    site_longitude_deg: float
    site_name: str
    #: the schema assumed for schemaless messages unless FINK_INPUT_SCHEMA says otherwise
    default_schema: str
    #: the alert's unique id: a top-level long field
    alert_id_field: str
    #: top-level fields naming the alert's object, in order of preference: the first non-null one keys the
    #: alert's messages (all alerts of one object go to one partition, in order)
    object_id_fields: tuple[str, ...]
    #: dotted paths of the alert's position (degrees, ICRS)
    ra_field: str
    dec_field: str
    #: the field (dotted path) of the alert's time, and its linear map to Unix seconds (UTC):
    #: unix = value * time_scale + time_offset
    time_field: str
    time_scale: float
    time_offset: float
    #: columns the survey adds to each raw row after the alert's own fields (provenance, clear ids)
    raw_extra_fields: tuple[T.StructField, ...] = ()

    @abstractmethod
    def decoder(self, settings: DecodeSettings) -> AlertDecoder:
        """A decoder for this process (it may cache schemas); built inside each Spark task's worker."""

    @abstractmethod
    def check(self, record: dict[str, Any]) -> None:
        """Raise DecodeError when a decoded alert cannot be identified or placed in time and on the sky."""

    def event_unix(self, record: dict[str, Any]) -> float:
        value: Any = record
        for part in self.time_field.split("."):
            value = value[part]
        return float(value) * self.time_scale + self.time_offset

    def night_of(self, record: dict[str, Any], longitude_deg: float | None = None) -> str:
        """YYYYMMDD of the local noon that starts the alert's night at the site (or at `longitude_deg`)."""
        longitude = self.site_longitude_deg if longitude_deg is None else longitude_deg
        return night_of_unix(self.event_unix(record), longitude)
