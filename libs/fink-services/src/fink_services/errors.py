"""fink-services raises the broker-wide `ServiceError` (from fink_common.errors, standard library only)."""

from __future__ import annotations

from fink_common.errors import ServiceError

__all__ = ["ServiceError"]
