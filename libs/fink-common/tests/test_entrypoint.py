"""run_stage: config errors, the heartbeat file the images' HEALTHCHECK reads, clean stop."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fink_common.entrypoint import HEALTH_FILE_ENV, run_stage
from fink_common.errors import ConfigError


class _Query:
    """A streaming query that stays active until stopped (the JVM side is not what is tested here)."""

    def __init__(self) -> None:
        self.isActive = True
        self.stopped = threading.Event()

    def awaitTermination(self, timeout: float) -> bool:  # noqa: N802 (pyspark's name)
        return self.stopped.wait(timeout)

    def stop(self) -> None:
        self.isActive = False
        self.stopped.set()

    def exception(self) -> Any:
        return None


def test_heartbeat_file_is_touched_while_the_query_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    health = tmp_path / "run" / "health"
    monkeypatch.setenv(HEALTH_FILE_ENV, str(health))
    query = _Query()
    beats: list[float] = []

    def watch() -> None:
        while len(beats) < 3:
            if health.exists() and (not beats or health.stat().st_mtime > beats[-1]):
                beats.append(health.stat().st_mtime)
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)  # what `docker stop` sends

    previous = signal.getsignal(signal.SIGTERM)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        code = run_stage(stage="teststage", version="9.9.9", load_config=lambda: None, start=lambda _: (query, None))
    finally:
        signal.signal(signal.SIGTERM, previous)
    watcher.join(timeout=30)
    assert code == 0
    assert len(beats) == 3 and beats == sorted(beats)  # touched again and again while active
    assert not query.isActive  # SIGTERM stopped the query cleanly


def test_bad_config_exits_2_with_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    def load() -> None:
        raise ConfigError(["FINK_A is required but not set", "FINK_B='x' is not an integer"])

    code = run_stage(stage="teststage", version="9.9.9", load_config=load, start=lambda _: (_Query(), None))
    err = capsys.readouterr().err
    assert code == 2
    assert "FINK_A is required" in err and "FINK_B='x'" in err


def test_heartbeat_stops_when_the_query_dies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    health = tmp_path / "health"
    monkeypatch.setenv(HEALTH_FILE_ENV, str(health))
    query = _Query()

    def die_after_first_beat() -> None:
        while not health.exists():
            time.sleep(0.1)
        query.isActive = False  # terminated with an error, as a failed Spark query does
        query.stopped.set()

    threading.Thread(target=die_after_first_beat, daemon=True).start()
    code = run_stage(stage="teststage", version="9.9.9", load_config=lambda: None, start=lambda _: (query, None))
    assert code == 0  # _Query.exception() is None: stopped, not failed
    last = health.stat().st_mtime
    time.sleep(2.5)
    assert health.stat().st_mtime == last  # no more beats once the query is gone
