"""The JVM jars that `deploy/jars/fetch.sh` fetches (pinned, sha256-checked) into
`${FINK_JARS_DIR:-~/.cache/fink/jars}/<group>/`. Nothing here downloads: a missing jar is an error."""

from __future__ import annotations

import os
from pathlib import Path

from fink_common.errors import DataNotFoundError

__all__ = ["JARS_DIR_ENV", "JAR_GROUPS", "SPARK_ARTIFACTS", "jars_root", "jars_dir", "spark_jars"]

JARS_DIR_ENV = "FINK_JARS_DIR"

#: The groups of deploy/jars/ (one classpath each).
JAR_GROUPS = ("kafka", "hbase", "spark")

#: What `spark.jars` needs beside pyspark 4.0.1's own jars: Kafka source/sink + Avro functions.
SPARK_ARTIFACTS = (
    "spark-sql-kafka-0-10_2.13",
    "spark-token-provider-kafka-0-10_2.13",
    "kafka-clients",
    "commons-pool2",
    "spark-avro_2.13",
)

_HINT = "run deploy/jars/fetch.sh (it fetches the pinned jars from Maven Central)"


def jars_root() -> Path:
    """`$FINK_JARS_DIR`, else `~/.cache/fink/jars`."""
    env = os.environ.get(JARS_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fink" / "jars"


def jars_dir(group: str) -> Path:
    """The folder of one jar group; raises DataNotFoundError when it holds no jar."""
    if group not in JAR_GROUPS:
        raise ValueError(f"unknown jar group {group!r}: one of {', '.join(JAR_GROUPS)}")
    folder = jars_root() / group
    if not folder.is_dir() or not any(folder.glob("*.jar")):
        raise DataNotFoundError(f"no {group} jars in {folder}: {_HINT}")
    return folder


def _is_artifact(jar: Path, artifact: str) -> bool:
    """`spark-avro_2.13-4.0.1.jar` is a jar of `spark-avro_2.13` (name, '-', then a version digit)."""
    rest = jar.name[len(artifact) + 1 :]
    return jar.name.startswith(artifact + "-") and rest[:1].isdigit()


def spark_jars() -> list[Path]:
    """The spark group's jars, for `spark.jars` (comma-join them); every expected artifact must be there."""
    jars = sorted(jars_dir("spark").glob("*.jar"))
    missing = [a for a in SPARK_ARTIFACTS if not any(_is_artifact(j, a) for j in jars)]
    if missing:
        raise DataNotFoundError(
            f"spark jars incomplete in {jars_root() / 'spark'} (missing {', '.join(missing)}): {_HINT}"
        )
    return jars
