"""The broker as a service: the four stages at once, each its own long-running process (as `./fink demo` runs
them: `fink_cli.processes.StageProcess`, the demo's environment), their progress read from their own logs.

`Progress` adds up the counts of every stage's `micro-batch` lines. The pipeline has processed everything
when stream2raw received what was sent, science + rejected == the distinct candids of the raw lake, and the
distribution and the archive each took in every science alert. `finish_times` gives, per stage, the end of
the micro-batch at which its running count reached that target.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from events import MODULES, STAGES, Batch, finish, first_event, micro_batches, read_events
from memory import MemorySampler

from fink_cli.lake import read_columns
from fink_cli.processes import StageProcess, wait_until
from fink_common.lake import LakePaths

__all__ = ["Broker", "Progress"]


@dataclass(frozen=True)
class Progress:
    """Running totals of the four stages, from their `micro-batch` lines."""

    batches: dict[str, list[Batch]]

    def total(self, stage: str, key: str | None = None) -> int:
        if key is None:
            return sum(b.alerts for b in self.batches[stage])
        return sum(int(b.event.get(key) or 0) for b in self.batches[stage])

    @property
    def received(self) -> int:
        return self.total("stream2raw")

    @property
    def science(self) -> int:
        return self.total("raw2science", "science")

    def line(self, sent: int) -> str:
        return (
            f"sent {sent} | received {self.received} (raw {self.total('stream2raw', 'raw')}) | science "
            f"{self.science} + rejected {self.total('raw2science', 'rejected')} | distributed "
            f"{self.total('distribution')} | archived {self.total('archive')}"
        )


@dataclass
class Broker:
    """The four stages with one environment, logging to `<logs>/<stage>.log`, each tree's memory sampled."""

    env: dict[str, str]
    logs: Path
    lake: LakePaths
    processes: dict[str, StageProcess] = field(default_factory=dict)
    samplers: dict[str, MemorySampler] = field(default_factory=dict)
    started_at: float = 0.0  # epoch seconds when the processes were started
    alert_id: str = "candid"  # the survey's alert id (LSST: diaSourceId)
    _distinct: dict[int, int] = field(default_factory=dict)

    def start(self) -> None:
        self.started_at = time.time()
        for stage in STAGES:
            process = StageProcess(stage, MODULES[stage], self.env, self.logs / f"{stage}.log")
            process.start()
            assert process.pid is not None
            self.processes[stage] = process
            self.samplers[stage] = MemorySampler(process.pid, every_s=0.5)
            self.samplers[stage].start()

    def check_alive(self) -> None:
        for process in self.processes.values():
            process.check_alive()

    def events(self, stage: str) -> list[dict[str, Any]]:
        return read_events(self.processes[stage].log_path)

    def started(self, stage: str) -> bool:
        return first_event(self.events(stage), "starting") is not None

    def wait_started(self, stages: tuple[str, ...], timeout_s: float) -> bool:
        """Until each of `stages` has logged `starting` (its query is about to run)."""
        return wait_until(lambda: all(self.started(s) for s in stages), timeout_s=timeout_s, on_tick=self.check_alive)

    def progress(self) -> Progress:
        return Progress({stage: micro_batches(stage, self.events(stage)) for stage in STAGES})

    def distinct_raw(self, received: int) -> int:
        """Distinct alert ids of the raw lake, read once per `received` total (the lake no longer changes)."""
        if received not in self._distinct:
            table = read_columns(self.lake.raw, [self.alert_id])
            self._distinct[received] = len(set(table.column(self.alert_id).to_pylist()))
        return self._distinct[received]

    def targets(self, sent: int, progress: Progress) -> dict[str, int] | None:
        """What each stage must have taken in once everything sent went through, None while stream2raw is short."""
        if progress.received < sent:
            return None
        return {
            "stream2raw": sent,
            "raw2science": self.distinct_raw(progress.received),
            "distribution": progress.science,
            "archive": progress.science,
        }

    def drained(self, sent: int, progress: Progress) -> bool:
        targets = self.targets(sent, progress)
        if targets is None or progress.total("raw2science") < targets["raw2science"]:
            return False  # the science total is final only once raw2science has processed every raw alert
        return all(progress.total(stage) >= target for stage, target in targets.items())

    def wait_drained(self, sent: int, timeout_s: float, *, poll_s: float = 2.0, say_every_s: float = 15.0) -> bool:
        """Poll the logs until every alert sent went through every stage (True), or `timeout_s` (False)."""
        last_said = 0.0

        def done() -> bool:
            nonlocal last_said
            self.check_alive()
            progress = self.progress()
            if time.monotonic() - last_said > say_every_s:
                print(f"[{time.strftime('%H:%M:%S')}] {progress.line(sent)}", file=sys.stderr)
                last_said = time.monotonic()
            return self.drained(sent, progress)

        return wait_until(done, timeout_s=timeout_s, poll_s=poll_s)

    def finish_times(self, sent: int, progress: Progress) -> dict[str, Batch | None]:
        """Per stage, the micro-batch at which its running count reached its target (None if it did not)."""
        targets = self.targets(sent, progress) or {}
        return {s: finish(progress.batches[s], targets[s]) if s in targets else None for s in STAGES}

    def stop(self) -> dict[str, int | str]:
        """SIGTERM every stage (downstream first), as the demo does; returns each exit code (or the error)."""
        codes: dict[str, int | str] = {}
        for stage in reversed(list(self.processes)):
            try:
                codes[stage] = self.processes[stage].stop()
            except Exception as exc:  # noqa: BLE001 (report every stage, even when one fails to stop)
                codes[stage] = str(exc)
        for sampler in self.samplers.values():
            sampler.stop()
        return codes

    def memory(self) -> dict[str, dict[str, Any]]:
        return {stage: sampler.summary() for stage, sampler in self.samplers.items()}
