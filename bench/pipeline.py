"""The whole pipeline's throughput: the four stages running at once as services, on a pre-filled input topic.

    bench/run.sh bench/pipeline.py [--n 10000] [--trigger-seconds 2] [--survey lsst]

With `--survey lsst` the alerts are Rubin 11.0 ones from datasim (Confluent framing, one visit per 10,000
alerts, ~110 kB median with histories up to 1,000 points and real-size cutouts) and the stages run with
FINK_SURVEY=lsst: `--n 10000` is then the time one Rubin visit takes through every stage (result file
`pipeline_lsst.json`).

N generated alerts are replayed into a fresh input topic first; then the four stages start as the demo starts
them (separate `python -m fink_<stage>` processes, processing-time triggers every --trigger-seconds, Spark
local[2] each, unique topics, table prefix and lake). The run ends when every stage has processed everything:
stream2raw received N, science + rejected == the distinct candids of the raw lake, and the distribution and
the archive each took in every science alert. Times come from the stages' own `micro-batch` log lines, the
memory of each stage's process tree is sampled from /proc. Topics, tables and lake are removed unless --keep.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    RESULTS_DIR,
    add_common_args,
    machine_info,
    markdown_table,
    rates,
    unique_name,
    workload,
    write_json,
)
from broker import Broker, Progress
from events import STAGES, Batch, first_event, timestamp
from hbase_tables import drop_tables
from stage import Names, stage_env
from topics import DistributionTopics, drop_topics, replayed

from fink_common.lake import LakePaths
from fink_common.surveys import get_survey

__all__ = ["main", "render", "stage_rows"]


def stage_rows(broker: Broker, progress: Progress, finished: dict[str, Batch | None], t0: float) -> list[dict[str, Any]]:
    """Per stage: when it started, its first and last micro-batch, how busy it was, its memory."""
    memory = broker.memory()
    rows = []
    for stage in STAGES:
        batches = [b for b in progress.batches[stage] if b.alerts > 0]
        starting = first_event(broker.events(stage), "starting")
        done = finished[stage]
        rows.append(
            {
                "stage": stage,
                "starting_s_after_launch": round(timestamp(starting) - broker.started_at, 2) if starting else None,
                "first_batch_start_s": round(batches[0].start - t0, 2) if batches else None,
                "finished_s": round(done.end - t0, 2) if done else None,
                "micro_batches": len(batches),
                "busy_s": round(sum(b.seconds for b in batches), 2),
                "alerts": progress.total(stage),
                "peak_tree_rss_mb": memory[stage]["peak_tree_rss_mb"],
                "cpu_s": memory[stage].get("cpu_s_process_tree"),
                "peak_rss_mb_by_process_name": memory[stage]["peak_rss_mb_by_process_name"],
            }
        )
    return rows


def _per_alert(cpu_s: float | None, alerts: int) -> float | None:
    return round(1e3 * cpu_s / alerts, 2) if cpu_s is not None and alerts else None


def render(result: dict[str, Any]) -> str:
    header = ["stage", "query started (s after launch)", "first micro-batch (s)", "finished (s)", "micro-batches",
              "busy s", "alerts in", "CPU ms per alert", "peak RSS MB"]  # fmt: skip
    rows = [
        (r["stage"], r["starting_s_after_launch"], r["first_batch_start_s"], r["finished_s"], r["micro_batches"],
         r["busy_s"], r["alerts"], _per_alert(r.get("cpu_s"), r["alerts"]), r["peak_tree_rss_mb"])
        for r in result["stages"]
    ]  # fmt: skip
    cpu = [r.get("cpu_s") for r in result["stages"]]
    total_cpu = _per_alert(sum(cpu), result["n"]) if all(c is not None for c in cpu) else None  # type: ignore[arg-type]
    overall, launch = result["overall"], result["since_launch"]
    lines = [
        f"{result.get('survey', 'ztf').upper()}, N = {result['n']:,}, trigger every {result['trigger_seconds']:g} s; times in s after the start of the first "
        "micro-batch of stream2raw",
        "everything processed: "
        + (f"{overall['elapsed_s']:,.1f} s after the first micro-batch started: **{overall['alerts_per_s']:,.1f} alerts/s**; "
           f"{launch['elapsed_s']:,.1f} s after the processes were launched: {launch['alerts_per_s']:,.1f} alerts/s"
           if result["complete"] else f"NO (timed out after {result['timeout_s']:.0f} s)"),
        f"peak RSS, all four trees together (sum of the per-stage peaks): {result['peak_rss_mb_sum']:,.0f} MB",
        f"CPU of the four stages' process trees (JVM start-up included; Kafka and HBase not counted): {total_cpu or '-'} ms per alert",
    ]  # fmt: skip
    return markdown_table(header, rows) + "\n\n" + "\n".join(f"- {line}" for line in lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="generated alerts (default 10000)")
    parser.add_argument("--trigger-seconds", type=float, default=2.0, help="FINK_TRIGGER_SECONDS (default 2, as the demo)")
    parser.add_argument("--survey", choices=["ztf", "lsst"], default="ztf", help="the alerts and FINK_SURVEY (default ztf)")
    add_common_args(parser, out=RESULTS_DIR / "pipeline.json")
    args = parser.parse_args()
    if args.survey != "ztf" and args.out == RESULTS_DIR / "pipeline.json":
        args.out = RESULTS_DIR / f"pipeline_{args.survey}.json"
    return args


def main() -> int:
    args = parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    alerts = workload(args.n, args.seed, args.work_dir, survey=args.survey)
    scratch = Path(tempfile.mkdtemp(prefix="pipeline-", dir=args.work_dir))
    unique = unique_name("bench_pipeline")
    names = Names(args.bootstrap, args.thrift, scratch / "lake", unique, f"{unique}_", unique, args.survey)
    env = stage_env(names, trigger_seconds=args.trigger_seconds, driver_memory=args.driver_memory, source_wait_s=args.timeout)
    topics = DistributionTopics.of(env)
    broker = Broker(env, scratch / "logs", LakePaths(names.lake), alert_id=get_survey(args.survey).alert_id_field)
    codes: dict[str, int | str] = {}
    try:
        with replayed(alerts, names.input_topic, args.bootstrap, keep=args.keep) as sent:
            print(f"{sent.sent} alerts in {names.input_topic}; starting the four stages (logs in {broker.logs})", file=sys.stderr)
            broker.start()
            try:
                complete = broker.wait_drained(sent.sent, args.timeout)
                progress = broker.progress()
            finally:
                codes = broker.stop()
            print(progress.line(sent.sent), file=sys.stderr)
    finally:
        if not args.keep:
            drop_topics(args.bootstrap, topics.all)
            drop_tables(args.thrift, names.table_prefix)
    finished = broker.finish_times(sent.sent, progress)
    stream2raw = [b for b in progress.batches["stream2raw"] if b.alerts > 0]
    t0 = stream2raw[0].start if stream2raw else broker.started_at
    ends = [b.end for b in finished.values() if b is not None]
    last = max(ends) if complete and ends else time.time()
    stages = stage_rows(broker, progress, finished, t0)
    result = {
        "machine": machine_info(),
        "n": args.n,
        "survey": args.survey,
        "seed": args.seed,
        "trigger_seconds": args.trigger_seconds,
        "spark_master": "local[2] per stage",
        "driver_memory": args.driver_memory,
        "replay": {"topic": names.input_topic, "sent": sent.sent, "bytes": sent.bytes,
                   **rates(sent.sent, sent.bytes, sent.elapsed_s)},  # fmt: skip
        "complete": complete,
        "timeout_s": args.timeout,
        "targets": broker.targets(sent.sent, progress),
        "overall": rates(sent.sent, sent.bytes, last - t0),
        "since_launch": rates(sent.sent, sent.bytes, last - broker.started_at),
        "stages": stages,
        "peak_rss_mb_sum": round(sum(r["peak_tree_rss_mb"] for r in stages), 1),
        "exit_codes": codes,
        "logs": None if not args.keep else str(broker.logs),
    }
    write_json(args.out, result)
    if not args.keep and complete:
        shutil.rmtree(scratch, ignore_errors=True)
    print(render(result))
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
