"""The REST API over the archive (FastAPI; OpenAPI at `/openapi.json`, interactive docs at `/docs`).

Read-only: every route calls one `fink_api.archive.Archive` query. A parameter the API cannot use gets 422
with a message (FastAPI's own checks of types, ranges and patterns, and `InvalidQueryError`); an object,
night or cutout the archive does not hold gets 404; HBase unreachable gets 503. Floats that JSON cannot
hold (NaN, infinities) are sent as null.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from fink_api.archive import (
    MAX_CONE_RADIUS_ARCSEC,
    MAX_RESULTS,
    Archive,
    InvalidQueryError,
    parse_time,
)
from fink_api.plots import cutout_png, cutouts_png, lightcurve_png
from fink_common.errors import DataNotFoundError, ServiceError, ServiceUnavailableError

__all__ = ["CleanJSONResponse", "create_app"]

ObjectId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9]{1,40}$", description="the survey's object identifier", examples=["ZTF23abllsov"])
]
_KINDS = {"science": "cutoutScience", "template": "cutoutTemplate", "difference": "cutoutDifference"}
_PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}, "description": "a PNG image"}}


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class CleanJSONResponse(JSONResponse):
    """JSON with NaN and infinities as null (strict JSON has no such numbers)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_clean(content), allow_nan=False, separators=(",", ":")).encode("utf-8")


def _error(status: int, message: str) -> CleanJSONResponse:
    return CleanJSONResponse(status_code=status, content={"detail": message})


