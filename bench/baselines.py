"""Baselines for stream2raw, measured on ONE core: what the hardware and libraries allow without Spark.

(a) decode + write: every alert as the Kafka message `fink-datasim replay` sends (default framing: a
    one-record Avro container), decoded with bare fastavro (container header read with fastavro, writer
    schema parsed once per distinct header, record read with `schemaless_reader`), then written as snappy
    parquet with pyarrow, one file per batch: the physical limit of stream2raw on one core.
(a') the same with stream2raw's own Python decoder (`fink_common.avro.decode_alert` + `conform_record`,
    the work its `mapInArrow` function does per message), to tell Python decoding cost from Spark overhead.
(b) Kafka: the alerts replayed once into a fresh topic, then read back by one confluent-kafka consumer.

Only the timed sections count: building the messages from the alert files is outside the clock.

    bench/run.sh bench/baselines.py [--n 10000] [--batch 5000] [--skip-kafka]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
from benchlib import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_WORK_DIR,
    RESULTS_DIR,
    machine_info,
    markdown_table,
    pin_to_one_core,
    rates,
    unique_name,
    workload,
    write_json,
)
from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from pyspark.sql.pandas.types import to_arrow_schema

from fink_common.avro import decode_alert
from fink_common.encoding import HEADER_SCHEMA
from fink_common.kafka import delete_topics, make_consumer
from fink_common.schema import conform_record, load_avro_schema, raw_alert_schema, spark_schema
from fink_datasim.framing import alert_files, iter_messages
from fink_datasim.replay import replay

__all__ = ["BareContainerDecoder", "fink_decoder", "main", "run_decode_write", "run_kafka"]

SCHEMA_NAME = "ztf_4.02"
Decoder = Callable[[bytes], dict[str, Any]]


@dataclass
class Timing:
    alerts: int = 0
    bytes: int = 0
    decode_s: float = 0.0
    write_s: float = 0.0

    @property
    def elapsed_s(self) -> float:
        return self.decode_s + self.write_s


# ------------------------------------------------------------------------------------------- decoders


class BareContainerDecoder:
    """Bare fastavro on a one-record container: header, block header, record; writer schema parsed once."""

    def __init__(self) -> None:
        self._writers: dict[bytes, Any] = {}

    def __call__(self, message: bytes) -> dict[str, Any]:
        stream = io.BytesIO(message)
        header = fastavro.schemaless_reader(stream, HEADER_SCHEMA, None)
        schema_bytes: bytes = header["meta"]["avro.schema"]  # type: ignore[index]
        writer = self._writers.get(schema_bytes)
        if writer is None:
            writer = self._writers[schema_bytes] = fastavro.parse_schema(json.loads(schema_bytes))
        fastavro.schemaless_reader(stream, "long", None)  # records in the block (1)
        fastavro.schemaless_reader(stream, "long", None)  # block size
        record: dict[str, Any] = fastavro.schemaless_reader(stream, writer, None)  # type: ignore[assignment]
        return record


def fink_decoder(message: bytes) -> dict[str, Any]:
    """What stream2raw's mapInArrow function does per message (minus the Kafka coordinates)."""
    return conform_record(decode_alert(message, SCHEMA_NAME), "ztf")


# ------------------------------------------------------------------------------------ (a) decode + write


def message_batches(alerts: Path, batch: int) -> Iterator[list[bytes]]:
    """The Kafka message values replay sends (container framing), `batch` at a time."""
    values = (m.value for m in iter_messages(alert_files(alerts), framing="container", key="none"))
    while chunk := list(itertools.islice(values, batch)):
        yield chunk


def arrow_schema_for(avro_schema: dict[str, Any]) -> pa.Schema:
    return to_arrow_schema(spark_schema(avro_schema), timestamp_utc=True)


def warm_up(values: list[bytes], decoder: Decoder, schema: pa.Schema) -> None:
    """Untimed: the first decode and the first Arrow conversion pay one-off costs (schema parsing, caches)."""
    pa.Table.from_pylist([decoder(v) for v in values], schema=schema)


def decode_and_write(
    alerts: Path, decoder: Decoder, schema: pa.Schema, out_dir: Path, batch: int
) -> Timing:
    """Decode every message and write each batch as one snappy parquet file; only this work is timed."""
    timing = Timing()
    for index, values in enumerate(message_batches(alerts, batch)):
        if index == 0:
            warm_up(values[:200], decoder, schema)
        started = time.perf_counter()
        records = [decoder(v) for v in values]
        decoded = time.perf_counter()
        table = pa.Table.from_pylist(records, schema=schema)
        pq.write_table(table, out_dir / f"batch-{index:09d}.parquet", compression="snappy")
        written = time.perf_counter()
        timing.alerts += len(values)
        timing.bytes += sum(len(v) for v in values)
        timing.decode_s += decoded - started
        timing.write_s += written - decoded
        del records, table
    return timing


