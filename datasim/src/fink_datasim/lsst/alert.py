"""One synthetic Rubin alert of the plan, as a record of the official schema and as a Kafka message value.

The message is what Rubin's Kafka carries: `fink_common.surveys.lsst.frame_confluent` around the record encoded
by fastavro's `schemaless_writer` with the official schema of the version (`fink_common.alert_packet`).
Rubin's sentinels: a solar-system alert has `diaSource.diaObjectId == 0`, no diaObject and no history, and its
`ssSource` and `mpc_orbits` filled; a static alert has `diaSource.ssObjectId == 0`, no ssSource/mpc_orbits.
"""

from __future__ import annotations

import io
import math
from typing import Any

import fastavro
import numpy as np

from fink_common.alert_packet import official_schema, schema_id_of
from fink_common.surveys.lsst import frame_confluent
from fink_datasim.encoder import RecordEncoder
from fink_datasim.errors import DatasimError
from fink_datasim.lsst.cutout import StampPool
from fink_datasim.lsst.plan import BANDS, LsstPlan
from fink_datasim.lsst.source import BAND_ERR, SourceMaker, defaults, place, record_schemas
from fink_datasim.lsst.sso import designation, draw_orbit, mpc_orbit, on_sky_rate_px, ss_source

__all__ = ["ENCODERS", "SCHEMA_VERSIONS", "LsstAlertFactory", "ss_object_id"]

#: The Rubin schema versions the generator writes.
SCHEMA_VERSIONS = ("11.0", "11.1")
#: `compiled`: the schema-compiled encoder of `fink_datasim.encoder` (about 5x faster, byte-identical to
#: fastavro, which the tests check); `fastavro`: `fastavro.schemaless_writer` on the parsed official schema.
ENCODERS = ("compiled", "fastavro")
_DESIGNATIONS = 31 * 24 * 25 * 620  # distinct numbers `designation` maps one to one
_STRIDE = 7919  # coprime with _DESIGNATIONS: alert i -> designation number is one to one


def ss_object_id(packed: str) -> int:
    """Rubin's ssObjectId: the packed designation's ASCII bytes as a big-endian integer (K04J12Q -> 2.1e16)."""
    return int.from_bytes(packed.encode("ascii"), "big")


