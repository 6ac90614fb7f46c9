"""Read a package's version from the `VERSION` file shipped inside it (the one place it is written)."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["package_version"]


@cache
def package_version(package: str) -> str:
    """The version of `package` (e.g. "fink_stream2raw"), from its bundled VERSION resource."""
    text = resources.files(package).joinpath("VERSION").read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"{package}/VERSION is empty")
    return text
