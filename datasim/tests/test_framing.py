"""Folder -> messages: real files go out byte for byte, generated files are cut per record, keys are candids."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import fastavro
import pytest

from fink_common.avro import decode_alert, encode_schemaless
from fink_common.datasets import sample_files
from fink_common.errors import DataNotFoundError
from fink_datasim.container import count_records, read_container
from fink_datasim.errors import AlertFileError, EmptyFolderError
from fink_datasim.framing import alert_files, count_alerts, iter_messages
from fink_datasim.generate import GenerateResult


def test_real_files_are_sent_as_they_are() -> None:
    files = sample_files("ztf_4.02")
    messages = list(iter_messages(files, "container"))
    assert len(messages) == len(files) == 300
    for path, message in zip(files, messages, strict=True):
        assert message.value == path.read_bytes()
        assert message.key == str(decode_alert(message.value, "ztf_4.02")["candid"]).encode()


def test_real_files_in_schemaless_framing_use_the_ztf_schema() -> None:
    files = sample_files("ztf_4.02")[:20]
    for path, message in zip(files, iter_messages(files, "schemaless"), strict=True):
        expected = decode_alert(path.read_bytes(), "ztf_4.02")
        assert message.value == encode_schemaless(expected, "ztf_4.02")
        assert decode_alert(message.value, "ztf_4.02")["candid"] == expected["candid"]


def test_generated_files_are_cut_into_one_record_messages(
    small_night: GenerateResult, small_alerts: list[dict[str, Any]]
) -> None:
    files = alert_files(small_night.out)
    assert [f.name for f in files] == list(small_night.files)
    container = list(iter_messages(files, "container"))
    schemaless = list(iter_messages(files, "schemaless"))
    assert len(container) == len(schemaless) == len(small_alerts)
    for index in (0, 1, 777, len(small_alerts) - 1):
        alert = small_alerts[index]
        one = list(fastavro.reader(io.BytesIO(container[index].value)))
        assert len(one) == 1 and one[0]["candid"] == alert["candid"]
        assert decode_alert(schemaless[index].value, "ztf_4.02")["candid"] == alert["candid"]
        assert schemaless[index].value == encode_schemaless(alert, "ztf_4.02")
        assert container[index].key == schemaless[index].key == str(alert["candid"]).encode()


def test_counts_come_from_block_headers(small_night: GenerateResult) -> None:
    files = alert_files(small_night.out)
    assert count_alerts(files) == small_night.alerts
    real = sample_files("ztf_4.02")
    assert count_alerts(real) == 300
    assert count_records(real[0]) == read_container(real[0].read_bytes()).records == 1


def test_multi_record_blocks_are_decoded_and_rewrapped(tmp_path: Path) -> None:
    """A file written by another tool (many records per block, deflate) still gives one alert per message."""
    alerts = [decode_alert(p.read_bytes(), "ztf_4.02") for p in sample_files("ztf_4.02")[:5]]
    from fink_common.schema import parsed_schema

    path = tmp_path / "batch.avro"
    with open(path, "wb") as fh:
        fastavro.writer(fh, parsed_schema("ztf_4.02"), alerts, codec="deflate")
    for framing in ("container", "schemaless"):
        messages = list(iter_messages([path], framing, key="none"))
        assert [decode_alert(m.value, "ztf_4.02")["candid"] for m in messages] == [a["candid"] for a in alerts]
        assert all(m.key is None for m in messages)


def test_missing_and_empty_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="does not exist"):
        alert_files(tmp_path / "nope")
    with pytest.raises(EmptyFolderError, match="no .avro file"):
        alert_files(tmp_path)


def test_a_file_that_is_not_avro_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.avro").write_bytes(b"this is not avro")
    with pytest.raises(AlertFileError, match="bad.avro.*not an Avro Object Container File"):
        list(iter_messages(alert_files(tmp_path)))
