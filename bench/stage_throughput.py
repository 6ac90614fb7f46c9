"""One stage alone: sustained throughput on a pre-filled input, with the real job, Spark, Kafka, HBase and lake.

    bench/run.sh bench/stage_throughput.py --stage stream2raw|raw2science|distribution|archive [--n 10000] [--survey lsst]

The stage runs as `python -m fink_<stage>` (Spark local[2], FINK_AVAILABLE_NOW=true: it processes what its
input holds in micro-batches, then stops) with unique topic names, HBase table prefix and a fresh lake, and is
timed from its own JSON `micro-batch` log lines. Its input:

- stream2raw: N generated alerts replayed once into a fresh topic (container framing);
- raw2science: the raw lake stream2raw makes of the same N alerts, made once and cached under the work dir;
- distribution, archive: the science lake raw2science makes of that raw lake, cached likewise.

The memory of the stage's process tree is sampled from /proc while it runs. Ratios: stream2raw and raw2science
to baseline (a) `a_fastavro_pyarrow`, distribution to (b) `b_kafka_consumer` (bench/results/baselines.json),
archive to (c) `c_hbase_put_same_rows`, measured right after the stage (see hbase_tables.py). With `--survey lsst`
the alerts are datasim's Rubin 11.0 ones (Confluent framing), every stage runs with FINK_SURVEY=lsst, and each
stage is compared with a bare fastavro decode of the same messages (`lsst_decode.bare_decode_rate`, one thread,
measured in the same run). The CPU time of the stage's process tree (JVM start-up included) is given per alert. Everything the
run made (topic, filter topics, tables, lake, logs) is removed at the end unless --keep; the cached inputs stay.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import (
    RESULTS_DIR,
    add_common_args,
    machine_info,
    markdown_table,
    rates,
    read_json,
    unique_name,
    workload,
    write_json,
)
from events import STAGES, throughput
from hbase_tables import BASELINE_C, copy_rows, drop_tables
from lakes import INPUT_OF, InputBuilder
from lsst_decode import bare_decode_rate
from stage import Names, StageRun, alone_env, run_alone
from topics import DistributionTopics, drop_topics, replayed

__all__ = ["BASELINE_OF", "OTHER_RATIOS", "baseline_rate", "main", "measure", "render"]

BASELINE_OF = {
    "stream2raw": "a_fastavro_pyarrow",
    "raw2science": "a_fastavro_pyarrow",
    "distribution": "b_kafka_consumer",
    "archive": BASELINE_C,
}
#: Secondary ratios, for comparison: (label, baseline name, key path in its entry).
OTHER_RATIOS = {
    "archive": [("a_fastavro_pyarrow", "a_fastavro_pyarrow", ("alerts_per_s",))],
    "distribution": [("b_kafka_producer (replay)", "b_kafka_consumer", ("replay", "alerts_per_s"))],
}


def baseline_rate(path: Path, name: str, keys: tuple[str, ...] = ("alerts_per_s",)) -> float | None:
    """alerts/s of baseline `name` in baselines.json (`keys`: where, in its entry), None when absent."""
    entry: Any = (read_json(path) or {}).get("baselines", {}).get(name)
    for key in keys:
        entry = entry.get(key) if isinstance(entry, dict) else None
    return float(entry) if entry else None


def measure(args: argparse.Namespace, names: Names, scratch: Path) -> tuple[StageRun, dict[str, Any], int]:
    """Prepare the stage's input, run it alone; returns the run, a description of the input and the alerts expected."""
    alerts = workload(args.n, args.seed, args.work_dir, survey=args.survey)
    env = alone_env(
        names,
        driver_memory=args.driver_memory,
        max_offsets=args.max_offsets if args.stage == "stream2raw" else None,
        max_files=args.max_files if args.stage != "stream2raw" else None,
    )
    log = scratch / f"{args.stage}.log"
    if args.stage == "stream2raw":
        with replayed(alerts, names.input_topic, names.bootstrap, partitions=args.partitions, keep=args.keep) as sent:
            run = run_alone(args.stage, env, log, args.timeout)
        replay_rates = rates(sent.sent, sent.bytes, sent.elapsed_s)
        described = {"kind": "kafka topic", "topic": names.input_topic, "partitions": args.partitions,
                     "alerts": sent.sent, "bytes": sent.bytes, "replay": replay_rates}  # fmt: skip
        return run, described, sent.sent
    builder = InputBuilder(
        alerts, args.n, args.seed, args.work_dir, args.bootstrap, args.thrift, args.driver_memory, args.timeout,
        refresh=args.refresh_inputs, survey=args.survey,
    )  # fmt: skip
    dataset = builder.dataset(INPUT_OF[args.stage])
    dataset.link_into(names.lake)
    stats = dataset.stats()
    described = {"kind": f"cached {dataset.name} lake", "path": str(dataset.path), "alerts": stats["rows"], **stats,
                 "made": dataset.info}  # fmt: skip
    return run_alone(args.stage, env, log, args.timeout), described, stats["rows"]


