"""The archive query API: read-only REST over the HBase archive, light-curve and cutout plots."""

from fink_common.version import package_version

__all__ = ["SERVICE", "__version__"]

SERVICE = "api"
__version__ = package_version("fink_api")
