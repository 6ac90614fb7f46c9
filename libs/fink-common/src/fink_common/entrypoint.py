"""The body shared by every stage's `__main__`: logging, config, start, clean stop, exit code."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fink_common.errors import FinkError
from fink_common.health import HEALTH_FILE_ENV, Heartbeat
from fink_common.logging import configure_logging, get_logger
from fink_common.version import check_fink_common

__all__ = ["HEALTH_FILE_ENV", "run_stage"]  # HEALTH_FILE_ENV: re-exported from fink_common.health

C = TypeVar("C")


def run_stage(
    *,
    stage: str,
    version: str,
    load_config: Callable[[], C],
    start: Callable[[C], tuple[Any, Any]],
    summary: Callable[[Any, Any], dict[str, Any]] | None = None,
    package: str | None = None,
) -> int:
    """Configure logging once, check that the installed fink-common is in the range `package` (the stage's
    Python package) declares, build the config (a user mistake prints one message, no stack trace, exit 2),
    start the streaming query and wait for it; SIGTERM and Ctrl-C stop it cleanly (exit 0)."""
    configure_logging(stage=stage, version=version)
    log = get_logger(f"fink.{stage}")
    try:
        if package is not None:
            check_fink_common(package)
        config = load_config()
    except FinkError as exc:
        print(f"fink-{stage}: {exc}", file=sys.stderr)
        return 2
    with Heartbeat(os.environ.get(HEALTH_FILE_ENV)) as heartbeat:
        try:
            query, sink = start(config)
        except FinkError as exc:  # a service unreachable, no input data yet: say so, no stack trace
            print(f"fink-{stage}: {exc}", file=sys.stderr)
            return 1
        heartbeat.query = query
        # The handler only sets a flag: calling into the JVM from a signal handler would interleave with the
        # py4j call the main thread is blocked in. The loop below polls the flag between short waits.
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.is_set() and not query.awaitTermination(1):
                pass
        except KeyboardInterrupt:
            pass
    if query.isActive:
        query.stop()
    if query.exception() is not None:
        log.error("failed", error=str(query.exception()))
        return 1
    log.info("stopped", **(summary(query, sink) if summary else getattr(sink, "totals", {})))
    return 0