def render(result: dict[str, Any]) -> str:
    t, mem, stage = result["throughput"], result["memory"], result["stage"]
    rows = [
        (label, t[key]["alerts_per_s"], t[key]["mb_per_s"], t[key]["elapsed_s"])
        for label, key in (
            ("sustained (first to last micro-batch)", "sustained"),
            ("since the query started", "since_query_start"),
            ("whole process (JVM start-up included)", "whole_process"),
        )
        if t.get(key)
    ]
    table = markdown_table([f"{stage} ({result.get('survey', 'ztf').upper()}), local[2]", "alerts/s", "MB/s of input", "elapsed s"], rows)
    base = result["baseline"]
    ratio = result["ratio_to_baseline"]
    lines = [
        f"N = {result['n']:,}; input: {result['input']['kind']}, {result['input']['alerts']:,} alerts, "
        f"{result['input']['bytes'] / 1e6:,.1f} MB; {t['micro_batches']} micro-batches of "
        + ", ".join(f"{a:,}" for a in t["batch_alerts"]),
        "stage totals: " + ", ".join(f"{k} {v}" for k, v in result["stage_totals"].items() if k != "event"),
        f"peak RSS of the process tree (sampled): {mem['peak_tree_rss_mb']:,.0f} MB; per process: "
        + ", ".join(f"{k} {v:,.0f} MB" for k, v in mem["peak_rss_mb_by_process_name"].items()),
        f"CPU of the process tree: {result.get('cpu_ms_per_alert') or '-'} ms per alert (baseline: "
        f"{base.get('cpu_ms_per_alert') or '-'})",
        f"sustained / baseline {base['name']} ({base['alerts_per_s'] or '-'} alerts/s): "
        + (f"{ratio:.2f} (per core of local[2]: {ratio / 2:.2f})" if ratio is not None else "- (no baseline)"),
    ]
    lines += [f"sustained / {label}: {value:.2f}" for label, value in result["other_ratios"].items() if value is not None]
    return table + "\n\n" + "\n".join(f"- {line}" for line in lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=STAGES, default="stream2raw", help="the stage to measure (default stream2raw)")
    parser.add_argument("--n", type=int, default=10_000, help="generated alerts (default 10000)")
    parser.add_argument("--max-offsets", type=int, default=5000, help="stream2raw: FINK_MAX_OFFSETS_PER_TRIGGER (5000)")
    parser.add_argument("--partitions", type=int, default=1, help="stream2raw: input-topic partitions (default 1)")
    parser.add_argument("--max-files", type=int, default=None, help="others: FINK_MAX_FILES_PER_TRIGGER (stage default)")
    parser.add_argument("--refresh-inputs", action="store_true", help="remake the cached raw/science lakes")
    parser.add_argument("--skip-baseline-c", action="store_true", help="archive: do not measure baseline (c)")
    parser.add_argument("--baselines", type=Path, default=RESULTS_DIR / "baselines.json")
    parser.add_argument("--survey", choices=["ztf", "lsst"], default="ztf", help="the alerts and FINK_SURVEY (default ztf)")
    add_common_args(parser, out=RESULTS_DIR / "stage_<stage>.json")
    args = parser.parse_args()
    if args.out.name == "stage_<stage>.json":
        tag = "" if args.survey == "ztf" else f"_{args.survey}"
        args.out = RESULTS_DIR / f"stage_{args.stage}{tag}.json"
    return args


