"""The whole pipeline's latency: alerts replayed at a fixed rate, then a burst, through the four stages.

    bench/run.sh bench/latency.py [--rate 333 --duration 60] [--burst 10000]

The four stages run as services (as pipeline.py and the demo run them). The input topic and the
distribution's topics are created first with `message.timestamp.type=LogAppendTime`, so every message
carries the broker's clock at its append. The stages are warmed up before anything is measured: once each
has started, a warm-up of --warmup alerts (another night, so other candids) goes through all four, then
the pipeline idles for --settle seconds. The file-reading stages cannot start their query earlier: they wait
for their input's first parquet file, whose schema they read.

1. rate: --rate alerts/s (default 333, the Rubin average) for --duration s (default 60), then until drained;
2. burst: --burst alerts (default 10,000) sent as fast as the producer can (or spread over --burst-seconds),
   then until drained.

Per scenario, broker-added latency = append time of an alert's first filter-topic message − append time of
its input message (see latencies.py), over the alerts some filter selected (matched by candid, read from the
Avro value): p50/p95/p99/max overall and per topic, plus the drain times. Nothing it made is kept unless --keep.
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
from broker import Broker
from hbase_tables import drop_tables
from latencies import scenario_latencies
from stage import Names, stage_env
from topics import (
    LOG_APPEND_TIME,
    DistributionTopics,
    commit_records,
    drop_topics,
    output_records,
    prepare_distribution_topics,
    read_records,
    timestamp_type,
)

from fink_common.kafka import ensure_topics
from fink_common.lake import LakePaths
from fink_datasim.replay import ReplayResult, replay

__all__ = ["NIGHTS", "main", "render", "run_scenarios", "send"]

#: One night per replay: candids differ between nights, so the scenarios never share (or deduplicate) an alert.
NIGHTS = {"warm-up": "20231015", "rate": "20231016", "burst": "20231017"}


def send(args: argparse.Namespace, topic: str, name: str, n: int, rate: float) -> ReplayResult:
    alerts = workload(n, args.seed, args.work_dir, night=NIGHTS[name])
    print(f"[{time.strftime('%H:%M:%S')}] {name}: sending {n} alerts at "
          + (f"{rate:g} alerts/s" if rate else "full speed"), file=sys.stderr)  # fmt: skip
    sent = replay(alerts, topic, rate=rate, framing="container", bootstrap=args.bootstrap, progress=False)
    if sent.failed or sent.sent != n:
        raise SystemExit(f"{name}: {sent.sent} of {n} alerts sent to {topic}: {sent.error}")
    return sent


def run_scenarios(args: argparse.Namespace, broker: Broker, topic: str) -> list[tuple[str, ReplayResult, bool]]:
    """Warm up, then each scenario until drained; returns (name, replay result, drained) in input order."""
    if not broker.wait_started(("stream2raw",), timeout_s=args.timeout):
        raise SystemExit("stream2raw did not start")
    plan = [("warm-up", args.warmup, 0.0)]
    if args.duration > 0 and args.rate > 0:
        plan.append(("rate", round(args.rate * args.duration), args.rate))
    if args.burst > 0:
        plan.append(("burst", args.burst, args.burst / args.burst_seconds if args.burst_seconds > 0 else 0.0))
    done: list[tuple[str, ReplayResult, bool]] = []
    total = 0
    for name, n, rate in plan:
        sent = send(args, topic, name, n, rate)
        total += sent.sent
        drained = broker.wait_drained(total, args.timeout)
        print(f"[{time.strftime('%H:%M:%S')}] {name}: " + ("drained" if drained else "NOT drained"), file=sys.stderr)
        done.append((name, sent, drained))
        if not drained:
            break
        if name == "warm-up":
            time.sleep(args.settle)  # every stage started, went through one batch, and is idle again
    return done


def render(result: dict[str, Any]) -> str:
    out = []
    for name, scenario in result["scenarios"].items():
        lat = scenario["latency"]
        rows = [("any filter (first message)", lat["appended"]), ("any filter, visible (at commit)", lat["visible"])]
        rows += [(f"topic {topic}", stats) for topic, stats in lat["per_topic"].items()]
        table = markdown_table(
            ["", "alerts", "p50 s", "p95 s", "p99 s", "max s"],
            [(label, s["count"], s.get("p50_s"), s.get("p95_s"), s.get("p99_s"), s.get("max_s")) for label, s in rows],
        )
        replayed, drain = scenario["replay"], lat["drain"] or {}
        lines = [
            f"sent {lat['alerts_sent']:,} alerts at {replayed['alerts_per_s']:,.1f} alerts/s (over {replayed['elapsed_s']:,.1f} s); "
            f"{lat['alerts_matched']:,} selected by a filter ({lat['output_messages']:,} filter-topic messages)",
            f"drain: last output − first input {drain.get('last_output_minus_first_input_s', '-')} s, − last input "
            f"{drain.get('last_output_minus_last_input_s', '-')} s (to its commit: "
            f"{drain.get('last_commit_minus_first_input_s', '-')} s, {drain.get('last_commit_minus_last_input_s', '-')} s)",
        ]  # fmt: skip
        out.append(f"**{name}**\n\n{table}\n\n" + "\n".join(f"- {line}" for line in lines))
    return "\n\n".join(out)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=333.0, help="alerts/s of the rate scenario (default 333)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the rate scenario (default 60; 0: skip)")
    parser.add_argument(
        "--burst", "--n", dest="burst", type=int, default=10_000, help="alerts of the burst (default 10000; 0: skip)"
    )
    parser.add_argument("--burst-seconds", type=float, default=0.0, help="spread the burst over S s (default 0: full speed)")
    parser.add_argument("--warmup", type=int, default=100, help="warm-up alerts, not measured (default 100)")
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds after the warm-up (default 10)")
    parser.add_argument("--trigger-seconds", type=float, default=2.0, help="FINK_TRIGGER_SECONDS (default 2, as the demo)")
    add_common_args(parser, out=RESULTS_DIR / "latency.json")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="latency-", dir=args.work_dir))
    unique = unique_name("bench_latency")
    names = Names(args.bootstrap, args.thrift, scratch / "lake", unique, f"{unique}_", unique)
    env = stage_env(names, trigger_seconds=args.trigger_seconds, driver_memory=args.driver_memory, source_wait_s=args.timeout)
    topics = DistributionTopics.of(env)
    broker = Broker(env, scratch / "logs", LakePaths(names.lake))
    codes: dict[str, int | str] = {}
    try:
        ensure_topics(args.bootstrap, [names.input_topic], config=LOG_APPEND_TIME)
        prepare_distribution_topics(args.bootstrap, topics)
        types = timestamp_type(args.bootstrap, [names.input_topic, *topics.filters.values(), topics.commit_topic])
        if set(types.values()) != {"LogAppendTime"}:
            raise SystemExit(f"topics without LogAppendTime: {types}")
        for name, n in (("warm-up", args.warmup), ("rate", round(args.rate * args.duration)), ("burst", args.burst)):
            if n > 0:
                workload(n, args.seed, args.work_dir, night=NIGHTS[name])  # generated before the clock matters
        broker.start()
        try:
            done = run_scenarios(args, broker, names.input_topic)
        finally:
            codes = broker.stop()
        print("reading the input and filter topics back", file=sys.stderr)
        inputs = read_records(args.bootstrap, names.input_topic)
        outputs = output_records(args.bootstrap, topics)
        commits = commit_records(args.bootstrap, topics.commit_topic)
    finally:
        if not args.keep:
            drop_topics(args.bootstrap, [names.input_topic, *topics.all])
            drop_tables(args.thrift, names.table_prefix)
    not_broker_time = sum(not r.log_append_time for r in inputs) + sum(
        not r.log_append_time for records in outputs.values() for r in records
    )
    # Every committed filter-topic message must belong to a commit record (see latencies.commit_times).
    unaccounted = {
        name: len(records) - sum(c.sent.get(name, 0) for c in commits)
        for name, records in outputs.items()
        if len(records) != sum(c.sent.get(name, 0) for c in commits)
    }
    scenarios: dict[str, Any] = {}
    offset = 0
    for name, sent, drained in done:
        own = [r for r in inputs if offset <= r.offset < offset + sent.sent]  # one partition: offsets in send order
        offset += sent.sent
        if name == "warm-up":
            continue
        scenarios[name] = {
            "drained": drained,
            "replay": {"sent": sent.sent, "bytes": sent.bytes, **rates(sent.sent, sent.bytes, sent.elapsed_s)},
            "latency": scenario_latencies(own, outputs, commits),
        }
    complete = all(drained for _, _, drained in done)
    result = {
        "machine": machine_info(),
        "seed": args.seed,
        "rate": args.rate,
        "duration_s": args.duration,
        "burst": args.burst,
        "burst_seconds": args.burst_seconds,
        "warmup": args.warmup,
        "settle_s": args.settle,
        "trigger_seconds": args.trigger_seconds,
        "spark_master": "local[2] per stage",
        "driver_memory": args.driver_memory,
        "topics": {"input": names.input_topic, "filters": topics.filters, "commits": topics.commit_topic},
        "messages_without_log_append_time": not_broker_time,
        "messages_not_matching_commit_records": unaccounted,
        "complete": complete,
        "scenarios": scenarios,
        "memory": {stage: m["peak_tree_rss_mb"] for stage, m in broker.memory().items()},
        "exit_codes": codes,
        "logs": str(broker.logs) if args.keep else None,
    }
    write_json(args.out, result)
    if not args.keep and complete:
        shutil.rmtree(scratch, ignore_errors=True)
    print(render(result))
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
