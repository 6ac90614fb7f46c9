"""Spark's progress reports counted once per micro-batch that ran (the shapes are those Spark 4 writes)."""

from __future__ import annotations

from typing import Any

from fink_common.progress import dropped_duplicates, executed_batches


def _report(batch_id: int, dropped: int, *, ran: bool) -> dict[str, Any]:
    durations = {"addBatch": 120, "latestOffset": 3, "triggerExecution": 150} if ran else {"latestOffset": 2, "triggerExecution": 2}
    return {
        "batchId": batch_id,
        "numInputRows": 5 if ran else 0,
        "durationMs": durations,
        "stateOperators": [{"operatorName": "dedupeWithinWatermark", "customMetrics": {"numDroppedDuplicateRows": dropped}}],
    }


def test_idle_triggers_do_not_count_the_last_batch_again() -> None:
    # batch 1 ran and dropped 3; the three idle triggers after it repeat its state metrics, as Spark does
    reports = [_report(0, 5, ran=True), _report(1, 3, ran=True), *(_report(2, 3, ran=False) for _ in range(3))]
    batches = executed_batches(reports)
    assert [b["batchId"] for b in batches] == [0, 1]
    assert sum(dropped_duplicates(b) for b in batches) == 8
    assert sum(dropped_duplicates(r) for r in reports) == 17  # what summing every report gave


def test_a_batch_reported_twice_counts_once() -> None:
    assert [b["batchId"] for b in executed_batches([_report(4, 1, ran=True), _report(4, 1, ran=True)])] == [4]