def decode_write_result(name: str, what: str, timing: Timing, out_dir: Path) -> dict[str, Any]:
    parquet_bytes = sum(p.stat().st_size for p in out_dir.glob("*.parquet"))
    return {
        "name": name,
        "what": what,
        "alerts": timing.alerts,
        "bytes": timing.bytes,
        **rates(timing.alerts, timing.bytes, timing.elapsed_s),
        "decode_s": round(timing.decode_s, 3),
        "write_s": round(timing.write_s, 3),
        "decode_alerts_per_s": round(timing.alerts / timing.decode_s, 1) if timing.decode_s else None,
        "parquet_bytes": parquet_bytes,
    }


def run_decode_write(alerts: Path, batch: int, work_dir: Path) -> list[dict[str, Any]]:
    variants = [
        (
            "a_fastavro_pyarrow",
            "bare fastavro decode (container framing) + pyarrow parquet write",
            BareContainerDecoder(),
            arrow_schema_for(load_avro_schema(SCHEMA_NAME)),
        ),
        (
            "a_fink_decoder_pyarrow",
            "stream2raw's Python decoder (decode_alert + conform_record) + pyarrow parquet write",
            fink_decoder,
            arrow_schema_for(raw_alert_schema("ztf")),
        ),
    ]
    results = []
    for name, what, decoder, schema in variants:
        out_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work_dir))
        try:
            timing = decode_and_write(alerts, decoder, schema, out_dir, batch)
            results.append(decode_write_result(name, what, timing, out_dir))
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        print(f"{name}: {results[-1]['alerts_per_s']} alerts/s", file=sys.stderr)
    return results


# ---------------------------------------------------------------------------------------- (b) Kafka read


def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float) -> tuple[int, int, float]:
    """Read partition 0 of `topic` from the beginning until `expected` messages: (messages, bytes, seconds)."""
    consumer = make_consumer(bootstrap, group=unique_name("fink-bench"))
    count = size = 0
    try:
        started = time.perf_counter()
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        while count < expected and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                if message.error() is None:
                    count += 1
                    size += len(message.value() or b"")
        elapsed = time.perf_counter() - started
    finally:
        consumer.close()
    return count, size, elapsed


def run_kafka(alerts: Path, bootstrap: str, timeout_s: float) -> dict[str, Any]:
    topic = unique_name("bench_baseline")
    sent = replay(alerts, topic, rate=0, framing="container", bootstrap=bootstrap, key="candid", progress=False)
    if sent.failed:
        raise SystemExit(f"replay into {topic} failed: {sent.error}")
    try:
        count, size, elapsed = consume_all(bootstrap, topic, sent.sent, timeout_s)
    finally:
        delete_topics(bootstrap, [topic])
    if count != sent.sent:
        raise SystemExit(f"the consumer read {count} of {sent.sent} messages within {timeout_s:.0f} s")
    print(f"b_kafka_consumer: {count / elapsed:.1f} alerts/s", file=sys.stderr)
    return {
        "name": "b_kafka_consumer",
        "what": "one confluent-kafka consumer (fink_common.kafka.make_consumer) reading the topic from the beginning",
        "alerts": count,
        "bytes": size,
        **rates(count, size, elapsed),
        "replay": {"topic": topic, "sent": sent.sent, **rates(sent.sent, sent.bytes, sent.elapsed_s)},
    }


# ------------------------------------------------------------------------------------------------ main


def render(results: list[dict[str, Any]], n: int, core: int | None) -> str:
    rows = [(r["name"], r["alerts_per_s"], r["mb_per_s"], r["elapsed_s"], r["what"]) for r in results]
    title = f"Baselines on one core (core {core}), N = {n:,} generated ZTF 4.02 alerts"
    return f"{title}\n\n" + markdown_table(["baseline", "alerts/s", "MB/s", "elapsed s", "what"], rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="generated alerts (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="datasim seed (default 1)")
    parser.add_argument("--batch", type=int, default=5000, help="alerts per parquet file (default 5000)")
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP, help=f"Kafka ({DEFAULT_BOOTSTRAP})")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="alerts and scratch files")
    parser.add_argument("--skip-kafka", action="store_true", help="measure (a) only")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the Kafka read (default 600)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "baselines.json")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    alerts = workload(args.n, args.seed, args.work_dir)
    core = pin_to_one_core()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    results = run_decode_write(alerts, args.batch, args.work_dir)
    if not args.skip_kafka:
        results.append(run_kafka(alerts, args.bootstrap, args.timeout))
    payload = {
        "machine": machine_info(),
        "pinned_core": core,
        "n": args.n,
        "seed": args.seed,
        "batch": args.batch,
        "framing": "container",
        "baselines": {r["name"]: r for r in results},
    }
    write_json(args.out, payload)
    print(render(results, args.n, core))
    return 0


if __name__ == "__main__":
    sys.exit(main())
