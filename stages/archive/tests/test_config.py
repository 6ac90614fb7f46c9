"""archive configuration: defaults, every problem reported at once, and a clean exit on a bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_archive.__main__ import main
from fink_archive.config import load_config
from fink_common.errors import ConfigError


def test_defaults_and_values(tmp_path: Path) -> None:
    config = load_config(
        {
            "FINK_DATA_DIR": str(tmp_path),
            "FINK_HBASE_THRIFT": "hbase.local:9191",
            "FINK_HBASE_TABLE_PREFIX": "test_abc",
            "FINK_MAX_FILES_PER_TRIGGER": "3",
            "FINK_AVAILABLE_NOW": "yes",
        }
    )
    assert (config.hbase.host, config.hbase.port, config.hbase.table_prefix) == ("hbase.local", 9191, "test_abc")
    assert config.lake.science == tmp_path / "science"
    assert config.checkpoint == tmp_path / "checkpoints" / "archive" / "main"
    assert config.max_files_per_trigger == 3 and config.available_now is True
    assert config.trigger_seconds == 2.0 and config.survey == "ztf"
    assert config.tables.cutouts == "ztf.cutouts"


def test_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            {
                "FINK_HBASE_THRIFT": "nohost",
                "FINK_HBASE_TABLE_PREFIX": "bad prefix!",
                "FINK_SURVEY": "hsc",
                "FINK_MAX_FILES_PER_TRIGGER": "0",
                "FINK_TRIGGER_SECONDS": "soon",
                "FINK_AVAILABLE_NOW": "maybe",
            }
        )
    text = "\n".join(info.value.problems)
    for name in (
        "FINK_HBASE_THRIFT",
        "FINK_HBASE_TABLE_PREFIX",
        "FINK_SURVEY",
        "FINK_MAX_FILES_PER_TRIGGER",
        "FINK_TRIGGER_SECONDS",
        "FINK_AVAILABLE_NOW",
    ):
        assert name in text
    assert len(info.value.problems) == 6


def test_lsst_has_its_layout() -> None:
    config = load_config({"FINK_SURVEY": "lsst"})
    tables = config.tables
    assert tables.layout.salted and tables.main == "lsst"
    assert set(tables.families()) == {
        "lsst", "lsst.cutouts", "lsst.class", "lsst.pixel128", "lsst.jd", "lsst.ssnamenr",
        "lsst.sources", "lsst.forced", "lsst.objects", "lsst.sso", "lsst.statistics",
    }  # fmt: skip


def test_main_exits_with_a_message_on_a_bad_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # structlog would keep pytest's captured stdout for later tests: leave the logging set-up out.
    monkeypatch.setattr("fink_common.entrypoint.configure_logging", lambda **_: None)
    monkeypatch.setenv("FINK_MAX_FILES_PER_TRIGGER", "many")
    monkeypatch.setenv("FINK_HBASE_THRIFT", "127.0.0.1:99999")
    assert main() == 2
    err = capsys.readouterr().err
    assert err.startswith("fink-archive: invalid archive configuration (2 problem(s))")
    assert "FINK_MAX_FILES_PER_TRIGGER" in err and "Traceback" not in err
