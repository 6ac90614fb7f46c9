"""The parts of the chaos run that need no service: the kill plan, the per-sink counts, the checkpoint reading,
and the SIGKILL of a whole process tree."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from fink_cli.audit import compare
from fink_cli.chaos import VICTIMS, plan_kills
from fink_cli.checkpoint import committed_files, committed_kafka_offsets, in_flight, lake_files, last_committed
from fink_cli.processes import StageProcess, process_tree, wait_until


def test_the_kill_plan_is_seeded_and_hits_every_victim_once_per_round() -> None:
    plan = plan_kills(10, 7, VICTIMS, (10.0, 30.0), (1.0, 8.0))
    assert plan == plan_kills(10, 7, VICTIMS, (10.0, 30.0), (1.0, 8.0))
    assert plan != plan_kills(10, 8, VICTIMS, (10.0, 30.0), (1.0, 8.0))
    assert len(plan) == 10 and sorted(k.victim for k in plan[:6]) == sorted(VICTIMS)
    assert all(10.0 <= k.gap_s <= 30.0 and 1.0 <= k.restart_delay_s <= 8.0 for k in plan)


def test_compare_counts_lost_duplicated_and_unexpected() -> None:
    expected = Counter({1: 1, 2: 1, 3: 2})  # 3 was sent twice
    found = Counter({1: 1, 2: 3, 3: 1, 9: 1})
    audit = compare("raw", expected, found)
    assert (audit.expected, audit.found, audit.lost, audit.duplicated, audit.unexpected) == (4, 6, 1, 2, 1)
    assert audit.examples == {"lost": ["3"], "duplicated": ["2"], "unexpected": ["9"]}
    assert not audit.ok and compare("raw", expected, expected).ok


def _log(folder: Path, name: str, *lines: dict[str, object]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("v1\n" + "\n".join(json.dumps(line) for line in lines) + "\n")


def test_checkpoint_reading(tmp_path: Path) -> None:
    cp = tmp_path / "checkpoint"
    assert last_committed(cp) is None and committed_files(cp) == set() and committed_kafka_offsets(cp) == {}
    assert in_flight(cp) is None
    data = tmp_path / "lake" / "science"
    files = [data / "night=20231017" / f"batch-{i:09d}-000.parquet" for i in range(3)]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    (data / "_staging").mkdir()
    _log(cp / "sources" / "0", "0", {"path": files[0].as_uri(), "timestamp": 1, "batchId": 0})
    _log(cp / "sources" / "0", "1.compact", *({"path": f.as_uri(), "timestamp": 1, "batchId": i} for i, f in enumerate(files[:2])))
    _log(cp / "sources" / "0", "2", {"path": files[2].as_uri(), "timestamp": 1, "batchId": 2})
    _log(cp / "commits", "0", {"nextBatchWatermarkMs": 0})
    _log(cp / "commits", "1", {"nextBatchWatermarkMs": 0})
    (cp / "offsets").mkdir()
    (cp / "offsets" / "1").write_text('v1\n{"batchWatermarkMs":0}\n{"ztf_a":{"0":120,"1":7}}')
    assert last_committed(cp) == 1
    assert committed_files(cp) == set(files[:2])  # batch 2 is planned, not committed
    assert lake_files(data) == set(files)
    assert committed_kafka_offsets(cp) == {"ztf_a": {0: 120, 1: 7}}
    assert in_flight(cp) is None  # no offsets/2 yet
    (cp / "offsets" / "2").write_text('v1\n{"batchWatermarkMs":0}\n{"ztf_a":{"0":130,"1":7}}')
    assert in_flight(cp) == 2


def test_kill_takes_the_whole_process_tree(tmp_path: Path) -> None:
    # a "stage" whose child would outlive a plain kill of the parent (as Spark's JVM and Python workers can)
    (tmp_path / "sleeper_stage.py").write_text(
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "time.sleep(600)\n"
    )
    stage = StageProcess("sleeper", "sleeper_stage", {"PYTHONPATH": str(tmp_path)}, tmp_path / "sleeper.log")
    stage.start()
    assert stage.pid is not None and stage.returncode is None
    assert wait_until(lambda: len(process_tree(stage.pid or 0)) == 2, timeout_s=30, poll_s=0.1)
    child = process_tree(stage.pid)[1]
    assert stage.kill() == [stage.pid, child]
    assert stage.returncode == -9
    assert wait_until(lambda: not _alive(child), timeout_s=10, poll_s=0.1)
    assert stage.kill() == []  # already dead: nothing to do


def _alive(pid: int) -> bool:
    """Running (a zombie, killed but not yet reaped, is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
