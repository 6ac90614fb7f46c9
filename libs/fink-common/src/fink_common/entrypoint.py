"""The body shared by every stage's `__main__`: logging, config, start, clean stop, exit code."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from fink_common.errors import FinkError
from fink_common.logging import configure_logging, get_logger

__all__ = ["run_stage"]

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
    query, sink = start(config)
    signal.signal(signal.SIGTERM, lambda *_: query.stop())
    try:
        query.awaitTermination()
    except KeyboardInterrupt:
        query.stop()
    if query.exception() is not None:
        log.error("failed", error=str(query.exception()))
        return 1
    log.info("stopped", **(summary(query, sink) if summary else getattr(sink, "totals", {})))
    return 0
