import re

import fink_distribution


def test_stage_version_comes_from_its_version_file() -> None:
    assert fink_distribution.STAGE == "distribution"
    assert re.fullmatch(r"\d+\.\d+\.\d+", fink_distribution.__version__)
