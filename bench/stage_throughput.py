"""stream2raw alone: sustained throughput on a pre-filled topic, with the real job, Spark, Kafka and lake.

Steps: generate N alerts (cached), replay them once into a fresh topic (`fink-datasim replay`, container
framing), run the real stage (`python -m fink_stream2raw`, Spark local[2], FINK_AVAILABLE_NOW=true: it reads
everything the topic holds in micro-batches of FINK_MAX_OFFSETS_PER_TRIGGER, then stops) into a temporary
lake, and time it from its own JSON log lines. The memory of the whole process tree (Python driver, Spark's
JVM, Python workers) is sampled from /proc while it runs. The topic and the lake are removed at the end.

    bench/run.sh bench/stage_throughput.py [--n 10000] [--max-offsets 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_WORK_DIR,
    RESULTS_DIR,
    machine_info,
    markdown_table,
    rates,
    read_json,
    unique_topic,
    workload,
    write_json,
)

from fink_common.kafka import delete_topics
from fink_datasim.replay import replay

BASELINE = "a_fastavro_pyarrow"


# ------------------------------------------------------------------------------------------ memory


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(root: int) -> list[int]:
    tree, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, []))
    return out


def _status_kb(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS kB, VmHWM kB) of a live process, None once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    try:
        return fields["Name"].strip(), int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (KeyError, ValueError, IndexError):
        return None


@dataclass
class MemorySampler:
    """Samples the RSS of a process tree every `every_s` from a thread: the peak of the sum, and each
    process's own high-water mark (VmHWM) as last seen."""

    root: int
    every_s: float = 0.25
    peak_total_kb: int = 0
    hwm_kb: dict[int, tuple[str, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        total = 0
        for pid in process_tree(self.root):
            status = _status_kb(pid)
            if status is None:
                continue
            name, rss, hwm = status
            total += rss
            self.hwm_kb[pid] = (name, max(hwm, self.hwm_kb.get(pid, (name, 0))[1]))
        self.peak_total_kb = max(self.peak_total_kb, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every_s)

    def start(self) -> None:
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def summary(self) -> dict[str, Any]:
        by_name: dict[str, int] = {}
        for pid, (name, hwm) in self.hwm_kb.items():
            label = f"{name} (stage driver)" if pid == self.root else name
            by_name[label] = max(by_name.get(label, 0), hwm)
        return {
            "peak_tree_rss_mb": round(self.peak_total_kb / 1024, 1),
            "peak_rss_mb_by_process_name": {k: round(v / 1024, 1) for k, v in sorted(by_name.items())},
            "processes_seen": len(self.hwm_kb),
        }


# --------------------------------------------------------------------------------------- the stage


def stage_env(bootstrap: str, topic: str, lake: Path, max_offsets: int, driver_memory: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "FINK_KAFKA_BOOTSTRAP": bootstrap,
            "FINK_INPUT_TOPICS": topic,
            "FINK_DATA_DIR": str(lake),
            "FINK_MAX_OFFSETS_PER_TRIGGER": str(max_offsets),
            "FINK_AVAILABLE_NOW": "true",
            "FINK_SPARK_MASTER": "local[2]",
            "FINK_SPARK_DRIVER_MEMORY": driver_memory,
        }
    )
    return env


@dataclass(frozen=True)
class StageRun:
    returncode: int
    wall_s: float
    events: list[dict[str, Any]]
    memory: dict[str, Any]
    rusage_children_maxrss_mb: float
    stderr_tail: str


def run_stage(env: dict[str, str], log_path: Path, timeout_s: float) -> StageRun:
    """Run `python -m fink_stream2raw` until it stops by itself (availableNow), sampling its memory."""
    started = time.monotonic()
    with log_path.open("w") as log, log_path.with_suffix(".err").open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "fink_stream2raw"], env=env, stdout=log, stderr=err)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.terminate()
            returncode = proc.wait(timeout=60)
        finally:
            sampler.stop()
    wall = time.monotonic() - started
    events = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tail = log_path.with_suffix(".err").read_text()[-3000:]
    return StageRun(returncode, wall, events, sampler.summary(), round(maxrss_kb / 1024, 1), tail)


def _ts(event: dict[str, Any]) -> float:
    """The event's ISO timestamp (structlog, UTC) as epoch seconds."""
    return dt.datetime.fromisoformat(event["timestamp"]).timestamp()


def throughput(run: StageRun, alert_bytes: int) -> dict[str, Any]:
    """alerts/s from the stage's own log: sustained (first to last micro-batch), since the query started,
    and over the whole process (JVM start-up included)."""
    batches = [e for e in run.events if e.get("event") == "micro-batch"]
    starting = next((e for e in run.events if e.get("event") == "starting"), None)
    stopped = next((e for e in run.events if e.get("event") == "stopped"), {})
    received = sum(int(e["received"]) for e in batches)
    if not batches:
        return {"received": 0, "micro_batches": 0}
    first_start = _ts(batches[0]) - float(batches[0]["seconds"])
    last_end = _ts(batches[-1])
    sustained = rates(received, alert_bytes, last_end - first_start)
    since_query = rates(received, alert_bytes, last_end - _ts(starting)) if starting else None
    return {
        "received": received,
        "raw": stopped.get("raw"),
        "quarantined": stopped.get("quarantined"),
        "micro_batches": len(batches),
        "batch_seconds": [e["seconds"] for e in batches],
        "sustained": sustained,
        "since_query_start": since_query,
        "whole_process": rates(received, alert_bytes, run.wall_s),
    }


