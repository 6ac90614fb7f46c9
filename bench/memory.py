"""The memory of a process tree (a stage's Python driver, Spark's JVM, Spark's Python workers), sampled from /proc.

psutil is not in the lockfile, so the tree and each process's RSS come from `/proc/<pid>/{stat,status}`.
`MemorySampler` samples a tree from a daemon thread: the peak of the summed RSS, each process's own
high-water mark (`VmHWM`) as last seen, and each process's CPU time (utime + stime of `/proc/<pid>/stat`) as
last seen, whose sum is the CPU the tree used (short of at most one sampling interval per process).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fink_cli.processes import process_tree

__all__ = ["MemorySampler", "process_tree"]


def _status_kb(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS kB, VmHWM kB) of a live process, None once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    try:
        return fields["Name"].strip(), int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (KeyError, ValueError, IndexError):
        return None


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int | None:
    """utime + stime of a live process in clock ticks, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (name) ": state is field 3, utime 14, stime 15
    return int(fields[11]) + int(fields[12])


@dataclass
class MemorySampler:
    """Samples the RSS of a process tree every `every_s` from a thread: the peak of the sum, and each
    process's own high-water mark (VmHWM) as last seen."""

    root: int
    every_s: float = 0.25
    peak_total_kb: int = 0
    hwm_kb: dict[int, tuple[str, int]] = field(default_factory=dict)
    cpu_ticks: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        total = 0
        for pid in process_tree(self.root):
            status = _status_kb(pid)
            if status is None:
                continue
            name, rss, hwm = status
            total += rss
            ticks = _cpu_ticks(pid)
            if ticks is not None:
                self.cpu_ticks[pid] = max(ticks, self.cpu_ticks.get(pid, 0))
            self.hwm_kb[pid] = (name, max(hwm, self.hwm_kb.get(pid, (name, 0))[1]))
        self.peak_total_kb = max(self.peak_total_kb, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every_s)

    def start(self) -> None:
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def summary(self) -> dict[str, Any]:
        by_name: dict[str, int] = {}
        for pid, (name, hwm) in self.hwm_kb.items():
            label = f"{name} (stage driver)" if pid == self.root else name
            by_name[label] = max(by_name.get(label, 0), hwm)
        return {
            "peak_tree_rss_mb": round(self.peak_total_kb / 1024, 1),
            "peak_rss_mb_by_process_name": {k: round(v / 1024, 1) for k, v in sorted(by_name.items())},
            "processes_seen": len(self.hwm_kb),
            "cpu_s_process_tree": round(sum(self.cpu_ticks.values()) / _TICKS, 2),
        }
