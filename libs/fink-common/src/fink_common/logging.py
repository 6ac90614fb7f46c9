"""structlog set up once per process (in each `__main__`): one JSON object per line on stdout."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

__all__ = ["configure_logging", "get_logger"]


def configure_logging(*, stage: str, version: str, level: str = "INFO", stream: Any = None) -> None:
    """JSON lines with a timestamp, level, stage and version on every event."""
    logging.basicConfig(level=level, stream=stream or sys.stderr, format="%(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # Spark's Python<->JVM bridge chatters at INFO

    def stamp(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
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


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
