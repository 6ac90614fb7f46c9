"""The memory of a process tree (a stage's Python driver, Spark's JVM, Spark's Python workers), sampled from /proc.

psutil is not in the lockfile, so the tree and each process's RSS come from `/proc/<pid>/{stat,status}`.
`MemorySampler` samples a tree from a daemon thread: the peak of the summed RSS, and each process's own
high-water mark (`VmHWM`) as last seen.
"""

from __future__ import annotations

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


@dataclass
class MemorySampler:
    """Samples the RSS of a process tree every `every_s` from a thread: the peak of the sum, and each
    process's own high-water mark (VmHWM) as last seen."""

    root: int
    every_s: float = 0.25
    peak_total_kb: int = 0
    hwm_kb: dict[int, tuple[str, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        total = 0
        for pid in process_tree(self.root):
            status = _status_kb(pid)
            if status is None:
                continue
            name, rss, hwm = status
            total += rss
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
        }
