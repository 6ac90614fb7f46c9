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

#: When set, the stage touches this file every second from its start (while it waits for its input, too)
#: for as long as its streaming query is active: the images' HEALTHCHECK says "unhealthy" once the file is
#: older than 30 s (query terminated, or the process stuck).
HEALTH_FILE_ENV = "FINK_HEALTH_FILE"


class _Heartbeat:
    """Touches the health file every second from a daemon thread, while `alive()` holds."""

    def __init__(self, path: str | None) -> None:
        self._path = Path(path) if path else None
        self._done = threading.Event()
        self.query: Any = None  # set once started: from then on, alive means the query is active

    def _alive(self) -> bool:
        return self.query is None or bool(self.query.isActive)

    def _run(self) -> None:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        while not self._done.is_set():
            try:
                if self._alive():
                    self._path.touch()
            except Exception:  # noqa: BLE001 (a py4j hiccup must not kill the heartbeat; the file just ages)
                pass
            self._done.wait(1.0)

    def __enter__(self) -> _Heartbeat:
        if self._path is not None:
            threading.Thread(target=self._run, name="fink-heartbeat", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()

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
    with _Heartbeat(os.environ.get(HEALTH_FILE_ENV)) as heartbeat:
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
