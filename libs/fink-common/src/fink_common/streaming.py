"""Start a stage's streaming query the one way every stage does: a foreachBatch sink with a checkpoint,
and either a processing-time trigger (a service) or availableNow (process what is there, then stop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql.streaming import StreamingQuery

__all__ = ["start_foreach_batch"]


def start_foreach_batch(
    df: DataFrame,
    sink: Callable[[DataFrame, int], None],
    *,
    name: str,
    checkpoint: Path,
    available_now: bool,
    trigger_seconds: float,
) -> StreamingQuery:
    writer = df.writeStream.queryName(name).foreachBatch(sink).option("checkpointLocation", str(checkpoint))
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{trigger_seconds} seconds")
    return writer.start()
