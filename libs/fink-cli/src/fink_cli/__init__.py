"""fink-cli: `./fink demo` (the whole pipeline on sample alerts, with real services) and `./fink report`."""

from fink_common.version import package_version

__all__ = ["__version__"]

__version__ = package_version("fink_cli")
