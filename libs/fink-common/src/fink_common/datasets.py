"""Where the real sample alerts live (`../shared/datasim` by default, `FINK_DATASIM_DIR` to override)."""

from __future__ import annotations

import os
from pathlib import Path

from fink_common.errors import DataNotFoundError

__all__ = ["DATASIM_ENV", "SAMPLE_SETS", "WIRE_SETS", "datasim_dir", "sample_dir", "sample_files"]

DATASIM_ENV = "FINK_DATASIM_DIR"

#: Name of each real sample set -> its folder under the datasim dir.
SAMPLE_SETS: dict[str, str] = {
    "ztf_3.3": "ztf_2020_schema_3.3",
    "ztf_4.02": "ztf_2023_schema_4.02",
    "lsst_9.0": "lsst_schema_9.0",
    "lsst_10.0": "lsst_2026_schema_10.0",
    # Rubin's Kafka wire format (Confluent framing), one message value per file
    "lsst_wire_9.0": "lsst_wire/v9_0",
    "lsst_wire_10.0": "lsst_wire/v10_0",
    "lsst_wire_11.0": "lsst_wire/v11_0",
    "lsst_wire_versions": "lsst_wire/versions",
}
#: The Confluent-framed sample sets.
WIRE_SETS: tuple[str, ...] = ("lsst_wire_9.0", "lsst_wire_10.0", "lsst_wire_11.0", "lsst_wire_versions")


def _repo_root() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pants.toml").is_file():
            return parent
    return None


def datasim_dir() -> Path:
    """The folder holding the real alert samples; fails loudly, never skips, when it is missing."""
    env = os.environ.get(DATASIM_ENV)
    if env:
        candidate = Path(env)
    else:
        root = _repo_root() or Path.cwd()
        candidate = root.parent / "shared" / "datasim"
    if not candidate.is_dir():
        raise DataNotFoundError(
            f"sample alerts not found at {candidate}. They live in the project's shared folder "
            f"(`../shared/datasim` next to the repository); set {DATASIM_ENV}=/path/to/datasim "
            "to point elsewhere."
        )
    return candidate


def sample_dir(name: str) -> Path:
    """Folder of one named sample set (see SAMPLE_SETS)."""
    if name not in SAMPLE_SETS:
        raise DataNotFoundError(f"unknown sample set {name!r}; known: {sorted(SAMPLE_SETS)}")
    path = datasim_dir() / SAMPLE_SETS[name]
    if not path.is_dir():
        raise DataNotFoundError(f"sample set {name!r} missing: {path} does not exist")
    return path


def sample_files(name: str) -> list[Path]:
    """Sorted `.avro` files of one named sample set."""
    files = sorted(sample_dir(name).glob("*.avro"))
    if not files:
        raise DataNotFoundError(f"sample set {name!r} has no .avro files in {sample_dir(name)}")
    return files
