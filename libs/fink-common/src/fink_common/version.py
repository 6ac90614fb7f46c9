"""Versions: a package's own version, and the fink-common range a stage supports.

Each package writes its version once, in the `VERSION` file shipped inside it. A stage also declares, once,
the range of fink-common it supports, in the `requires-fink-common` file beside its VERSION (a PEP 440
specifier such as `>=0.1,<0.2`); `check_fink_common` compares it with the installed fink-common at start-up.

Standard library only: fink_services imports this module before any virtualenv exists. The specifiers
understood are the PEP 440 operators (`==`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `==X.*`, `!=X.*`) over release
versions made of numbers (`1`, `0.1`, `0.1.0`); anything else is refused rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fink_common.errors import IncompatibleVersionError

__all__ = [
    "FINK_COMMON_RANGE_FILE",
    "Clause",
    "check_fink_common",
    "package_version",
    "parse_range",
    "parse_version",
    "supported_fink_common",
    "version_in_range",
]

#: The file, beside a stage's VERSION, that holds the fink-common range it supports (one line).
FINK_COMMON_RANGE_FILE = "requires-fink-common"

_VERSION = re.compile(r"\d+(?:\.\d+)*")
_CLAUSE = re.compile(r"(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?")


@cache
def package_version(package: str) -> str:
    """The version of `package` (e.g. "fink_stream2raw"), from its bundled VERSION resource."""
    text = _resource_text(package, "VERSION")
    if not text:
        raise ValueError(f"{package}/VERSION is empty")
    return text


def _resource_text(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8").strip()


def parse_version(text: str) -> tuple[int, ...]:
    """`"0.1.0"` -> `(0, 1, 0)`. Only release versions (numbers and dots) are accepted."""
    if not _VERSION.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a release version like 0.1.0 (numbers separated by dots)")
    return tuple(int(part) for part in text.strip().split("."))


@dataclass(frozen=True)
class Clause:
    """One comparison of a range: `op` applied to `release` (`wildcard` for `==X.*` / `!=X.*`)."""

    op: str
    release: tuple[int, ...]
    wildcard: bool = False

    def __str__(self) -> str:
        return f"{self.op}{'.'.join(map(str, self.release))}{'.*' if self.wildcard else ''}"

    def matches(self, version: tuple[int, ...]) -> bool:
        if self.op == "~=":  # ~=X.Y.Z  is  >=X.Y.Z, ==X.Y.*
            prefix = Clause("==", self.release[:-1], wildcard=True)
            return Clause(">=", self.release).matches(version) and prefix.matches(version)
        if self.wildcard:
            same = _pad(version, len(self.release))[: len(self.release)] == self.release
            return same if self.op == "==" else not same
        width = max(len(version), len(self.release))
        left, right = _pad(version, width), _pad(self.release, width)
        return {
            "==": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[self.op]


def _pad(release: tuple[int, ...], width: int) -> tuple[int, ...]:
    return release + (0,) * (width - len(release))


def parse_range(text: str) -> tuple[Clause, ...]:
    """`">=0.1,<0.2"` -> its clauses. ValueError naming the bad part for anything we do not understand."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or not all(parts):
        raise ValueError(f"{text!r} is not a version range like '>=0.1,<0.2' (empty clause)")
    clauses = []
    for part in parts:
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise ValueError(f"{text!r}: {part!r} is not a comparison like '>=0.1' (operators ~= == != < <= > >=)")
        op, release, star = match.groups()
        if star and op not in ("==", "!="):
            raise ValueError(f"{text!r}: '.*' only goes with == and != (in {part!r})")
        if op == "~=" and "." not in release:
            raise ValueError(f"{text!r}: ~= needs at least two numbers, e.g. ~=0.1 (in {part!r})")
        clauses.append(Clause(op, parse_version(release), wildcard=bool(star)))
    return tuple(clauses)


def version_in_range(version: str, spec: str) -> bool:
    """Whether release `version` satisfies every clause of `spec` (e.g. `"0.1.3"` in `">=0.1,<0.2"`)."""
    release = parse_version(version)
    return all(clause.matches(release) for clause in parse_range(spec))


def supported_fink_common(package: str) -> str:
    """The fink-common range `package` declares in its `requires-fink-common` file (checked syntax)."""
    try:
        spec = _resource_text(package, FINK_COMMON_RANGE_FILE)
    except FileNotFoundError:
        raise IncompatibleVersionError(
            f"{package} declares no fink-common range: add {package}/{FINK_COMMON_RANGE_FILE} "
            "(one line, e.g. '>=0.1,<0.2') and list it in the `data` of its BUILD file"
        ) from None
    try:
        parse_range(spec)
    except ValueError as exc:
        raise IncompatibleVersionError(f"{package}/{FINK_COMMON_RANGE_FILE}: {exc}") from None
    return spec


def check_fink_common(package: str, installed: str | None = None) -> str:
    """Check that the installed fink-common (or `installed`) is in the range `package` supports; return the
    range. Raises IncompatibleVersionError, saying which versions are involved and where the range comes from."""
    spec = supported_fink_common(package)
    installed = installed or package_version("fink_common")
    if not version_in_range(installed, spec):
        dist = package.replace("_", "-")
        raise IncompatibleVersionError(
            f"{dist} {package_version(package)} supports fink-common {spec} "
            f"({package}/{FINK_COMMON_RANGE_FILE}), but fink-common {installed} is installed: install a "
            f"fink-common in that range, or test {dist} with {installed} and widen its range"
        )
    return spec
