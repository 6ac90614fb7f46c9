"""Ship the first-party `fink_*` packages to Spark executors, which do not have them.

On a `local` master the Python workers are children of the driver's own JVM and import our packages from
the driver's path. On a cluster they run next to executors elsewhere (other containers of the same image:
same interpreter path, same third-party packages, but not our code). So the driver zips each imported
top-level `fink_*` package with its data files (VERSION, `.avsc`, `.json`, `.parquet`...) and hands the zip
to `SparkContext.addPyFile`: every executor downloads it and puts it first on its Python workers'
`sys.path`. Our packages read their data through `importlib.resources`, which reads inside a zip too.

What is shipped is what is imported when the session starts (a stage's `job` module imports its whole
package tree, and `config` loads the science-module plugins first). A plugin package not named `fink_*`
is shipped by calling `ship_packages(spark.sparkContext, ["its_package"])`.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import io
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import ModuleType

from pyspark import SparkContext

from fink_common.errors import DataNotFoundError

__all__ = ["FIRST_PARTY_PREFIX", "first_party_packages", "package_zip", "ship_packages"]

#: Top-level packages named like this are ours (the stages, fink_common, fink_datasim...).
FIRST_PARTY_PREFIX = "fink_"

_SKIP_DIRS = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same sources make the same bytes (and the same file name)

#: (application id, zip file name) -> the zip already handed to that SparkContext.
_SHIPPED: dict[tuple[str, str], Path] = {}


def first_party_packages(
    modules: Mapping[str, ModuleType] | None = None, prefix: str = FIRST_PARTY_PREFIX
) -> list[str]:
    """The imported top-level modules and packages whose name starts with `prefix`, sorted."""
    items = list((sys.modules if modules is None else modules).items())
    return sorted(
        name
        for name, module in items
        if "." not in name
        and name.startswith(prefix)
        and module is not None
        and (hasattr(module, "__path__") or getattr(module, "__file__", None))
    )


def _walk(node: Traversable, arcname: str) -> Iterator[tuple[str, bytes]]:
    """(path in the zip, bytes) of every file under `node`, but bytecode, caches and hidden files."""
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name.startswith(".") or child.name in _SKIP_DIRS:
            continue
        if child.is_dir():
            yield from _walk(child, f"{arcname}/{child.name}")
        elif not child.name.endswith(_SKIP_SUFFIXES):
            yield f"{arcname}/{child.name}", child.read_bytes()


def _module_files(name: str) -> Iterator[tuple[str, bytes]]:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise DataNotFoundError(f"cannot ship package {name!r} to the executors: {exc}") from exc
    if hasattr(module, "__path__"):  # a package: everything under it, data files included
        yield from _walk(resources.files(name), name)
        return
    file = getattr(module, "__file__", None)
    if not file or not Path(file).is_file():
        raise DataNotFoundError(f"cannot ship module {name!r} to the executors: it has no source file")
    yield Path(file).name, Path(file).read_bytes()


def package_zip(names: Iterable[str]) -> bytes:
    """A zip of the named top-level packages, importable from `sys.path`; the same sources give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(set(names)):
            for arcname, data in _module_files(name):
                info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
    return buffer.getvalue()


def ship_packages(sc: SparkContext, names: Iterable[str] | None = None) -> Path:
    """Zip `names` (default: every imported `fink_*` package) and add the zip to `sc`'s Python path.

    The zip lives in a temporary folder removed when the process exits (the driver serves it to
    executors for the whole life of the context). Shipping the same code twice to one context is a no-op.
    """
    data = package_zip(first_party_packages() if names is None else names)
    file_name = f"fink-pyfiles-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    key = (sc.applicationId, file_name)
    if key in _SHIPPED:
        return _SHIPPED[key]
    directory = Path(tempfile.mkdtemp(prefix="fink-pyfiles-"))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / file_name
    path.write_bytes(data)
    sc.addPyFile(str(path))
    _SHIPPED[key] = path
    return path
