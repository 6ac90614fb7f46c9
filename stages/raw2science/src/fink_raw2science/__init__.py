"""The raw2science stage: raw archive -> quality cuts -> science modules -> science archive."""

from fink_common.version import package_version

__all__ = ["STAGE", "__version__"]

STAGE = "raw2science"
__version__ = package_version("fink_raw2science")