class LsstAlertFactory:
    """Alert `i` of a plan, deterministic from (seed, i) whatever the process or the order of the calls."""

    def __init__(self, plan: LsstPlan, pool: StampPool, version: str = "11.0", encoder: str = "compiled") -> None:
        if version not in SCHEMA_VERSIONS:
            raise DatasimError(f"unknown Rubin schema {version!r}; supported: {', '.join(SCHEMA_VERSIONS)}")
        if encoder not in ENCODERS:
            raise DatasimError(f"unknown encoder {encoder!r}; use one of: {', '.join(ENCODERS)}")
        self.plan = plan
        self.pool = pool
        self.version = version
        self.schema = official_schema(version)
        self.parsed = fastavro.parse_schema(official_schema(version))
        self.schema_id = schema_id_of(version)
        self.compiled = RecordEncoder(self.schema).encode if encoder == "compiled" else None
        self.maker = SourceMaker(self.schema, plan.night)
        shapes = record_schemas(self.schema)
        self.ss_template = defaults(shapes["ssSource"])
        self.orbit_template = defaults(shapes["mpc_orbits"])
        self.name_offset = int(np.random.default_rng([plan.seed, 0x1557, 3]).integers(_DESIGNATIONS))

    def alert(self, i: int) -> dict[str, Any]:
        plan = self.plan
        rng = np.random.default_rng([plan.seed, 0x1557, 2, i])
        visit = plan.visits[int(plan.visit_of[i])]
        detector = int(plan.detector[i])
        sid = int(plan.source_ids[i])
        u = rng.random(24).tolist()
        at = place(visit.ra, visit.dec, visit.rot_deg, detector, 20.0 + 4032.0 * u[0], 20.0 + 3960.0 * u[1])
        err = float(BAND_ERR[BANDS.index(visit.band)]) * math.exp(0.25 * (u[2] + u[3] - 1.0))
        record: dict[str, Any] = {
            "diaSourceId": sid,
            "observation_reason": visit.observation_reason,
            "target_name": visit.target_name,
        }
        if plan.sso[i]:
            names = designation((i * _STRIDE + self.name_offset) % _DESIGNATIONS)
            ids = {"diaSourceId": sid, "detector": detector, "diaObjectId": 0, "ssObjectId": ss_object_id(names[1])}
            orbit = draw_orbit(u[4:12])
            ss = ss_source(self.ss_template, orbit, ids, names[0], at.ra, at.dec, visit.midpoint_mjd_tai, u[12:18])
            trail = math.hypot(on_sky_rate_px(ss), 0.6 + 1.4 * u[18])
            flux = (5.0 + float(rng.exponential(12.0))) * err
            source = self.maker.alert_source(rng, ids, at, visit, visit.band, flux, err, True, trail)
            stamps = self.pool.stamps("trail" if trail > 8.0 else "sso", i, at.ra, at.dec, at.x, at.y)
            record.update(
                diaSource=source, prvDiaSources=None, prvDiaForcedSources=None, diaObject=None, ssSource=ss,
                mpc_orbits=mpc_orbit(self.orbit_template, orbit, names, visit.midpoint_mjd_tai, u[18:24]),
            )  # fmt: skip
        else:
            scale = math.exp(math.log(6.0) + 0.7 * float(rng.standard_normal()))
            neg_frac = 0.0 if u[4] < 0.6 else 0.2 + 0.3 * u[5]
            flux = (5.0 + float(rng.exponential(scale))) * err * (-1.0 if u[6] < neg_frac else 1.0)
            streak = u[7] < 0.01  # an artefact along a satellite streak: a long trail
            trail = 8.0 + 40.0 * u[8] if streak else math.exp(0.35 * (u[8] + u[9] + u[10] - 1.5))
            prv, points, object_id = self.maker.history(rng, int(plan.n_prv[i]), i, sid, at, scale, neg_frac)
            ids = {"diaSourceId": sid, "detector": detector, "diaObjectId": object_id, "ssObjectId": 0}
            source = self.maker.alert_source(rng, ids, at, visit, visit.band, flux, err, False, trail)
            if streak:
                source.update(pixelFlags=True, pixelFlags_streak=True)
            for key, value in (("band", BANDS.index(visit.band)), ("flux", flux), ("err", err),
                               ("sci", source["scienceFlux"]), ("mjd", visit.midpoint_mjd_tai)):  # fmt: skip
                points[key] = np.append(points[key], value)
            level = 0.5 * float(np.median(np.abs(points["flux"])))
            forced = self.maker.forced(rng, int(plan.n_forced[i]), i, object_id, at, level, neg_frac)
            stamps = self.pool.stamps("negative" if flux < 0 else "static", i, at.ra, at.dec, at.x, at.y)
            record.update(
                diaSource=source, prvDiaSources=prv, prvDiaForcedSources=forced,
                diaObject=self.maker.dia_object(object_id, at, visit.midpoint_mjd_tai, points),
                ssSource=None, mpc_orbits=None,
            )  # fmt: skip
        record.update(cutoutDifference=stamps[0], cutoutScience=stamps[1], cutoutTemplate=stamps[2])
        return record

    def encode(self, record: dict[str, Any]) -> bytes:
        """The record as one schemaless Avro datum of the official schema."""
        if self.compiled is not None:
            return self.compiled(record)
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self.parsed, record)
        return out.getvalue()

    def message(self, i: int) -> bytes:
        """Alert `i` as Rubin's Kafka value: 0x00, the schema id (4 bytes, big-endian), the record."""
        return frame_confluent(self.schema_id, self.encode(self.alert(i)))
