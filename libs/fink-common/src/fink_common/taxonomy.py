"""Fink's lists of catalog (SIMBAD) object types, shared by raw2science's classification and the filters.

Exact, case-sensitive strings: "Galaxy" and "galaxy" are both hosts, "Fail 500" is not one.
"""

from __future__ import annotations

__all__ = ["EG_HOSTS", "NOT_A_TYPE_PREFIXES", "SIMBAD_NOT_A_TYPE"]

#: Fink's extragalactic host types (fink-utils `return_list_of_eg_host`, its default short list, 34 labels):
#: a transient whose cross-match type is one of these may be extragalactic.
EG_HOSTS: frozenset[str] = frozenset(
    {
        "Unknown", "Candidate_SN*", "SN", "Transient", "Fail", "Fail 504", "SN*_Candidate",
        "galaxy", "Galaxy", "EmG", "Seyfert", "Seyfert_1", "Seyfert_2", "BlueCompG", "StarburstG", "LSB_G",
        "HII_G", "High_z_G", "GinPair", "GinGroup", "BClG", "GinCl", "PartofG", "Compact_Gr_G", "IG",
        "PairG", "GroupG", "ClG", "SuperClG", "Void", "LINER", "Possible_ClG", "Possible_SClG",
        "GravLens_Candidate",
    }
)  # fmt: skip
#: Cross-match values that are not a classification (Fink's `simbad_candidates` excludes them): no match,
#: an unspecified transient, a failed cross-match.
SIMBAD_NOT_A_TYPE: frozenset[str] = frozenset({"Unknown", "Transient", "Fail", "Fail 504"})
#: Prefixes that are not a classification either (any failure, and Fink's "Galaxy..." types, case-sensitive).
NOT_A_TYPE_PREFIXES: tuple[str, ...] = ("Fail", "Galaxy")
