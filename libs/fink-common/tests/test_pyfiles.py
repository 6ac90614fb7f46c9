"""The zip of first-party packages that executors import: complete (data files), reproducible, importable."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from types import ModuleType

import pytest

import fink_common
from fink_common.errors import DataNotFoundError
from fink_common.pyfiles import first_party_packages, package_zip
from fink_common.schema import load_avro_schema


def test_first_party_packages_are_the_imported_top_level_fink_modules() -> None:
    package = ModuleType("fink_a")
    package.__path__ = []
    single = ModuleType("fink_b")
    single.__file__ = "/x/fink_b.py"
    modules = {
        "fink_a": package,
        "fink_a.sub": ModuleType("fink_a.sub"),
        "fink_b": single,
        "fink_builtin_like": ModuleType("fink_builtin_like"),  # neither a file nor a path: nothing to ship
        "numpy": ModuleType("numpy"),
    }
    assert first_party_packages(modules) == ["fink_a", "fink_b"]
    assert "fink_common" in first_party_packages()


def test_the_zip_holds_sources_and_data_but_no_bytecode() -> None:
    data = package_zip(["fink_common"])
    names = zipfile.ZipFile(BytesIO(data)).namelist()
    for expected in ["fink_common/__init__.py", "fink_common/VERSION", "fink_common/spark.py"]:
        assert expected in names
    assert {f"fink_common/schemas/{n}.avsc" for n in ["ztf_3.3", "ztf_4.02"]} <= set(names)  # Rubin's: its package
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n or not n.startswith("fink_common/")]
    assert package_zip(["fink_common", "fink_common"]) == data  # same sources, same bytes


def test_the_zip_is_importable_by_an_interpreter_without_our_sources(tmp_path: Path) -> None:
    archive = tmp_path / "pyfiles.zip"
    archive.write_bytes(package_zip(["fink_common"]))
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import fink_common; from importlib import resources;"
        "text = (resources.files('fink_common') / 'schemas' / 'ztf_4.02.avsc').read_text();"
        "print(json.dumps([fink_common.__file__, fink_common.__version__, json.loads(text)['name']]))"
    )
    # -I: no PYTHONPATH, no user site, no current folder: fink_common can only come from the zip
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(archive)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    origin, version, schema_name = json.loads(proc.stdout)
    assert origin == str(archive / "fink_common" / "__init__.py")
    assert version == fink_common.__version__
    assert schema_name == load_avro_schema("ztf_4.02")["name"]


def test_an_unknown_package_cannot_be_shipped() -> None:
    with pytest.raises(DataNotFoundError, match="fink_no_such_package"):
        package_zip(["fink_no_such_package"])
