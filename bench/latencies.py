"""Broker-added latencies of one replay (a "scenario"), from Kafka append times (LogAppendTime, ms).

For each alert of the scenario that some filter selected: `appended` = append time of its first message in
a filter topic (an alert selected by several filters has one message per topic: the first one counts) minus
the append time of its input message. The distribution sends each micro-batch in one Kafka transaction,
whose messages a `read_committed` consumer sees only at the commit: `visible` uses, instead of the message's
append time, that of its transaction's commit record (produced last in the transaction, on
`<prefix>distribution_commits`, with the number of messages the transaction sent per filter). The stage's
one producer runs its transactions one after the other, so with one partition per filter topic the committed
messages of a topic, in offset order, belong to the commit records in order: the first `sent[filter]` to the
first commit, and so on. (The commit record's append time cannot simply be matched by time: librdkafka sends
each partition's batches on its own, so a commit record can be appended a few ms before the last messages of
its own transaction.) Drain: last output append time minus the first (and minus the last) input append time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from topics import Commit, Record

__all__ = ["distribution", "scenario_latencies"]


def distribution(values_ms: Iterable[float]) -> dict[str, Any]:
    """count, p50, p95, p99, max, mean and min of latencies given in ms, in seconds."""
    values = np.asarray(list(values_ms), dtype=float) / 1000.0
    if values.size == 0:
        return {"count": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "count": int(values.size),
        "p50_s": round(float(p50), 3),
        "p95_s": round(float(p95), 3),
        "p99_s": round(float(p99), 3),
        "max_s": round(float(values.max()), 3),
        "mean_s": round(float(values.mean()), 3),
        "min_s": round(float(values.min()), 3),
    }


def commit_times(name: str, records: Sequence[Record], commits: Sequence[Commit]) -> list[int | None]:
    """The append time of the commit record of each message of filter `name`'s topic (in offset order);
    None for messages beyond what the commit records account for (should not happen)."""
    out: list[int | None] = []
    counts = iter([(c.append_ms, c.sent.get(name, 0)) for c in commits])
    current, left = None, 0
    for _ in records:
        while left == 0:
            current, left = next(counts, (None, -1))
        out.append(current)
        left -= 1
    return out


def scenario_latencies(
    inputs: Sequence[Record], outputs: Mapping[str, Sequence[Record]], commits: Sequence[Commit]
) -> dict[str, Any]:
    """Latency distributions of the alerts of `inputs` (one scenario) over the filter topics' `outputs`."""
    sent = {r.candid: r.append_ms for r in inputs}
    first: dict[int, int] = {}
    first_visible: dict[int, int] = {}
    per_topic: dict[str, dict[str, Any]] = {}
    messages = 0
    for name, records in outputs.items():
        own: dict[int, int] = {}
        ordered = sorted(records, key=lambda r: (r.partition, r.offset))
        for record, commit in zip(ordered, commit_times(name, ordered, commits), strict=True):
            candid = record.candid
            if candid not in sent or candid in own:
                continue
            own[candid] = record.append_ms
            first[candid] = min(first.get(candid, record.append_ms), record.append_ms)
            if commit is not None:
                first_visible[candid] = min(first_visible.get(candid, commit), commit)
        messages += len(own)
        per_topic[name] = distribution(own[c] - sent[c] for c in own)
    in_times = sorted(sent.values())
    out_times = sorted(first.values())
    drain = None
    if in_times and out_times:
        last_out = max(out_times)
        drain = {
            "input_span_s": round((in_times[-1] - in_times[0]) / 1000, 3),
            "last_output_minus_first_input_s": round((last_out - in_times[0]) / 1000, 3),
            "last_output_minus_last_input_s": round((last_out - in_times[-1]) / 1000, 3),
        }
        if first_visible:
            last_visible = max(first_visible.values())
            drain["last_commit_minus_first_input_s"] = round((last_visible - in_times[0]) / 1000, 3)
            drain["last_commit_minus_last_input_s"] = round((last_visible - in_times[-1]) / 1000, 3)
    return {
        "alerts_sent": len(sent),
        "alerts_matched": len(first),
        "output_messages": messages,
        "appended": distribution(first[c] - sent[c] for c in first),
        "visible": distribution(first_visible[c] - sent[c] for c in first_visible),
        "per_topic": per_topic,
        "drain": drain,
    }
