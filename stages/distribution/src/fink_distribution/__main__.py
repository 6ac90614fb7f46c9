"""`fink-distribution`: run the stage until stopped (SIGTERM/Ctrl-C stop the query cleanly)."""

from __future__ import annotations

import sys

from fink_common.entrypoint import run_stage
from fink_distribution import STAGE, __version__
from fink_distribution.config import load_config
from fink_distribution.job import start

__all__ = ["main"]


def main() -> int:
    return run_stage(stage=STAGE, version=__version__, load_config=load_config, start=start, package="fink_distribution")


if __name__ == "__main__":
    sys.exit(main())
