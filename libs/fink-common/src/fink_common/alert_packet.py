"""Rubin's official alert schemas, read from Rubin's own package `lsst-alert-packet` (PyPI, GPL-3.0).

The package ships one folder per version, `lsst/alert/packet/schema/<MAJOR>/<MINOR>/`, with the alert record
`lsst.v<MAJOR>_<MINOR>.alert.avsc` and one file per named record it refers to (`...diaSource.avsc`, ...).
We read those files as data: the package's Python modules are never imported (they pull in Rubin's whole
middleware stack), and none of its files is copied into this repository.

Schema id <-> version: Rubin registers version MAJOR.MINOR under the id MAJOR*100 + MINOR (9.0 -> 900,
11.1 -> 1101), the id its Kafka messages carry after the Confluent magic byte.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from fink_common.errors import SchemaError

__all__ = [
    "PACKAGE",
    "schema_id_of",
    "version_of_id",
    "version_of_namespace",
    "official_versions",
    "official_schema",
    "package_version",
]

PACKAGE = "lsst-alert-packet"
_NAMESPACE = re.compile(r"lsst\.v(\d+)_(\d+)")


def schema_id_of(version: str) -> int:
    """`"11.0"` -> 1100 (Rubin's registry id)."""
    major, _, minor = version.partition(".")
    if not (major.isdigit() and minor.isdigit() and int(minor) < 100):
        raise SchemaError(f"{version!r} is not a Rubin schema version MAJOR.MINOR")
    return int(major) * 100 + int(minor)


def version_of_id(schema_id: int) -> str:
    """1101 -> `"11.1"`."""
    if schema_id <= 0:
        raise SchemaError(f"{schema_id} is not a Rubin schema id (MAJOR*100 + MINOR)")
    return f"{schema_id // 100}.{schema_id % 100}"


def version_of_namespace(label: str | None) -> str | None:
    """`"lsst.v10_0"` (a schema namespace, or the `lsst_schema_version` column Fink writes) -> `"10.0"`."""
    match = _NAMESPACE.fullmatch(label or "")
    return f"{int(match[1])}.{int(match[2])}" if match else None


@cache
def _schema_root() -> Path:
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise SchemaError(f"Rubin's schema package {PACKAGE} is not installed") from None
    root = Path(str(dist.locate_file("lsst/alert/packet/schema")))
    if not root.is_dir():
        raise SchemaError(f"{PACKAGE} {dist.version} has no schema folder at {root}")
    return root


def package_version() -> str:
    return metadata.version(PACKAGE)


@cache
def official_versions() -> tuple[str, ...]:
    """Every MAJOR.MINOR the installed package holds an alert schema for, oldest first."""
    found = []
    for path in _schema_root().glob("*/*/lsst.v*_*.alert.avsc"):
        version = version_of_namespace(path.name.removesuffix(".alert.avsc"))
        if version is not None:
            found.append(version)
    return tuple(sorted(found, key=schema_id_of))


def official_schema(version: str) -> dict[str, Any]:
    """The alert schema of `version` as one JSON dict, each named record defined where it is first used.

    A fresh copy each call (callers may modify it). SchemaError if the package lacks that version.
    """
    return json.loads(_schema_text(version))


@cache
def _schema_text(version: str) -> str:
    major, _, minor = version.partition(".")
    folder = _schema_root() / major / minor
    prefix = f"lsst.v{major}_{minor}"
    alert_file = folder / f"{prefix}.alert.avsc"
    if not alert_file.is_file():
        known = ", ".join(official_versions())
        raise SchemaError(f"{PACKAGE} {package_version()} has no alert schema {version} (it has {known})")
    defined: set[str] = set()

    def load(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SchemaError(f"{path.name} of {PACKAGE} cannot be read: {exc}") from exc

    def resolve(node: Any, namespace: str) -> Any:
        if isinstance(node, list):
            return [resolve(branch, namespace) for branch in node]
        if isinstance(node, str):
            full = node if "." in node else f"{namespace}.{node}"
            if full.startswith(prefix + ".") and full not in defined:
                path = folder / f"{full}.avsc"
                if path.is_file():
                    return resolve(load(path), namespace)
            return node
        if not isinstance(node, dict):
            return node
        out = dict(node)
        if node.get("type") == "record":
            full = node["name"] if "." in node["name"] else f"{node.get('namespace', namespace)}.{node['name']}"
            defined.add(full)
            inner = full.rpartition(".")[0]
            out["fields"] = [{**field, "type": resolve(field["type"], inner)} for field in node["fields"]]
        elif node.get("type") == "array":
            out["items"] = resolve(node["items"], namespace)
        elif node.get("type") == "map":
            out["values"] = resolve(node["values"], namespace)
        elif isinstance(node.get("type"), (dict, list)):
            out["type"] = resolve(node["type"], namespace)
        return out

    return json.dumps(resolve(load(alert_file), prefix))
