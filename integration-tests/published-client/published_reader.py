"""Read filter topics with the PUBLISHED fink-client (PyPI 12.3.0), as a Fink user would: its
`AlertConsumer` given nothing but the server address, the user's name and password, a consumer group and the
survey; no schema file (`schema_path` is not passed, so every message is decoded with the writer schema its
key carries, Fink's convention).

Prints one JSON line per alert read: topic, partition, the alert's id (ZTF `candid`, LSST `diaSourceId`),
its object (ZTF `objectId`, LSST `diaObjectId` or `ssObjectId`) and the size of the key. Stops when
`--expect` alerts were read (exit 0) or after `--idle` seconds without a message (exit 1: fewer than
expected). Runs in a resolve of its own (`3rdparty/fink-client-published`): the import name `fink_client` is
also our own client's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from fink_client.consumer import AlertConsumer

__all__ = ["main"]

IDS = {"ztf": ("candid", ("objectId",)), "lsst": ("diaSourceId", ("diaObjectId", "ssObjectId"))}


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--survey", choices=sorted(IDS), required=True)
    parser.add_argument("--expect", type=int, required=True, help="alerts to read over all topics")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds without a message before giving up")
    parser.add_argument("topics", nargs="+")
    return parser.parse_args(argv)


def _object(alert: dict[str, Any], fields: tuple[str, ...]) -> Any:
    return next((alert[f] for f in fields if alert.get(f) is not None), None)


def main(argv: list[str] | None = None) -> int:
    args = _args(sys.argv[1:] if argv is None else argv)
    config = {
        "bootstrap.servers": args.bootstrap,
        "username": args.username,
        "password": args.password,
        "group.id": args.group,
    }
    consumer = AlertConsumer(args.topics, config, survey=args.survey)
    alert_id, object_fields = IDS[args.survey]
    read, last = 0, time.monotonic()
    try:
        while read < args.expect and time.monotonic() - last < args.idle:
            topic, alert, key = consumer.poll(timeout=1.0)
            if topic is None:
                continue
            last = time.monotonic()
            read += 1
            line = {"topic": topic, "id": alert[alert_id], "object": _object(alert, object_fields), "key_chars": len(key)}
            print(json.dumps(line), flush=True)
    finally:
        consumer.close()
    print(f"read {read} of {args.expect} alert(s)", file=sys.stderr)
    return 0 if read == args.expect else 1


if __name__ == "__main__":
    sys.exit(main())
