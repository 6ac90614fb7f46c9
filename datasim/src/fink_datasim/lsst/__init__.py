"""Synthetic Rubin/LSST alerts (schema 11.0 or 11.1) in Rubin's Confluent framing: `generate(..., survey="lsst")`.

Modules: `plan` (visits, ids, history lengths), `source` (diaSource, histories, diaObject), `sso` (ssSource,
mpc_orbits, designations), `cutout` (FITS stamps), `alert` (one record and its Kafka value), `generate` (files).
"""

from fink_datasim.lsst.alert import SCHEMA_VERSIONS, LsstAlertFactory
from fink_datasim.lsst.plan import DEFAULT_NIGHT, LsstPlan, build_lsst_plan

__all__ = ["DEFAULT_NIGHT", "SCHEMA_VERSIONS", "LsstAlertFactory", "LsstPlan", "build_lsst_plan"]
