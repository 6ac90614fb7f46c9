import re

import fink_archive


def test_stage_version_comes_from_its_version_file() -> None:
    assert fink_archive.STAGE == "archive"
    assert re.fullmatch(r"\d+\.\d+\.\d+", fink_archive.__version__)
