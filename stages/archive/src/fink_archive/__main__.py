"""`fink-archive`: run the stage until stopped (SIGTERM/Ctrl-C stop the query cleanly)."""

from __future__ import annotations

import sys

from fink_archive import STAGE, __version__
from fink_archive.config import load_config
from fink_archive.job import start
from fink_common.entrypoint import run_stage

__all__ = ["main"]


def main() -> int:
    return run_stage(stage=STAGE, version=__version__, load_config=load_config, start=start, package="fink_archive")


if __name__ == "__main__":
    sys.exit(main())
