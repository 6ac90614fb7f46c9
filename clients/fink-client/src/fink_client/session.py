"""One `fink-consume` run: read batches, print a line per alert, save them, then commit their offsets.

Order per batch: print (and quarantine what was not decoded), save the batch when `--out` is given (every
`batch_size` alerts), and only then commit its offsets, synchronously. When the run stops (max alerts, idle
timeout, SIGINT/SIGTERM), what was read is saved and committed before the consumer closes. A failure while
reading still saves what was read (not committed: it is read again next time, into the same file names).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from fink_client.config import ConsumeConfig
from fink_client.consumer import AlertConsumer, report_problem
from fink_client.display import summary_line
from fink_client.message import Received
from fink_client.sink import AlertSink

__all__ = ["Totals", "consume", "describe_topics"]


@dataclass
class Totals:
    """What a run did."""

    alerts: int = 0  # messages read, decoded or not
    decoded: int = 0
    quarantined: int = 0  # not decoded (reported; written to <out>/quarantine/ with --out)
    committed: int = 0
    files: list[Path] = field(default_factory=list)
    topics: set[str] = field(default_factory=set)

    def summary(self, out: Path | None) -> str:
        text = f"{self.alerts} alert(s) read from {len(self.topics)} topic(s), {self.alerts - self.decoded} not decoded"
        if out is not None:
            text += f"; {len(self.files)} file(s) saved under {out}"
        return text + f"; offsets of {self.committed} committed"


def consume(
    config: ConsumeConfig,
    stop: Callable[[], bool] = lambda: False,
    *,
    stdout: TextIO | None = None,
    consumer: AlertConsumer | None = None,
) -> Totals:
    """Run fink-consume with `config` until it stops (see the module docstring); returns the totals."""
    stdout = stdout or sys.stdout
    totals = Totals()
    sink = AlertSink(config.out, config.format) if config.out is not None else None
    consumer = consumer or AlertConsumer(config)
    pending: list[Received] = []

    def save() -> None:
        if sink is not None:
            totals.files.extend(sink.write(pending))

    with consumer.open():
        try:
            for batch in consumer.batches(stop):
                for item in batch:
                    totals.topics.add(item.topic)
                    if item.ok and item.alert is not None:
                        totals.decoded += 1
                        print(summary_line(item.alert, item.topic, consumer.prefix(item.topic)), file=stdout)
                    else:
                        report_problem(item)
                        if sink is not None:
                            sink.quarantine(item)
                        totals.quarantined += 1
                totals.alerts += len(batch)
                stdout.flush()
                pending.extend(batch)
                if sink is None or len(pending) >= config.batch_size:
                    save()
                    consumer.commit(pending)
                    totals.committed += len(pending)
                    pending = []
        except BaseException:
            if pending:
                save()  # kept on disk, not committed: read again (into the same file names) next time
            raise
        if pending:
            save()
            consumer.commit(pending)
            totals.committed += len(pending)
    return totals


def describe_topics(config: ConsumeConfig, *, stdout: TextIO | None = None) -> int:
    """Print the filter topics the broker offers (topic, filter, messages); returns how many."""
    stdout = stdout or sys.stdout
    infos = AlertConsumer(config).list_topics()
    width = max((len(i.topic) for i in infos), default=5)
    fwidth = max((len(i.filter) for i in infos), default=6)
    print(f"{'topic':<{width}}  {'filter':<{fwidth}}  {'offsets':>9}  schema topic", file=stdout)
    for info in infos:
        print(f"{info.topic:<{width}}  {info.filter:<{fwidth}}  {info.messages:>9}  {info.schema_topic}", file=stdout)
    if infos:
        print("(offsets: the alerts plus one Kafka transaction marker per write; the alerts are fewer)", file=stdout)
    stdout.flush()
    return len(infos)
