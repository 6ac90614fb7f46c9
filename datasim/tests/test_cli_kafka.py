"""`fink-datasim topics` and `replay --once --json` against the real Kafka (what the compose stack runs)."""

from __future__ import annotations

import json

import pytest

from fink_common.datasets import sample_dir
from fink_common.kafka import delete_topics, list_topics, topic_message_count
from fink_common.testing import unique_name
from fink_datasim.cli import main


def _last_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_topics_creates_then_finds(kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]) -> None:
    topic = unique_name("datasim_cli_topics")
    try:
        assert main(["topics", topic, "--bootstrap", kafka_bootstrap]) == 0
        assert _last_json(capsys) == {"event": "topics", "bootstrap": kafka_bootstrap, "created": [topic], "existing": []}
        assert topic in list_topics(kafka_bootstrap)
        assert main(["topics", topic, "--bootstrap", kafka_bootstrap]) == 0
        assert _last_json(capsys)["existing"] == [topic]
    finally:
        delete_topics(kafka_bootstrap, [topic])


def test_replay_once_does_not_send_twice(kafka_bootstrap: str, capsys: pytest.CaptureFixture[str]) -> None:
    topic = unique_name("datasim_cli_once")
    args = ["replay", "--alerts", str(sample_dir("ztf_3.3")), "--topic", topic, "--rate", "0",
            "--bootstrap", kafka_bootstrap, "--quiet", "--json", "--once"]  # fmt: skip
    try:
        assert main(args) == 0
        first = _last_json(capsys)
        assert (first["event"], first["sent"], first["failed"]) == ("replay", 50, 0)
        assert main(args) == 0  # a restarted container: the topic holds the alerts already
        second = _last_json(capsys)
        assert (second["event"], second["messages_held"]) == ("replay-skipped", 50)
        assert topic_message_count(kafka_bootstrap, topic) == 50
    finally:
        delete_topics(kafka_bootstrap, [topic])
