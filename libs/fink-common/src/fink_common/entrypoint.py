"""The body shared by every stage's `__main__`: logging, config, start, clean stop, exit code."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fink_common.errors import FinkError
from fink_common.logging import configure_logging, get_logger

__all__ = ["HEALTH_FILE_ENV", "run_stage"]

#: When set, the stage touches this file every second while its streaming query is active: the images'
#: HEALTHCHECK says "unhealthy" once the file is older than a few seconds (query dead or driver stuck).
HEALTH_FILE_ENV = "FINK_HEALTH_FILE"

C = TypeVar("C")


def run_stage(
    *,
    stage: str,
    version: str,
    load_config: Callable[[], C],
    start: Callable[[C], tuple[Any, Any]],
    summary: Callable[[Any, Any], dict[str, Any]] | None = None,
) -> int:
    """Configure logging once, build the config (a user mistake prints one message, no stack trace, exit 2),
    start the streaming query and wait for it; SIGTERM and Ctrl-C stop it cleanly (exit 0)."""
    configure_logging(stage=stage, version=version)
    log = get_logger(f"fink.{stage}")
    try:
        config = load_config()
    except FinkError as exc:
        print(f"fink-{stage}: {exc}", file=sys.stderr)
        return 2
    try:
        query, sink = start(config)
    except FinkError as exc:  # a service unreachable, no input data yet: say so, no stack trace
        print(f"fink-{stage}: {exc}", file=sys.stderr)
        return 1
    # The handler only sets a flag: calling into the JVM from a signal handler would interleave with the
    # py4j call the main thread is blocked in. The loop below polls the flag between short waits.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    health = os.environ.get(HEALTH_FILE_ENV)
    if health:
        Path(health).parent.mkdir(parents=True, exist_ok=True)
    try:
        while not stop.is_set() and not query.awaitTermination(1):
            if health:
                Path(health).touch()
    except KeyboardInterrupt:
        pass
    if query.isActive:
        query.stop()
    if query.exception() is not None:
        log.error("failed", error=str(query.exception()))
        return 1
    log.info("stopped", **(summary(query, sink) if summary else getattr(sink, "totals", {})))
    return 0
