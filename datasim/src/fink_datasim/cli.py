"""`fink-datasim`: generate synthetic ZTF or Rubin alerts, or replay a folder of alerts to Kafka.

    fink-datasim generate --survey ztf --n 100000 --seed 1 --out /tmp/alerts [--night 20231018]
    fink-datasim generate --survey lsst --n 100000 --seed 1 --out /tmp/lsst [--schema 11.0|11.1] [--visit-size 10000]
    fink-datasim replay --alerts /tmp/alerts --topic ztf_20231018 --rate 1000 [--framing container]
    fink-datasim replay /tmp/lsst --topic lsst-alerts-v11 --visit-size 10000 --visit-interval 39

User mistakes and unreachable services print one line on stderr (no traceback) and exit with status 2;
a replay in which some delivery failed exits with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence

from fink_common.errors import FinkError
from fink_common.health import HEALTH_FILE_ENV, Heartbeat
from fink_common.kafka import ensure_topics, list_topics, topic_message_count
from fink_datasim.errors import DatasimError
from fink_datasim.framing import FRAMINGS, KEYS
from fink_datasim.generate import SURVEYS, generate
from fink_datasim.lsst.alert import ENCODERS, SCHEMA_VERSIONS
from fink_datasim.lsst.plan import DEFAULT_NIGHT as LSST_NIGHT
from fink_datasim.replay import DEFAULT_BOOTSTRAP, DEFAULT_VISIT_INTERVAL, DEFAULT_VISIT_SIZE, replay
from fink_datasim.survey import DEFAULT_NIGHT

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_DELIVERY_FAILED = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of alerts per second, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the rate must be >= 0 (0 = as fast as possible)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the visit interval must be >= 0 s")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fink-datasim", description="Synthetic ZTF/Rubin alerts and Kafka replay.")
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser(
        "generate", help="write synthetic ZTF 4.02 alerts (Avro container files) or Rubin alerts (Confluent-framed)"
    )
    gen.add_argument("--survey", choices=SURVEYS, default="ztf")
    gen.add_argument("--n", type=_positive_int, required=True, help="number of alerts")
    gen.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument(
        "--night", default=None,
        help=f"observing night YYYYMMDD (default {DEFAULT_NIGHT} for ztf, dayObs {LSST_NIGHT} for lsst)",
    )  # fmt: skip
    gen.add_argument("--per-file", type=_positive_int, default=1000, help="ztf: alerts per file (default 1000)")
    gen.add_argument("--schema", choices=SCHEMA_VERSIONS, default=None, help="lsst: Rubin schema (default 11.0)")
    gen.add_argument("--visit-size", type=_positive_int, default=None, help="lsst: alerts per visit (default 10000)")
    gen.add_argument("--encoder", choices=ENCODERS, default=None, help="lsst: Avro encoder (same bytes; default compiled)")
    gen.add_argument("--workers", type=_positive_int, default=None, help="processes (default: one per core)")
    gen.add_argument("--force", action="store_true", help="replace alert files already in --out")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")

    top = commands.add_parser("topics", help="create Kafka topics that do not exist yet (idempotent)")
    top.add_argument("topics", nargs="+", help="topic names")
    top.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP, help=f"Kafka bootstrap servers ({DEFAULT_BOOTSTRAP})")
    top.add_argument("--partitions", type=_positive_int, default=1, help="partitions of a new topic (default 1)")
    top.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for Kafka (default 60)")

    rep = commands.add_parser("replay", help="send every alert of a folder to a Kafka topic")
    rep.add_argument("folder", nargs="?", default=None, help="folder of .avro files (or use --alerts)")
    rep.add_argument("--alerts", default=None, help="folder of .avro files (searched recursively)")
    rep.add_argument("--topic", required=True)
    rep.add_argument("--rate", type=_rate, default=None, help="alerts per second, 0 = as fast as possible")
    rep.add_argument(
        "--visit-size", type=_positive_int, default=None,
        help=f"pace by visits: alerts per visit, sent at once (default {DEFAULT_VISIT_SIZE})",
    )  # fmt: skip
    rep.add_argument(
        "--visit-interval", type=_seconds, default=None,
        help=f"pace by visits: seconds from one visit's start to the next (default {DEFAULT_VISIT_INTERVAL:g})",
    )  # fmt: skip
    rep.add_argument("--framing", choices=FRAMINGS, default="container")
    rep.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP, help=f"Kafka bootstrap servers ({DEFAULT_BOOTSTRAP})")
    rep.add_argument("--limit", type=_positive_int, default=None, help="stop after this many alerts")
    rep.add_argument("--key", choices=KEYS, default="candid", help="message key: the alert id as digits (candid, diaSourceId), or none")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument(
        "--once", action="store_true",
        help="send nothing when the topic already holds messages (a restarted container does not replay twice)",
    )  # fmt: skip
    rep.add_argument("--json", action="store_true", help="print the summary as one JSON line (as in the images)")
    return parser


def _generate(args: argparse.Namespace) -> int:
    lsst = {"schema": args.schema, "visit_size": args.visit_size, "encoder": args.encoder}
    given = {k: v for k, v in lsst.items() if v is not None}
    if args.survey == "lsst":
        given = {"schema": "11.0", "visit_size": DEFAULT_VISIT_SIZE, **given}
    result = generate(
        args.out,
        n=args.n,
        seed=args.seed,
        night=args.night,
        survey=args.survey,
        per_file=args.per_file,
        workers=args.workers,
        overwrite=args.force,
        progress=not args.quiet,
        **given,
    )
    shares = ", ".join(f"{k} {v}" for k, v in result.per_population.items())
    print(
        f"generate: {result.alerts} alerts of {result.objects} objects in {len(result.files)} file(s) "
        f"({result.bytes / 1e6:.1f} MB) in {result.elapsed_s:.1f}s -> {result.out} [{shares}]"
    )
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    if (args.folder is None) == (args.alerts is None):
        raise DatasimError("give the alert folder once: as an argument or with --alerts")
    by_visits = args.visit_size is not None or args.visit_interval is not None
    if args.rate is None and not by_visits:
        raise DatasimError("choose the pacing: --rate N (alerts/s, 0 = unpaced) or --visit-size/--visit-interval")
    if args.rate is not None and by_visits:
        raise DatasimError("pace by --rate or by visits (--visit-size/--visit-interval), not both")
    args.alerts = args.alerts or args.folder
    if args.once and args.topic in list_topics(args.bootstrap):
        held = topic_message_count(args.bootstrap, args.topic)
        if held:
            print(json.dumps({"event": "replay-skipped", "topic": args.topic, "messages_held": held,
                              "reason": "--once: the topic already holds messages"}))  # fmt: skip
            return EXIT_OK
    result = replay(
        args.alerts,
        args.topic,
        rate=args.rate or 0.0,
        visit_size=args.visit_size,
        visit_interval=args.visit_interval,
        framing=args.framing,
        bootstrap=args.bootstrap,
        limit=args.limit,
        key=args.key,
        progress=not args.quiet,
    )
    if args.json:
        print(json.dumps({"event": "replay", **dataclasses.asdict(result), "rate": round(result.rate, 1)}))
    else:
        print(result.summary())
    if result.failed:
        print(f"fink-datasim: error: {result.failed} alert(s) not delivered: {result.error}", file=sys.stderr)
        return EXIT_DELIVERY_FAILED
    return EXIT_OK


def _topics(args: argparse.Namespace) -> int:
    created = ensure_topics(args.bootstrap, args.topics, partitions=args.partitions, timeout_s=args.timeout)
    print(json.dumps({"event": "topics", "bootstrap": args.bootstrap, "created": sorted(created),
                      "existing": sorted(set(args.topics) - set(created))}))  # fmt: skip
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"generate": _generate, "topics": _topics, "replay": _replay}
    try:
        with Heartbeat(os.environ.get(HEALTH_FILE_ENV)):  # the image's HEALTHCHECK: alive while it runs
            return commands[args.command](args)
    except FinkError as exc:
        print(f"fink-datasim: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("fink-datasim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
