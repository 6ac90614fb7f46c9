"""Nothing lost, nothing doubled: every sink of a run counted candid by candid against what it should hold.

The reconciliation report (`fink_cli.reconcile`) says whether each sink is exact; this audit says by how much
it is not, per sink, as counts: `lost` (expected candids missing), `duplicated` (extra copies of a candid) and
`unexpected` (candids that should not be there at all). Sinks and what each must hold:

- `raw` (lake): each replayed message once, i.e. the multiset of the candids sent (the data may hold the same
  alert twice, then raw holds it twice too);
- `science+rejected` (lake): each distinct candid exactly once;
- `hbase:<table>`: each table's alerts once (main, cutouts, time index: every science alert; class index: those
  with a classification; pixel index: those with a position; solar-system index: roid 3 or a ssnamenr), read
  from the `i:candid` cell of every row; `hbase:<survey>.statistics`: per night, `basic:alerts` = the science
  alerts of that night;
- `kafka:<filter topic>` (read_committed): each science alert its filter selects, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fink_archive.tables import ArchiveTables, is_schema_row, sky_pixels
from fink_cli.lake import read_columns
from fink_cli.readback import read_topic, scan_cells
from fink_cli.reconcile import RunContext
from fink_common.hbase import HBaseClient
from fink_common.lake import LakePaths
from fink_distribution.registry import evaluate_filters, input_frame, required_columns, resolve_filters
from fink_distribution.wire import FINGERPRINT_HEADER, WireSchema, decode_value

__all__ = ["Audit", "SinkAudit", "audit_run", "compare"]

_EXAMPLES = 5
_UNNAMED = ("", "null", "none", "nan")


@dataclass(frozen=True)
class SinkAudit:
    sink: str
    expected: int  # items the sink should hold (with multiplicity)
    found: int  # items it holds
    lost: int
    duplicated: int
    unexpected: int
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few lost / duplicated / unexpected keys

    @property
    def ok(self) -> bool:
        return self.lost == self.duplicated == self.unexpected == 0 and self.expected == self.found


def compare(sink: str, expected: Counter[Hashable], found: Counter[Hashable]) -> SinkAudit:
    lost = {k: n - found.get(k, 0) for k, n in expected.items() if found.get(k, 0) < n}
    unexpected = {k: n for k, n in found.items() if k not in expected}
    doubled = {k: n - expected[k] for k, n in found.items() if k in expected and n > expected[k]}
    examples = {
        name: [str(k) for k in list(keys)[:_EXAMPLES]]
        for name, keys in (("lost", lost), ("duplicated", doubled), ("unexpected", unexpected))
        if keys
    }
    return SinkAudit(
        sink, sum(expected.values()), sum(found.values()), sum(lost.values()), sum(doubled.values()),
        sum(unexpected.values()), examples,
    )  # fmt: skip


@dataclass
class Audit:
    sinks: list[SinkAudit] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.sinks) and all(s.ok for s in self.sinks)

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(s, k) for s in self.sinks) for k in ("lost", "duplicated", "unexpected")}

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.totals(), "sinks": [asdict(s) | {"ok": s.ok} for s in self.sinks]}

    def render(self) -> str:
        lines = ["| sink | expected | found | lost | duplicated | unexpected |", "|---|---|---|---|---|---|"]
        for s in self.sinks:
            lines.append(f"| {s.sink} | {s.expected:,} | {s.found:,} | {s.lost} | {s.duplicated} | {s.unexpected} |")
        return "\n".join(lines)


def _ints(values: Iterable[Any]) -> Counter[Hashable]:
    return Counter(int(v) for v in values)


def _science(lake: LakePaths) -> pd.DataFrame:
    paths = ["candid", "night", "objectId", "classification", "roid", "candidate.ssnamenr", "candidate.ra", "candidate.dec"]
    table = read_columns(lake.science, paths)
    return table.rename_columns(paths).to_pandas()


def _expected_tables(science: pd.DataFrame, tables: ArchiveTables) -> dict[str, Counter[Hashable]]:
    """Table -> the candids it must hold, from the science rows (the archive transform's rules)."""
    every = _ints(science["candid"])
    named = science["candidate.ssnamenr"].map(lambda v: v is not None and str(v).strip().lower() not in _UNNAMED)
    ra = science["candidate.ra"].to_numpy(dtype=np.float64, na_value=np.nan)
    dec = science["candidate.dec"].to_numpy(dtype=np.float64, na_value=np.nan)
    return {
        tables.main: every,
        tables.cutouts: every,
        tables.by_time: every,
        tables.by_class: _ints(science.loc[science["classification"].notna(), "candid"]),
        tables.by_pixel: _ints(science.loc[sky_pixels(ra, dec) >= 0, "candid"]),
        tables.by_sso: _ints(science.loc[named.astype(bool) | (science["roid"] == 3), "candid"]),
    }


def _hbase(ctx: RunContext, science: pd.DataFrame) -> list[SinkAudit]:
    client = HBaseClient(ctx.hbase)
    tables = ArchiveTables(ctx.survey)
    existing = set(client.tables())
    out = []
    for name, expected in _expected_tables(science, tables).items():
        rows = scan_cells(client, name, [b"i:candid"], keep=lambda k: not is_schema_row(k)) if name in existing else []
        out.append(compare(f"hbase:{name}", expected, _ints(cells[b"i:candid"][0] for _, cells in rows)))
    stats: Counter[Hashable] = Counter()
    if tables.statistics in existing:
        for _, cells in scan_cells(client, tables.statistics, [b"basic:night", b"basic:alerts"], keep=lambda k: not is_schema_row(k)):
            stats[cells[b"basic:night"][0].decode()] += int(cells[b"basic:alerts"][0])
    out.append(compare(f"hbase:{tables.statistics} (alerts per night)", Counter(science["night"].astype(str)), stats))
    return out


def _filters(ctx: RunContext, lake: LakePaths) -> list[SinkAudit]:
    filters = resolve_filters()
    paths = list(dict.fromkeys(["candid", *required_columns(filters)]))
    # whole top-level columns, then the paths from them: a filter may read a field of an array of structs
    table = read_columns(lake.science, list(dict.fromkeys(p.partition(".")[0] for p in paths)))
    frame = input_frame(table, paths) if table.num_rows else pd.DataFrame({p: [] for p in paths})
    flags = evaluate_filters(frame, filters) if len(frame) else pd.DataFrame({f.name: [] for f in filters})
    schemas: dict[str, WireSchema] = {}
    if len(frame):  # parsed once each, not per message
        for m in read_topic(ctx.bootstrap, f"{ctx.topic_prefix}schemas"):
            schemas[(m.key or b"").decode()] = WireSchema.from_text((m.value or b"").decode())
    out = []
    for f in filters:
        topic = f"{ctx.topic_prefix}{f.name}_{ctx.survey}"
        selected = frame.loc[flags[f.name].map(lambda v: v is True).astype(bool), "candid"] if len(frame) else []
        found: Counter[Hashable] = Counter()
        for msg in read_topic(ctx.bootstrap, topic) if len(frame) else []:
            schema = schemas.get(msg.headers.get(FINGERPRINT_HEADER, b"").decode())
            found[int(decode_value(msg.value or b"", schema)["candid"]) if schema else "unpublished schema"] += 1
        out.append(compare(f"kafka:{topic}", _ints(selected), found))
    return out


def audit_run(ctx: RunContext, sent: Counter[Hashable]) -> Audit:
    """Every sink of the run in `ctx` against `sent`, the candids replayed into its input topics."""
    lake = LakePaths(ctx.lake)
    raw = _ints(read_columns(lake.raw, ["candid"]).column("candid").to_pylist())
    downstream = _ints(read_columns(lake.science, ["candid"]).column("candid").to_pylist())
    downstream.update(_ints(read_columns(lake.rejected, ["candid"]).column("candid").to_pylist()))
    audit = Audit([compare("raw", sent, raw), compare("science+rejected", Counter(dict.fromkeys(sent, 1)), downstream)])
    science = _science(lake)
    audit.sinks += _hbase(ctx, science)
    audit.sinks += _filters(ctx, lake)
    return audit
