"""`fink-distribution`: run the stage until stopped (SIGTERM/Ctrl-C stop the query cleanly)."""

from __future__ import annotations

import sys

from fink_common.entrypoint import run_stage
from fink_common.errors import IncompatibleVersionError
from fink_common.version import check_fink_common
from fink_distribution import STAGE, __version__
from fink_distribution.config import load_config
from fink_distribution.job import start

__all__ = ["main"]


def main() -> int:
    try:  # the installed fink-common must be in the range fink_distribution/requires-fink-common declares
        check_fink_common("fink_distribution")
    except IncompatibleVersionError as exc:
        print(f"fink-{STAGE}: {exc}", file=sys.stderr)
        return 2
    return run_stage(stage=STAGE, version=__version__, load_config=load_config, start=start)


if __name__ == "__main__":
    sys.exit(main())
