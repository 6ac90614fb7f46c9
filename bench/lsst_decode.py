"""Rubin decoding on ONE core, against a bare fastavro baseline, on the real Confluent-framed alerts.

The messages are the real alerts of `../shared/datasim/lsst_wire/v10_0` and `v11_0` (14 each: 9 solar-system
ones of ~110-120 kB without history, 5 static ones of 248-300 kB with 303-391 prvDiaSources and up to 777
forced sources), cycled to `--n` messages, measured separately for the light and the heavy ones:

(a) bare: the 5-byte header split by hand and `fastavro.schemaless_reader` with the official schema of the id
    (parsed once): the least any decoder must do;
(b) ours: stream2raw's decoder for the survey (`fink_common.surveys` LSST: framing sniffed, writer schema by id
    through the resolver, checks, the raw-table reshaping, clear ids, schema id and version);
(c) ours + write: (b) then the rows written as one snappy parquet file per 500 with pyarrow, in the raw file
    schema, as stream2raw's tasks do.

Numbers: alerts/s, CPU ms per alert (process CPU time), and (b)/(a), (c)/(a). No Spark, no Kafka.

    bench/run.sh bench/lsst_decode.py [--n 3000] [--out bench/results/lsst_decode.json]
"""

from __future__ import annotations

import argparse
import io
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
from benchlib import RESULTS_DIR, machine_info, markdown_table, pin_to_one_core, write_json

from fink_common.alert_packet import official_schema, version_of_id
from fink_common.datasets import sample_files
from fink_common.surveys import DecodeSettings, get_survey
from fink_datasim.framing import alert_files
from fink_stream2raw.writer import raw_file_schema

__all__ = ["bare_decode_rate", "main"]

HEAVY_MIN_HISTORY = 300


def _messages() -> dict[str, list[bytes]]:
    light: list[bytes] = []
    heavy: list[bytes] = []
    bare = _bare()
    for path in sample_files("lsst_wire_10.0") + sample_files("lsst_wire_11.0"):
        value = path.read_bytes()
        (heavy if len(bare(value)["prvDiaSources"] or []) >= HEAVY_MIN_HISTORY else light).append(value)
    return {"light": light, "heavy": heavy}


def _bare() -> Callable[[bytes], dict[str, Any]]:
    schemas: dict[int, Any] = {}

    def decode(value: bytes) -> dict[str, Any]:
        schema_id = int.from_bytes(value[1:5], "big")
        schema = schemas.get(schema_id)
        if schema is None:
            schema = schemas[schema_id] = fastavro.parse_schema(official_schema(version_of_id(schema_id)))
        return fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)  # type: ignore[return-value]

    return decode


def _time(work: Callable[[], int]) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    n = work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"alerts": n, "seconds": round(wall, 3), "alerts_per_s": round(n / wall, 1), "cpu_ms_per_alert": round(1e3 * cpu / n, 3)}


def bare_decode_rate(alerts: Path) -> dict[str, float]:
    """Baseline (a) on the very messages of a generated Rubin workload (one Confluent-framed file per alert):
    every file read and decoded once by bare fastavro, in this process (one thread); alerts/s and CPU ms."""
    values = [path.read_bytes() for path in alert_files(alerts)]
    bare = _bare()
    bare(values[0])  # the schema parsed outside the clock

    def run() -> int:
        for value in values:
            bare(value)
        return len(values)

    return {**_time(run), "mean_message_kB": round(sum(map(len, values)) / len(values) / 1e3, 1)}


def _measure(values: list[bytes], n: int, out_dir: Path) -> dict[str, dict[str, float]]:
    stream = list(itertools.islice(itertools.cycle(values), n))
    bare = _bare()
    ours = get_survey("lsst").decoder(DecodeSettings(survey="lsst", schema_name="lsst_11.0"))
    schema = raw_file_schema("lsst")
    for value in values:  # warm both decoders (schemas parsed, plans built) outside the clock
        bare(value), ours(value)
    pa.Table.from_pylist([ours(values[0])], schema=schema)  # pyarrow's first conversion costs ~2.6 s once

    def run_bare() -> int:
        for value in stream:
            bare(value)
        return len(stream)

    def run_ours() -> int:
        for value in stream:
            ours(value)
        return len(stream)

    def run_ours_write() -> int:
        rows: list[dict[str, Any]] = []
        for i, value in enumerate(stream):
            rows.append(ours(value))
            if len(rows) == 500 or i == len(stream) - 1:
                pq.write_table(pa.Table.from_pylist(rows, schema=schema), out_dir / f"part-{i}.parquet", compression="snappy")
                rows = []
        return len(stream)

    result = {"bare": _time(run_bare), "ours": _time(run_ours), "ours_write": _time(run_ours_write)}
    base = result["bare"]["alerts_per_s"]
    for key in ("ours", "ours_write"):
        result[key]["ratio_to_bare"] = round(result[key]["alerts_per_s"] / base, 3)
    result["bare"]["mean_message_kB"] = round(sum(map(len, values)) / len(values) / 1e3, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="messages per kind (default 3000)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "lsst_decode.json")
    args = parser.parse_args()
    pin_to_one_core()
    results: dict[str, Any] = {"machine": machine_info(), "n": args.n}
    with tempfile.TemporaryDirectory() as scratch:
        for kind, values in _messages().items():
            folder = Path(scratch) / kind
            folder.mkdir()
            results[kind] = {"messages": len(values), **_measure(values, args.n, folder)}
    write_json(args.out, results)
    rows = [
        [kind, step, str(r[step]["alerts_per_s"]), str(r[step]["cpu_ms_per_alert"]), str(r[step].get("ratio_to_bare", 1.0))]
        for kind in ("light", "heavy")
        for r in [results[kind]]
        for step in ("bare", "ours", "ours_write")
    ]
    print(markdown_table(["alerts", "step", "alerts/s", "CPU ms/alert", "ratio to bare"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
