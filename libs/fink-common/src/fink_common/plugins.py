"""Load user extensions (science modules, filters) named as `package.module:object` entry points."""

from __future__ import annotations

import importlib
import re
from typing import Any

from fink_common.errors import FinkError

__all__ = ["ENTRY_POINT", "load_entry_point"]

ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def load_entry_point(spec: str, error: type[FinkError] = FinkError, *, what: str = "an entry point") -> Any:
    """The object named by `package.module:object` (the object part may be dotted); `error(message)` otherwise."""
    if not ENTRY_POINT.match(spec):
        raise error(f"{spec!r} is not {what} ('package.module:object')")
    module_name, _, attr_path = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # an import can fail with anything the module raises
        raise error(f"{spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from exc
    for part in attr_path.split("."):
        if not hasattr(target, part):
            raise error(f"{spec!r}: {module_name!r} has no attribute {attr_path!r}")
        target = getattr(target, part)
    return target
