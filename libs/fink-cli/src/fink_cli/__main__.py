"""`python -m fink_cli demo|report|users|api` (what `./fink demo`, `./fink report`, `./fink users`, `./fink api` run)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fink_cli.api import DEFAULT_PORT, ApiProcess
from fink_cli.users import add_commands, run_users
from fink_common.errors import FinkError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fink")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the whole pipeline on sample alerts, then reconcile")
    demo.add_argument(
        "--survey", choices=["ztf", "lsst", "all"], default="ztf",
        help="the survey's pipeline, or both at once (default ztf)",
    )  # fmt: skip
    demo.add_argument(
        "--alerts", action="append", default=[], metavar="[SURVEY=]DIR",
        help="folder of a survey's alert files (default: generate synthetic ones); with --survey all, name the "
        "survey: --alerts ztf=DIR --alerts lsst=DIR",
    )  # fmt: skip
    demo.add_argument("--n", type=int, default=2000, help="synthetic alerts to generate (default 2000)")
    demo.add_argument("--seed", type=int, default=42, help="seed of the synthetic alerts (default 42)")
    demo.add_argument("--rate", type=float, default=0.0, help="replay rate, alerts/s (default 0: as fast as possible)")
    demo.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the pipeline (default 900)")
    demo.add_argument("--report-json", type=Path, help="also write the report as JSON to this file")
    demo.add_argument(
        "--api-port", type=int, default=DEFAULT_PORT,
        help=f"then serve the archive API on 127.0.0.1:PORT (default {DEFAULT_PORT}; 0: do not start it)",
    )  # fmt: skip
    report = commands.add_parser("report", help="the reconciliation report of data already processed")
    report.add_argument("--night", help="only this observing night (YYYYMMDD)")
    report.add_argument("--report-json", type=Path, help="also write the report as JSON to this file")
    report.add_argument(
        "--from-env", action="store_true",
        help="reconcile the deployment that the FINK_* variables describe (e.g. the compose stack), not the last demo",
    )  # fmt: skip
    report.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS",
        help="re-check every 5 s until the report is exact or SECONDS have passed (the pipeline may still be working)",
    )  # fmt: skip
    api = commands.add_parser("api", help="the archive API of the last demo (started by ./fink demo)")
    api.add_argument("action", choices=["start", "stop", "status"])
    api.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    add_commands(commands)
    return parser


def _run_api(args: argparse.Namespace, state: Path) -> int:
    from fink_cli.demo import DemoOptions

    # the demo's archive: its Thrift address and table prefix (the dataclass defaults)
    api = ApiProcess(state / "demo", DemoOptions.thrift, DemoOptions.table_prefix, args.port)
    if args.action == "stop":
        print("archive API stopped" if api.stop() else "no archive API was running")
    elif args.action == "start":
        print(f"archive API at {api.start()} (docs: {api.url}/docs; log: {api.log_path})")
    else:
        print(f"archive API at {api.url}: {'answers' if api.answers() else 'not running'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repo = Path(os.environ.get("FINK_REPO_ROOT", Path.cwd())).absolute()
    state = Path(os.environ.get("FINK_STATE_DIR", repo / ".fink")).absolute()
    try:
        if args.command == "users":
            return run_users(args, state)
        if args.command == "api":
            return _run_api(args, state)
        if args.command == "demo":
            from fink_cli.demo import DemoOptions, alert_folders, run_demo

            surveys = ("ztf", "lsst") if args.survey == "all" else (args.survey,)
            opts = DemoOptions(
                repo, state, alert_folders(args.alerts, surveys), args.n, args.seed, args.rate, args.timeout, args.report_json,
                api_port=args.api_port or None,
                surveys=surveys,
            )  # fmt: skip
            return run_demo(opts)
        from fink_cli.demo import load_runs, write_reports
        from fink_cli.reconcile import RunContext, build_report

        contexts = [RunContext.from_env()] if args.from_env else load_runs(state)
        deadline = time.monotonic() + args.wait
        reports = {ctx.survey: build_report(ctx, night=args.night) for ctx in contexts}
        while not all(r.ok for r in reports.values()) and time.monotonic() < deadline:
            time.sleep(5)
            reports = {ctx.survey: build_report(ctx, night=args.night) for ctx in contexts}
        for survey, report in reports.items():
            print(f"\n{survey.upper()}" + report.render())
        if args.report_json:
            write_reports(reports, args.report_json)
        return 0 if all(r.ok for r in reports.values()) else 1
    except FinkError as exc:
        print(f"fink {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
