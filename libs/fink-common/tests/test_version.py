import itertools
from pathlib import Path

import pytest

import fink_common
from fink_common.errors import FinkError, IncompatibleVersionError
from fink_common.version import (
    FINK_COMMON_RANGE_FILE,
    check_fink_common,
    package_version,
    parse_range,
    parse_version,
    supported_fink_common,
    version_in_range,
)

_counter = itertools.count()


def _fake_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, spec: str | None) -> str:
    """An importable package with a VERSION (and a requires-fink-common unless `spec` is None)."""
    name = f"fink_fakestage{next(_counter)}"  # a fresh name each time: package_version is cached
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "VERSION").write_text(f"{version}\n")
    if spec is not None:
        (pkg / FINK_COMMON_RANGE_FILE).write_text(f"{spec}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_fink_common_reads_its_own_version_file() -> None:
    assert fink_common.__version__ == package_version("fink_common")
    assert parse_version(fink_common.__version__)


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("0.1.0", ">=0.1,<0.2", True),
        ("0.1.9", ">=0.1,<0.2", True),
        ("0.2.0", ">=0.1,<0.2", False),
        ("0.0.9", ">=0.1,<0.2", False),
        ("0.1", ">=0.1.0", True),  # missing numbers count as zeros
        ("1.0.0", "==1", True),
        ("0.1.3", "~=0.1.2", True),  # ~=0.1.2 is >=0.1.2, ==0.1.*
        ("0.2.0", "~=0.1.2", False),
        ("0.1.1", "~=0.1.2", False),
        ("0.9.0", "~=0.1", True),  # ~=0.1 is >=0.1, ==0.*
        ("1.0.0", "~=0.1", False),
        ("0.1.7", "==0.1.*", True),
        ("0.2.0", "==0.1.*", False),
        ("0.1.7", "!=0.1.*", False),
        ("0.1.4", ">=0.1, <0.2, !=0.1.4", False),
        ("0.1.5", " >=0.1 , <0.2 ", True),
        ("2.0.0", ">1.9.9,<=2", True),
    ],
)
def test_version_in_range(version: str, spec: str, expected: bool) -> None:
    assert version_in_range(version, spec) is expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty clause"),
        (">=0.1,", "empty clause"),
        ("0.1", "is not a comparison"),
        (">=0.1a1", "is not a comparison"),
        ("=>0.1", "is not a comparison"),
        (">=0.1.*", "'.*' only goes with"),
        ("~=1", "at least two numbers"),
    ],
)
def test_parse_range_refuses_what_it_does_not_understand(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_range(spec)


def test_parse_version_refuses_pre_releases() -> None:
    with pytest.raises(ValueError, match="not a release version"):
        parse_version("0.2.0rc1")


def test_clauses_print_back_as_written() -> None:
    assert [str(c) for c in parse_range(">=0.1,<0.2,==0.1.*,~=0.1.3")] == [">=0.1", "<0.2", "==0.1.*", "~=0.1.3"]


def test_check_fink_common_accepts_a_version_in_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage = _fake_stage(tmp_path, monkeypatch, "0.3.0", ">=0.1,<0.2")
    assert check_fink_common(stage, installed="0.1.4") == ">=0.1,<0.2"


def test_check_fink_common_names_versions_and_file_when_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = _fake_stage(tmp_path, monkeypatch, "0.3.0", ">=0.1,<0.2")
    with pytest.raises(IncompatibleVersionError) as info:
        check_fink_common(stage, installed="0.2.0")
    message = str(info.value)
    assert isinstance(info.value, FinkError)
    assert f"{stage.replace('_', '-')} 0.3.0 supports fink-common >=0.1,<0.2" in message
    assert f"({stage}/{FINK_COMMON_RANGE_FILE})" in message
    assert "fink-common 0.2.0 is installed" in message


def test_check_fink_common_defaults_to_the_installed_fink_common(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = package_version("fink_common")
    major, minor = parse_version(installed)[:2]
    inside = _fake_stage(tmp_path, monkeypatch, "1.0.0", f">={major}.{minor},<{major}.{minor + 1}")
    outside = _fake_stage(tmp_path, monkeypatch, "1.0.0", f">={major}.{minor + 1}")
    check_fink_common(inside)
    with pytest.raises(IncompatibleVersionError, match=f"fink-common {installed} is installed"):
        check_fink_common(outside)


def test_a_missing_or_malformed_range_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _fake_stage(tmp_path, monkeypatch, "0.1.0", None)
    with pytest.raises(IncompatibleVersionError, match=f"declares no fink-common range: add {missing}/"):
        supported_fink_common(missing)
    malformed = _fake_stage(tmp_path, monkeypatch, "0.1.0", "0.1 or later")
    with pytest.raises(IncompatibleVersionError, match=f"{malformed}/{FINK_COMMON_RANGE_FILE}: .* is not a comparison"):
        supported_fink_common(malformed)
