"""Turn a night plan into ZTF 4.02 alerts: candidate, history (`prv_candidates`) and cutouts.

Each object's whole track (history over the previous 30 days plus tonight's visits) is drawn from its own seed,
so an object seen several times tonight gets a growing, consistent history whichever process builds which alert.
"""

from __future__ import annotations

import bisect
import random
from typing import Any, NamedTuple

from fink_datasim.cutout import CutoutPool
from fink_datasim.detection import Detections, surroundings
from fink_datasim.encoder import RecordEncoder
from fink_datasim.errors import DatasimError
from fink_datasim.lightcurve import NO_FLUX, TransientCurve, VariableStarCurve, mag_error
from fink_datasim.plan import HISTORY_DAYS, Epoch, NightPlan, ObjectPlan
from fink_datasim.survey import candid_of, pid_of

__all__ = ["PUBLISHER", "SCHEMA_VERSION", "AlertFactory", "record_field_names", "record_full_name"]

SCHEMA_VERSION = "4.02"
PUBLISHER = "ZTF (www.ztf.caltech.edu)"
_TRACK_CACHE = 20_000


def _record_of(schema: dict[str, Any], field: str) -> dict[str, Any]:
    """The record held by top-level `field` (directly, in a union or as array items)."""
    for top in schema["fields"]:
        if top["name"] != field:
            continue
        kinds = top["type"] if isinstance(top["type"], list) else [top["type"]]
        for kind in kinds:
            if isinstance(kind, dict) and kind.get("type") == "array":
                items = kind["items"]
                kind = next((k for k in items if isinstance(k, dict)), items) if isinstance(items, list) else items
            if isinstance(kind, dict) and kind.get("type") == "record":
                return kind
    raise DatasimError(f"schema has no record field {field!r}")


def record_field_names(schema: dict[str, Any], field: str) -> list[str]:
    """Names of the fields of the record held by top-level `field`."""
    return [f["name"] for f in _record_of(schema, field)["fields"]]


def record_full_name(schema: dict[str, Any], field: str) -> str:
    """Full Avro name of the record held by top-level `field` (e.g. `ztf.alert.prv_candidate`)."""
    record = _record_of(schema, field)
    name = str(record["name"])
    if "." in name:
        return name
    top = str(schema["name"])
    parent = top.rpartition(".")[0] if "." in top else str(schema.get("namespace", ""))
    space = record.get("namespace", parent)
    return f"{space}.{name}" if space else name


class _Track(NamedTuple):
    jds: list[float]  # every epoch of the object's field from 30 days before its first alert to its last
    entries: list[dict[str, Any]]  # the matching prv_candidates entries
    blobs: list[bytes]  # the same entries, Avro-encoded (empty strings when the factory does not encode)
    cum_det: list[int]  # detections up to and including each epoch
    alerts: list[dict[str, Any]]  # full detection record of each alert tonight
    alert_epochs: list[int]  # index in jds of each alert
    variants: list[int]  # cutout variant of each alert
    old_det: int  # detections older than the track
    old_cov: int  # coverage older than the track
    old_start: float | None  # jdstarthist when older detections exist


