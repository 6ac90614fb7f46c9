import re

import fink_stream2raw


def test_stage_version_comes_from_its_version_file() -> None:
    assert fink_stream2raw.STAGE == "stream2raw"
    assert re.fullmatch(r"\d+\.\d+\.\d+", fink_stream2raw.__version__)
