"""The console script: one clear line and a non-zero status for user mistakes, never a traceback."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from fink_datasim.cli import EXIT_ERROR, EXIT_OK, main
from fink_datasim.generate import GenerateResult


def test_generate_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "alerts"
    assert main(["generate", "--survey", "ztf", "--n", "120", "--seed", "4", "--out", str(out), "--quiet"]) == EXIT_OK
    assert "generate: 120 alerts" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["alerts"] == 120


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "--alerts", "/no/such/folder", "--topic", "t", "--rate", "0"], "does not exist"),
        (["generate", "--n", "10", "--out", "{tmp}", "--night", "2023-10-18"], "expected YYYYMMDD"),
    ],
)
def test_user_mistakes_print_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--alerts", str(tmp_path), "--topic", "t", "--rate", "0"]) == EXIT_ERROR
    assert "holds no .avro file" in capsys.readouterr().err


def test_unreachable_kafka_is_reported_after_a_bounded_wait(
    small_night: GenerateResult, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    argv = ["replay", "--alerts", str(small_night.out), "--topic", "t", "--rate", "0"]
    argv += ["--bootstrap", f"127.0.0.1:{port}"]
    assert main(argv) == EXIT_ERROR
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert "Kafka is not reachable" in err and "./fink services up" in err and "Traceback" not in err


def test_bad_rate_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", "--alerts", ".", "--topic", "t", "--rate", "-3"])
    assert exit_info.value.code == 2 and "rate must be >= 0" in capsys.readouterr().err
