"""`fink-archive`: run the stage until stopped (SIGTERM/Ctrl-C stop the query cleanly)."""

from __future__ import annotations

import sys

from fink_archive import STAGE, __version__
from fink_archive.config import load_config
from fink_archive.job import start
from fink_common.entrypoint import run_stage
from fink_common.errors import IncompatibleVersionError
from fink_common.version import check_fink_common

__all__ = ["main"]


def main() -> int:
    try:  # the installed fink-common must be in the range fink_archive/requires-fink-common declares
        check_fink_common("fink_archive")
    except IncompatibleVersionError as exc:
        print(f"fink-{STAGE}: {exc}", file=sys.stderr)
        return 2
    return run_stage(stage=STAGE, version=__version__, load_config=load_config, start=start)


if __name__ == "__main__":
    sys.exit(main())
