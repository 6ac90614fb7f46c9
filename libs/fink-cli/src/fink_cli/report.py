"""The reconciliation report: every alert accounted for, per night, from the data each stage wrote.

Per night:  received = raw + quarantined;  raw = duplicates + science + rejected (as sets of the survey's alert
id, candid or diaSourceId: the distinct raw ids are exactly science ∪ rejected, disjoint);  science = rows of
the HBase main table (same ids);  each filter topic holds exactly the science alerts its filter selects, once
each. Globally: the input topics hold `received` messages, Spark's deduplication dropped `duplicates` rows,
every HBase table (indexes, histories, LSST sources, forced photometry, objects, solar-system rows) holds
exactly the rowkeys its rule gives on the science rows, and each statistics row the counts of its night.
Latencies p50/p95 per stage come from the timestamps stamped on the rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Check", "Report", "percentiles"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    nights: dict[str, dict[str, Any]] = field(default_factory=dict)
    filters: dict[str, dict[str, Any]] = field(default_factory=dict)
    hbase_tables: dict[str, int] = field(default_factory=dict)
    latency_s: dict[str, dict[str, float | None]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, bool(ok), detail))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")

    def render(self) -> str:
        lines = ["", "Reconciliation report", "====================="]
        head = f"{'night':<10} {'received':>9} {'raw':>7} {'quar.':>6} {'dups':>5} {'science':>8} {'rejected':>9} {'hbase':>7}"
        lines += [head, "-" * len(head)]
        for night, n in sorted(self.nights.items()):
            lines.append(
                f"{night:<10} {n['received']:>9} {n['raw']:>7} {n['quarantined']:>6} {n['duplicates']:>5} "
                f"{n['science']:>8} {n['rejected']:>9} {n['hbase_main']:>7}"
            )
        if self.filters:
            lines += ["", f"{'filter topic':<40} {'messages':>9} {'expected':>9}"]
            for _name, f in sorted(self.filters.items()):
                lines.append(f"{f['topic']:<40} {f['messages']:>9} {f['expected']:>9}")
        if self.hbase_tables:
            lines += ["", f"{'HBase table':<40} {'rows':>9}"]
            lines += [f"{t:<40} {n:>9}" for t, n in sorted(self.hbase_tables.items())]
        if self.latency_s:
            lines += ["", f"{'latency (s)':<40} {'p50':>9} {'p95':>9}"]
            for stage, q in self.latency_s.items():
                lines.append(f"{stage:<40} {_num(q.get('p50')):>9} {_num(q.get('p95')):>9}")
        lines += ["", "checks:"]
        lines += [f"  [{'ok' if c.ok else 'MISMATCH'}] {c.name}: {c.detail}" for c in self.checks]
        lines.append(f"\nresult: {'EXACT' if self.ok else 'MISMATCH'}")
        return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def percentiles(seconds: np.ndarray | list[float]) -> dict[str, float | None]:
    values = np.asarray(seconds, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"p50": None, "p95": None, "n": 0}
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)), "n": int(values.size)}


def seconds_between(later: pa.ChunkedArray, earlier: pa.ChunkedArray) -> np.ndarray:
    """Elementwise (later - earlier) in seconds for two timestamp columns."""
    a = pc.cast(later, pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False).astype("datetime64[us]")
    b = pc.cast(earlier, pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False).astype("datetime64[us]")
    return (a - b).astype("timedelta64[us]").astype(np.int64) / 1e6
