"""Errors of the alert simulator; all derive from fink_common's FinkError so the CLI prints one clear line."""

from __future__ import annotations

from fink_common.errors import DataNotFoundError, FinkError

__all__ = ["DatasimError", "EmptyFolderError", "AlertFileError", "OutputExistsError"]


class DatasimError(FinkError):
    """A user-facing problem with a generate or replay request."""


class EmptyFolderError(DataNotFoundError):
    """The alert folder exists but holds no `.avro` file."""


class AlertFileError(DatasimError):
    """An `.avro` file is not a readable Avro Object Container File."""


class OutputExistsError(DatasimError):
    """The output folder already holds generated alerts and overwriting was not asked for."""
