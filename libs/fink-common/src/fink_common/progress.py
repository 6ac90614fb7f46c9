"""One structured log line per streaming micro-batch, from Spark's own progress reports.

Each stage's foreachBatch sink logs what it wrote; this listener adds what only Spark knows: input rows,
rates, durations and the state operators' metrics (e.g. the duplicates dropped by deduplication).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener

from fink_common.logging import get_logger

__all__ = ["ProgressListener", "dropped_duplicates", "executed_batches"]


def executed_batches(reports: Iterable[Any]) -> list[dict[str, Any]]:
    """The progress reports of the micro-batches that ran, one per batch id, oldest first.

    `StreamingQuery.recentProgress` also holds the reports of idle triggers (no new data, nothing run: no
    `addBatch` duration), and those repeat the state operators' metrics of the last batch that ran: summing
    every report counts that batch's dropped duplicates again for each idle trigger.
    """
    out: dict[Any, dict[str, Any]] = {}
    for report in reports:
        progress = report if isinstance(report, dict) else json.loads(report.json)
        if "addBatch" in progress.get("durationMs", {}):
            out.setdefault(progress.get("batchId"), progress)
    return list(out.values())


def dropped_duplicates(progress: dict[str, Any]) -> int:
    """Rows dropped as duplicates by the deduplication operators of one progress report."""
    total = 0
    for op in progress.get("stateOperators", []):
        if "dedupe" in str(op.get("operatorName", "")).lower():
            total += int(op.get("customMetrics", {}).get("numDroppedDuplicateRows", 0))
    return total


class ProgressListener(StreamingQueryListener):
    """Logs each progress report of the queries named `query_name`, and keeps running totals."""

    def __init__(self, query_name: str) -> None:
        super().__init__()
        self.query_name = query_name
        self.totals: dict[str, int] = defaultdict(int)
        self._log = get_logger("fink.progress")

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 (Spark's API)
        pass

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        progress = json.loads(event.progress.json)
        if progress.get("name") != self.query_name:
            return
        rows = int(progress.get("numInputRows", 0))
        dups = dropped_duplicates(progress)
        self.totals["input_rows"] += rows
        self.totals["dropped_duplicates"] += dups
        self.totals["batches"] += 1
        self._log.info(
            "progress",
            batch_id=progress.get("batchId"),
            input_rows=rows,
            dropped_duplicates=dups,
            input_rows_per_s=round(float(progress.get("inputRowsPerSecond") or 0.0), 1),
            processed_rows_per_s=round(float(progress.get("processedRowsPerSecond") or 0.0), 1),
            trigger_ms=progress.get("durationMs", {}).get("triggerExecution"),
        )

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        pass