def main() -> int:
    args = parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{args.stage}-", dir=args.work_dir))
    unique = unique_name(f"bench_{args.stage}")
    names = Names(args.bootstrap, args.thrift, scratch / "lake", unique, f"{unique}_", unique, args.survey)
    topics = DistributionTopics.of(alone_env(names, driver_memory=args.driver_memory))
    base_c: dict[str, Any] | None = None
    bare: dict[str, float] | None = None
    try:
        run, described, expected = measure(args, names, scratch)
        if run.returncode == 0 and args.survey == "lsst":
            print("baseline: a bare fastavro decode of the same Rubin messages", file=sys.stderr)
            bare = bare_decode_rate(workload(args.n, args.seed, args.work_dir, survey=args.survey))
        if run.returncode == 0 and args.stage == "archive" and not args.skip_baseline_c and args.survey == "ztf":
            print("baseline (c): putting the same rows again with one happybase client", file=sys.stderr)
            base_c = copy_rows(args.thrift, names.table_prefix, f"{unique}_c", alerts=expected)
    finally:
        if not args.keep:
            drop_topics(args.bootstrap, topics.all)
            if args.stage == "archive":
                drop_tables(args.thrift, names.table_prefix)
                drop_tables(args.thrift, f"{unique}_c")
    if run.returncode != 0:
        print(run.tail(), file=sys.stderr)
        raise SystemExit(f"{args.stage} exited with {run.returncode}; logs in {scratch}")
    stats = throughput(args.stage, run.events, run.wall_s, described["bytes"])
    if stats["alerts"] != expected:
        raise SystemExit(f"{args.stage} took in {stats['alerts']} of {expected} alerts; logs in {scratch}")
    base_name = "bare_fastavro_same_messages" if bare else BASELINE_OF[args.stage]
    base = bare["alerts_per_s"] if bare else base_c["alerts_per_s"] if base_c else baseline_rate(args.baselines, base_name)
    others = {} if bare else {
        label: baseline_rate(args.baselines, name, keys) for label, name, keys in OTHER_RATIOS.get(args.stage, [])
    }  # fmt: skip
    cpu_s = run.memory.get("cpu_s_process_tree")
    sustained = stats["sustained"]["alerts_per_s"]
    result = {
        "machine": machine_info(),
        "stage": args.stage,
        "survey": args.survey,
        "n": args.n,
        "seed": args.seed,
        "spark_master": "local[2]",
        "driver_memory": args.driver_memory,
        "max_offsets_per_trigger": args.max_offsets if args.stage == "stream2raw" else None,
        "max_files_per_trigger": args.max_files if args.stage != "stream2raw" else None,
        "input": described,
        "throughput": stats,
        "stage_totals": {k: v for k, v in run.stopped.items() if k not in ("event", "timestamp", "level", "stage", "version")},
        "memory": run.memory,
        "cpu_ms_per_alert": round(1e3 * cpu_s / expected, 2) if cpu_s and expected else None,
        "baseline": {"name": base_name, "alerts_per_s": base, "file": None if base_c or bare else str(args.baselines),
                     "cpu_ms_per_alert": bare["cpu_ms_per_alert"] if bare else None},  # fmt: skip
        "baseline_c": base_c,
        "ratio_to_baseline": round(sustained / base, 3) if base else None,
        "other_ratios": {label: round(sustained / rate, 3) if rate else None for label, rate in others.items()},
    }
    write_json(args.out, result)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
