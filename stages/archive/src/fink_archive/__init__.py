"""The archive stage: science archive -> HBase main table, index tables, cutouts and statistics."""

from fink_common.version import package_version

__all__ = ["STAGE", "__version__"]

STAGE = "archive"
__version__ = package_version("fink_archive")
