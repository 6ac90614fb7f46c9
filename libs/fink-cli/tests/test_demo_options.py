"""`--alerts [SURVEY=]DIR`: which folder each survey of the demo replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from fink_cli.demo import alert_folders
from fink_common.errors import FinkError


def test_a_bare_folder_is_the_one_surveys() -> None:
    assert alert_folders(["/a"], ("lsst",)) == {"lsst": Path("/a")}
    assert alert_folders([], ("ztf", "lsst")) == {}


def test_both_surveys_each_named() -> None:
    assert alert_folders(["ztf=/z", "lsst=/l"], ("ztf", "lsst")) == {"ztf": Path("/z"), "lsst": Path("/l")}


def test_every_problem_at_once() -> None:
    with pytest.raises(FinkError) as err:
        alert_folders(["/bare", "hst=/h", "ztf=/z", "ztf=/z2"], ("ztf", "lsst"))
    message = str(err.value)
    assert "--alerts /bare: name the survey" in message
    assert "unknown survey 'hst'" in message
    assert "a second folder for ztf" in message
