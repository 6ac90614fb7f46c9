"""fink-common: the shared schema and IO library of the broker."""

from fink_common.version import package_version

__all__ = ["__version__"]

__version__ = package_version("fink_common")
