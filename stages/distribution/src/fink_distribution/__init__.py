"""The distribution stage: science archive -> user filters -> one Kafka topic per filter (Avro, schema published)."""

from fink_common.version import package_version

__all__ = ["STAGE", "__version__"]

STAGE = "distribution"
__version__ = package_version("fink_distribution")
