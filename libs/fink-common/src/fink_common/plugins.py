"""Load user extensions (science modules, filters) named as `package.module:object` entry points, and the
rule by which fink-broker matches a Fink-style function's parameter names to an alert's flattened columns
(shared by raw2science's `fink_style` modules and the distribution stage's `fink_plugins` filters)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

from fink_common.errors import FinkError

__all__ = ["ENTRY_POINT", "fink_path", "import_attribute", "load_entry_point"]

ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def load_entry_point(spec: str, error: type[FinkError] = FinkError, *, what: str = "an entry point") -> Any:
    """The object named by `package.module:object` (the object part may be dotted); `error(message)` otherwise."""
    if not ENTRY_POINT.match(spec):
        raise error(f"{spec!r} is not {what} ('package.module:object')")
    module_name, _, attr_path = spec.partition(":")
    return import_attribute(spec, module_name, attr_path, error)


def import_attribute(spec: str, module_name: str, attr_path: str, error: type[FinkError] = FinkError) -> Any:
    """`module_name`'s (dotted) attribute `attr_path`; `error(message)` naming `spec` when either is missing."""
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # an import can fail with anything the module raises
        raise error(f"{spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from exc
    for part in attr_path.split("."):
        if not hasattr(target, part):
            raise error(f"{spec!r}: {module_name!r} has no attribute {attr_path!r}")
        target = getattr(target, part)
    return target


def fink_path(name: str, paths: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """fink-broker's rule for one parameter name: the paths ending with the name, if exactly one; else those
    whose last dotted component is the name, if exactly one; else the root-level one among them, if exactly
    one. Returns (that path or None, the candidates it was chosen from)."""
    ends = [p for p in paths if p.endswith(name)]
    if len(ends) == 1:
        return ends[0], tuple(ends)
    exact = [p for p in ends if p.split(".")[-1] == name]
    if len(exact) == 1:
        return exact[0], tuple(exact)
    roots = [p for p in exact if "." not in p]
    if len(roots) == 1:
        return roots[0], tuple(roots)
    return None, tuple(exact or ends)
