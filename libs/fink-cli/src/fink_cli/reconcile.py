"""Build the reconciliation `Report` of a run (or of one night) from the lake, Kafka and HBase."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fink_archive.expected import archive_key, expected_rowkeys, expected_statistics, key_columns, source_columns
from fink_archive.layout import ARCHIVE_SURVEYS
from fink_archive.tables import ArchiveTables, is_schema_row
from fink_cli.lake import read_columns, read_rows, rows_per_night
from fink_cli.readback import input_message_count, read_topic, scan_cells, scan_keys
from fink_cli.report import Report, percentiles, seconds_between
from fink_common.config import EnvReader, HBaseConfig, KafkaConfig
from fink_common.hbase import HBaseClient
from fink_common.lake import LakePaths
from fink_common.surveys import get_survey
from fink_distribution.registry import evaluate_filters, input_frame, required_columns, resolve_filters
from fink_distribution.wire import FINGERPRINT_HEADER, decode_value

__all__ = ["RunContext", "build_report"]


@dataclass(frozen=True)
class RunContext:
    """Where one deployment of the pipeline keeps its data (what `./fink demo` records in run.json)."""

    lake: Path
    bootstrap: str
    input_topics: tuple[str, ...]
    topic_prefix: str
    survey: str
    hbase: HBaseConfig
    dropped_duplicates: int | None = None  # Spark's own count, from raw2science's final log line

    def to_json(self) -> dict[str, Any]:
        return {
            "lake": str(self.lake), "bootstrap": self.bootstrap, "input_topics": list(self.input_topics),
            "topic_prefix": self.topic_prefix, "survey": self.survey, "hbase_host": self.hbase.host,
            "hbase_port": self.hbase.port, "hbase_table_prefix": self.hbase.table_prefix,
            "dropped_duplicates": self.dropped_duplicates,
        }  # fmt: skip

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunContext:
        """A deployment described by the stages' own variables (as in deploy/compose/.env.example):
        FINK_DATA_DIR, FINK_KAFKA_BOOTSTRAP, FINK_INPUT_TOPICS, FINK_TOPIC_PREFIX, FINK_SURVEY,
        FINK_HBASE_THRIFT, FINK_HBASE_TABLE_PREFIX. Every problem is reported at once (ConfigError)."""
        env = EnvReader(environ, source="report environment")
        lake = env.str("FINK_DATA_DIR")
        kafka = KafkaConfig.from_env(env)
        topics = env.list("FINK_INPUT_TOPICS")
        prefix = env.str("FINK_TOPIC_PREFIX", "fink_")
        survey = env.choice("FINK_SURVEY", list(ARCHIVE_SURVEYS), "ztf")
        hbase = HBaseConfig.from_env(env)
        env.finish()
        return cls(Path(lake), kafka.bootstrap, topics, prefix, survey, hbase)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunContext:
        hbase = HBaseConfig(data["hbase_host"], int(data["hbase_port"]), data["hbase_table_prefix"])
        return cls(Path(data["lake"]), data["bootstrap"], tuple(data["input_topics"]), data["topic_prefix"],
                   data["survey"], hbase, data.get("dropped_duplicates"))  # fmt: skip


def _ids(table: pa.Table, column: str) -> list[int]:
    return [int(c) for c in table.column(column).to_pylist()]


def _night_sets(lake: LakePaths, alert_id: str, nights: list[str], report: Report) -> dict[str, set[int]]:
    """Per-night counts of the lake datasets and the set checks between them; returns science alert ids."""
    science_sets: dict[str, set[int]] = {}
    for night in nights:
        raw = _ids(read_columns(lake.raw, [alert_id], night), alert_id)
        science = _ids(read_columns(lake.science, [alert_id], night), alert_id)
        rejected = _ids(read_columns(lake.rejected, [alert_id], night), alert_id)
        quarantined = read_columns(lake.quarantine, ["kafka_offset"], night).num_rows
        distinct = set(raw)
        science_sets[night] = set(science)
        report.nights[night] = {
            "received": len(raw) + quarantined, "raw": len(raw), "quarantined": quarantined,
            "duplicates": len(raw) - len(distinct), "science": len(science), "rejected": len(rejected),
            "hbase_main": 0,
        }  # fmt: skip
        twice = [c for c, k in Counter(science + rejected).items() if k > 1]
        report.check(f"{night}: each {alert_id} once downstream", not twice, f"{len(twice)} {alert_id}s in science/rejected twice")
        missing, extra = distinct - set(science) - set(rejected), (set(science) | set(rejected)) - distinct
        report.check(
            f"{night}: raw = duplicates + science + rejected",
            not missing and not extra and len(raw) == report.nights[night]["duplicates"] + len(science) + len(rejected),
            f"{len(raw)} = {len(raw) - len(distinct)} + {len(science)} + {len(rejected)}; "
            f"{len(missing)} raw {alert_id}s lost, {len(extra)} unknown",
        )
    return science_sets


def _hbase(
    ctx: RunContext, nights: list[str], science_sets: dict[str, set[int]], report: Report, *, whole_run: bool
) -> np.ndarray:
    """Main-table rows per night against science; for a whole run, every table's rowkeys and the statistics
    cells against their rule applied to the science rows (`fink_archive.expected`); returns archive latencies."""
    client = HBaseClient(ctx.hbase)
    tables = ArchiveTables(ctx.survey)
    alert_id = tables.layout.alert_column
    alert_cell = f"i:{alert_id}".encode()
    existing = set(client.tables())
    # the archive stage creates its tables when it starts: before that, the main table counts 0 rows
    rows = (
        scan_cells(client, tables.main, [alert_cell, b"d:night"], keep=lambda k: not is_schema_row(k))
        if tables.main in existing
        else []
    )
    per_night: dict[str, set[int]] = defaultdict(set)
    written_ms: dict[int, int] = {}
    for _, cells in rows:
        alert = int(cells[alert_cell][0])
        per_night[cells[b"d:night"][0].decode()].add(alert)
        written_ms[alert] = cells[alert_cell][1]
    # the science rows, read once: the key columns (a whole run: every column the tables' rules read)
    science = read_rows(ctx.lake / "science", source_columns(tables.layout) if whole_run else key_columns(tables.layout))
    unkeyed: dict[str, set[int]] = defaultdict(set)  # science alerts the archive cannot key (no object id)
    for row in science:
        if archive_key(row, tables.layout) is None and row.get(alert_id) is not None:
            unkeyed[str(row["night"])].add(int(row[alert_id]))
    for night in nights:
        stored, left_out = per_night.get(night, set()), unkeyed.get(night, set()) & science_sets[night]
        report.nights[night]["hbase_main"] = len(stored)
        report.check(
            f"{night}: science = HBase main table + alerts without a key",
            stored == science_sets[night] - left_out,
            f"{len(science_sets[night])} science alerts, {len(stored)} main-table rows"
            + (f", {len(left_out)} without an object id, not archived: {sorted(left_out)[:5]}" if left_out else ""),
        )
    if whole_run:  # the tables are not partitioned by night: a one-night report checks the main table only
        _tables(client, tables, existing, science, report)
    sci = read_columns(ctx.lake / "science", [alert_id, "science_timestamp"])
    stamps = dict(zip(_ids(sci, alert_id), sci.column("science_timestamp").to_pylist(), strict=True))
    return np.array([ms / 1000.0 - stamps[c].timestamp() for c, ms in written_ms.items() if c in stamps])


def _tables(client: HBaseClient, tables: ArchiveTables, existing: set[str], alerts: list[dict[str, Any]], report: Report) -> None:
    """Each table holds exactly the rows its rule selects, and each statistics row the counts of its night."""
    for name, keys in expected_rowkeys(tables, alerts).items():
        found = scan_keys(client, name) if name in existing else set()
        report.hbase_tables[name] = len(found)
        lost, unexpected = len(keys - found), len(found - keys)
        report.check(
            f"HBase {name} = its rule on science", not lost and not unexpected,
            f"{len(keys)} rows expected, {len(found)} found: {lost} missing, {unexpected} unexpected",
        )  # fmt: skip
    expected = expected_statistics(tables, alerts)
    stored = {key: dict(cells) for key, cells in client.scan(tables.statistics)} if tables.statistics in existing else {}
    stored = {key: cells for key, cells in stored.items() if not is_schema_row(key)}
    report.hbase_tables[tables.statistics] = len(stored)
    wrong = sorted(key.decode() for key in expected.keys() | stored.keys() if expected.get(key) != stored.get(key))
    report.check(
        f"HBase {tables.statistics} = the counts of each night", not wrong,
        f"{len(expected)} nights expected, {len(stored)} rows" + (f"; wrong or missing: {', '.join(wrong[:5])}" if wrong else ""),
    )  # fmt: skip


def _filters(ctx: RunContext, nights: list[str], report: Report) -> np.ndarray:
    """Each filter topic against the filter applied to the science parquet; returns distribution latencies."""
    filters = resolve_filters(survey=ctx.survey)
    alert_id = get_survey(ctx.survey).alert_id_field
    paths = list(dict.fromkeys([alert_id, "night", "science_timestamp", *required_columns(filters)]))
    # whole top-level columns, then the paths from them: a filter may read a field of an array of structs
    table = read_columns(ctx.lake / "science", list(dict.fromkeys(p.partition(".")[0] for p in paths)))
    if table.num_rows == 0:
        return np.array([])
    frame = input_frame(table, paths)
    flags = evaluate_filters(frame, filters)
    topics = {f.name: f"{ctx.topic_prefix}{f.name}_{ctx.survey}" for f in filters}
    # filter topics first, then the schemas: a schema is published before any message that uses it, so every
    # fingerprint read here is known (the pipeline may still be writing while the report reads)
    messages = {name: list(read_topic(ctx.bootstrap, topic)) for name, topic in topics.items()}
    schemas = {(m.key or b"").decode(): (m.value or b"").decode() for m in read_topic(ctx.bootstrap, f"{ctx.topic_prefix}schemas")}
    stamp = dict(zip(frame[alert_id], frame["science_timestamp"], strict=True))
    lat: list[float] = []
    for f in filters:
        selected = frame.loc[flags[f.name].map(lambda v: v is True).astype(bool)]
        expected = {(int(c), n) for c, n in zip(selected[alert_id], selected["night"], strict=True) if n in nights}
        got: list[tuple[int, str]] = []
        unknown = 0
        for msg in messages[f.name]:
            fingerprint = msg.headers.get(FINGERPRINT_HEADER, b"").decode()
            if fingerprint not in schemas:
                unknown += 1
                continue
            alert = decode_value(msg.value or b"", schemas[fingerprint])
            if alert["night"] in nights:
                got.append((int(alert[alert_id]), alert["night"]))
                if alert[alert_id] in stamp:  # distributed after the science read above: no latency
                    lat.append(msg.append_ms / 1000.0 - stamp[alert[alert_id]].timestamp())
        report.filters[f.name] = {"topic": topics[f.name], "messages": len(got), "expected": len(expected)}
        report.check(
            f"filter {f.name}: topic = filter(science)",
            unknown == 0 and len(got) == len(set(got)) and set(got) == expected,
            f"{len(got)} messages ({len(got) - len(set(got))} doubled), {len(expected)} expected"
            + (f", {unknown} with an unpublished schema" if unknown else ""),
        )
    return np.array(lat)


def build_report(ctx: RunContext, night: str | None = None) -> Report:
    lake = LakePaths(ctx.lake)
    report = Report(locations={k: str(getattr(lake, k)) for k in ("raw", "quarantine", "science", "rejected")})
    known = sorted(set(rows_per_night(lake.raw)) | set(rows_per_night(lake.quarantine)))
    nights = [night] if night else known
    if night and night not in known:
        report.check(f"night {night} exists", False, f"no raw or quarantined data for it; nights: {known}")
        return report
    science_sets = _night_sets(lake, get_survey(ctx.survey).alert_id_field, nights, report)
    archive_lat = _hbase(ctx, nights, science_sets, report, whole_run=night is None)
    distribution_lat = _filters(ctx, nights, report)
    totals = {k: sum(n[k] for n in report.nights.values()) for k in ("received", "raw", "quarantined", "duplicates", "science", "rejected")}
    report.totals = totals
    if night is None:
        report.check("some alerts received", totals["received"] > 0, f"{totals['received']} alerts in the raw archive and quarantine")
    if night is None and ctx.input_topics:
        sent = input_message_count(ctx.bootstrap, list(ctx.input_topics))
        report.check("input topics = received", sent == totals["received"], f"{sent} messages in Kafka, {totals['received']} received")
    if night is None and ctx.dropped_duplicates is not None:
        report.check(
            "Spark dedup count = duplicates", ctx.dropped_duplicates == totals["duplicates"],
            f"raw2science dropped {ctx.dropped_duplicates}, the data holds {totals['duplicates']}",
        )  # fmt: skip
    raw = read_columns(lake.raw, ["kafka_timestamp", "ingest_timestamp"], night)
    sci = read_columns(lake.science, ["ingest_timestamp", "science_timestamp"], night)
    report.latency_s = {
        "stream2raw (Kafka -> raw)": percentiles(seconds_between(raw.column("ingest_timestamp"), raw.column("kafka_timestamp"))) if raw.num_rows else percentiles([]),
        "raw2science (raw -> science)": percentiles(seconds_between(sci.column("science_timestamp"), sci.column("ingest_timestamp"))) if sci.num_rows else percentiles([]),
        "distribution (science -> filter topic)": percentiles(distribution_lat),
        "archive (science -> HBase)": percentiles(archive_lat),
    }  # fmt: skip
    return report
