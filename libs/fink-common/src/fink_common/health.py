"""The heartbeat file that our images' HEALTHCHECK reads (the stages, and datasim while it runs)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

__all__ = ["HEALTH_FILE_ENV", "Heartbeat"]

#: When set, the stage touches this file every second from its start (while it waits for its input, too)
#: for as long as its streaming query is active: the images' HEALTHCHECK says "unhealthy" once the file is
#: older than 30 s (query terminated, or the process stuck).
HEALTH_FILE_ENV = "FINK_HEALTH_FILE"


class Heartbeat:
    """Touches the health file every second from a daemon thread while the process lives and, once `query`
    is set, while that streaming query is active. A None path does nothing (no HEALTHCHECK to feed)."""

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

    def __enter__(self) -> Heartbeat:
        if self._path is not None:
            threading.Thread(target=self._run, name="fink-heartbeat", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
