"""`fink-datasim replay`: send every alert of a folder to a Kafka topic, one alert per message, at a given rate
(`rate` alerts/s) or by visits (`visit_size` alerts at once, one visit every `visit_interval` seconds, as Rubin).

Delivery is confirmed per message (delivery callbacks, then a bounded flush): `ReplayResult.failed` counts the
messages Kafka did not acknowledge, including those still pending when the flush timed out.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Message as KafkaMessage
from tqdm import tqdm

from fink_common.errors import ServiceError, ServiceUnavailableError
from fink_common.kafka import ensure_topics, make_producer
from fink_datasim.errors import DatasimError
from fink_datasim.framing import FRAMINGS, KEYS, alert_files, count_alerts, iter_messages
from fink_datasim.pacer import Pacer, VisitPacer

__all__ = ["DEFAULT_BOOTSTRAP", "DEFAULT_VISIT_INTERVAL", "DEFAULT_VISIT_SIZE", "ReplayResult", "replay"]

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
#: Rubin's average visit: 10,000 alerts, one visit every ~39 s (30 s exposure, readout, slew).
DEFAULT_VISIT_SIZE = 10_000
DEFAULT_VISIT_INTERVAL = 39.0
_LOG_LEVEL = 2  # librdkafka syslog level: critical only; delivery errors are counted and reported instead
_START_HINT = "start the local services with `./fink services up`, or pass --bootstrap HOST:PORT"


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of a replay: `sent` were acknowledged by Kafka, `failed` were not."""

    topic: str
    framing: str
    files: int
    sent: int
    failed: int
    bytes: int
    elapsed_s: float
    error: str | None = None  # the first delivery error, if any
    visits: int | None = None  # visits sent, when paced by visits

    @property
    def attempted(self) -> int:
        return self.sent + self.failed

    @property
    def rate(self) -> float:
        """Acknowledged alerts per second over the run."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        visits = f" visits={self.visits}" if self.visits is not None else ""
        return (
            f"replay: topic={self.topic} framing={self.framing} sent={self.sent} failed={self.failed}{visits} "
            f"elapsed={self.elapsed_s:.2f}s rate={self.rate:.1f} alerts/s ({self.bytes / 1e6:.1f} MB)"
        )


class _Deliveries:
    """Delivery-report bookkeeping (callbacks run in the producing thread, inside poll/flush)."""

    def __init__(self) -> None:
        self.sent = 0
        self.failed = 0
        self.first_error: str | None = None

    def __call__(self, err: KafkaError | None, _msg: KafkaMessage) -> None:
        if err is None:
            self.sent += 1
            return
        self.failed += 1
        if self.first_error is None:
            self.first_error = str(err)


def _connect(bootstrap: str, topic: str, partitions: int, timeout_s: float) -> None:
    """Create the topic if missing; a bounded wait, then a clear error when Kafka does not answer."""
    try:
        ensure_topics(
            bootstrap,
            [topic],
            partitions=partitions,
            timeout_s=timeout_s,
            # librdkafka logs every failed reconnect (several per second): the one clear error below is enough.
            extra={"socket.connection.setup.timeout.ms": int(timeout_s * 1000), "log_level": _LOG_LEVEL},
        )
    except ServiceUnavailableError:
        raise ServiceUnavailableError(
            f"Kafka is not reachable at {bootstrap} (no answer within ~{timeout_s:.0f} s): {_START_HINT}"
        ) from None
    except (ServiceError, KafkaException) as exc:
        raise ServiceError(f"cannot prepare topic {topic!r} on {bootstrap}: {exc}") from None


def replay(
    alerts: str | Path,
    topic: str,
    *,
    rate: float = 0.0,
    visit_size: int | None = None,
    visit_interval: float | None = None,
    framing: str = "container",
    bootstrap: str = DEFAULT_BOOTSTRAP,
    limit: int | None = None,
    key: str = "candid",
    progress: bool = True,
    partitions: int = 1,
    connect_timeout_s: float = 10.0,
    delivery_timeout_s: float = 60.0,
    producer_config: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Send the alerts of folder `alerts` to `topic` at `rate` alerts/s (0 = as fast as possible), or by visits
    when `visit_size` or `visit_interval` is given (defaults 10000 alerts, 39 s): each visit's alerts as fast as
    possible, the next visit `visit_interval` s after the previous one started. Files are sent in path order
    (generated Rubin files sort by visit). A Confluent-framed file is sent byte for byte.

    `limit` stops after that many alerts. `key` is "candid" (the candid as ASCII digits) or "none".
    Raises DataNotFoundError for a missing or empty folder and ServiceUnavailableError when Kafka does not
    answer; delivery failures do not raise, they are counted in the result.
    """
    if not topic:
        raise DatasimError("a topic name is required")
    if limit is not None and limit < 0:
        raise DatasimError(f"limit must be >= 0, got {limit}")
    if framing not in FRAMINGS:
        raise DatasimError(f"unknown framing {framing!r}; use one of: {', '.join(FRAMINGS)}")
    if key not in KEYS:
        raise DatasimError(f"unknown key mode {key!r}; use one of: {', '.join(KEYS)}")
    by_visits = visit_size is not None or visit_interval is not None
    if by_visits and rate:
        raise DatasimError("pace by --rate or by visits (--visit-size/--visit-interval), not both")
    pacer: Pacer | VisitPacer = Pacer(rate, clock=clock, sleep=sleep)
    if by_visits:
        pacer = VisitPacer(
            DEFAULT_VISIT_SIZE if visit_size is None else visit_size,
            DEFAULT_VISIT_INTERVAL if visit_interval is None else visit_interval,
            clock=clock,
            sleep=sleep,
        )
    files = alert_files(alerts)
    total = count_alerts(files)
    if limit is not None:
        total = min(total, limit)
    messages = iter_messages(files, framing=framing, key=key)
    _connect(bootstrap, topic, partitions, connect_timeout_s)

    config: dict[str, Any] = {
        "client.id": "fink-datasim-replay",
        "message.timeout.ms": int(delivery_timeout_s * 1000),
        "socket.connection.setup.timeout.ms": int(connect_timeout_s * 1000),
        "log_level": _LOG_LEVEL,
    }
    config.update(producer_config or {})
    producer = make_producer(bootstrap, config)
    deliveries = _Deliveries()
    produced = size = 0
    bar = tqdm(
        total=total, unit="alert", desc=f"replay {topic}", file=sys.stderr, disable=not progress, mininterval=0.5
    )
    started = clock()
    try:
        for message in messages:
            if limit is not None and produced >= limit:
                break
            pacer.wait()
            while True:
                try:
                    producer.produce(topic, value=message.value, key=message.key, on_delivery=deliveries)
                    break
                except BufferError:  # local queue full: let deliveries drain it
                    producer.poll(0.05)
            produced += 1
            size += len(message.value)
            producer.poll(0)
            bar.update(1)
    finally:
        pending = producer.flush(delivery_timeout_s)
        bar.close()
    elapsed = clock() - started
    # Messages without a delivery report (still queued when the flush gave up) count as failed.
    unreported = max(produced - deliveries.sent - deliveries.failed, pending, 0)
    failed = deliveries.failed + unreported
    error = deliveries.first_error or (f"{unreported} message(s) not acknowledged in time" if unreported else None)
    return ReplayResult(
        topic=topic,
        framing=framing,
        files=len(files),
        sent=deliveries.sent,
        failed=failed,
        bytes=size,
        elapsed_s=elapsed,
        error=error,
        visits=pacer.visits if isinstance(pacer, VisitPacer) else None,
    )
