"""The quality step on Arrow batches, inside the tasks of the fast path (`writer`): the same rules, the same
columns and the same words as the DataFrame steps `transform.flag_quality` (ZTF, Fink's cuts) and
`quality.flag_lsst_quality` (Rubin), which stay the reference the tests compare these with.

Each function takes a batch of raw rows and the configured cut and returns the columns the quality step adds,
in the order the DataFrame step adds them: ZTF `cut_reason`; LSST `quality_issues`, `good_quality`,
`cut_reason`. `cut_reason` is null when the alert is kept. The masks are computed on whole columns; the reason
strings are built only for the rows that have one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fink_raw2science.quality import LSST_FLAGS, SNR_MIN
from fink_raw2science.transform import RB_MIN

__all__ = ["ArrowFlags", "lsst_flags", "ztf_flags"]

#: (batch, cut) -> the quality columns, by name, in the order the DataFrame step adds them
ArrowFlags = Callable[[pa.RecordBatch | pa.Table, str], dict[str, pa.Array]]


def _field(batch: pa.RecordBatch | pa.Table, struct: str, name: str) -> pa.Array:
    column = batch.column(struct)
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return pc.struct_field(array, name)


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, null as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _shown(value: object) -> str:
    return "null" if value is None else str(value)


def _rb_shown(value: float | None) -> str:
    """Spark's `cast(round(rb, 3) as string)` on a float: HALF_UP on the double's decimal form, then the float's
    shortest form ("0.3", "0.0", "1.0")."""
    if value is None or np.isnan(value):
        return "null" if value is None else "NaN"
    rounded = float(Decimal(repr(float(value))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))
    return str(np.float32(rounded))


def ztf_flags(batch: pa.RecordBatch | pa.Table, cut: str = "fink") -> dict[str, pa.Array]:
    """`cut_reason` by Fink's cuts (nbad == 0, rb >= 0.55, fid != 3); a null value fails its cut."""
    nbad, rb, fid = (_field(batch, "candidate", name) for name in ("nbad", "rb", "fid"))
    bad_nbad = _mask(pc.or_kleene(pc.is_null(nbad), pc.not_equal(nbad, 0)))
    bad_rb = _mask(pc.or_kleene(pc.is_null(rb, nan_is_null=True), pc.less(rb, RB_MIN)))
    bad_fid = _mask(pc.or_kleene(pc.is_null(fid), pc.equal(fid, 3)))
    reasons: list[str | None] = [None] * len(batch)
    failing = np.flatnonzero(bad_nbad | bad_rb | bad_fid)
    shown = pa.array(failing, pa.int64())  # the values of the failing rows only, as Python values
    for i, n, r, f in zip(failing, *(v.take(shown).to_pylist() for v in (nbad, rb, fid)), strict=True):
        parts = []
        if bad_nbad[i]:
            parts.append(f"nbad={_shown(n)} != 0")
        if bad_rb[i]:
            parts.append(f"rb={_rb_shown(r)} < {RB_MIN}")
        if bad_fid[i]:
            parts.append(f"fid={_shown(f)} (i band or unknown)")
        reasons[i] = "; ".join(parts)
    return {"cut_reason": pa.array(reasons, pa.string())}


def lsst_flags(batch: pa.RecordBatch | pa.Table, cut: str = "none") -> dict[str, pa.Array]:
    """`quality_issues` (Fink's b_good_quality, in words; null when good), `good_quality`, and `cut_reason`
    (with cut "good_quality": the issues of an alert that is not good quality; else always null)."""
    checks: list[tuple[str, np.ndarray]] = []
    for name in LSST_FLAGS:
        flag = _field(batch, "diaSource", name)
        checks.append((name, _mask(pc.or_kleene(pc.is_null(flag), flag))))
    flux, err = (_field(batch, "diaSource", name).cast(pa.float64()) for name in ("psfFlux", "psfFluxErr"))
    checks.append(("psfFlux < 0 or null", _mask(pc.or_kleene(pc.is_null(flux, nan_is_null=True), pc.less(flux, 0)))))
    low_err = pc.or_kleene(pc.is_null(err, nan_is_null=True), pc.less_equal(err, 0))
    # Spark: flux / err < 6, null when either is null; NaN < 6 is false in Spark as in IEEE
    low_snr = pc.or_kleene(low_err, pc.less(pc.divide(flux, err), SNR_MIN))
    checks.append((f"S/N < {SNR_MIN:g}", _mask(low_snr)))
    any_issue = np.zeros(len(batch), dtype=bool)
    for _, mask in checks:
        any_issue |= mask
    issues: list[str | None] = [None] * len(batch)
    for i in np.flatnonzero(any_issue):
        issues[i] = "; ".join(label for label, mask in checks if mask[i])
    if cut == "good_quality":
        reasons = [None if text is None else f"not good quality: {text}" for text in issues]
    else:
        reasons = [None] * len(batch)
    return {
        "quality_issues": pa.array(issues, pa.string()),
        "good_quality": pa.array(~any_issue, pa.bool_()),
        "cut_reason": pa.array(reasons, pa.string()),
    }
