"""Chaos: the whole pipeline under SIGKILLs, then every sink checked candid by candid (nothing lost, nothing doubled).

Runs `fink_cli.chaos` (the engine the CI test `integration-tests/tests/test_chaos.py` uses on 3,300 alerts): its own
Kafka and HBase containers (`fink/kafka`, `fink/hbase`, never the shared local services) and the four stages as
processes; replays N generated alerts (cached, as the other benchmarks) plus the 300 real ZTF ones at `--rate`;
kills a victim among the four stages, Kafka and HBase `--kills` times at seeded random moments (SIGKILL of the
stage's process tree, `docker kill` of a container), restarts it after a random delay, restarts whatever else died
meanwhile (collateral), drains, stops the stages and verifies. Writes the JSON results (every kill with its time,
victim, signal and restart delay; counts; lost/duplicated per sink; the drain time) and prints a markdown summary.
Exit code 0 only if the reconciliation is exact and no sink lost or doubled anything.

    bench/run.sh bench/chaos.py --n 100000 --kills 10
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, DEFAULT_WORK_DIR, RESULTS_DIR, machine_info, markdown_table, workload, write_json

from fink_cli.chaos import VICTIMS, ChaosOptions, ChaosResult, run_chaos
from fink_cli.service_container import image_tag
from fink_common.datasets import sample_dir

REPO = BENCH_DIR.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="generated alerts (default 100000)")
    parser.add_argument("--no-real", action="store_true", help="leave out the 300 real ZTF 4.02 alerts")
    parser.add_argument("--seed", type=int, default=1, help="seed of the alerts and of the kill plan (default 1)")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="replay rate, alerts/s (default 50; 0 = max)")
    parser.add_argument("--gap", type=float, nargs=2, default=(20.0, 60.0), metavar=("MIN", "MAX"),
                        help="seconds between two kills (default 20 60)")  # fmt: skip
    parser.add_argument("--restart-delay", type=float, nargs=2, default=(1.0, 8.0), metavar=("MIN", "MAX"),
                        help="seconds a victim stays down (default 1 8)")  # fmt: skip
    parser.add_argument("--victims", default=",".join(VICTIMS), help=f"comma-separated (default {','.join(VICTIMS)})")
    parser.add_argument("--drain-timeout", type=float, default=7200.0, help="seconds (default 7200)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help=f"default {DEFAULT_WORK_DIR}")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "chaos.json")
    parser.add_argument("--keep", action="store_true", help="keep the run's lake and stage logs (<work-dir>/chaos-n<N>-s<seed>)")
    return parser


def render(result: dict[str, Any]) -> str:
    chaos = result["chaos"]
    kills = markdown_table(
        ["#", "at s", "victim", "signal", "restart delay s", "up again after s"],
        [[k["n"], k["at_s"], k["victim"], k["signal"], k["restart_delay_s"], k["up_again_after_s"]] for k in chaos["kills"]],
    )
    collateral = [r for r in chaos["restarts"] if r["cause"] == "collateral"]
    audit = chaos["audit"] or {"sinks": []}
    sinks = markdown_table(
        ["sink", "expected", "found", "lost", "duplicated", "unexpected"],
        [[s["sink"], s["expected"], s["found"], s["lost"], s["duplicated"], s["unexpected"]] for s in audit["sinks"]],
    )
    timing = markdown_table(list(chaos["timing_s"]), [list(chaos["timing_s"].values())])
    lines = [
        f"## Chaos run: {chaos['alerts'].get('sent', 0):,} alerts, {len(chaos['kills'])} SIGKILLs",
        "",
        kills,
        "",
        f"Collateral restarts (a part that died on its own): {len(collateral)}"
        + (" (" + ", ".join(f"{r['part']} at {r['at_s']} s" for r in collateral) + ")" if collateral else ""),
        "",
        sinks,
        "",
        timing,
        "",
        f"Reconciliation report: {'EXACT' if chaos['report_ok'] else 'MISMATCH'}"
        + "".join(f"\n- {c['name']}: {c['detail']}" for c in chaos["report"].get("failed_checks", [])),
        f"Result: {'OK: nothing lost, nothing doubled' if chaos['ok'] else 'FAILED'}"
        + (f" ({chaos['error']})" if chaos["error"] else ""),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    alerts = [workload(args.n, args.seed, args.work_dir)] if args.n else []
    if not args.no_real:
        alerts.append(sample_dir("ztf_4.02"))
    opts = ChaosOptions(
        work=args.work_dir / f"chaos-n{args.n}-s{args.seed}",
        alerts=tuple(alerts),
        kafka_image=image_tag(REPO, "kafka"),
        hbase_image=image_tag(REPO, "hbase"),
        kills=args.kills,
        seed=args.seed,
        rate=args.rate,
        gap_s=tuple(args.gap),
        restart_delay_s=tuple(args.restart_delay),
        victims=tuple(v.strip() for v in args.victims.split(",") if v.strip()),
        drain_timeout_s=args.drain_timeout,
    )
    outcome: ChaosResult = run_chaos(opts)
    result = {"machine": machine_info(), "n_generated": args.n, "chaos": outcome.to_json()}
    write_json(args.out, result)
    if not args.keep:
        shutil.rmtree(opts.work, ignore_errors=True)
    print(render(result))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
