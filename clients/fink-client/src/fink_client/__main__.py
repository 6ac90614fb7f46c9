"""`fink-consume`: argument parsing, signals and exit codes (0 ok, 1 runtime failure, 2 bad usage).

SIGINT (Ctrl-C) and SIGTERM stop the polling: what was read is saved and committed, the consumer leaves its
group, and the exit code is 0. A second signal interrupts at once (exit 130, the last batch not committed).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from confluent_kafka import KafkaException

from fink_client.config import load_config
from fink_client.session import consume, describe_topics
from fink_common.errors import ConfigError, FinkError

__all__ = ["main"]


class _Stop:
    """Set by the first SIGINT/SIGTERM; the second one raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.event.is_set()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        print(f"\nfink-consume: {signal.Signals(signum).name}: saving, committing and closing",
              file=sys.stderr, flush=True)  # fmt: skip

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals only reach the main thread (e.g. main() called from a test thread)
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = load_config(argv)
    except ConfigError as exc:
        print(f"fink-consume: {exc}\n(fink-consume --help lists the options)", file=sys.stderr)
        return 2
    stop = _Stop()
    stop.install()
    try:
        if config.list_topics:
            describe_topics(config)
            return 0
        totals = consume(config, stop)
        print(f"fink-consume: {totals.summary(config.out)}", file=sys.stderr, flush=True)
        return 0
    except KeyboardInterrupt:
        print("fink-consume: interrupted: the batch being read was not committed", file=sys.stderr)
        return 130
    except (FinkError, KafkaException) as exc:
        print(f"fink-consume: error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop.restore()


if __name__ == "__main__":
    sys.exit(main())
