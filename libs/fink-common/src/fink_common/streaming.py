"""Start a stage's streaming query the one way every stage does: a foreachBatch sink with a checkpoint,
and either a processing-time trigger (a service) or availableNow (process what is there, then stop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pyspark.sql import DataFrame
from pyspark.sql.streaming import StreamingQuery

__all__ = ["TriggerSettings", "start_foreach_batch"]


class TriggerSettings(Protocol):
    """What every stage config says about its query (each stage's frozen config satisfies it)."""

    @property
    def checkpoint(self) -> Path: ...

    @property
    def available_now(self) -> bool: ...

    @property
    def trigger_seconds(self) -> float: ...


def start_foreach_batch(
    df: DataFrame, sink: Callable[[DataFrame, int], None], *, name: str, settings: TriggerSettings
) -> StreamingQuery:
    writer = df.writeStream.queryName(name).foreachBatch(sink).option("checkpointLocation", str(settings.checkpoint))
    if settings.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    return writer.start()
