"""fink-services: start, check and stop the broker's local Apache Kafka and Apache HBase (+ Thrift).

Standard library only (plus the stdlib-only parts of fink_common), so that it runs with a bare python3.11
before any virtualenv exists. Entry point: `python -m fink_services up|status|down` (or `./fink services ...`).
"""

from fink_common.version import package_version

__all__ = ["__version__"]

__version__ = package_version("fink_services")
