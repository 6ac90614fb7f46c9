"""A fink-consume run without Kafka (a stub consumer): lines printed, undecodable messages reported and
quarantined (not dropped), files saved before the offsets are committed, a stop request honoured."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from io import BytesIO
from pathlib import Path

import pytest
from alert_samples import ALERT_SCHEMA, BIG_ID, LSST_SCHEMA, alert, lsst_alert, published
from fastavro import schemaless_writer

from fink_client.config import load_config
from fink_client.consumer import AlertConsumer
from fink_client.message import Received
from fink_client.schemas import FINGERPRINT_HEADER, SchemaRegistry
from fink_client.session import consume
from fink_client.sink import read_alerts
from fink_common.errors import DecodeError

FP = "00000000000000a1"
TOPIC = "fink_fast_risers_ztf"


class Source:
    name = "fink_schemas"

    def read(self) -> dict[str, str]:
        return {FP: json.dumps(ALERT_SCHEMA)}


def _message(registry: SchemaRegistry, offset: int, value: bytes, fingerprint: str = FP) -> Received:
    headers = ((FINGERPRINT_HEADER, fingerprint.encode()),)
    base = dict(topic=TOPIC, partition=0, offset=offset, key=b"k", value=value, headers=headers)
    try:
        found, record = registry.decode(value, list(headers))
    except DecodeError as exc:
        return Received(**base, error=exc.reason)
    return Received(**base, alert=record, schema=registry.get(found), fingerprint=found)


def _value(candid: int) -> bytes:
    out = BytesIO()
    schemaless_writer(out, published().parsed, alert(candid))
    return out.getvalue()


class StubConsumer(AlertConsumer):
    """AlertConsumer with prepared batches instead of Kafka; records what was on disk at each commit."""

    def __init__(self, config, batches: list[list[Received]], out: Path | None) -> None:
        super().__init__(config)
        self._prepared, self._out = batches, out
        self.commits: list[tuple[list[int], int]] = []  # (offsets committed, alert files on disk then)

    def open(self) -> StubConsumer:
        return self

    def close(self) -> None:
        pass

    def prefix(self, topic: str) -> str | None:
        return "fink_"

    def batches(self, stop: Callable[[], bool] = lambda: False) -> Iterator[list[Received]]:
        for batch in self._prepared:
            if stop():
                return
            yield batch

    def commit(self, batch: Sequence[Received]) -> list:
        on_disk = sum(len(read_alerts(p)) for p in self._out.glob(f"{TOPIC}/*")) if self._out else 0
        self.commits.append(([r.offset for r in batch], on_disk))
        return []


def _batches() -> list[list[Received]]:
    registry = SchemaRegistry(Source())
    return [
        [_message(registry, 0, _value(100)), _message(registry, 1, b"\x07garbage")],
        [_message(registry, 2, _value(102)), _message(registry, 3, _value(103), "00000000000000ff")],
    ]


def test_run_prints_quarantines_saves_then_commits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    config = load_config(["--topic", TOPIC, "--out", str(out), "--batch-size", "2"], environ={})
    stub = StubConsumer(config, _batches(), out)
    stdout = io.StringIO()
    totals = consume(config, stdout=stdout, consumer=stub)
    lines = stdout.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["100", "102"]
    assert all(line.split()[-1] == "fast_risers" for line in lines)
    err = capsys.readouterr().err
    assert f"cannot decode {TOPIC} partition 0 offset 1: not an Avro value of schema {FP}" in err
    assert f"cannot decode {TOPIC} partition 0 offset 3: schema 00000000000000ff is not published" in err
    # every message is accounted for: saved, or quarantined with its raw bytes and reason
    assert (totals.alerts, totals.decoded, totals.quarantined, totals.committed) == (4, 2, 2, 4)
    quarantine = out / "quarantine"
    assert (quarantine / f"{TOPIC}-p0-o1.bin").read_bytes() == b"\x07garbage"
    assert "reason: not an Avro value" in (quarantine / f"{TOPIC}-p0-o1.reason.txt").read_text()
    assert "reason: schema 00000000000000ff" in (quarantine / f"{TOPIC}-p0-o3.reason.txt").read_text()
    assert sorted(p.name for p in (out / TOPIC).iterdir()) == ["p0-0-0.avro", "p0-2-2.avro"]
    # offsets committed only once the batch's alerts were on disk
    assert stub.commits == [([0, 1], 1), ([2, 3], 2)]


def test_without_out_each_batch_is_committed_after_printing(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(["--topic", TOPIC], environ={})
    stub = StubConsumer(config, _batches(), None)
    totals = consume(config, stdout=io.StringIO(), consumer=stub)
    assert [offsets for offsets, _ in stub.commits] == [[0, 1], [2, 3]] and totals.committed == 4


def test_stop_request_saves_and_commits_what_was_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = load_config(["--topic", TOPIC, "--out", str(out), "--batch-size", "100"], environ={})
    stub = StubConsumer(config, _batches(), out)
    calls = iter([False, True])  # SIGINT after the first batch
    totals = consume(config, lambda: next(calls), stdout=io.StringIO(), consumer=stub)
    assert totals.alerts == 2 and stub.commits == [([0, 1], 1)]
    assert [a["candid"] for a in read_alerts(out / TOPIC / "p0-0-0.avro")] == [100]


def test_failure_keeps_what_was_read_on_disk_without_committing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = load_config(["--topic", TOPIC, "--out", str(out), "--batch-size", "100"], environ={})

    class Failing(StubConsumer):
        def batches(self, stop: Callable[[], bool] = lambda: False) -> Iterator[list[Received]]:
            yield self._prepared[0]
            raise DecodeError("the broker went away")

    stub = Failing(config, _batches(), out)
    with pytest.raises(DecodeError):
        consume(config, stdout=io.StringIO(), consumer=stub)
    assert stub.commits == [] and (out / TOPIC / "p0-0-0.avro").is_file()


def test_ztf_and_lsst_topics_in_one_run(tmp_path: Path) -> None:
    """One run over a ZTF and two LSST topics (one schema topic holding both schemas): each line in its survey's
    layout, each topic saved with its own schema, the LSST ids exact."""
    fp_lsst = "00000000000000c3"

    class BothSurveys:
        name = "fink_schemas"

        def read(self) -> dict[str, str]:
            return {FP: json.dumps(ALERT_SCHEMA), fp_lsst: json.dumps(LSST_SCHEMA)}

    registry = SchemaRegistry(BothSurveys())

    def received(topic: str, offset: int, record: dict, fingerprint: str) -> Received:
        out = BytesIO()
        schemaless_writer(out, registry.get(fingerprint).parsed, record)
        headers = ((FINGERPRINT_HEADER, fingerprint.encode()),)
        found, decoded = registry.decode(out.getvalue(), list(headers))
        return Received(topic=topic, partition=0, offset=offset, key=b"k", value=out.getvalue(), headers=headers,
                        alert=decoded, schema=registry.get(found), fingerprint=found)  # fmt: skip

    static, solar = lsst_alert(), lsst_alert(BIG_ID + 10, diaObjectId=None, ssObjectId=21163624394469969)
    batch = [
        received("fink_fast_risers_ztf", 0, alert(100), FP),
        received("fink_first_detections_lsst", 0, static, fp_lsst),
        received("fink_solar_system_lsst", 5, solar, fp_lsst),
    ]
    out = tmp_path / "out"
    topics = ["--topic", "fink_fast_risers_ztf", "--topic", "fink_first_detections_lsst", "--topic",
              "fink_solar_system_lsst"]  # fmt: skip
    config = load_config([*topics, "--out", str(out), "--format", "parquet"], environ={})
    stdout = io.StringIO()
    totals = consume(config, stdout=stdout, consumer=StubConsumer(config, [batch], out))
    ztf, first, sso = (line.split() for line in stdout.getvalue().splitlines())
    assert ztf[:3] == ["ZTF23aa00100", "100", "2023-10-17T08:12:34"] and ztf[-1] == "fast_risers"
    # 1000 nJy: -2.5 * 3 + 31.4 = 23.90, error 2.5 / ln 10 * 10 / 1000 = 0.01; MJD 61000 TAI = 2025-11-20 23:59:23 UTC
    assert first == [str(BIG_ID - 2), str(BIG_ID), "2025-11-20T23:59:23", "23.90±0.01", "g", "-", "first_detections"]
    assert sso[:2] == ["21163624394469969", str(BIG_ID + 10)] and sso[-1] == "solar_system"
    assert (totals.decoded, totals.committed) == (3, 3)
    assert read_alerts(out / "fink_fast_risers_ztf" / "p0-0-0.parquet") == [alert(100)]
    assert read_alerts(out / "fink_first_detections_lsst" / "p0-0-0.parquet") == [static]
    assert read_alerts(out / "fink_solar_system_lsst" / "p0-5-5.parquet") == [solar]
