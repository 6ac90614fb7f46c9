"""One exception hierarchy for the whole broker: everything we raise derives from FinkError."""

from __future__ import annotations

__all__ = [
    "FinkError",
    "ConfigError",
    "DataNotFoundError",
    "SchemaError",
    "DecodeError",
    "ServiceError",
    "ServiceUnavailableError",
    "IncompatibleVersionError",
]


class FinkError(Exception):
    """Base of every error raised on purpose by the broker."""


class ConfigError(FinkError):
    """The configuration is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: list[str], *, source: str = "configuration") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid {source} ({len(self.problems)} problem(s)):\n{lines}")


class DataNotFoundError(FinkError):
    """An input folder or file the user pointed us to does not exist."""


class SchemaError(FinkError):
    """An Avro schema cannot be loaded, parsed or converted."""


class DecodeError(FinkError):
    """A message cannot be decoded as an alert; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ServiceError(FinkError):
    """A local service (Kafka, HBase) failed to start, stop or answer."""


class ServiceUnavailableError(ServiceError):
    """A service is not reachable (yet): worth retrying at an I/O edge."""


class IncompatibleVersionError(FinkError):
    """An installed first-party library is outside the version range a package declares it supports."""
