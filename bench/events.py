"""The stages' own JSON log lines (structlog, one object per line on stdout): micro-batches, counts, times.

Every stage logs `starting` once its streaming query is about to start, one `micro-batch` line at the end of
each micro-batch (with `seconds`, the time its foreachBatch sink took, and counts) and `stopped` with its
totals. The name of the count of alerts taken in differs per stage; `COUNT_FIELD` is the one place that
knows it (update it here if a stage renames it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import rates

__all__ = [
    "COUNT_FIELD",
    "MODULES",
    "STAGES",
    "Batch",
    "finish",
    "first_event",
    "micro_batches",
    "read_events",
    "throughput",
    "timestamp",
]

#: The four stages in pipeline order.
STAGES = ("stream2raw", "raw2science", "distribution", "archive")
#: The Python module `python -m` runs for each stage.
MODULES = {stage: f"fink_{stage}" for stage in STAGES}
#: The field of each stage's `micro-batch` line that counts the alerts the batch took in.
COUNT_FIELD = {"stream2raw": "received", "raw2science": "alerts", "distribution": "alerts_in", "archive": "alerts_in"}


def read_events(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a stage log (other lines, e.g. Spark's own log on stderr, are skipped)."""
    out: list[dict[str, Any]] = []
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line still being written
    return out


def timestamp(event: dict[str, Any]) -> float:
    """The event's ISO timestamp (structlog, UTC) as epoch seconds."""
    return dt.datetime.fromisoformat(event["timestamp"]).timestamp()


def first_event(events: Iterable[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((e for e in events if e.get("event") == name), None)


@dataclass(frozen=True)
class Batch:
    """One micro-batch as its `micro-batch` line tells it: start and end in epoch seconds, alerts taken in."""

    batch_id: int
    start: float
    end: float
    alerts: int
    event: dict[str, Any]

    @property
    def seconds(self) -> float:
        return self.end - self.start


def micro_batches(stage: str, events: Iterable[dict[str, Any]]) -> list[Batch]:
    """The stage's micro-batches in log order; a distribution batch skipped as already committed counts 0."""
    out = []
    for event in events:
        if event.get("event") != "micro-batch":
            continue
        end = timestamp(event)
        alerts = 0 if event.get("skipped_already_committed") else int(event.get(COUNT_FIELD[stage]) or 0)
        out.append(Batch(int(event.get("batch_id", -1)), end - float(event.get("seconds") or 0.0), end, alerts, event))
    return out


def finish(batches: Sequence[Batch], target: int) -> Batch | None:
    """The micro-batch at which the running count of alerts reached `target`, None if it never did."""
    total = 0
    for batch in batches:
        total += batch.alerts
        if total >= target:
            return batch
    return None


def throughput(stage: str, events: list[dict[str, Any]], wall_s: float, nbytes: int) -> dict[str, Any]:
    """alerts/s of a stage run alone: sustained (start of the first micro-batch with alerts to the end of the
    last one), since the `starting` line (query planning, first Python workers), and over the whole process
    (JVM and SparkSession start-up, clean stop). `nbytes` is the size of the input, for the MB/s columns."""
    batches = [b for b in micro_batches(stage, events) if b.alerts > 0]
    if not batches:
        return {"alerts": 0, "micro_batches": 0}
    alerts = sum(b.alerts for b in batches)
    starting = first_event(events, "starting")
    last_end = batches[-1].end
    return {
        "alerts": alerts,
        "micro_batches": len(batches),
        "batch_seconds": [round(b.seconds, 3) for b in batches],
        "batch_alerts": [b.alerts for b in batches],
        "sustained": rates(alerts, nbytes, last_end - batches[0].start),
        "since_query_start": rates(alerts, nbytes, last_end - timestamp(starting)) if starting else None,
        "whole_process": rates(alerts, nbytes, wall_s),
    }