class AlertFactory:
    """Builds alert `i` of a plan, as a dict shaped like the ZTF 4.02 schema or as Avro bytes; deterministic."""

    def __init__(self, plan: NightPlan, pool: CutoutPool, schema: dict[str, Any], *, encode: bool = False) -> None:
        """`schema` is the ZTF 4.02 schema dict; with `encode`, `encoded()` works (each history entry encoded once)."""
        self.plan = plan
        self.pool = pool
        self.candidate_fields = record_field_names(schema, "candidate")
        self.prv_fields = record_field_names(schema, "prv_candidates")
        self.encoder = RecordEncoder(schema) if encode else None
        self._encode_prv = self.encoder.for_record(record_full_name(schema, "prv_candidates")) if self.encoder else None
        self._records = Detections(plan.seed)
        self._tracks: dict[int, _Track] = {}
        self._uppers: dict[tuple[int, float, int], tuple[dict[str, Any], bytes]] = {}
        self._tonight_nid = plan.fields[0].visits[0].nid

    def alert(self, index: int) -> dict[str, Any]:
        """Alert `index` of the plan as a dict holding exactly the schema's fields (factories without `encode`)."""
        if self.encoder is not None:
            raise DatasimError("an encoding AlertFactory keeps encoded history only: use encoded()")
        record = self._assemble(index, encoded=False)
        record["candidate"] = {k: record["candidate"].get(k) for k in self.candidate_fields}
        if record["prv_candidates"] is not None:
            record["prv_candidates"] = [{k: e.get(k) for k in self.prv_fields} for e in record["prv_candidates"]]
        return record

    def encoded(self, index: int) -> bytes:
        """Alert `index` as schemaless Avro bytes (byte-identical to fastavro's encoding of `alert(index)`)."""
        if self.encoder is None:
            raise DatasimError("AlertFactory was built without encode=True")
        return self.encoder.encode(self._assemble(index, encoded=True))

    def _assemble(self, index: int, *, encoded: bool) -> dict[str, Any]:
        planned = self.plan.alerts[index]
        obj = self.plan.objects[planned.obj]
        track = self._tracks.get(planned.obj)
        if track is None:
            while len(self._tracks) >= _TRACK_CACHE:  # oldest first: objects seen long ago are done
                del self._tracks[next(iter(self._tracks))]
            track = self._tracks[planned.obj] = self._track(planned.obj)
        if planned.ordinal == len(obj.visits) - 1:  # its last alert: the track is no longer needed
            del self._tracks[planned.obj]
        at = track.alert_epochs[planned.ordinal]
        jd = track.jds[at]
        candidate = dict(track.alerts[planned.ordinal])
        first = next(i for i, d in enumerate(track.cum_det) if d > 0)
        candidate["ndethist"] = track.old_det + track.cum_det[at]
        candidate["ncovhist"] = track.old_cov + at + 1
        candidate["jdstarthist"] = track.old_start if track.old_start is not None else track.jds[first]
        candidate["jdendhist"] = jd
        history: list[Any] | None = None
        if obj.kind != "asteroid":
            lo = bisect.bisect_left(track.jds, jd - HISTORY_DAYS)
            history = (track.blobs if encoded else track.entries)[lo:at] or None
        sci, tmpl, diff = self.pool.pick(obj.kind, track.variants[planned.ordinal])
        candid = candidate["candid"]
        pid = candidate["pid"]
        return {
            "schemavsn": SCHEMA_VERSION,
            "publisher": PUBLISHER,
            "objectId": obj.object_id,
            "candid": candid,
            "candidate": candidate,
            "prv_candidates": history,
            "fp_hists": None,
            "cutoutScience": {"fileName": f"candid{candid}_pid{pid}_targ_sci.fits.gz", "stampData": sci},
            "cutoutTemplate": {"fileName": f"candid{candid}_ref.fits.gz", "stampData": tmpl},
            "cutoutDifference": {"fileName": f"candid{candid}_pid{pid}_targ_scimref.fits.gz", "stampData": diff},
        }

    def _track(self, index: int) -> _Track:
        obj = self.plan.objects[index]
        fp = self.plan.fields[obj.field_index]
        rng = random.Random(f"fink-datasim:{self.plan.seed}:object:{index}")
        props = surroundings(obj, rng)
        alert_jds = [fp.visits[v].jd for v in obj.visits]
        start = alert_jds[0] - HISTORY_DAYS
        alert_of_visit = {v: k for k, v in enumerate(obj.visits)}
        epochs: list[tuple[Epoch, int | None]]  # every epoch, with the alert ordinal when it raises one
        if obj.kind == "asteroid":
            epochs = [(fp.visits[v], k) for k, v in enumerate(obj.visits)]
        else:
            epochs = [(e, None) for e in fp.history if e.jd >= start]
            epochs += [(e, alert_of_visit.get(v)) for v, e in enumerate(fp.visits) if e.jd <= alert_jds[-1]]

        curve: TransientCurve | VariableStarCurve | None = None
        old_det, old_start = 0, None
        old_cov = rng.randint(30, 1500)
        if obj.kind == "transient":
            curve = TransientCurve.draw(rng, alert_jds[0])
            if curve.mag(start, 2) < 20.6:  # already visible before the 30-day window
                old_start = curve.first_detectable_jd(start)
                old_det = max(1, round((start - old_start) * 0.84))
        elif obj.kind == "variable":
            curve = VariableStarCurve.draw(rng)
            old_det = rng.randint(15, 600)
            old_start = rng.uniform(2458200.5, start - 40.0)
            old_cov = int(old_det * rng.uniform(1.3, 3.0)) + rng.randint(0, 200)

        encode = self._encode_prv
        detection = self._records.detection
        ccd = obj.rcid // 4 + 1
        jds: list[float] = []
        entries: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        cum_det: list[int] = []
        alerts: list[dict[str, Any]] = [{} for _ in obj.visits]
        alert_epochs = [0] * len(obj.visits)
        n_det = 0
        for epoch, ordinal in epochs:
            tonight = epoch.nid == self._tonight_nid
            mag, positive = self._model_mag(obj, curve, epoch, rng)
            if ordinal is not None:  # an alert: detected whatever the model says
                if mag >= epoch.diffmaglim - 0.2:
                    mag = epoch.diffmaglim - rng.uniform(0.2, 1.5)
                candid = obj.candids[ordinal]
                entry = detection(obj, fp, props, epoch, mag, positive, candid, rng, archived=False, full=True)
                alerts[ordinal] = entry
                alert_epochs[ordinal] = len(jds)
                blob = encode(entry) if encode else b""
                n_det += 1
            elif not tonight and curve is not None and mag < epoch.diffmaglim:  # an earlier detection
                candid = candid_of(pid_of(epoch.nid, epoch.frac7, ccd), ccd, rng.randint(0, 999))
                entry = detection(obj, fp, props, epoch, mag, positive, candid, rng, archived=True, full=False)
                blob = encode(entry) if encode else b""
                n_det += 1
            else:
                entry, blob = self._upper(obj, epoch, archived=not tonight)
            jds.append(epoch.jd)
            if not encode:  # the encoded form is all an encoding factory needs to keep
                entries.append(entry)
            blobs.append(blob)
            cum_det.append(n_det)
        variants = [rng.randrange(1 << 16) for _ in obj.visits]
        return _Track(jds, entries, blobs, cum_det, alerts, alert_epochs, variants, old_det, old_cov, old_start)

    @staticmethod
    def _model_mag(
        obj: ObjectPlan, curve: TransientCurve | VariableStarCurve | None, epoch: Epoch, rng: random.Random
    ) -> tuple[float, bool]:
        """Observed magnitude of the difference flux at an epoch (NO_FLUX when nothing is there)."""
        if isinstance(curve, TransientCurve):
            mag, positive = curve.mag(epoch.jd, epoch.fid), True
        elif isinstance(curve, VariableStarCurve):
            mag, positive = curve.difference(epoch.jd, epoch.fid)
        elif obj.kind == "asteroid":
            mag, positive = rng.uniform(18.0, epoch.diffmaglim - 0.3), True
        else:  # bogus: close to the limit, sometimes a negative subtraction
            mag, positive = rng.uniform(epoch.diffmaglim - 1.5, epoch.diffmaglim - 0.1), rng.random() < 0.6
        if mag == NO_FLUX or mag > epoch.diffmaglim + 3.0:
            return mag, positive
        return mag + rng.gauss(0.0, min(mag_error(mag, epoch.diffmaglim), 0.4)), positive

    def _upper(self, obj: ObjectPlan, epoch: Epoch, *, archived: bool) -> tuple[dict[str, Any], bytes]:
        """A non-detection, shared by every object on the same readout channel of the same exposure."""
        key = (obj.field_index, epoch.jd, obj.rcid)
        cached = self._uppers.get(key)
        if cached is None:
            if len(self._uppers) > 500_000:
                self._uppers.clear()
            entry = self._records.upper(obj, self.plan.fields[obj.field_index], epoch, archived=archived)
            if self._encode_prv:  # keep the bytes only: ~300 bytes per entry instead of a 60-key dict
                cached = self._uppers[key] = ({}, self._encode_prv(entry))
            else:
                cached = self._uppers[key] = (entry, b"")
        return cached
