"""structlog set up once per process (in each `__main__`): one JSON object per line on stdout.

The processes a stage starts inherit its environment, where `configure_logging` leaves the stage's name and
version (`FINK_LOG_STAGE`, `FINK_LOG_VERSION`): Spark's Python workers, which run our code on the executor side
(e.g. the archive's HBase writers and their retries) without going through a `__main__`, call
`configure_from_environment` to log the same JSON lines."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["STAGE_ENV", "VERSION_ENV", "configure_logging", "configure_from_environment", "get_logger"]

STAGE_ENV = "FINK_LOG_STAGE"
VERSION_ENV = "FINK_LOG_VERSION"


def configure_logging(*, stage: str, version: str, level: str = "INFO", stream: Any = None) -> None:
    """JSON lines with a timestamp, level, stage and version on every event (also in the processes started
    from now on: see `configure_from_environment`)."""
    os.environ[STAGE_ENV], os.environ[VERSION_ENV] = stage, version
    logging.basicConfig(level=level, stream=stream or sys.stderr, format="%(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # Spark's Python<->JVM bridge chatters at INFO

    def stamp(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        # Bound here rather than in contextvars: foreachBatch sinks run on py4j callback threads.
        event.setdefault("stage", stage)
        event.setdefault("version", version)
        return event

    structlog.configure(
        processors=[
            stamp,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=True,
    )


def configure_from_environment() -> bool:
    """In a process started by a stage that has not configured logging itself (a Spark Python worker), log the
    stage's JSON lines, as named in its environment. Returns whether logging is configured now."""
    if structlog.is_configured():
        return True
    stage = os.environ.get(STAGE_ENV)
    if not stage:
        return False
    configure_logging(stage=stage, version=os.environ.get(VERSION_ENV, ""))
    return True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
