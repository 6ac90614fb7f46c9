"""The stream2raw stage: Kafka alert topics -> decoded alerts -> raw parquet archive, partitioned by night."""

from fink_common.version import package_version

__all__ = ["STAGE", "__version__"]

STAGE = "stream2raw"
__version__ = package_version("fink_stream2raw")
