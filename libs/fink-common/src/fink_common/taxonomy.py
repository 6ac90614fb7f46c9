"""Fink's lists of SIMBAD object types, shared by the science modules and the filters."""

from __future__ import annotations

__all__ = ["EG_HOSTS"]

#: Fink's extragalactic host types (fink-utils `return_list_of_eg_host`, its default short list, 34 labels):
#: a transient whose cross-match type is one of these may be extragalactic. Exact strings only.
EG_HOSTS: frozenset[str] = frozenset(
    {
        "Unknown", "Candidate_SN*", "SN", "Transient", "Fail", "Fail 504", "SN*_Candidate",
        "galaxy", "Galaxy", "EmG", "Seyfert", "Seyfert_1", "Seyfert_2", "BlueCompG", "StarburstG", "LSB_G",
        "HII_G", "High_z_G", "GinPair", "GinGroup", "BClG", "GinCl", "PartofG", "Compact_Gr_G", "IG",
        "PairG", "GroupG", "ClG", "SuperClG", "Void", "LINER", "Possible_ClG", "Possible_SClG",
        "GravLens_Candidate",
    }
)  # fmt: skip
