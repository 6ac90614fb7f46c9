"""What Fink's convention costs: the writer schema's JSON in every message key (what the published fink-client
decodes with), against an object-id key, on the REAL local Kafka with the broker's producer settings (lz4).

Messages: the real alerts of `../shared/datasim` (ZTF 4.02 and Rubin 10.0, as Fink stored them: Spark's
`topLevelRecord` writer schema with nullable unions, the shape of our filter topics), each re-encoded as one
schemaless Avro value, cycled to `--n` messages per survey. For each survey and key kind, one fresh
one-partition topic:

- key and value bytes per message (uncompressed), and the key's share;
- bytes on the broker's disk per message (the partition's log segments, lz4 batches: a repeated key
  compresses well);
- producer time per message (produce + flush, wall clock);
- the reader's cost per message: the decode of the value, and what fink-client 12.3.0 adds for every message
  (`json.loads` of the key and `fastavro.parse_schema`, no caching), timed apart.

    bench/run.sh bench/schema_key.py [--n 2000] [--out bench/results/schema_key.json]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import time
from pathlib import Path
from typing import Any

import fastavro
from benchlib import RESULTS_DIR, machine_info, markdown_table, unique_name, write_json

from fink_common.datasets import sample_files
from fink_common.kafka import delete_topics, ensure_topics, make_producer

__all__ = ["main"]

SETS = {"ztf": ("ztf_4.02", "objectId"), "lsst": ("lsst_10.0", "diaObjectId")}


def _alerts(name: str, id_field: str) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The compact writer schema JSON and (object id, schemaless value) of every alert of a sample set."""
    schema_text, out = "", []
    for path in sample_files(name):
        with path.open("rb") as fh:
            reader = fastavro.reader(fh)
            schema = reader.writer_schema
            parsed = fastavro.parse_schema(schema)
            for record in reader:
                buf = io.BytesIO()
                fastavro.schemaless_writer(buf, parsed, record)
                out.append((str(record.get(id_field) or record.get("diaSourceId")).encode(), buf.getvalue()))
        schema_text = json.dumps(schema, separators=(",", ":"))
    return schema_text, out


def _log_bytes(log_dir: Path, topic: str) -> int:
    return sum(p.stat().st_size for p in (log_dir / f"{topic}-0").glob("*.log"))


def _produce(bootstrap: str, log_dir: Path, messages: list[tuple[bytes, bytes]]) -> dict[str, float]:
    topic = unique_name("bench_schema_key")
    ensure_topics(bootstrap, [topic], partitions=1)
    producer = make_producer(bootstrap)
    try:
        start = time.perf_counter()
        for key, value in messages:
            while True:
                try:
                    producer.produce(topic, value=value, key=key)
                    break
                except BufferError:
                    producer.poll(0.2)
        if producer.flush(120) != 0:
            raise SystemExit(f"{topic}: messages not delivered")
        elapsed = time.perf_counter() - start
        time.sleep(2.0)  # let the broker finish writing the segment
        return {"disk_bytes_per_message": _log_bytes(log_dir, topic) / len(messages), "produce_us_per_message": elapsed / len(messages) * 1e6}
    finally:
        delete_topics(bootstrap, [topic])


def _reader_cost(schema_text: str, values: list[bytes]) -> dict[str, float]:
    """µs per message: the value's decode, and fink-client's per-message parse of the key (timed alone)."""
    key = schema_text.encode()
    parsed = fastavro.parse_schema(json.loads(schema_text))
    start = time.perf_counter()
    for value in values:
        fastavro.schemaless_reader(io.BytesIO(value), parsed)
    decode = (time.perf_counter() - start) / len(values)
    start = time.perf_counter()
    for _ in values:
        fastavro.parse_schema(json.loads(key.decode("utf-8")))  # what fink-client does for every message
    parse = (time.perf_counter() - start) / len(values)
    return {"decode_us": decode * 1e6, "key_parse_us": parse * 1e6, "key_parse_share": parse / (parse + decode)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="messages per survey and key kind")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--log-dir", type=Path, default=Path(".fink/kafka/data"), help="the broker's log.dirs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "schema_key.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    rows = []
    for survey, (name, id_field) in SETS.items():
        schema_text, alerts = _alerts(name, id_field)
        messages = list(itertools.islice(itertools.cycle(alerts), args.n))
        key = schema_text.encode()
        value_bytes = sum(len(v) for _, v in messages) / len(messages)
        by_id = _produce(args.bootstrap, args.log_dir, messages)
        by_schema = _produce(args.bootstrap, args.log_dir, [(key, v) for _, v in messages])
        reader = _reader_cost(schema_text, [v for _, v in messages[: min(len(messages), 500)]])
        results[survey] = {
            "sample": name,
            "messages": len(messages),
            "value_bytes": value_bytes,
            "schema_key_bytes": len(key),
            "key_share_uncompressed": len(key) / (len(key) + value_bytes),
            "object_id_key": by_id,
            "schema_key": by_schema,
            "disk_overhead_per_message_bytes": by_schema["disk_bytes_per_message"] - by_id["disk_bytes_per_message"],
            "disk_overhead_ratio": by_schema["disk_bytes_per_message"] / by_id["disk_bytes_per_message"] - 1,
            "reader": reader,
        }
        r = results[survey]
        rows.append([survey, f"{value_bytes / 1e3:.1f}", f"{len(key) / 1e3:.1f}", f"{by_id['disk_bytes_per_message'] / 1e3:.1f}",
                     f"{by_schema['disk_bytes_per_message'] / 1e3:.1f}", f"{100 * r['disk_overhead_ratio']:.1f} %",
                     f"{by_id['produce_us_per_message']:.0f} / {by_schema['produce_us_per_message']:.0f}",
                     f"{reader['decode_us']:.0f}", f"{reader['key_parse_us']:.0f} ({100 * reader['key_parse_share']:.0f} %)"])  # fmt: skip
    write_json(args.out, {"machine": machine_info(), "n": args.n, "results": results})
    print(markdown_table(["survey", "value kB", "schema key kB", "disk kB/msg (id key)", "disk kB/msg (schema key)",
                          "disk overhead", "produce µs/msg (id / schema)", "decode µs", "key parse µs (fink-client)"], rows))  # fmt: skip
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