def create_app(archive: Archive, *, version: str) -> FastAPI:
    """The application, reading `archive` (tests pass one on their own tables)."""
    app = FastAPI(
        dependencies=[Depends(lambda: archive.check_reachable())],  # HBase down: 503 at once, not after retries
        title="Fink archive API",
        version=version,
        description="Read-only queries over the broker's alert archive: objects and light curves, cone "
        "searches, classes, solar-system objects, cutouts and per-night statistics.",
        default_response_class=CleanJSONResponse,
    )

    @app.exception_handler(InvalidQueryError)
    async def invalid(_: Request, exc: InvalidQueryError) -> CleanJSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(DataNotFoundError)
    async def not_found(_: Request, exc: DataNotFoundError) -> CleanJSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(ServiceError)  # ServiceUnavailableError too
    async def unavailable(_: Request, exc: ServiceError) -> CleanJSONResponse:
        what = "unreachable" if isinstance(exc, ServiceUnavailableError) else "failing"
        return _error(503, f"the archive is {what}: {exc}")

    @app.get("/", summary="what this service offers")
    def root() -> dict[str, Any]:
        routes = sorted({str(getattr(r, "path", "")) for r in app.routes if getattr(r, "include_in_schema", False)})
        return {"service": "fink-api", "version": version, "survey": archive.tables.survey, "docs": "/docs",
                "routes": routes}  # fmt: skip

    @app.get("/health", summary="whether HBase answers")
    def health() -> dict[str, Any]:
        return {"status": "ok", "tables": len(archive.client.tables())}

    @app.get("/objects/{object_id}", summary="an object's alerts (with the broker's added values) and light curve")
    def get_object(object_id: ObjectId) -> dict[str, Any]:
        return archive.object(object_id)

    @app.get("/objects/{object_id}/lightcurve", summary="an object's light curve: alerts, history, upper limits")
    def get_lightcurve(object_id: ObjectId) -> dict[str, Any]:
        found = archive.object(object_id)
        return {"objectId": object_id, "lightcurve": found["lightcurve"]}

    @app.get("/objects/{object_id}/lightcurve.png", summary="the light curve as a PNG", responses=_PNG)
    def get_lightcurve_png(object_id: ObjectId) -> Response:
        found = archive.object(object_id)
        return Response(lightcurve_png(found["lightcurve"], title=object_id), media_type="image/png")

    @app.get("/objects/{object_id}/cutouts.png", summary="the three cutouts of an alert side by side", responses=_PNG)
    def get_cutouts_png(
        object_id: ObjectId,
        candid: Annotated[int | None, Query(ge=0, description="the alert (default: the latest)")] = None,
    ) -> Response:
        found = archive.cutouts(object_id, candid=candid)
        title = f"{object_id}  candid {found['candid']}  jd {found['jd']:.5f}"
        return Response(cutouts_png(found, title=title), media_type="image/png")

    @app.get(
        "/objects/{object_id}/cutout",
        summary="one cutout of an alert (at a jd, or by its id, or the latest), as FITS or PNG",
        responses={200: {"content": {"application/fits": {}, "image/png": {}}}},
    )
    def get_cutout(
        object_id: ObjectId,
        jd: Annotated[float | None, Query(ge=2_400_000, lt=9_999_999, description="the alert's Julian date")] = None,
        kind: Annotated[Literal["science", "template", "difference"], Query()] = "science",
        format: Annotated[Literal["fits", "png"], Query()] = "fits",  # noqa: A002 (the public parameter name)
        candid: Annotated[
            int | None, Query(ge=0, description="the alert's id (ZTF candid, LSST diaSourceId); default: the latest")
        ] = None,
    ) -> Response:
        found = archive.cutouts(object_id, jd=jd, candid=candid)
        data = found[_KINDS[kind]]
        if data is None:
            raise DataNotFoundError(f"the alert {found['candid']} of {object_id} has no {kind} cutout")
        if format == "png":
            return Response(cutout_png(data, label=f"{object_id} {kind}"), media_type="image/png")
        name = f"{object_id}_{found['candid']}_{kind}.fits"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(data, media_type="application/fits", headers=headers)

    @app.get("/conesearch", summary="alerts within a radius of a sky position, nearest first")
    def conesearch(
        ra: Annotated[float, Query(ge=0, lt=360, description="right ascension, degrees (ICRS)")],
        dec: Annotated[float, Query(ge=-90, le=90, description="declination, degrees (ICRS)")],
        radius: Annotated[float, Query(gt=0, le=MAX_CONE_RADIUS_ARCSEC, description="radius, arcseconds")],
        n: Annotated[int, Query(ge=1, le=MAX_RESULTS, description="at most this many alerts")] = MAX_RESULTS,
    ) -> dict[str, Any]:
        alerts = archive.cone(ra, dec, radius, limit=n)
        return {"ra": ra, "dec": dec, "radius_arcsec": radius, "count": len(alerts), "alerts": alerts}

    @app.get("/classes", summary="every class in the archive, with its number of alerts")
    def classes() -> dict[str, int]:
        return archive.classes()

    @app.get("/latests", summary="the latest alerts of a class between two dates, latest first")
    def latests(
        class_name: Annotated[str, Query(alias="class", min_length=1, max_length=64, examples=["SN candidate"])],
        start: Annotated[str, Query(description="ISO date or time (UTC), or Julian date", examples=["2023-10-17"])],
        stop: Annotated[str, Query(description="ISO date or time (UTC), or Julian date", examples=["2023-10-19"])],
        n: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 100,
    ) -> dict[str, Any]:
        start_jd, stop_jd = parse_time(start), parse_time(stop)
        alerts = archive.latest_of_class(class_name, start_jd, stop_jd, limit=n)
        return {"class": class_name, "start_jd": start_jd, "stop_jd": stop_jd, "count": len(alerts), "alerts": alerts}

    @app.get("/sso/{name}", summary="alerts of a solar-system object: ZTF ssnamenr; LSST ssObjectId or designation")
    def sso(name: Annotated[str, Path(min_length=1, max_length=64, examples=["15938"])]) -> dict[str, Any]:
        alerts = archive.solar_system(name)
        if not alerts:
            raise DataNotFoundError(f"no alert of solar-system object {name!r} in the archive")
        return {"name": name, "ssnamenr": name, "count": len(alerts), "alerts": alerts}

    @app.get("/statistics", summary="per-night statistics (every night, or one)")
    def statistics(
        night: Annotated[str | None, Query(pattern=r"^\d{8}$", description="YYYYMMDD", examples=["20231017"])] = None,
    ) -> list[dict[str, Any]]:
        return archive.statistics(night)

    return app
