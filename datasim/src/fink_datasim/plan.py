"""The night plan: which fields are observed when, which objects exist, and every alert's time and candid.

The plan is cheap (a few small tuples per object) and is built in one process from one seed. It fixes everything
that must be globally consistent (unique exposure slots, unique candids, alert order); the per-object details
(light curves, host properties) are drawn later, per object, from a seed derived from (seed, object index).
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import NamedTuple

from fink_datasim.errors import DatasimError
from fink_datasim.survey import (
    NIGHT_END_H,
    NIGHT_START_H,
    SLOT_S,
    Field,
    candid_of,
    field_grid,
    frac7_of,
    jd_of_date,
    night_date,
    night_id,
    object_id,
    pid_of,
    place_in_field,
)

__all__ = [
    "HISTORY_DAYS",
    "KIND_ORDER",
    "MAX_ALERTS",
    "AlertPlan",
    "Epoch",
    "FieldPlan",
    "NightPlan",
    "ObjectPlan",
    "Population",
    "build_plan",
]

#: Days of history ZTF attaches to an alert (`prv_candidates`).
HISTORY_DAYS = 30.0
#: Population names, in the order used for per-object seeds and reports.
KIND_ORDER = ("variable", "transient", "asteroid", "bogus")
#: Upper bound of one run: beyond it the per-CCD candidate counters (tblid < 1000) could overflow.
MAX_ALERTS = 5_000_000

_ALERTS_PER_OBJECT = ((1, 0.45), (2, 0.35), (3, 0.15), (4, 0.05))
_VISITS_PER_FIELD = ((1, 0.10), (2, 0.30), (3, 0.30), (4, 0.20), (5, 0.10))
_I_BAND_VISIT = 0.04
_HISTORY_NIGHT_OBSERVED = 0.42
_ALERTS_PER_FIELD = 800
_MAX_FIELDS = 250


@dataclass(frozen=True)
class Population:
    """Target fraction of alerts per population (they must add up to 1).

    - variable: variable stars (PS1 star underneath: `sgscore1` ~ 1, `distpsnr1` < 0.6"), long histories;
    - transient: supernova-like rising or fading transients, mostly on a host galaxy;
    - asteroid: known solar-system objects (`ssdistnr` < 2.5", `ssnamenr` set), one detection, no history;
    - bogus: artefacts failing the quality cuts (`rb` < 0.55 and/or `nbad` > 0), one detection.
    """

    variable: float = 0.40
    transient: float = 0.25
    asteroid: float = 0.15
    bogus: float = 0.20

    def __post_init__(self) -> None:
        values = self.as_dict().values()
        if any(v < 0 for v in values) or not math.isclose(sum(values), 1.0, abs_tol=1e-9):
            raise DatasimError(f"population fractions must be >= 0 and add up to 1, got {self.as_dict()}")

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


class Epoch(NamedTuple):
    """One exposure of one field: what every CCD of that exposure shares."""

    jd: float
    fid: int
    nid: int
    frac7: int  # time of the exposure as ZTF writes it in processing ids
    programid: int
    diffmaglim: float
    seeing: float
    magzpsci: float
    magzpsciunc: float
    magzpscirms: float
    clrcoeff: float
    clrcounc: float
    zpclrcov: float
    zpmed: float
    clrmed: float
    clrrms: float
    nmatches: int


class FieldPlan(NamedTuple):
    field: Field
    history: tuple[Epoch, ...]  # the 30 nights before, sorted by jd
    visits: tuple[Epoch, ...]  # tonight, sorted by jd


class ObjectPlan(NamedTuple):
    kind: str
    field_index: int
    ra: float
    dec: float
    rcid: int
    xpos: float
    ypos: float
    object_id: str
    visits: tuple[int, ...]  # indices into the field's visits where it raises an alert, in time order
    candids: tuple[int, ...]  # candid of each of those alerts


class AlertPlan(NamedTuple):
    jd: float
    obj: int  # index into NightPlan.objects
    ordinal: int  # which of the object's alerts tonight (0 = first)


@dataclass(frozen=True)
class NightPlan:
    seed: int
    night: str
    night_start_jd: float  # 00:00 UTC of the night's date
    fields: tuple[FieldPlan, ...]
    objects: tuple[ObjectPlan, ...]
    alerts: tuple[AlertPlan, ...]  # sorted by time: the order alerts are written and replayed


def _weighted(rng: random.Random, table: tuple[tuple[int, float], ...]) -> int:
    x = rng.random()
    for value, weight in table:
        x -= weight
        if x < 0:
            return value
    return table[-1][0]


def _split(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """Integer counts adding up to `n`, as close to `n * fraction` as possible (largest remainders first)."""
    exact = {k: n * f for k, f in fractions.items()}
    counts = {k: int(math.floor(v)) for k, v in exact.items()}
    by_remainder = sorted(exact, key=lambda k: (-(exact[k] - counts[k]), KIND_ORDER.index(k)))
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    return counts


def _epoch(rng: random.Random, jd: float, fid: int, nid: int) -> Epoch:
    depth = {1: 20.7, 2: 20.5, 3: 19.9}[fid]
    limit = rng.gauss(depth, 0.3) - (rng.uniform(0.8, 2.0) if rng.random() < 0.08 else 0.0)
    zp = {1: 26.3, 2: 26.2, 3: 25.9}[fid] + rng.gauss(0, 0.06)
    colour = {1: -0.05, 2: 0.07, 3: 0.03}[fid] + rng.gauss(0, 0.015)
    return Epoch(
        jd=jd,
        fid=fid,
        nid=nid,
        frac7=frac7_of(jd),
        programid=2 if fid == 3 else 1,
        diffmaglim=min(max(limit, 17.5), 21.6),
        seeing=rng.uniform(1.6, 3.4),
        magzpsci=zp,
        magzpsciunc=rng.uniform(1e-6, 5e-6),
        magzpscirms=rng.uniform(0.01, 0.05),
        clrcoeff=colour,
        clrcounc=rng.uniform(2e-6, 8e-6),
        zpclrcov=-rng.uniform(1e-6, 4e-6),
        zpmed=zp + rng.gauss(0.04, 0.01),
        clrmed=rng.uniform(0.4, 0.7),
        clrrms=rng.uniform(0.1, 0.2),
        nmatches=rng.randint(400, 3000),
    )


def _history(rng: random.Random, start_jd: float, nid: int) -> tuple[Epoch, ...]:
    """Past exposures of one field: on ~42% of the 30 previous nights, a g and an r visit (sometimes i)."""
    epochs: list[Epoch] = []
    for back in range(int(HISTORY_DAYS), 0, -1):
        if rng.random() >= _HISTORY_NIGHT_OBSERVED:
            continue
        t0 = start_jd - back + (NIGHT_START_H + rng.uniform(0.0, 8.0)) / 24.0
        gap = rng.uniform(0.02, 0.045)
        bands = [1, 2] if rng.random() < 0.5 else [2, 1]
        if rng.random() < 0.08:
            bands.append(3)
        for k, fid in enumerate(bands):
            epochs.append(_epoch(rng, t0 + k * gap, fid, nid - back))
    return tuple(sorted(epochs))


def _tonight(rng: random.Random, start_jd: float, nid: int, taken: set[int], n_slots: int) -> tuple[Epoch, ...]:
    """Tonight's visits of one field, each in a free exposure slot."""
    n_visits = _weighted(rng, _VISITS_PER_FIELD)
    gaps = [rng.uniform(0.015, 0.06) for _ in range(n_visits - 1)]
    span_days = (NIGHT_END_H - NIGHT_START_H) / 24.0
    first = rng.uniform(0.0, max(span_days - sum(gaps), 0.0))
    fid = rng.choice((1, 2))
    visits: list[Epoch] = []
    t = first
    for k in range(n_visits):
        wanted = int(t * 86400.0 / SLOT_S)
        nearest = (s for d in range(n_slots) for s in (wanted + d, wanted - d) if 0 <= s < n_slots)
        slot = next((s for s in nearest if s not in taken), None)
        if slot is None:
            break
        taken.add(slot)
        band = 3 if rng.random() < _I_BAND_VISIT else fid
        jd = start_jd + (NIGHT_START_H * 3600.0 + slot * SLOT_S) / 86400.0
        visits.append(_epoch(rng, jd, band, nid))
        fid = 2 if fid == 1 else 1
        if k < len(gaps):
            t += gaps[k]
    return tuple(sorted(visits))


def build_plan(n: int, seed: int, night: str, population: Population | None = None) -> NightPlan:
    """Plan `n` alerts of night `night` (YYYYMMDD) with `seed`; the same arguments give the same plan."""
    if n < 1 or n > MAX_ALERTS:
        raise DatasimError(f"number of alerts must be between 1 and {MAX_ALERTS}, got {n}")
    population = population or Population()
    start_jd = jd_of_date(night_date(night))
    nid = night_id(start_jd)
    rng = random.Random(f"fink-datasim:{seed}:plan")

    grid = field_grid()
    n_fields = min(max(math.ceil(n / _ALERTS_PER_FIELD), 3), _MAX_FIELDS)
    n_slots = int((NIGHT_END_H - NIGHT_START_H) * 3600.0 / SLOT_S)
    taken: set[int] = set()
    fields: list[FieldPlan] = []
    for field in sorted(rng.sample(grid, n_fields), key=lambda f: f.fid):
        visits = _tonight(rng, start_jd, nid, taken, n_slots)
        if visits:
            fields.append(FieldPlan(field, _history(rng, start_jd, nid), visits))

    # Alerts per population, exactly: the last object of a population may get fewer alerts than drawn.
    targets = _split(n, population.as_dict())
    year = night_date(night).year
    id_offset = rng.randrange(26**6)
    objects: list[ObjectPlan] = []
    for kind in KIND_ORDER:
        left = targets[kind]
        while left > 0:
            field_index = rng.randrange(len(fields))
            n_visits = len(fields[field_index].visits)
            k = 1 if kind in ("asteroid", "bogus") else min(_weighted(rng, _ALERTS_PER_OBJECT), n_visits, left)
            chosen = tuple(sorted(rng.sample(range(n_visits), k)))
            ra, dec, rcid, xpos, ypos = place_in_field(fields[field_index].field, rng.random(), rng.random())
            oid_year = year - rng.randint(1, 5) if kind == "variable" and year > 2018 else year
            oid = object_id(oid_year, id_offset + len(objects))
            objects.append(ObjectPlan(kind, field_index, ra, dec, rcid, xpos, ypos, oid, chosen, ()))
            left -= k

    alerts = sorted(
        (AlertPlan(fields[o.field_index].visits[v].jd, i, ordinal), o.field_index, v)
        for i, o in enumerate(objects)
        for ordinal, v in enumerate(o.visits)
    )
    # One extraction-table row counter per (exposure, CCD): candids are unique by construction.
    counters: dict[tuple[int, int, int], int] = {}
    candids: list[list[int]] = [[0] * len(o.visits) for o in objects]
    for alert, field_index, v in alerts:
        obj = objects[alert.obj]
        ccd = obj.rcid // 4 + 1
        key = (field_index, v, ccd)
        tblid = counters.get(key, 0)
        counters[key] = tblid + 1
        visit = fields[field_index].visits[v]
        candids[alert.obj][alert.ordinal] = candid_of(pid_of(visit.nid, visit.frac7, ccd), ccd, tblid)
    if max(counters.values(), default=0) >= 1000:
        raise DatasimError("too many alerts for one night: more than 999 on one CCD of one exposure")
    objects = [o._replace(candids=tuple(c)) for o, c in zip(objects, candids, strict=True)]
    return NightPlan(
        seed=seed,
        night=night,
        night_start_jd=start_jd,
        fields=tuple(fields),
        objects=tuple(objects),
        alerts=tuple(a for a, _, _ in alerts),
    )
