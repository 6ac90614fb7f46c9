"""`fink-api`: serve the REST API (the default), or query the archive from the command line.

    python -m fink_api [serve]                          # the API at FINK_API_HOST:FINK_API_PORT
    python -m fink_api query object ZTF23abllsov [--plot lc.png] [--cutouts cut.png] [--json]
    python -m fink_api query --survey lsst object 170094456248729605 [--json]   # Rubin: ids, ssObjectId or designation
    python -m fink_api query cone --ra 276.3 --dec -11.5 --radius 30 [--json]
    python -m fink_api query class "SN candidate" --start 2023-10-17 --stop 2023-10-19 [-n 10]
    python -m fink_api query sso 15938
    python -m fink_api query stats [--night 20231017]

`./fink query ...` runs the `query` part against the last demo's archive. Both read HBase through the same
`fink_api.archive.Archive` as the API. Exit codes: 0 found, 1 not found or HBase unreachable, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from fink_api import SERVICE, __version__
from fink_api.archive import Archive, InvalidQueryError, parse_time
from fink_api.archives import open_archive
from fink_api.config import ApiConfig, load_config
from fink_api.display import render_alerts, render_object, render_statistics
from fink_common.errors import ConfigError, DataNotFoundError, FinkError
from fink_common.hbase import HBaseClient

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fink-api", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the REST API (the default)")
    query_parser = commands.add_parser("query", help="query the archive")
    query_parser.add_argument("--survey", choices=["ztf", "lsst"], help="the survey's archive (default: FINK_SURVEY, else ztf)")
    query = query_parser.add_subparsers(dest="what", required=True)
    obj = query.add_parser("object", help="an object's alerts and light curve")
    obj.add_argument("object_id")
    obj.add_argument("--plot", type=Path, metavar="PNG", help="write the light curve to this PNG file")
    obj.add_argument("--cutouts", type=Path, metavar="PNG", help="write the latest alert's three cutouts to this PNG")
    cone = query.add_parser("cone", help="alerts within a radius of a position")
    cone.add_argument("--ra", type=float, required=True, help="degrees")
    cone.add_argument("--dec", type=float, required=True, help="degrees")
    cone.add_argument("--radius", type=float, required=True, help="arcseconds")
    cone.add_argument("-n", type=int, default=100, help="at most this many alerts (default 100)")
    klass = query.add_parser("class", help="the latest alerts of a class between two dates")
    klass.add_argument("name")
    klass.add_argument("--start", required=True, help="ISO date/time (UTC) or Julian date")
    klass.add_argument("--stop", required=True, help="ISO date/time (UTC) or Julian date")
    klass.add_argument("-n", type=int, default=20, help="at most this many alerts (default 20)")
    sso = query.add_parser("sso", help="alerts of a solar-system object (ssnamenr)")
    sso.add_argument("name")
    stats = query.add_parser("stats", help="per-night statistics")
    stats.add_argument("--night", help="YYYYMMDD")
    for sub in (obj, cone, klass, sso, stats):
        sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _archive(config: ApiConfig, pool_size: int = 1) -> Archive:
    return open_archive(HBaseClient(config.hbase, pool_size=pool_size, timeout_ms=30_000), config.tables)


def _serve(config: ApiConfig) -> int:
    import uvicorn

    from fink_api.app import create_app
    from fink_common.health import HEALTH_FILE_ENV, Heartbeat
    from fink_common.logging import configure_logging, get_logger

    configure_logging(stage=SERVICE, version=__version__)
    get_logger("fink.api").info("serving", url=config.url, docs=f"{config.url}/docs", hbase=config.hbase.host,
                                table_prefix=config.hbase.table_prefix)  # fmt: skip
    app = create_app(_archive(config, pool_size=4), version=__version__)
    with Heartbeat(os.environ.get(HEALTH_FILE_ENV)):
        uvicorn.run(app, host=config.host, port=config.port, log_level="info")
    return 0


def _query(args: argparse.Namespace, archive: Archive) -> tuple[Any, str]:
    """(JSON-able result, the text to print)."""
    if args.what == "object":
        found = archive.object(args.object_id)
        if args.plot:
            from fink_api.plots import lightcurve_png

            args.plot.write_bytes(lightcurve_png(found["lightcurve"], title=args.object_id))
        if args.cutouts:
            from fink_api.plots import cutouts_png

            cutouts = archive.cutouts(args.object_id)
            args.cutouts.write_bytes(cutouts_png(cutouts, title=f"{args.object_id}  candid {cutouts['candid']}"))
        written = [f"wrote {p}" for p in (args.plot, args.cutouts) if p]
        return found, "\n".join([render_object(found), *written])
    if args.what == "cone":
        alerts = archive.cone(args.ra, args.dec, args.radius, limit=args.n)
        return alerts, render_alerts(alerts, f"{len(alerts)} alerts within {args.radius:g} arcsec", distance=True)
    if args.what == "class":
        alerts = archive.latest_of_class(args.name, parse_time(args.start), parse_time(args.stop), limit=args.n)
        return alerts, render_alerts(alerts, f"{len(alerts)} latest alerts of class {args.name!r}")
    if args.what == "sso":
        alerts = archive.solar_system(args.name)
        if not alerts:
            raise DataNotFoundError(f"no alert of solar-system object {args.name!r} in the archive")
        return alerts, render_alerts(alerts, f"{len(alerts)} alerts of solar-system object {args.name}")
    nights = archive.statistics(args.night)
    return nights, render_statistics(nights)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # ZTF writes `SIMPLE  =  T` off the FITS column layout: astropy reads the cutouts but warns on each one
    warnings.filterwarnings("ignore", message=".*SIMPLE card.*")
    try:
        survey = getattr(args, "survey", None)
        config = load_config({**os.environ, "FINK_SURVEY": survey} if survey else None)
    except ConfigError as exc:
        print(f"fink-api: {exc}", file=sys.stderr)
        return 2
    if args.command in (None, "serve"):
        return _serve(config)
    try:
        archive = _archive(config)
        archive.check_reachable()
        result, text = _query(args, archive)
    except InvalidQueryError as exc:
        print(f"fink query: {exc}", file=sys.stderr)
        return 2
    except FinkError as exc:  # not found, HBase unreachable
        print(f"fink query: {exc}", file=sys.stderr)
        return 1
    if args.json:
        from fink_api.app import CleanJSONResponse

        print(bytes(CleanJSONResponse(result).body).decode())
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
