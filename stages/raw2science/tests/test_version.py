import re

import fink_raw2science


def test_stage_version_comes_from_its_version_file() -> None:
    assert fink_raw2science.STAGE == "raw2science"
    assert re.fullmatch(r"\d+\.\d+\.\d+", fink_raw2science.__version__)
