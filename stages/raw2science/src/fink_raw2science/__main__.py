"""`fink-raw2science`: run the stage until stopped (SIGTERM/Ctrl-C stop the query cleanly)."""

from __future__ import annotations

import sys
from typing import Any

from pyspark.sql.streaming import StreamingQuery

from fink_common.entrypoint import run_stage
from fink_raw2science import STAGE, __version__
from fink_raw2science.config import load_config
from fink_raw2science.job import BatchSink, duplicates_dropped, start


def _summary(query: StreamingQuery, sink: BatchSink) -> dict[str, Any]:
    return {**sink.totals, "dropped_duplicates": duplicates_dropped(query)}


def main() -> int:
    return run_stage(stage=STAGE, version=__version__, load_config=load_config, start=start, summary=_summary, package="fink_raw2science")


if __name__ == "__main__":
    sys.exit(main())
