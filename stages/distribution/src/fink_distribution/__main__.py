"""`fink-distribution`: run the stage until stopped (SIGTERM/Ctrl-C stop the query cleanly)."""

from __future__ import annotations

import signal
import sys

from fink_common.errors import FinkError
from fink_common.logging import configure_logging, get_logger
from fink_distribution import STAGE, __version__
from fink_distribution.config import load_config

__all__ = ["main"]


def main() -> int:
    configure_logging(stage=STAGE, version=__version__)
    log = get_logger("fink.distribution")
    try:
        config = load_config()
    except FinkError as exc:
        print(f"fink-{STAGE}: {exc}", file=sys.stderr)
        return 2
    from fink_distribution.job import start  # imports pyspark: only once the config is valid

    try:
        query, sink = start(config)
    except FinkError as exc:  # no science data yet, Kafka down, a filter input missing from the table
        print(f"fink-{STAGE}: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: query.stop())
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        query.stop()
    finally:
        sink.close()
    log.info("stopped", **sink.totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
