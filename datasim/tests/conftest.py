"""Fixtures of the datasim tests: small generated ZTF and Rubin nights (built once per session) and the real
local Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro
import pytest

from fink_common.testing import kafka_bootstrap  # noqa: F401  (shared fixture: fails, never skips, without Kafka)
from fink_datasim.generate import GenerateResult, generate

#: The small generated night most tests look at.
SMALL_N = 1500
SMALL_SEED = 11
#: The small generated Rubin night: 3 visits of 500 alerts.
LSST_N = 1500
LSST_SEED = 7
LSST_VISIT = 500


@pytest.fixture(scope="session")
def small_night(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("night") / "alerts", n=SMALL_N, seed=SMALL_SEED, per_file=500)


@pytest.fixture(scope="session")
def small_alerts(small_night: GenerateResult) -> list[dict[str, Any]]:
    """Every record of the small night, decoded with fastavro, in file order."""
    records: list[dict[str, Any]] = []
    for name in small_night.files:
        with open(Path(small_night.out) / name, "rb") as fh:
            records.extend(fastavro.reader(fh))
    return records


@pytest.fixture(scope="session")
def lsst_night(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    out = tmp_path_factory.mktemp("lsst") / "alerts"
    return generate(out, n=LSST_N, seed=LSST_SEED, survey="lsst", visit_size=LSST_VISIT)