# ------------------------------------------------------------------------------------------- main


def baseline_rate(path: Path) -> float | None:
    data = read_json(path)
    if not data:
        return None
    entry = data.get("baselines", {}).get(BASELINE)
    return float(entry["alerts_per_s"]) if entry else None


def render(result: dict[str, Any]) -> str:
    t, mem = result["throughput"], result["memory"]
    ratio = result["ratio_to_baseline_a"]
    rows = [
        ("sustained (first to last micro-batch)", t["sustained"]["alerts_per_s"], t["sustained"]["mb_per_s"],
         t["sustained"]["elapsed_s"]),
        ("since the query started", t["since_query_start"]["alerts_per_s"], t["since_query_start"]["mb_per_s"],
         t["since_query_start"]["elapsed_s"]),
        ("whole process (JVM start-up included)", t["whole_process"]["alerts_per_s"], t["whole_process"]["mb_per_s"],
         t["whole_process"]["elapsed_s"]),
    ]  # fmt: skip
    table = markdown_table(["stream2raw, local[2]", "alerts/s", "MB/s", "elapsed s"], rows)
    extra = [
        f"N = {result['n']:,}, topic partitions {result['topic_partitions']}, {t['micro_batches']} micro-batches of <= {result['max_offsets_per_trigger']:,}; "
        f"received {t['received']:,}, raw {t['raw']}, quarantined {t['quarantined']}",
        f"peak RSS of the process tree (sampled): {mem['peak_tree_rss_mb']:,.0f} MB; per process: "
        + ", ".join(f"{k} {v:,.0f} MB" for k, v in mem["peak_rss_mb_by_process_name"].items()),
        f"sustained / baseline ({BASELINE}, 1 core): "
        + (f"{ratio:.2f} (per core of local[2]: {ratio / 2:.2f})" if ratio is not None else "- (no baselines.json)"),
    ]
    return table + "\n\n" + "\n".join(f"- {line}" for line in extra)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="generated alerts (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="datasim seed (default 1)")
    parser.add_argument("--max-offsets", type=int, default=5000, help="FINK_MAX_OFFSETS_PER_TRIGGER (default 5000)")
    parser.add_argument(
        "--partitions", type=int, default=1, help="partitions of the input topic (default 1, as in the demo)"
    )
    parser.add_argument("--driver-memory", default="1g", help="FINK_SPARK_DRIVER_MEMORY (default 1g)")
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP, help=f"Kafka ({DEFAULT_BOOTSTRAP})")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="alerts, lake and logs")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before the stage is stopped")
    parser.add_argument("--keep", action="store_true", help="keep the topic, the lake and the logs")
    parser.add_argument("--baselines", type=Path, default=RESULTS_DIR / "baselines.json")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "stage_stream2raw.json")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    alerts = workload(args.n, args.seed, args.work_dir)
    topic = unique_topic("bench_stream2raw")
    sent = replay(
        alerts, topic, rate=0, framing="container", bootstrap=args.bootstrap, progress=False, partitions=args.partitions
    )
    if sent.failed:
        raise SystemExit(f"replay into {topic} failed: {sent.error}")
    scratch = Path(tempfile.mkdtemp(prefix="stream2raw-", dir=args.work_dir))
    try:
        env = stage_env(args.bootstrap, topic, scratch / "lake", args.max_offsets, args.driver_memory)
        run = run_stage(env, scratch / "stream2raw.log", args.timeout)
    finally:
        if not args.keep:
            delete_topics(args.bootstrap, [topic])
    if run.returncode != 0:
        print(run.stderr_tail, file=sys.stderr)
        raise SystemExit(f"stream2raw exited with {run.returncode}; logs in {scratch}")
    stats = throughput(run, sent.bytes)
    if stats["received"] != sent.sent:
        raise SystemExit(f"stream2raw received {stats['received']} of {sent.sent} alerts; logs in {scratch}")
    base = baseline_rate(args.baselines)
    result = {
        "machine": machine_info(),
        "n": args.n,
        "seed": args.seed,
        "framing": "container",
        "spark_master": "local[2]",
        "max_offsets_per_trigger": args.max_offsets,
        "topic_partitions": args.partitions,
        "driver_memory": args.driver_memory,
        "replay": {"topic": topic, "sent": sent.sent, "bytes": sent.bytes, **rates(sent.sent, sent.bytes, sent.elapsed_s)},
        "throughput": stats,
        "memory": {**run.memory, "rusage_children_maxrss_mb": run.rusage_children_maxrss_mb},
        "baseline": {"name": BASELINE, "alerts_per_s": base, "file": str(args.baselines)},
        "ratio_to_baseline_a": round(stats["sustained"]["alerts_per_s"] / base, 3) if base else None,
    }
    write_json(args.out, result)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
