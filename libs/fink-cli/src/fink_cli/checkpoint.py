"""What a stage's Spark checkpoint says it has finished: the input of every committed micro-batch.

Read-only, from the checkpoint folder Spark keeps (`<lake>/checkpoints/<stage>/main`): `commits/<N>` exists
once batch N is committed; `offsets/<N>` holds, on its last line, the source offsets batch N ends at (a
Kafka source: `{"topic": {"partition": offset}}`); `sources/0/<N>[.compact]` lists, one JSON line per
file, the files a file-stream source assigned to each batch. A stage has drained its input when its
committed batches cover everything upstream: the end of the input topic, or every parquet file upstream.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["last_committed", "in_flight", "committed_kafka_offsets", "committed_files", "lake_files"]


def _numbered(folder: Path) -> dict[int, Path]:
    """`<N>` and `<N>.compact` files of a checkpoint log folder, by batch id."""
    out: dict[int, Path] = {}
    if folder.is_dir():
        for path in folder.iterdir():
            stem = path.name.removesuffix(".compact")
            if stem.isdigit():
                out[int(stem)] = path
    return out


def last_committed(checkpoint: Path) -> int | None:
    """The highest committed batch id, None before the first commit."""
    return max(_numbered(checkpoint / "commits"), default=None)


def in_flight(checkpoint: Path) -> int | None:
    """The batch planned (`offsets/<N>` written) but not committed yet: the one Spark replays after a crash."""
    planned = max(_numbered(checkpoint / "offsets"), default=None)
    last = last_committed(checkpoint)
    return planned if planned is not None and (last is None or planned > last) else None


def committed_kafka_offsets(checkpoint: Path) -> dict[str, dict[int, int]]:
    """topic -> partition -> the offset the last committed batch ends at (exclusive); empty before any."""
    last = last_committed(checkpoint)
    path = _numbered(checkpoint / "offsets").get(last) if last is not None else None
    if path is None:
        return {}
    lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
    offsets = json.loads(lines[-1]) if lines else {}
    return {topic: {int(p): int(o) for p, o in parts.items()} for topic, parts in offsets.items()}


def committed_files(checkpoint: Path) -> set[Path]:
    """The files a file-stream source assigned to committed batches (local paths)."""
    last = last_committed(checkpoint)
    if last is None:
        return set()
    out: set[Path] = set()
    for path in _numbered(checkpoint / "sources" / "0").values():
        try:
            text = path.read_text()
        except OSError:  # compacted away while we list
            continue
        for line in text.splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if int(entry.get("batchId", last + 1)) <= last:
                    out.add(Path(unquote(urlparse(entry["path"]).path)))
    return out


def lake_files(dataset: Path) -> set[Path]:
    """The parquet files of a night-partitioned lake dataset (not the `_staging` ones)."""
    return set(dataset.glob("night=*/*.parquet")) if dataset.is_dir() else set()
